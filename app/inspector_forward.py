"""The inspector's forward step: e = Σ w·x + b and y = f(e) with the trace's numbers, and the link to the
neuron on the computation-graph page."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from app.i18n import gettext, said
from app.inspector_text import (
    InspectorView,
    Line,
    NetNames,
    Token,
    input_names,
    same,
    sh,
    subscript,
    weight_name,
)
from engine import activations, vocabulary
from engine.printed import agreeing, significant, superscript

# Output unit -> the function the output neuron applies (its loss is named at the error step).
OUTPUT_FUNCTIONS = {name: term.function for name, term in vocabulary.OUTPUT_UNITS.items()}


def piece_of(values: Any, piece: int) -> Any:
    """A maxout unit's term is one entry per piece; show the chosen piece's."""
    return values[piece] if isinstance(values, list) else values


# Output unit -> (the function of its output neuron, the loss the graph writes after it).
GRAPH_LOSSES = {"tanh_mse": ("tanh", "squared"), "linear_mse": ("linear", "squared"),
                "linear_l1": ("linear", "absolute"), "sigmoid_bce": ("sigmoid", "cross_entropy")}
GRAPH_VALUES_LIMIT = 2000  # the graph page reads at most this many characters of values


def graph_note(terms: dict[str, Any], *, log_variance: bool = False) -> tuple[bool, str | None]:
    """(whether the neuron of a forward event can be drawn on the computation-graph page, and the note
    on how far its graph goes and why). Cheap: the inspector shows it on every forward step; the graph
    itself is built only when the link is followed (graph_link)."""
    name = str(terms["activation_name"])
    if isinstance(terms["bias"], list):  # maxout: one neuron, several sums
        return False, None
    if name == "softmax_ce":
        return False, gettext("Softmax divides by the sum over all outputs, so one output neuron cannot be "
                              "drawn as a graph by itself; the error step shows its loss and δ.")
    if name == "gaussian_nll":
        return True, gettext("The Gaussian loss needs both outputs of this target, the mean μ and the "
                             "log-variance s (two neurons), so the graph goes e → f(e) only; the error step "
                             "shows the loss and both δ.")
    if name in OUTPUT_FUNCTIONS and "target" in terms:
        shown_target = significant(float(terms["target"]), 6)
        return True, gettext("The graph goes e → f(e) → this sample's loss (target y = %(target)s as t); "
                             "its ∂f/∂w are this sample's ∂L/∂w. The batch's gradient is their mean over the "
                             "samples.") % {"target": shown_target}
    return True, gettext("A hidden neuron: the graph goes e → f(e). Its loss depends on the layers after it; "
                         "the backward micro-steps show its δ = ∂L/∂e.")


def graph_link(terms: dict[str, Any], *, log_variance: bool = False) -> tuple[str | None, str | None]:
    """(URL, note) of a forward event's neuron on the computation-graph page: e = Σ w·x + b → f(e), and
    for an output neuron → its loss for this sample's target. The URL is None where one neuron's
    expression cannot be written (maxout, softmax); the note is graph_note's, or why the graph stops at
    f(e) after all (a loss that cannot be computed step by step, e.g. log 0).
    Numbers go into the link at full precision so its gradients agree with the trace's."""
    from app.graph_view import format_values, graph_url
    from engine.expression import ExpressionError, build_graph, neuron_expression

    available, note = graph_note(terms, log_variance=log_variance)
    if not available:
        return None, note
    weights, bias, name = terms["weights"], terms["bias"], str(terms["activation_name"])
    output = name in OUTPUT_FUNCTIONS
    activation, loss = GRAPH_LOSSES.get(name, (name, "squared"))
    target: float | None = float(terms["target"]) if output and "target" in terms else None
    if name == "gaussian_nll":
        activation, target = ("exp" if log_variance else "linear"), None
    try:
        expression, values = neuron_expression(
            [float(w) for w in weights], [float(x) for x in terms["inputs"]], float(bias), activation,
            target, loss)
        if target is not None:
            build_graph(expression, values)  # a saturated sigmoid makes log(1 − ŷ) = log 0: no loss then
    except ExpressionError as error:
        expression, values = neuron_expression(
            [float(w) for w in weights], [float(x) for x in terms["inputs"]], float(bias), activation)
        note = gettext("The graph goes e → f(e) only: its loss cannot be computed step by step here "
                       "(%(reason)s).") % {"reason": said(error)}
    except ValueError:
        return None, None
    if len(format_values(values)) > GRAPH_VALUES_LIMIT:  # many inputs: 6 significant digits still fit
        values = {key: float(f"{value:.6g}") for key, value in values.items()}
    return graph_url(expression, values), note


def scalar_function(name: str, alpha: float | None = None) -> Callable[[float], float] | None:
    """The function a neuron applies, for one number (None for softmax, which needs every output):
    the engine's own activation, so a printed operand goes through exactly what the network computes."""
    if name == "softmax":
        return None
    if name == "exp":
        return lambda x: math.exp(x) if x < 709.0 else math.inf
    activation = activations.get(name, alpha, 2)

    def f(x: float) -> float:
        with np.errstate(all="ignore"):
            return float(activation.f(np.array([x]))[0])
    return f


def sum_line(weights: Sequence[float], values: Sequence[float], bias: float, result: float) -> Line:
    """'   = w·x + w·x + b = e' at the fewest decimals where the printed products and bias add up to the
    printed e."""
    def holds(d: int) -> bool:
        total = sum(sh(w, d) * sh(x, d) for w, x in zip(weights, values, strict=False))
        return same(total + sh(bias, d), result)

    d = agreeing(holds)
    line = Line().text("   = ")
    for i, (w, x) in enumerate(zip(weights, values, strict=False)):
        line.text("" if i == 0 else " + ").num(w, "weight", as_factor=True, decimals=d).text("·")
        line.num(x, "input", as_factor=True, decimals=d)
    line.text(" + ").num(bias, "bias", as_factor=True, decimals=d).text(" = ")
    return line.num(result, "pre_activation")


def function_line(head: str, act: str, function: Callable[[float], float] | None, argument: float,
                  result: float) -> Line:
    """'y₃ = tanh(e₃) = tanh(0.534) = 0.489', the argument with the digits the result needs."""
    line = Line().text(f"{head} = ")
    if function is None:  # softmax: the other outputs' sums are not computed yet
        return line.num(result, "activation")
    d = agreeing(lambda d: same(function(sh(argument, d)), result))
    line.text(f"{act}(").num(argument, "argument", decimals=d).text(") = ")
    return line.num(result, "activation")


def forward_view(terms: dict[str, Any], event: Any, names: NetNames) -> InspectorView:
    layer, unit, sample = event.layer, event.unit, event.sample
    number = names.numbers[f"n{layer}_{unit}"]
    e_name = f"e{subscript(number)}"
    inputs = input_names(names, layer)
    values = [float(x) for x in terms["inputs"]]
    raw_weights = terms["weights"]
    maxout = bool(raw_weights) and isinstance(raw_weights[0], list)  # (k, n_in)
    piece = int(terms.get("piece", 0))

    symbolic = Line().text(f"{e_name} = " if not maxout else f"{e_name}⁽ᵏ⁾ = ")
    for i, name in enumerate(inputs):
        symbolic.text(("" if i == 0 else " + ") + f"{weight_name(names, layer, unit, i)}·{name}")
    symbolic.text(f" + b{subscript(number)}" + ("  " + gettext("(for each piece k)") if maxout else ""))
    lines = [symbolic]
    out_name = names.labels[f"n{layer}_{unit}"]
    output_unit = act = str(terms["activation_name"])
    last = layer == len(names.sizes) - 1
    log_variance = is_log_variance(event, names)
    if maxout:
        sums = [float(v) for v in terms["pre_activation"]]
        for k, (piece_weights, piece_bias) in enumerate(zip(raw_weights, terms["bias"], strict=False)):
            line = sum_line([float(w) for w in piece_weights], values, float(piece_bias), sums[k])
            line.tokens[0] = Token(f"   {e_name}⁽{superscript(k + 1)}⁾ = ")
            lines.append(line)
        d = agreeing(lambda d: same(max(sh(v, d) for v in sums), float(terms["activation"])))
        result = Line().text(f"{out_name} = max(" + ", ".join(f"{e_name}⁽{superscript(k + 1)}⁾"
                                                              for k in range(len(sums))) + ") = max(")
        for k, v in enumerate(sums):
            result.text("" if k == 0 else ", ").num(v, "argument", decimals=d)
        result.text(") = ").num(float(terms["activation"]), "activation")
        lines.append(result)
    else:
        pre_activation = float(terms["pre_activation"])
        lines.append(sum_line([float(w) for w in raw_weights], values, float(terms["bias"]), pre_activation))
        alpha = names.alphas[layer - 1] if not last and layer - 1 < len(names.alphas) else None
        if last:
            act = "exp" if log_variance else OUTPUT_FUNCTIONS.get(act, act)
        lines.append(function_line(f"{out_name} = {act}({e_name})", act, scalar_function(act, alpha),
                                   pre_activation, float(terms["activation"])))
    notes = [
        gettext("Forward pass, sample %(sample)s of the batch: neuron %(neuron)s adds up its inputs, each "
                "times the weight of its link, plus its bias b — the bias lets the neuron shift where it "
                "switches, even when every input is 0. Then the activation function f turns the sum e into "
                "the output.") % {"sample": sample + 1, "neuron": out_name},
    ]
    if not last and act in vocabulary.ACTIVATIONS:  # the lecture's name and formula, not the code name
        term = vocabulary.ACTIVATIONS[act]
        alpha = names.alphas[layer - 1] if layer - 1 < len(names.alphas) else None
        shown = [f"{p.symbol} = {significant(alpha if alpha is not None else p.default, 6)}"
                 for p in term.parameters if p.name == "alpha"]
        notes.append((gettext("f here is %(name)s: %(formula)s, with %(alpha)s (%(code)s in the line above).")
                      if shown else gettext("f here is %(name)s: %(formula)s (%(code)s in the line above)."))
                     % {"name": gettext(term.title), "formula": gettext(term.formula),
                        "alpha": shown[0] if shown else "", "code": act})
    if maxout:
        notes.append(gettext("Maxout: the unit computes one sum per piece (one line each) and keeps the "
                             "largest; piece %(piece)s won for this sample, so only its weights get this "
                             "sample's gradient.") % {"piece": piece + 1})
    if log_variance:
        notes.append(gettext("This output's sum %(e)s is the log-variance s; its value %(out)s = eˢ is the "
                             "variance the network predicts for y at this point (always positive): large "
                             "where it expects to miss by a lot, small where it is sure. The spread is "
                             "σ = √σ².") % {"e": e_name, "out": out_name})
    elif last and output_unit == "gaussian_nll":
        notes.append(gettext("This output is the predicted mean %(out)s (linear: its value is its sum); "
                             "the other output says how far from it y may be.") % {"out": out_name})
    elif last:
        notes.append(gettext("This is an output neuron: its value is the network's prediction ŷ (softmax "
                             "divides by the sum over all outputs, shown at the error step).")
                     if act == "softmax" else
                     gettext("This is an output neuron: its value is the network's prediction ŷ."))
    link, link_note = graph_note(terms, log_variance=log_variance)
    title = gettext("Forward: %(neuron)s") % {"neuron": out_name}
    return InspectorView(title, lines, notes, "forward", graph_link=link, graph_note=link_note)


def is_log_variance(event: Any, names: NetNames) -> bool:
    """A Gaussian output's second half: its sum is the log-variance s, the unit's value σ² = eˢ."""
    last = event.layer == len(names.sizes) - 1
    return bool(last and str(event.terms["activation_name"]) == "gaussian_nll"
                and event.unit >= names.sizes[-1] // 2)
