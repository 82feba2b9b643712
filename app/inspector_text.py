"""The inspector's vocabulary: numbers as the page prints them, formula lines whose numbers keep the trace
field they came from, the view a step becomes, and how neurons and weights are named (x₁, y₃, w₃₁).

Numbers are written by engine/printed.py: each line picks the fewest decimals (2 or more; tiny numbers as
powers of ten with that many decimals in the mantissa) at which its printed operands give its printed
result, so a student with a calculator gets what the line says. Each printed number carries a `role` so
tests can compare it with the API's trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.i18n import N_
from engine import printed
from engine.features import FEATURE_LABELS

MINUS = printed.MINUS
fmt = printed.fixed
factor = printed.factor


def sh(value: float, decimals: int) -> float:
    """`value` as a reader of fmt(value, decimals) sees it (what a calculator gets typed)."""
    return printed.shown(fmt(value, decimals))


def readable(value: float) -> int:
    """How many decimals a result gets: 2, or 3 / 4 below 0.1 / 0.01 so it keeps two significant digits
    (0.038, 0.0071); below 0.005 fmt writes a power of ten with 2 decimals (1.20·10⁻⁴)."""
    size = abs(value)
    return 2 if size >= 0.1 or size < 0.005 else 3 if size >= 0.01 else 4


def same(computed: float, value: float, decimals: int | None = None) -> bool:
    """Whether `computed` (from printed operands) prints as the result `value` does (at `decimals`, or the
    result's readable decimals)."""
    decimals = readable(value) if decimals is None else decimals
    return fmt(computed, decimals) == fmt(value, decimals)


def distinct_decimals(old: float, new: float, limit: int = 8) -> int:
    """The fewest decimals (2 or more) at which `old` and `new` print differently, so a small update
    does not read as 'nothing changed' (0.69 ← 0.69); `limit` if they agree that far."""
    for decimals in range(2, limit + 1):
        if fmt(old, decimals) != fmt(new, decimals):
            return decimals
    return limit if old != new else 2


@dataclass(frozen=True)
class Token:
    """A piece of a formula line: plain text, or a number with the trace field it came from."""

    text: str
    role: str | None = None
    value: float | None = None


@dataclass
class Line:
    tokens: list[Token] = field(default_factory=list)

    def text(self, text: str) -> Line:
        self.tokens.append(Token(text))
        return self

    def num(self, value: float, role: str | None = None, *, as_factor: bool = False,
            decimals: int | None = None) -> Line:
        """A number token: `decimals` for an operand, else a result's readable decimals."""
        text = fmt(value, readable(value) if decimals is None else decimals)
        if as_factor and text.startswith(MINUS):
            text = f"({text})"
        self.tokens.append(Token(text, role, float(value)))
        return self


@dataclass
class InspectorView:
    title: str
    lines: list[Line]
    notes: list[str]
    phase: str | None
    focus: tuple[int, int, int] | None = None  # (layer, unit, sample) of the event, for the page and tests
    # forward steps: the neuron can be drawn on the computation-graph page (/ui/{sid}/graph builds it)
    graph_link: bool = False
    graph_note: str | None = None  # how far that graph goes (to f(e) or to the loss) and why


def index_name(index: int, *, weight_of: int | None = None) -> str:
    """Subscript pair for a weight w_{k,m}: comma only when an index has two digits."""
    if weight_of is None:
        return subscript(index)
    sep = "," if index >= 10 or weight_of >= 10 else ""
    return f"{subscript(index)}{sep}{subscript(weight_of)}"


SIGN_NOTE = N_(  # translated where it is shown
    "Sign convention: δ = ∂L/∂e, how much the loss grows when the neuron's sum e grows. At the output "
    "this is ŷ − y (prediction minus target). The lecture's tutorial writes δ = z − y with z the target, "
    "the opposite sign, and so adds η·δ·… where we subtract η·∂L/∂w: the same step."
)


@dataclass(frozen=True)
class NetNames:
    """How the page names things: node labels (x₁, y₃, ŷ) and global neuron numbers."""

    labels: dict[str, str]
    numbers: dict[str, int]
    sizes: Sequence[int]
    activations: Sequence[str]  # one per layer 1..L (the output layer's is its output unit's)
    alphas: Sequence[float | None] = ()  # per hidden layer: leaky_relu's slope / elu's scale (None = default)


def input_names(names: NetNames, layer: int) -> list[str]:
    """The names of layer `layer`'s inputs (x₁, x₂ for layer 1, else the layer below's y's)."""
    return [names.labels[f"n{layer - 1}_{i}"] for i in range(names.sizes[layer - 1])]


def weight_name(names: NetNames, layer: int, unit: int, source: int) -> str:
    """w with the receiving neuron's number and the source's (the input's index for layer 1)."""
    number = names.numbers[f"n{layer}_{unit}"]
    if layer == 1:
        return f"w{index_name(number, weight_of=source + 1)}"
    return f"w{index_name(number, weight_of=names.numbers[f'n{layer - 1}_{source}'])}"


# ---- the lecture's names of the units (the drawing, the hover texts and the formulas all use these) ----

SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def subscript(number: int) -> str:
    """12 -> '₁₂' (the lecture numbers neurons with subscripts)."""
    return str(number).translate(SUBSCRIPT)


def output_names(n_outputs: int, output_unit: str | None = None) -> list[str]:
    """The output units' names: ŷ for one, ŷ₁, ŷ₂, … for several; a Gaussian output's 2d units are the
    means then the variances (μ, σ² for one target; μ₁…μ_d, σ₁²…σ_d² for d)."""
    if output_unit == "gaussian_nll" and n_outputs % 2 == 0:
        d = n_outputs // 2
        if d == 1:
            return ["μ", "σ²"]
        return [f"μ{subscript(k + 1)}" for k in range(d)] + [f"σ{subscript(k + 1)}²" for k in range(d)]
    return ["ŷ"] if n_outputs == 1 else [f"ŷ{subscript(unit + 1)}" for unit in range(n_outputs)]


def neuron_labels(sizes: Sequence[int], features: Sequence[str] = (),
                  output_unit: str | None = None) -> dict[str, str]:
    """Lecture names per node id: inputs by feature, neurons numbered 1, 2, … through the layers.

    The output is called ŷ when there is one output unit, ŷ₁, ŷ₂, … otherwise (μ and σ² for a
    Gaussian output, see output_names).
    """
    labels: dict[str, str] = {}
    for i in range(sizes[0]):
        name = features[i] if i < len(features) else f"x{i + 1}"
        labels[f"n0_{i}"] = FEATURE_LABELS.get(name, name)
    number = 0
    last = len(sizes) - 1
    outputs = output_names(sizes[last], output_unit)
    for layer in range(1, len(sizes)):
        for unit in range(sizes[layer]):
            number += 1
            if layer == last:
                labels[f"n{layer}_{unit}"] = outputs[unit]
            else:
                labels[f"n{layer}_{unit}"] = f"y{subscript(number)}"
    return labels


def neuron_numbers(sizes: Sequence[int]) -> dict[str, int]:
    """node id -> the lecture's global neuron number (1-based, inputs excluded)."""
    numbers: dict[str, int] = {}
    number = 0
    for layer in range(1, len(sizes)):
        for unit in range(sizes[layer]):
            number += 1
            numbers[f"n{layer}_{unit}"] = number
    return numbers


def layer_sizes(config: Any, n_outputs: int) -> list[int]:
    """[inputs, hidden..., outputs] from a RunConfig (features, hidden) and the network's output count."""
    return [len(config.features), *(layer.units for layer in config.hidden), n_outputs]
