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


def fmt(value: float) -> str:
    """2 decimals with a real minus sign; |x| < 0.005 (but not 0) in scientific notation so it is not 0.00."""
    if not math.isfinite(value):
        return "overflow"
    if value != 0.0 and (abs(value) < 0.005 or abs(value) >= 1e4):
        mantissa, exponent = f"{value:.2e}".split("e")
        text = f"{mantissa}·10{_superscript(int(exponent))}"
    else:
        text = f"{value:.2f}"
        if text in ("-0.00",):
            text = "0.00"
    return text.replace("-", MINUS)


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

    def num(self, value: float, role: str | None = None, *, as_factor: bool = False) -> Line:
        self.tokens.append(Token(factor(value) if as_factor else fmt(value), role, float(value)))
        return self


@dataclass
class InspectorView:
    title: str
    lines: list[Line]
    notes: list[str]
    phase: str | None
    focus: tuple[int, int, int] | None = None  # (layer, unit, sample) of the event, for the page and tests


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


def inspector_view(trace: Any, event: Any, names: NetNames, new_params: Any = None) -> InspectorView:
    """The formula of `event` (an engine Event) with numbers from `trace` (an engine Trace).

    `new_params` is the network's list of (weights, bias) after the update, used to print w′ in the
    update phase. Shapes: trace.layers[l-1].weights (n_out, n_in), activation/pre_activation/delta (B, n_out).
    """
    if trace is None or event is None:
        return InspectorView(
            "Ready",
            [],
            ["Press step (→) to run the first micro-step: the first neuron of layer 1 computes its sum e "
             "and its output y = f(e). Choose 'micro-step' to see every neuron, 'epoch' to go fast.",
             SIGN_NOTE],
            None,
        )
    view = _view_for(trace, event, names, new_params)
    view.focus = (int(event.layer), int(event.unit), int(event.sample))
    return view


def _view_for(trace: Any, event: Any, names: NetNames, new_params: Any) -> InspectorView:
    kind = event.kind
    if kind == "forward":
        return _forward(trace, event, names)
    if kind == "error":
        return _error(trace, event, names)
    if kind == "backward":
        return _backward(trace, event, names)
    if kind == "accumulate":
        return _accumulate(trace, event, names)
    if kind == "update":
        return _update(trace, event, names, new_params)
    return InspectorView(str(kind), [], [], kind)


def _inputs_of(trace: Any, layer: int, sample: int) -> Sequence[float]:
    if layer == 1:
        return [float(v) for v in trace.inputs[sample]]
    return [float(v) for v in trace.layers[layer - 2].activation[sample]]


def _forward(trace: Any, event: Any, names: NetNames) -> InspectorView:
    layer, unit, sample = event.layer, event.unit, event.sample
    lt = trace.layers[layer - 1]
    number = names.numbers[f"n{layer}_{unit}"]
    e_name = f"e{subscript(number)}"
    inputs = _input_names(names, layer)
    values = _inputs_of(trace, layer, sample)
    weights = [float(w) for w in _rows(lt.weights)[unit]]
    bias = float(_bias(lt.bias)[unit])

    symbolic = Line().text(f"{e_name} = ")
    for i, name in enumerate(inputs):
        symbolic.text(("" if i == 0 else " + ") + f"{_weight(names, layer, unit, i)}·{name}")
    symbolic.text(f" + b{subscript(number)}")
    numeric = Line().text("   = ")
    for i, (w, x) in enumerate(zip(weights, values, strict=False)):
        numeric.text("" if i == 0 else " + ").num(w, "weight", as_factor=True).text("·")
        numeric.num(x, "input", as_factor=True)
    numeric.text(" + ").num(bias, "bias", as_factor=True).text(" = ")
    numeric.num(float(lt.pre_activation[sample][unit]), "pre_activation")

    out_name = names.labels[f"n{layer}_{unit}"]
    act = names.activations[layer - 1]
    result = Line().text(f"{out_name} = {act}({e_name}) = ")
    result.num(float(lt.activation[sample][unit]), "activation")
    last = layer == len(names.sizes) - 1
    notes = [
        f"Forward pass, sample {sample + 1} of the batch: neuron {out_name} adds up its inputs, each times "
        "the weight of its link, plus its bias b — the bias lets the neuron shift where it switches, even "
        "when every input is 0. Then the activation function f turns the sum e into the output.",
    ]
    if last:
        notes.append("This is the output neuron: its value is the network's prediction ŷ.")
    return InspectorView(f"Forward: {out_name}", [symbolic, numeric, result], notes, "forward")


def _error(trace: Any, event: Any, names: NetNames) -> InspectorView:
    sample = event.sample
    out_layer = len(names.sizes) - 1
    lt = trace.layers[out_layer - 1]
    lines: list[Line] = []
    for unit in range(names.sizes[out_layer]):
        y_hat = float(trace.prediction[sample][unit])
        target = float(trace.targets[sample][min(unit, trace.targets.shape[1] - 1)])
        delta = float(lt.delta[sample][unit])
        label = names.labels[f"n{out_layer}_{unit}"]
        line = Line().text(f"δ = ∂L/∂e for {label}:  {label} − y = ")
        line.num(y_hat, "prediction", as_factor=True).text(" − ").num(target, "target", as_factor=True)
        line.text(" ;  δ = ").num(delta, "delta")
        lines.append(line)
    lines.append(Line().text("loss of this sample L = ").num(float(trace.loss_per_sample[sample]), "loss"))
    activation = names.activations[-1]
    notes = [
        "The error: compare the prediction ŷ with the target y. δ is how much the loss changes when the "
        "output's sum e changes.",
    ]
    if activation in ("tanh_mse",):
        notes.append("With a tanh output and squared error, δ = (ŷ − y)·tanh′(e): the slope of tanh "
                     "scales it.")
    else:
        notes.append("For this output unit and its matching loss, δ = ŷ − y exactly.")
    notes.append(SIGN_NOTE)
    return InspectorView("Error at the output", lines, notes, "error")


def _backward(trace: Any, event: Any, names: NetNames) -> InspectorView:
    layer, unit, sample = event.layer, event.unit, event.sample
    lt = trace.layers[layer - 1]
    label = names.labels[f"n{layer}_{unit}"]
    number = names.numbers[f"n{layer}_{unit}"]
    delta = float(lt.delta[sample][unit])
    if layer == len(names.sizes) - 1:
        line = Line().text(f"δ{subscript(number)} = ").num(delta, "delta")
        return InspectorView(f"Backward: {label}", [line], [SIGN_NOTE], "backward")
    down = trace.layers[layer]
    down_weights = [float(row[unit]) for row in _rows(down.weights)]
    down_deltas = [float(d) for d in down.delta[sample]]
    symbolic = Line().text(f"δ{subscript(number)} = f′(e{subscript(number)})·(")
    numeric = Line().text("   = f′(").num(float(lt.pre_activation[sample][unit]), "pre_activation")
    numeric.text(")·(")
    for k, (w, d) in enumerate(zip(down_weights, down_deltas, strict=False)):
        k_number = names.numbers[f"n{layer + 1}_{k}"]
        term = f"{_weight(names, layer + 1, k, unit)}·δ{subscript(k_number)}"
        symbolic.text(("" if k == 0 else " + ") + term)
        numeric.text("" if k == 0 else " + ").num(w, "down_weight", as_factor=True).text("·")
        numeric.num(d, "down_delta", as_factor=True)
    symbolic.text(")")
    numeric.text(") = ").num(delta, "delta")
    terms = getattr(event, "terms", None) or {}
    lines = [symbolic, numeric]
    derivative = terms.get("derivative") if isinstance(terms, dict) else None
    if isinstance(derivative, int | float):
        lines.append(Line().text(f"f′(e{subscript(number)}) = ").num(float(derivative), "derivative"))
    notes = [
        f"Backward pass: {label}'s share of the blame. The δ of each neuron it feeds flows back along the "
        "same links, weighted by the same weights, and is summed; then it is scaled by the slope f′ of "
        "this neuron's activation at its sum e (a flat slope passes little blame back).",
        SIGN_NOTE,
    ]
    return InspectorView(f"Backward: δ of {label}", lines, notes, "backward")


def _accumulate(trace: Any, event: Any, names: NetNames) -> InspectorView:
    layer, unit = event.layer, event.unit
    lt = trace.layers[layer - 1]
    label = names.labels[f"n{layer}_{unit}"]
    lines = []
    for i, grad in enumerate(_rows(lt.grad_weights)[unit]):
        line = Line().text(f"∂L/∂{_weight(names, layer, unit, i)} = mean over the batch of δ·input = ")
        lines.append(line.num(float(grad), "grad_weight"))
    lines.append(Line().text("∂L/∂b = mean of δ = ").num(float(_bias(lt.grad_bias)[unit]), "grad_bias"))
    notes = ["Each weight's gradient is δ of the neuron times the input that came along the link, "
             "averaged over the samples of the batch (plus the regularization term's slope)."]
    return InspectorView(f"Gradient of {label}'s weights", lines, notes, "accumulate")


def _update(trace: Any, event: Any, names: NetNames, new_params: Any) -> InspectorView:
    layer, unit = event.layer, event.unit
    lt = trace.layers[layer - 1]
    label = names.labels[f"n{layer}_{unit}"]
    rate = trace.learning_rate
    old = _rows(lt.weights)[unit]
    grads = _rows(lt.grad_weights)[unit]
    new_w = _rows(new_params[layer - 1][0])[unit] if new_params is not None else None
    lines = []
    for i in range(len(old)):
        line = Line().text(f"{_weight(names, layer, unit, i)} ← ").num(float(old[i]), "old_weight")
        if rate is not None:
            line.text(" − ").num(float(rate), "learning_rate").text("·")
            line.num(float(grads[i]), "grad_weight", as_factor=True)
        if new_w is not None:
            line.text(" = ").num(float(new_w[i]), "new_weight")
        lines.append(line)
    number = names.numbers[f"n{layer}_{unit}"]
    line = Line().text(f"b{subscript(number)} ← ").num(float(_bias(lt.bias)[unit]), "old_bias")
    if new_params is not None:
        line.text(" … = ").num(float(_bias(new_params[layer - 1][1])[unit]), "new_bias")
    lines.append(line)
    notes = ["Update: each weight takes a small step against its gradient, w ← w − η·∂L/∂w (plain SGD; "
             "momentum and Adam shape the step first). The links that changed flash."]
    return InspectorView(f"Update: {label}'s weights", lines, notes, "update")


def _rows(weights: Any) -> Any:
    """Maxout weights (n_out, k, n_in) show piece 0, like the network drawing."""
    return weights[:, 0, :] if getattr(weights, "ndim", 2) == 3 else weights


def _bias(bias: Any) -> Any:
    return bias[:, 0] if getattr(bias, "ndim", 1) == 2 else bias
