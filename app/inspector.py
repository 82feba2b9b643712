"""The inspector: the current micro-step's formula written out with the live numbers of the trace.

Every number printed here is read from the engine's Trace / Event (or the network's parameters after an
update); the page prints, it never recomputes. This module picks the step's view and writes the backward,
accumulate steps; the forward, error and update steps are in inspector_forward / inspector_error /
inspector_update, the
number format and formula lines in inspector_text.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import numpy as np

from app.i18n import N_, gettext, ngettext
from app.inspector_error import error_view
from app.inspector_forward import forward_view, graph_link, is_log_variance
from app.inspector_text import (
    MINUS,
    SIGN_NOTE,
    InspectorView,
    Line,
    NetNames,
    distinct_decimals,
    factor,
    fmt,
    input_names,
    same,
    sh,
    subscript,
    weight_name,
)
from app.inspector_update import update_view
from engine import activations
from engine.printed import agreeing

__all__ = ["MINUS", "PLAYING", "InspectorView", "NetNames", "distinct_decimals", "factor", "fmt",
           "graph_link", "inspector_view", "neuron_graph_url"]

# Made once, in English; the template shows its title and notes through the catalogue (`translated`).
PLAYING = InspectorView(
    N_("Playing"),
    [],
    [N_("Training runs step after step; the network, the plot and the loss chart follow it live. Pause "
        "(space) or step (→) to see one micro-step's formula with its numbers.")],
    None,
)




def _count(number: int, noun: str) -> str:
    """'1 epoch', '7 batches': the top bar's counters in words (in the page's language)."""
    if noun == "epoch":
        return ngettext("%(num)d epoch", "%(num)d epochs", number) % {"num": number}
    return ngettext("%(num)d batch", "%(num)d batches", number) % {"num": number}


def inspector_view(event: Any, names: NetNames, *, optimizer: str = "sgd",
                   position: tuple[int, int] = (0, 0)) -> InspectorView:
    """The formula of `event` (an engine Event) with the numbers of its `terms` (plain floats/lists, read
    from the batch's trace by the engine). Weights are per unit: (n_in,) or, for maxout, (k, n_in).
    `position` = (epoch, batch) completed, for the words shown between batches."""
    if event is None and position != (0, 0):
        epoch, batch = position
        return InspectorView(
            gettext("Between batches"),
            [],
            [gettext("%(epochs)s and %(batches)s of this epoch done (the counters at the top), so next "
                     "comes batch %(batch)s of epoch %(epoch)s. Choose 'micro-step' and press step (→) to "
                     "follow it neuron by neuron; 'batch' or 'epoch' go faster.")
             % {"epochs": _count(epoch, "epoch"), "batches": _count(batch, "batch"),
                "batch": batch + 1, "epoch": epoch + 1},
             gettext(SIGN_NOTE)],
            None,
        )
    if event is None:
        return InspectorView(
            gettext("Ready"),
            [],
            [gettext("Press step (→) to run the first micro-step: the first neuron of layer 1 computes its "
                     "sum e and its output y = f(e). Choose 'micro-step' to see every neuron, 'epoch' to go "
                     "fast."),
             gettext(SIGN_NOTE)],
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
        view = update_view(terms, event, names)
    view.focus = (int(event.layer), int(event.unit), int(event.sample))
    return view


def _slope(name: str, alpha: float | None) -> Any:
    """f′ for one number, the engine's derivative (maxout's chosen piece passes δ with slope 1)."""
    if name == "maxout":
        return lambda x: 1.0
    activation = activations.get(name, alpha, 2)

    def slope(x: float) -> float:
        z = np.array([x])
        with np.errstate(all="ignore"):
            return float(activation.derivative(z, activation.f(z))[0])
    return slope


def _backward(terms: dict[str, Any], event: Any, names: NetNames) -> InspectorView:
    layer, unit = event.layer, event.unit
    label = names.labels[f"n{layer}_{unit}"]
    number = names.numbers[f"n{layer}_{unit}"]
    down_weights = [float(w) for w in terms["down_weights"]]
    down_deltas = [float(d) for d in terms["down_deltas"]]
    derivative, weighted, delta = (float(terms[k]) for k in ("derivative", "weighted_sum", "delta"))
    name = str(terms["activation_name"])

    def holds(d: int) -> bool:
        total = sum(sh(w, d) * sh(x, d) for w, x in zip(down_weights, down_deltas, strict=False))
        slope = sh(derivative, d)  # and the printed sum in brackets is what its printed terms give
        return (same(total, weighted, d) and same(slope * total, delta)
                and same(slope * sh(weighted, d), delta))

    d = agreeing(holds)
    symbolic = Line().text(f"δ{subscript(number)} = f′(e{subscript(number)})·(")
    numeric = Line().text("   = ").num(derivative, "derivative", decimals=d).text("·(")
    for k, (w, x) in enumerate(zip(down_weights, down_deltas, strict=False)):
        k_number = names.numbers[f"n{layer + 1}_{k}"]
        term = f"{weight_name(names, layer + 1, k, unit)}·δ{subscript(k_number)}"
        symbolic.text(("" if k == 0 else " + ") + term)
        numeric.text("" if k == 0 else " + ").num(w, "down_weight", as_factor=True, decimals=d).text("·")
        numeric.num(x, "down_delta", as_factor=True, decimals=d)
    symbolic.text(")")
    numeric.text(") = ").num(derivative, "derivative", as_factor=True, decimals=d).text("·")
    numeric.num(weighted, "weighted_sum", as_factor=True, decimals=d).text(" = ")
    numeric.num(delta, "delta")
    alpha = names.alphas[layer - 1] if layer - 1 < len(names.alphas) else None
    slope_of = _slope(name, alpha)
    pre = float(terms["pre_activation"])
    ds = agreeing(lambda ds: same(slope_of(sh(pre, ds)), derivative))
    slope = Line().text(f"f′(e{subscript(number)}) = {name}′(")
    slope.num(pre, "pre_activation", decimals=ds).text(") = ")
    slope.num(derivative, "derivative")
    notes = [
        gettext("Backward pass: %(neuron)s's share of the blame. The δ of each neuron it feeds flows back "
                "along the same links, weighted by the same weights, and is summed; then it is scaled by the "
                "slope f′ of this neuron's activation at its sum e (a flat slope passes little blame back).")
        % {"neuron": label},
        gettext(SIGN_NOTE),
    ]
    if name == "maxout":
        notes.insert(1, gettext("Maxout: the piece that won this sample's forward pass passes δ back with "
                                "slope 1 (f′ = 1); the other pieces get nothing from this sample."))
    if layer + 1 == len(names.sizes) - 1:
        outputs = ", ".join(f"δ{subscript(names.numbers[f'n{layer + 1}_{k}'])}"
                            for k in range(names.sizes[layer + 1]))
        notes.insert(1, ngettext("%(deltas)s belongs to the output (ŷ), computed at the error step.",
                                 "%(deltas)s belong to the output (ŷ), computed at the error step.",
                                 names.sizes[layer + 1]) % {"deltas": outputs})
    return InspectorView(gettext("Backward: δ of %(neuron)s") % {"neuron": label}, [symbolic, slope, numeric],
                         notes, "backward")


def _accumulate(terms: dict[str, Any], event: Any, names: NetNames) -> InspectorView:
    """The sample's gradient is added to the batch's running sum; shown for the first output neuron's
    weights: this sample's δ·input, then the sum so far as the earlier samples' sum plus this one."""
    out_layer = len(names.sizes) - 1
    done, size = int(terms["samples_done"]), int(terms["batch_size"])
    own = terms["sample_grad_weights"][out_layer - 1][0]
    total = terms["sum_grad_weights"][out_layer - 1][0]
    delta = float(terms["out_delta"])
    before = [float(v) for v in terms["previous_sum_grad_weights"]]
    inputs = input_names(names, out_layer)
    delta_name = f"δ{subscript(names.numbers[f'n{out_layer}_0'])}"
    lines: list[Line] = []
    for i, (g, s, x, b) in enumerate(zip(own, total, terms["out_inputs"], before, strict=False)):
        g, s, x, b = float(g), float(s), float(x), b

        def holds(d: int, g: float = g, s: float = s, x: float = x, b: float = b) -> bool:
            return same(sh(delta, d) * sh(x, d), g) and (done == 1 or same(sh(b, d) + sh(g, d), s))

        d = agreeing(holds)
        name = weight_name(names, out_layer, 0, i)
        own_name = gettext("this sample's ∂L/∂%(w)s = ") % {"w": name}
        line = Line().text(f"{own_name}{delta_name}·{inputs[i]} = ")
        line.num(delta, "out_delta", as_factor=True, decimals=d).text("·")
        line.num(x, "out_input", as_factor=True, decimals=d).text(" = ")
        line.num(g, "sample_grad_weight")
        over = ngettext("sum over %(num)d sample = ", "sum over %(num)d samples = ", done) % {"num": done}
        total_line = Line().text("   " + over)  # short lines
        if done > 1:
            total_line.num(b, "previous_sum_grad_weight", decimals=d).text(" + ")
            total_line.num(g, "sample_grad_weight", as_factor=True, decimals=d).text(" = ")
        total_line.num(s, "sum_grad_weight")
        lines += [line, total_line]
    lines.append(Line().text(gettext("loss of this sample L = ")).num(float(terms["loss"]), "loss"))
    notes = [gettext("Sample %(done)s of %(size)s done. Every weight's gradient for this sample is δ of the "
                     "neuron it feeds times the input that came along the link; the batch adds them up (the "
                     "lines show the output neuron's weights). After the last sample the sum is divided by "
                     "the batch size (plus the regularization term's slope) and the weights are updated.")
             % {"done": done, "size": size}]
    title = gettext("Gradient: sample %(done)s of %(size)s added") % {"done": done, "size": size}
    return InspectorView(title, lines, notes, "accumulate")


def neuron_graph_url(event: Any, names: NetNames) -> str | None:
    """The graph page preloaded with a forward event's neuron and the note on how far its graph goes
    (built when the inspector's link is followed, not on every step); None for other events, maxout and
    softmax."""
    if event is None or event.kind != "forward":
        return None
    url, note = graph_link(dict(event.terms), log_variance=is_log_variance(event, names))
    if url is None:
        return None
    return url + ("&" + urlencode({"note": note}) if note else "")
