"""The inspector's forward step: e = Σ w·x + b and y = f(e) with the trace's numbers, and the link to the
neuron on the computation-graph page."""

from __future__ import annotations

from typing import Any

from app.inspector_text import InspectorView, Line, NetNames, input_names, subscript, weight_name
from engine import vocabulary

# Output unit -> the function the output neuron applies (its loss is named at the error step).
OUTPUT_FUNCTIONS = {name: term.function for name, term in vocabulary.OUTPUT_UNITS.items()}


def piece_of(values: Any, piece: int) -> Any:
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


def forward_view(terms: dict[str, Any], event: Any, names: NetNames) -> InspectorView:
    layer, unit, sample = event.layer, event.unit, event.sample
    number = names.numbers[f"n{layer}_{unit}"]
    e_name = f"e{subscript(number)}"
    inputs = input_names(names, layer)
    piece = int(terms.get("piece", 0))
    raw_weights = terms["weights"]
    if raw_weights and isinstance(raw_weights[0], list):  # maxout: (k, n_in)
        raw_weights = raw_weights[piece]
    weights = [float(w) for w in raw_weights]
    bias = float(piece_of(terms["bias"], piece))
    pre_activation = float(piece_of(terms["pre_activation"], piece))
    values = [float(x) for x in terms["inputs"]]

    symbolic = Line().text(f"{e_name} = ")
    for i, name in enumerate(inputs):
        symbolic.text(("" if i == 0 else " + ") + f"{weight_name(names, layer, unit, i)}·{name}")
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


