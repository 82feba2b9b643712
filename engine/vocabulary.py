"""The course's vocabulary: every choice a run offers, by name, with its title, formula and settings.

One place for each: step units, hidden activations (and their parameters α, k), output units (what they
predict, whether the outputs are probabilities, which data they fit, their loss), input features,
datasets, weight inits, optimisers, learning-rate schedules and regularization. The engine's modules read
their names and defaults from here (engine/activations.py, outputs.py, features.py, data.py, network.py,
optim.py, run_config.py implement them); the app renders its option lists, titles and tooltips from
here and keeps no copy; app/schemas.py's `Literal`s are tested equal to these names.

This module imports only engine/errors.py, so every module may read it without an import cycle.
Titles use the lecture's words; formulas are Unicode math in z, the value a unit's activation function
receives (the inspector calls a neuron's z its e: e = Σ w·x + b).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, TypeVar

from engine.errors import Phrase, SetupError

Targets = Literal["two_classes", "classes", "regression"]


@dataclass(frozen=True)
class Term:
    """One option: `name` as the API spells it, `title` as the page says it, `hint` for its tooltip."""

    name: str
    title: str
    hint: str = ""


@dataclass(frozen=True)
class Parameter:
    """A setting of an activation: the LayerConfig field `name` ("alpha", "pieces"), shown as `symbol`."""

    name: str
    symbol: str
    meaning: str
    default: float
    low: float
    high: float
    whole: bool = False

    @property
    def allowed(self) -> str:
        """The rule in words, e.g. "a number from 0 to 1" or "a whole number from 2 to 4"."""
        kind = "a whole number" if self.whole else "a number"
        return f"{kind} from {self.low:g} to {self.high:g}"

    def check(self, value: float, activation: str) -> float:
        """`value` if it is allowed, else ValueError naming the field in words a student reads."""
        whole_ok = not self.whole or float(value).is_integer()
        if not (math.isfinite(value) and self.low <= value <= self.high and whole_ok):
            title = ACTIVATIONS[activation].title
            raise SetupError(self.name, "{title}'s {symbol} ({meaning}) is {allowed}", title=Phrase(title),
                             symbol=self.symbol, meaning=Phrase(self.meaning), allowed=Phrase(self.allowed))
        return value


@dataclass(frozen=True)
class ActivationTerm:
    """A hidden unit's activation f: `formula` is f(z), `derivative` f′(z). `he_init`: the unit can die or
    is unbounded above, so it starts with He init and a small positive bias (the course's advice)."""

    name: str
    title: str
    formula: str
    derivative: str
    he_init: bool
    parameters: tuple[Parameter, ...] = ()


@dataclass(frozen=True)
class OutputTerm:
    """An output unit and its loss. `function` is what the output neuron applies to z (a name from the
    graph page's vocabulary), `fits` the kinds of targets it can learn, `probabilities` whether its outputs
    are probabilities (drawn as such); `prediction`, `loss` and `delta` are ŷ, the per-sample L and
    δ = ∂L/∂z, `loss_name` the loss in words."""

    name: str
    title: str
    function: str
    probabilities: bool
    fits: tuple[Targets, ...]
    prediction: str
    loss: str
    delta: str
    loss_name: str

    @property
    def formula(self) -> str:
        return f"{self.prediction},  {self.loss},  {self.delta}"


@dataclass(frozen=True)
class DatasetTerm:
    """A generated dataset: its button's title and tooltip, and the kind of targets it has."""

    name: str
    title: str
    hint: str
    targets: Targets


T = TypeVar("T", "Term", "ActivationTerm", "OutputTerm", "DatasetTerm")


def _by_name(*terms: T) -> dict[str, T]:
    """name -> term, in the order given (the page lists them so)."""
    return {term.name: term for term in terms}


STEP_UNITS = _by_name(
    Term("micro", "micro-step",
         "one micro-step: a forward sum, the error, a δ, an accumulation or the update"),
    Term("sample", "sample", "every micro-step of the next sample (and the update after a batch's last)"),
    Term("batch", "batch", "the rest of the batch and its update of the weights"),
    Term("epoch", "epoch", "every batch of the training data once"),
)

ALPHA_LEAKY = Parameter("alpha", "α", "the slope for z < 0", 0.01, 0.0, 1.0)
ALPHA_ELU = Parameter("alpha", "α", "the value approached as z → −∞ is −α", 1.0, 0.0, 10.0)
PIECES = Parameter("pieces", "k", "the number of linear pieces per unit", 2, 2, 4, whole=True)

# In the page's order (the default tanh first); engine/activations.py implements each.
ACTIVATIONS = _by_name(
    ActivationTerm("tanh", "tanh", "f(z) = tanh z = (eᶻ − e⁻ᶻ) / (eᶻ + e⁻ᶻ)", "f′(z) = 1 − f(z)²", False),
    ActivationTerm("relu", "ReLU", "f(z) = max(0, z)", "f′(z) = 1 if z > 0, else 0", True),
    ActivationTerm("sigmoid", "sigmoid", "σ(z) = 1 / (1 + e⁻ᶻ)", "σ′(z) = σ(z)·(1 − σ(z))", False),
    ActivationTerm("linear", "linear", "f(z) = z", "f′(z) = 1", False),
    ActivationTerm("leaky_relu", "leaky ReLU", "f(z) = max(αz, z)", "f′(z) = 1 if z > 0, else α", True,
                   (ALPHA_LEAKY,)),
    ActivationTerm("elu", "ELU", "f(z) = z if z ≥ 0, else α(eᶻ − 1)", "f′(z) = 1 if z > 0, else α·eᶻ", True,
                   (ALPHA_ELU,)),
    ActivationTerm("abs", "absolute value", "f(z) = |z|", "f′(z) = sign z (0 at z = 0)", True),
    ActivationTerm("softplus", "softplus", "f(z) = log(1 + eᶻ)", "f′(z) = σ(z)", False),
    ActivationTerm("swish", "swish", "f(z) = z·σ(z)", "f′(z) = σ(z)·(1 + z·(1 − σ(z)))", True),
    ActivationTerm("maxout", "maxout", "f(x) = max(w₁ᵀx + b₁, …, wₖᵀx + bₖ)",
                   "∂f/∂(the largest piece) = 1, 0 for the other pieces", True, (PIECES,)),
)

_BINARY: tuple[Targets, ...] = ("two_classes",)
_CLASSES: tuple[Targets, ...] = ("two_classes", "classes")
_ANY: tuple[Targets, ...] = ("two_classes", "classes", "regression")
_SQUARED = "L = ½ Σ (ŷ − y)²"

# In the page's order; engine/outputs.py implements each.
OUTPUT_UNITS = _by_name(
    OutputTerm("tanh_mse", "tanh + squared error", "tanh", False, _BINARY, "ŷ = tanh z", _SQUARED,
               "δ = (ŷ − y)·(1 − ŷ²)", "squared error ½(ŷ − y)²"),
    OutputTerm("sigmoid_bce", "sigmoid + cross-entropy", "sigmoid", True, _BINARY, "ŷ = σ(z)",
               "L = −[y log ŷ + (1 − y) log(1 − ŷ)]", "δ = ŷ − y", "cross-entropy"),
    OutputTerm("softmax_ce", "softmax + cross-entropy", "softmax", True, _CLASSES, "ŷ = softmax(z)",
               "L = −Σ y log ŷ", "δ = ŷ − y", "cross-entropy −Σ y·log ŷ"),
    OutputTerm("linear_mse", "linear + squared error", "linear", False, _ANY, "ŷ = z", _SQUARED, "δ = ŷ − y",
               "squared error ½(ŷ − y)²"),
    OutputTerm("linear_l1", "linear + absolute error", "linear", False, _ANY, "ŷ = z", "L = Σ |ŷ − y|",
               "δ = sign(ŷ − y)", "absolute error |ŷ − y|"),
    OutputTerm("gaussian_nll", "Gaussian (μ, σ²) + neg. log-likelihood", "linear", False,
               _ANY, "ŷ = (μ, σ² = eˢ)", "L = ½ Σ [log 2π + s + (y − μ)² e⁻ˢ]",
               "δ = ((μ − y)/σ², ½(1 − (y − μ)²/σ²))", "Gaussian negative log-likelihood"),
)
# The output unit a student usually wants for each kind of targets (a new dataset switches to it).
USUAL_OUTPUT: dict[Targets, str] = {"two_classes": "tanh_mse", "classes": "softmax_ce",
                                    "regression": "linear_mse"}
TARGET_WORDS: dict[Targets, str] = {"two_classes": "two classes", "classes": "several classes",
                                    "regression": "real values (regression)"}

# TF Playground's transforms of a point (x₁, x₂), in the input layer's fixed order.
FEATURES = _by_name(
    Term("x1", "x₁"), Term("x2", "x₂"), Term("x1_sq", "x₁²"), Term("x2_sq", "x₂²"), Term("x1_x2", "x₁x₂"),
    Term("sin_x1", "sin x₁"), Term("sin_x2", "sin x₂"),
)

# In the page's order; engine/data.py generates each. "custom" (uploaded or edited data) is not a choice.
DATASETS = _by_name(
    DatasetTerm("circle", "circle", "a blob of one class inside a ring of the other", "two_classes"),
    DatasetTerm("xor", "xor", "opposite quadrants share a class", "two_classes"),
    DatasetTerm("gauss", "gauss", "two clouds", "two_classes"),
    DatasetTerm("spiral", "spiral", "two interleaved spiral arms (hard)", "two_classes"),
    DatasetTerm("blobs", "3 blobs", "several classes in clouds (softmax output)", "classes"),
    DatasetTerm("spiral_k", "3 spirals", "several spiral arms (softmax output)", "classes"),
    DatasetTerm("plane", "plane", "regression: the value grows along x₁ + x₂", "regression"),
    DatasetTerm("multi_gauss", "bumps", "regression: six bumps of alternating sign", "regression"),
    DatasetTerm("curve", "curve", "regression on one input: y = f(x₁) + noise (shown as a curve in lessons)",
                "regression"),
    DatasetTerm("curve_outliers", "outliers",
                "regression on one input with 8 % of the points far above the curve (mean vs median)",
                "regression"),
)
CUSTOM_DATASET = "custom"

INITS = _by_name(
    Term("uniform", "uniform", "weights uniform in [−0.5, 0.5], biases 0.1"),
    Term("xavier", "Xavier", "weights uniform in ±√(6 / (fan-in + fan-out)): for tanh, sigmoid, linear"),
    Term("he", "He", "weights normal with variance 2 / fan-in: for the ReLU family"),
)

OPTIMIZERS = _by_name(
    Term("sgd", "SGD", "w ← w − η·∂L/∂w"),
    Term("momentum", "momentum", "v ← μ·v − η·∂L/∂w,  w ← w + v"),
    Term("adam", "Adam", "moment estimates m, v of ∂L/∂w; w ← w − η·m̂ / (√v̂ + ε)"),
)

# η_t for update t = 0, 1, 2, … (engine/optim.py Schedule); s = step size, γ = decay factor.
SCHEDULES = _by_name(
    Term("constant", "constant", "η_t = η"),
    Term("step", "halve every 100 steps",
         "η_t = η·γ^⌊t / s⌋ (γ = ½, s = 100 by default): decrease in stages"),
    Term("exponential", "exponential decay", "η_t = η·γ^(t / s): decrease gradually"),
    Term("warmup_decay", "warm-up, then decay",
         "rise linearly to η over the warm-up, hold η, then fall linearly to η/100 over the last fifth"),
)

REGULARIZATIONS = _by_name(
    Term("none", "none", "no penalty on the weights"),
    Term("l1", "L1", "R = λ·Σ|w|"),
    Term("l2", "L2", "R = ½λ·Σw²"),
)


def targets_of(task: str, n_classes: int) -> Targets:
    """The kind of targets of a dataset: its task ("classification" or "regression") and class count."""
    if task == "regression":
        return "regression"
    return "two_classes" if n_classes == 2 else "classes"


def datasets_fitting(output_unit: str) -> tuple[str, ...]:
    """The generated datasets whose targets `output_unit` can learn, in the page's order."""
    fits = OUTPUT_UNITS[output_unit].fits
    return tuple(name for name, term in DATASETS.items() if term.targets in fits)
