"""The inspector: the current micro-step's formula written out with the live numbers of the trace.

Every number printed here is read from the engine's Trace / Event (or the network's parameters after an
update); the page prints, it never recomputes. Numbers are shown with 2 decimals (tiny ones in
scientific notation) and each result carries a `role` so tests can compare it with the API's trace.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.views import subscript

MINUS = "−"


def fmt(value: float, decimals: int = 2) -> str:
    """2 decimals with a real minus sign; |x| < 0.005 (but not 0) in scientific notation so it is not 0.00."""
    if not math.isfinite(value):
        return "overflow"
    if value != 0.0 and (abs(value) < 0.005 or abs(value) >= 1e4):
        mantissa, exponent = f"{value:.{decimals}e}".split("e")
        text = f"{mantissa}·10{_superscript(int(exponent))}"
    else:
        text = f"{value:.{decimals}f}"
        if text.startswith("-") and float(text) == 0.0:
            text = text[1:]
    return text.replace("-", MINUS)


def distinct_decimals(old: float, new: float, limit: int = 8) -> int:
    """The fewest decimals (2 or more) at which `old` and `new` print differently, so a small update
    does not read as 'nothing changed' (0.69 ← 0.69); `limit` if they agree that far."""
    for decimals in range(2, limit + 1):
        if fmt(old, decimals) != fmt(new, decimals):
            return decimals
    return limit if old != new else 2


def _superscript(number: int) -> str:
    return str(number).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def factor(value: float) -> str:
    """A number as a factor in a product: negatives in parentheses, as written by hand."""
    text = fmt(value)
    return f"({text})" if text.startswith(MINUS) else text


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
            decimals: int = 2) -> Line:
        text = fmt(value, decimals)
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
    graph_url: str | None = None  # forward steps: the neuron on the computation-graph page
    graph_note: str | None = None  # how far that graph goes (to f(e) or to the loss) and why


def _name(index: int, *, weight_of: int | None = None) -> str:
    """Subscript pair for a weight w_{k,m}: comma only when an index has two digits."""
    if weight_of is None:
        return subscript(index)
    sep = "," if index >= 10 or weight_of >= 10 else ""
    return f"{subscript(index)}{sep}{subscript(weight_of)}"


SIGN_NOTE = (
    "Sign convention: δ = ∂L/∂e, how much the loss grows when the neuron's sum e grows. At the output "
    "this is ŷ − y (prediction minus target). The lecture's tutorial writes δ = z − y with z the target, "
    "the opposite sign, and so adds η·δ·… where we subtract η·∂L/∂w: the same step."
)


PLAYING = InspectorView(
    "Playing",
    [],
    ["Training runs step after step; the network, the plot and the loss chart follow it live. Pause "
     "(space) or step (→) to see one micro-step's formula with its numbers."],
    None,
)


@dataclass(frozen=True)
class NetNames:
    """How the page names things: node labels (x₁, y₃, ŷ) and global neuron numbers."""

    labels: dict[str, str]
    numbers: dict[str, int]
    sizes: Sequence[int]
    activations: Sequence[str]  # one per layer 1..L (the output layer's is its output unit's)


def _input_names(names: NetNames, layer: int) -> list[str]:
    return [names.labels[f"n{layer - 1}_{i}"] for i in range(names.sizes[layer - 1])]


def _weight(names: NetNames, layer: int, unit: int, source: int) -> str:
    number = names.numbers[f"n{layer}_{unit}"]
    if layer == 1:
        return f"w{_name(number, weight_of=source + 1)}"
    return f"w{_name(number, weight_of=names.numbers[f'n{layer - 1}_{source}'])}"


def inspector_view(event: Any, names: NetNames, *, optimizer: str = "sgd",
                   position: tuple[int, int] = (0, 0)) -> InspectorView:
    """The formula of `event` (an engine Event) with the numbers of its `terms` (plain floats/lists, read
    from the batch's trace by the engine). Weights are per unit: (n_in,) or, for maxout, (k, n_in).
    `position` = (epoch, batch) completed, for the words shown between batches."""
    if event is None and position != (0, 0):
        epoch, batch = position
        return InspectorView(
            "Between batches",
            [],
            [f"Training is at the start of batch {batch + 1} of epoch {epoch + 1}. Choose 'micro-step' and "
             "press step (→) to follow the next batch neuron by neuron; 'batch' or 'epoch' go faster.",
             SIGN_NOTE],
            None,
        )
    if event is None:
        return InspectorView(
            "Ready",
            [],
            ["Press step (→) to run the first micro-step: the first neuron of layer 1 computes its sum e "
             "and its output y = f(e). Choose 'micro-step' to see every neuron, 'epoch' to go fast.",
             SIGN_NOTE],
            None,
        )
    terms: dict[str, Any] = dict(event.terms)
    kind = event.kind
    if kind == "forward":
        view = _forward(terms, event, names)
    elif kind == "error":
        view = _error(terms, event, names)
    elif kind == "backward":
        view = _backward(terms, event, names)
    elif kind == "accumulate":
        view = _accumulate(terms, event, names)
    else:
        view = _update(terms, event, names, optimizer)
    view.focus = (int(event.layer), int(event.unit), int(event.sample))
    return view


def _piece(values: Any, piece: int) -> Any:
    """A maxout unit's term is one entry per piece; show the chosen piece's."""
    return values[piece] if isinstance(values, list) else values


# Output unit -> (the function of its output neuron, the loss the graph writes after it).
GRAPH_LOSSES = {"tanh_mse": ("tanh", "squared"), "linear_mse": ("linear", "squared"),
                "linear_l1": ("linear", "absolute"), "sigmoid_bce": ("sigmoid", "cross_entropy")}
GRAPH_VALUES_LIMIT = 2000  # the graph page reads at most this many characters of values


def graph_link(terms: dict[str, Any], *, log_variance: bool = False) -> tuple[str | None, str | None]:
    """(URL, note) of a forward event's neuron on the computation-graph page: e = Σ w·x + b → f(e), and
    for an output neuron → its loss for this sample's target. The URL is None where one neuron's
    expression cannot be written (maxout, softmax); the note says how far the graph goes and why.
    Numbers go into the link at full precision so its gradients agree with the trace's."""
    from app.graph_view import format_values, graph_url
    from engine.expression import ExpressionError, build_graph, neuron_expression

    weights, bias, name = terms["weights"], terms["bias"], str(terms["activation_name"])
    if isinstance(bias, list):  # maxout
        return None, None
    output = name in OUTPUT_FUNCTIONS
    if name == "softmax_ce":
        return None, ("Softmax divides by the sum over all outputs, so one output neuron cannot be drawn "
                      "as a graph by itself; the error step shows its loss and δ.")
    activation, loss = GRAPH_LOSSES.get(name, (name, "squared"))
    target: float | None = float(terms["target"]) if output and "target" in terms else None
    note = ("A hidden neuron: the graph goes e → f(e). Its loss depends on the layers after it; the "
            "backward micro-steps show its δ = ∂L/∂e.")
    if name == "gaussian_nll":
        activation, target = ("exp" if log_variance else "linear"), None
        note = ("The Gaussian loss needs both outputs of this target, the mean μ and the log-variance s (two "
                "neurons), so the graph goes e → f(e) only; the error step shows the loss and both δ.")
    elif output and target is not None:
        note = (f"The graph goes e → f(e) → this sample's loss (target y = {float(target):.6g} as t); its "
                "∂f/∂w are this sample's ∂L/∂w. The batch's gradient is their mean over the samples.")
    try:
        expression, values = neuron_expression(
            [float(w) for w in weights], [float(x) for x in terms["inputs"]], float(bias), activation,
            target, loss)
        if target is not None:
            build_graph(expression, values)  # a saturated sigmoid makes log(1 − ŷ) = log 0: no loss then
    except ExpressionError as error:
        expression, values = neuron_expression(
            [float(w) for w in weights], [float(x) for x in terms["inputs"]], float(bias), activation)
        note = ("The graph goes e → f(e) only: its loss cannot be computed step by step here "
                f"({error.message}).")
    except ValueError:
        return None, None
    if len(format_values(values)) > GRAPH_VALUES_LIMIT:  # many inputs: 6 significant digits still fit
        values = {key: float(f"{value:.6g}") for key, value in values.items()}
    return graph_url(expression, values), note


def _forward(terms: dict[str, Any], event: Any, names: NetNames) -> InspectorView:
    layer, unit, sample = event.layer, event.unit, event.sample
    number = names.numbers[f"n{layer}_{unit}"]
    e_name = f"e{subscript(number)}"
    inputs = _input_names(names, layer)
    piece = int(terms.get("piece", 0))
    raw_weights = terms["weights"]
    if raw_weights and isinstance(raw_weights[0], list):  # maxout: (k, n_in)
        raw_weights = raw_weights[piece]
    weights = [float(w) for w in raw_weights]
    bias = float(_piece(terms["bias"], piece))
    pre_activation = float(_piece(terms["pre_activation"], piece))
    values = [float(x) for x in terms["inputs"]]

    symbolic = Line().text(f"{e_name} = ")
    for i, name in enumerate(inputs):
        symbolic.text(("" if i == 0 else " + ") + f"{_weight(names, layer, unit, i)}·{name}")
    symbolic.text(f" + b{subscript(number)}")
    numeric = Line().text("   = ")
    for i, (w, x) in enumerate(zip(weights, values, strict=False)):
        numeric.text("" if i == 0 else " + ").num(w, "weight", as_factor=True).text("·")
        numeric.num(x, "input", as_factor=True)
    numeric.text(" + ").num(bias, "bias", as_factor=True).text(" = ")
    numeric.num(pre_activation, "pre_activation")

    out_name = names.labels[f"n{layer}_{unit}"]
    output_unit = act = str(terms["activation_name"])
    last = layer == len(names.sizes) - 1
    # A Gaussian output's second half: the sum is the log-variance s, the unit's value σ² = eˢ.
    log_variance = last and output_unit == "gaussian_nll" and unit >= names.sizes[-1] // 2
    if last:
        act = "exp" if log_variance else OUTPUT_FUNCTIONS.get(act, act)
    result = Line().text(f"{out_name} = {act}({e_name}) = ")
    result.num(float(terms["activation"]), "activation")
    notes = [
        f"Forward pass, sample {sample + 1} of the batch: neuron {out_name} adds up its inputs, each times "
        "the weight of its link, plus its bias b — the bias lets the neuron shift where it switches, even "
        "when every input is 0. Then the activation function f turns the sum e into the output.",
    ]
    if "piece" in terms:
        notes.append(f"Maxout: the unit computes one sum per piece and keeps the largest; piece {piece + 1} "
                     "won for this sample, so its weights are shown.")
    if log_variance:
        notes.append(f"This output's sum {e_name} is the log-variance s; its value {out_name} = eˢ is the "
                     "variance the network predicts for y at this point (always positive): large where it "
                     "expects to miss by a lot, small where it is sure. The spread is σ = √σ².")
    elif last and output_unit == "gaussian_nll":
        notes.append(f"This output is the predicted mean {out_name} (linear: its value is its sum); the "
                     "other output says how far from it y may be.")
    elif last:
        notes.append("This is an output neuron: its value is the network's prediction ŷ"
                     + (" (softmax divides by the sum over all outputs, shown at the error step)."
                        if act == "softmax" else "."))
    link, link_note = graph_link(terms, log_variance=log_variance)
    return InspectorView(f"Forward: {out_name}", [symbolic, numeric, result], notes, "forward",
                         graph_url=link, graph_note=link_note)


# Output unit -> the function the output neuron applies (its loss is named at the error step).
OUTPUT_FUNCTIONS = {"tanh_mse": "tanh", "sigmoid_bce": "sigmoid", "softmax_ce": "softmax",
                    "linear_mse": "linear", "linear_l1": "linear", "gaussian_nll": "linear"}
LOSS_NAMES = {"tanh_mse": "squared error ½(ŷ − y)²", "sigmoid_bce": "cross-entropy",
              "softmax_ce": "cross-entropy −Σ y·log ŷ", "linear_mse": "squared error ½(ŷ − y)²",
              "linear_l1": "absolute error |ŷ − y|", "gaussian_nll": "Gaussian negative log-likelihood"}


def _error(terms: dict[str, Any], event: Any, names: NetNames) -> InspectorView:
    out_layer = len(names.sizes) - 1
    output_unit = str(terms["output_unit"])
    if output_unit == "gaussian_nll":
        return _gaussian_error(terms, names)
    targets = [float(t) for t in terms["target"]]
    lines: list[Line] = []
    for unit, (y_hat, delta) in enumerate(zip(terms["prediction"], terms["delta"], strict=False)):
        label = names.labels[f"n{out_layer}_{unit}"]
        target = targets[min(unit, len(targets) - 1)]
        line = Line().text(f"{label} − y = ")
        line.num(float(y_hat), "prediction", as_factor=True).text(" − ").num(target, "target", as_factor=True)
        line.text(" ;  δ = ∂L/∂e = ").num(float(delta), "delta")
        lines.append(line)
    lines.append(Line().text("loss of this sample L = ").num(float(terms["loss"]), "loss"))
    notes = [
        "The error: compare the prediction ŷ with the target y using the "
        f"{LOSS_NAMES.get(output_unit, 'loss')}."
        " δ is how much the loss changes when the output's sum e changes.",
    ]
    if output_unit == "tanh_mse":
        notes.append("With a tanh output and squared error, δ = (ŷ − y)·tanh′(e): the slope of tanh "
                     "scales it.")
    elif output_unit == "linear_l1":
        notes.append("With the absolute error, δ = sign(ŷ − y): only the direction counts.")
    else:
        notes.append("For this output unit and its matching loss, δ = ŷ − y exactly.")
    if output_unit == "softmax_ce" or len(terms["prediction"]) > 1:
        notes.append("One output per class: ŷ₁ is the network's probability for the first class (class 0), "
                     "ŷ₂ for the next, …; the target y is 1 for this sample's class and 0 for the others.")
    notes.append(SIGN_NOTE)
    return InspectorView("Error at the output", lines, notes, "error")


GAUSSIAN_NOTES = (
    "Gaussian output: for each target the network predicts a mean μ and a log-variance s, so a whole bell "
    "curve for y: σ² = eˢ is its variance, σ = √σ² its spread (y ≈ μ ± σ). The loss is the negative "
    "log of how likely the bell makes the real y, L = ½·[log 2π + s + (y − μ)²/σ²].",
    "δ of μ is the miss divided by σ²: where the network says it is unsure (large σ²) a miss counts less. "
    "δ of s is ½·(1 − miss²/σ²): negative when the miss is larger than σ² expects, so the step raises s "
    "(σ² grows); positive when smaller, so σ² shrinks.",
    "Unlike a squared error, this loss can be negative: a good μ with a small σ² makes log σ² = s < 0.",
)
GAUSSIAN_SIGN_NOTE = (
    "Sign convention: δ = ∂L/∂e, how much the loss grows when the neuron's sum e grows (here e is μ or s); "
    "the update subtracts η·∂L/∂w. The lecture's tutorial writes the error with the opposite sign and adds."
)


def _gaussian_error(terms: dict[str, Any], names: NetNames) -> InspectorView:
    """The error step of gaussian_nll, per target k: μ, s, σ² = eˢ and y, then δ of μ and δ of s written
    with σ² (all read from the trace: prediction = (μ, σ²), pre_activation = (μ, s), delta = (δμ, δs))."""
    out_layer = len(names.sizes) - 1
    prediction = [float(v) for v in terms["prediction"]]
    pre_activation = [float(v) for v in terms["pre_activation"]]
    delta = [float(v) for v in terms["delta"]]
    targets = [float(t) for t in terms["target"]]
    d = len(prediction) // 2
    lines: list[Line] = []
    for k in range(d):
        mean, log_var, variance, target = prediction[k], pre_activation[d + k], prediction[d + k], targets[k]
        sub = "" if d == 1 else subscript(k + 1)
        mu_name = names.labels[f"n{out_layer}_{k}"]
        var_name = names.labels[f"n{out_layer}_{d + k}"]
        number = names.numbers[f"n{out_layer}_{d + k}"]
        lines.append(Line().text(f"{mu_name} = ").num(mean, "prediction").text(f" ;  target y{sub} = ")
                     .num(target, "target"))
        lines.append(Line().text(f"s{sub} = e{subscript(number)} = ").num(log_var, "pre_activation")
                     .text(f" ;  {var_name} = eˢ = ").num(variance, "prediction"))
        miss = f"({fmt(mean)} − {factor(target)})"
        lines.append(Line().text(f"δ of {mu_name} = ∂L/∂μ = (μ − y)/σ² = {miss}/{fmt(variance)} = ")
                     .num(delta[k], "delta"))
        lines.append(Line().text(f"δ of s{sub} = ∂L/∂s = ½·[1 − (μ − y)²/σ²] = "
                                 f"½·[1 − {miss}²/{fmt(variance)}] = ").num(delta[d + k], "delta"))
    total = "Σ" if d > 1 else ""
    lines.append(Line().text(f"loss of this sample L = ½·{total}[log 2π + s + (y − μ)²/σ²] = ")
                 .num(float(terms["loss"]), "loss"))
    return InspectorView("Error at the output", lines, [*GAUSSIAN_NOTES, GAUSSIAN_SIGN_NOTE], "error")


def _backward(terms: dict[str, Any], event: Any, names: NetNames) -> InspectorView:
    layer, unit = event.layer, event.unit
    label = names.labels[f"n{layer}_{unit}"]
    number = names.numbers[f"n{layer}_{unit}"]
    down_weights = [float(w) for w in terms["down_weights"]]
    down_deltas = [float(d) for d in terms["down_deltas"]]
    symbolic = Line().text(f"δ{subscript(number)} = f′(e{subscript(number)})·(")
    numeric = Line().text("   = ").num(float(terms["derivative"]), "derivative").text("·(")
    for k, (w, d) in enumerate(zip(down_weights, down_deltas, strict=False)):
        k_number = names.numbers[f"n{layer + 1}_{k}"]
        term = f"{_weight(names, layer + 1, k, unit)}·δ{subscript(k_number)}"
        symbolic.text(("" if k == 0 else " + ") + term)
        numeric.text("" if k == 0 else " + ").num(w, "down_weight", as_factor=True).text("·")
        numeric.num(d, "down_delta", as_factor=True)
    symbolic.text(")")
    numeric.text(") = ").num(float(terms["derivative"]), "derivative", as_factor=True).text("·")
    numeric.num(float(terms["weighted_sum"]), "weighted_sum", as_factor=True).text(" = ")
    numeric.num(float(terms["delta"]), "delta")
    slope = Line().text(f"f′(e{subscript(number)}) = {terms['activation_name']}′(")
    slope.num(float(terms["pre_activation"]), "pre_activation").text(") = ")
    slope.num(float(terms["derivative"]), "derivative")
    notes = [
        f"Backward pass: {label}'s share of the blame. The δ of each neuron it feeds flows back along the "
        "same links, weighted by the same weights, and is summed; then it is scaled by the slope f′ of "
        "this neuron's activation at its sum e (a flat slope passes little blame back).",
        SIGN_NOTE,
    ]
    if layer + 1 == len(names.sizes) - 1:
        outputs = ", ".join(f"δ{subscript(names.numbers[f'n{layer + 1}_{k}'])}"
                            for k in range(names.sizes[layer + 1]))
        notes.insert(1, f"{outputs} belong{'s' if names.sizes[layer + 1] == 1 else ''} to the output "
                        "(ŷ), computed at the error step.")
    return InspectorView(f"Backward: δ of {label}", [symbolic, slope, numeric], notes, "backward")


def _accumulate(terms: dict[str, Any], event: Any, names: NetNames) -> InspectorView:
    """The sample's gradient is added to the batch's running sum; shown for the output neuron's weights."""
    out_layer = len(names.sizes) - 1
    done, size = int(terms["samples_done"]), int(terms["batch_size"])
    own = terms["sample_grad_weights"][out_layer - 1][0]
    total = terms["sum_grad_weights"][out_layer - 1][0]
    lines: list[Line] = []
    for i, (g, s) in enumerate(zip(own, total, strict=False)):
        if isinstance(g, list):  # maxout output: skip the per-piece detail
            break
        name = _weight(names, out_layer, 0, i)
        line = Line().text(f"this sample's ∂L/∂{name} = δ·input = ").num(float(g), "sample_grad_weight")
        line.text(f" ;  sum over {done} sample{'s' if done > 1 else ''} = ").num(float(s), "sum_grad_weight")
        lines.append(line)
    lines.append(Line().text("loss of this sample L = ").num(float(terms["loss"]), "loss"))
    notes = [f"Sample {done} of {size} done. Every weight's gradient for this sample is δ of the neuron it "
             "feeds times the input that came along the link; the batch adds them up (the lines show the "
             "output neuron's weights). After the last sample the sum is divided by the batch size "
             "(plus the regularization term's slope) and the weights are updated."]
    return InspectorView(f"Gradient: sample {done} of {size} added", lines, notes, "accumulate")


def _update(terms: dict[str, Any], event: Any, names: NetNames, optimizer: str) -> InspectorView:
    layer, unit = event.layer, event.unit
    label = names.labels[f"n{layer}_{unit}"]
    number = names.numbers[f"n{layer}_{unit}"]
    rate = float(terms.get("learning_rate") or 0.0)
    sgd = optimizer == "sgd" and terms.get("learning_rate") is not None
    lines: list[Line] = []
    olds, grads, news = terms["old_weights"], terms["grad_weights"], terms["new_weights"]
    if olds and isinstance(olds[0], list):  # maxout: one row per piece; show piece 1, as the drawing does
        olds, grads, news = olds[0], grads[0], news[0]
    for i, (old, grad, new) in enumerate(zip(olds, grads, news, strict=False)):
        decimals = distinct_decimals(float(old), float(new))
        line = Line().text(f"{_weight(names, layer, unit, i)} ← ")
        line.num(float(old), "old_weight", decimals=decimals)
        if sgd:
            line.text(" − ").num(float(rate), "learning_rate").text("·")
            line.num(float(grad), "grad_weight", as_factor=True)
        else:
            line.text("  (∂L/∂w = ").num(float(grad), "grad_weight").text(")")
        line.text(" = ").num(float(new), "new_weight", decimals=decimals)
        lines.append(line)
    old_b, grad_b, new_b = (_piece(terms[k], 0) for k in ("old_bias", "grad_bias", "new_bias"))
    decimals = distinct_decimals(float(old_b), float(new_b))
    line = Line().text(f"b{subscript(number)} ← ").num(float(old_b), "old_bias", decimals=decimals)
    if sgd:
        line.text(" − ").num(float(rate), "learning_rate").text("·")
        line.num(float(grad_b), "grad_bias", as_factor=True)
    else:
        line.text("  (∂L/∂b = ").num(float(grad_b), "grad_bias").text(")")
    line.text(" = ").num(float(new_b), "new_bias", decimals=decimals)
    lines.append(line)
    if sgd:
        note = ("Update: each weight takes a small step against its gradient, w ← w − η·∂L/∂w, with η the "
                "learning rate. The links that changed flash.")
    else:
        note = (f"Update with {optimizer}: the step is built from this gradient and the earlier ones "
                "(momentum / Adam), so it is not exactly η·∂L/∂w. The links that changed flash.")
    return InspectorView(f"Update: {label}'s weights", lines, [note], "update")
