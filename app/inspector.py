"""The inspector: the current micro-step's formula written out with the live numbers of the trace.

Every number printed here is read from the engine's Trace / Event (or the network's parameters after an
update); the page prints, it never recomputes. This module picks the step's view and writes the backward,
accumulate and update steps; the forward and error steps are in inspector_forward / inspector_error, the
number format and formula lines in inspector_text.
"""

from __future__ import annotations

from typing import Any

from app.inspector_error import error_view
from app.inspector_forward import forward_view, graph_link, piece_of
from app.inspector_text import (
    MINUS,
    SIGN_NOTE,
    InspectorView,
    Line,
    NetNames,
    distinct_decimals,
    factor,
    fmt,
    subscript,
    weight_name,
)

__all__ = ["MINUS", "PLAYING", "InspectorView", "NetNames", "distinct_decimals", "factor", "fmt",
           "graph_link", "inspector_view"]

PLAYING = InspectorView(
    "Playing",
    [],
    ["Training runs step after step; the network, the plot and the loss chart follow it live. Pause "
     "(space) or step (→) to see one micro-step's formula with its numbers."],
    None,
)


def _count(number: int, noun: str) -> str:
    """'1 epoch', '7 batches': the top bar's counters in words."""
    plural = noun + ("es" if noun.endswith(("tch", "sh", "s", "x")) else "s")  # batches, epochs
    return f"{number} {noun if number == 1 else plural}"


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
            [f"{_count(epoch, 'epoch')} and {_count(batch, 'batch')} of this epoch done (the counters "
             f"at the top), so next comes batch {batch + 1} of epoch {epoch + 1}. Choose 'micro-step' and "
             "press step (→) to follow it neuron by neuron; 'batch' or 'epoch' go faster.",
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
        view = forward_view(terms, event, names)
    elif kind == "error":
        view = error_view(terms, names)
    elif kind == "backward":
        view = _backward(terms, event, names)
    elif kind == "accumulate":
        view = _accumulate(terms, event, names)
    else:
        view = _update(terms, event, names, optimizer)
    view.focus = (int(event.layer), int(event.unit), int(event.sample))
    return view


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
        term = f"{weight_name(names, layer + 1, k, unit)}·δ{subscript(k_number)}"
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
        name = weight_name(names, out_layer, 0, i)
        line = Line().text(f"this sample's ∂L/∂{name} = δ·input = ").num(float(g), "sample_grad_weight")
        line.text(f" ;  sum over {done} sample{'s' if done > 1 else ''} = ").num(float(s), "sum_grad_weight")
        lines.append(line)
    lines.append(Line().text("loss of this sample L = ").num(float(terms["loss"]), "loss"))
    notes = [f"Sample {done} of {size} done. Every weight's gradient for this sample is δ of the neuron it "
             "feeds times the input that came along the link; the batch adds them up (the lines show the "
             "output neuron's weights). After the last sample the sum is divided by the batch size "
             "(plus the regularization term's slope) and the weights are updated."]
    return InspectorView(f"Gradient: sample {done} of {size} added", lines, notes, "accumulate")


def _update_line(name: str, role: str, old: Any, grad: Any, new: Any, rate: float, sgd: bool) -> Line:
    """`w ← old − η·∂L/∂w = new` (SGD), or the gradient beside the move (momentum, Adam); `role` is
    weight or bias (the numbers' data-role: old_weight, grad_bias, ...)."""
    decimals = distinct_decimals(float(old), float(new))
    line = Line().text(f"{name} ← ").num(float(old), f"old_{role}", decimals=decimals)
    if sgd:
        line.text(" − ").num(rate, "learning_rate").text("·")
        line.num(float(grad), f"grad_{role}", as_factor=True)
    else:
        line.text(f"  (∂L/∂{role[0]} = ").num(float(grad), f"grad_{role}").text(")")
    return line.text(" = ").num(float(new), f"new_{role}", decimals=decimals)


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
        lines.append(_update_line(weight_name(names, layer, unit, i), "weight", old, grad, new, rate, sgd))
    old_b, grad_b, new_b = (piece_of(terms[k], 0) for k in ("old_bias", "grad_bias", "new_bias"))
    lines.append(_update_line(f"b{subscript(number)}", "bias", old_b, grad_b, new_b, rate, sgd))
    if sgd:
        note = ("Update: each weight takes a small step against its gradient, w ← w − η·∂L/∂w, with η the "
                "learning rate. The links that changed flash.")
    else:
        note = (f"Update with {optimizer}: the step is built from this gradient and the earlier ones "
                "(momentum / Adam), so it is not exactly η·∂L/∂w. The links that changed flash.")
    return InspectorView(f"Update: {label}'s weights", lines, [note], "update")
