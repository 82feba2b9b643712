"""The inspector's error step: the output's miss ŷ − y and its δ = ∂L/∂e written out per output unit.

Every number is an error event's term (engine/events.py): prediction ŷ, target y, miss = ŷ − y, slope =
tanh′(e) = 1 − ŷ² for tanh_mse, δ and the loss. Nothing is recomputed; the only arithmetic here picks how
many decimals to print so that the printed numbers combine to the printed result (0.62 − (−1.00) = 1.62,
1.62·0.62 = 1.00), as a student checking by hand would expect.
"""

from __future__ import annotations

import math
from typing import Any

from app.i18n import N_, gettext
from app.inspector_text import (
    SIGN_NOTE,
    InspectorView,
    Line,
    NetNames,
    factor,
    same,
    sh,
    subscript,
)
from engine import vocabulary
from engine.printed import agreeing

# Output units whose loss carries a log that cancels the output function's slope: δ = ŷ − y.
CANCELLED_SLOPES = {
    "sigmoid_bce": N_("The log in the cross-entropy cancels the sigmoid's slope σ′(e) = ŷ·(1 − ŷ), "
                      "so δ = ŷ − y."),
    "softmax_ce": N_("The log in the cross-entropy cancels the softmax's slope, so δ = ŷ − y for every "
                     "output."),
}
MAX_DECIMALS = 12
LOG_2PI = math.log(2.0 * math.pi)


def _loss_name(output_unit: str) -> str:
    """The output unit's loss in words, from the engine's vocabulary."""
    term = vocabulary.OUTPUT_UNITS.get(output_unit)
    return gettext(term.loss_name) if term is not None else gettext("loss")


def agreeing_decimals(prediction: float, target: float, miss: float, delta: float,
                      slope: float | None = None) -> int:
    """The fewest decimals (2 or more) for the operands ŷ, y at which the printed ŷ − y gives the printed
    δ; with a slope (tanh), the printed ŷ − y and 1 − ŷ² give the printed miss and slope (at the same
    decimals) and their product the printed δ (at a result's decimals)."""
    def holds(d: int) -> bool:
        shown_prediction = sh(prediction, d)
        difference = shown_prediction - sh(target, d)
        if slope is None:
            return same(difference, miss)
        return (same(difference, miss, d) and same(1.0 - shown_prediction * shown_prediction, slope, d)
                and same(difference * (1.0 - shown_prediction * shown_prediction), delta)
                and same(sh(miss, d) * sh(slope, d), delta))

    return agreeing(holds, limit=MAX_DECIMALS)


def _delta_line(output_unit: str, number: int, names: tuple[str, str], values: dict[str, float]) -> Line:
    """One output unit's δ, from its definition to its number: `names` = (ŷ's name, y's name)."""
    y_hat, y = names
    e = f"e{subscript(number)}"
    slope = values.get("slope")
    decimals = agreeing_decimals(values["prediction"], values["target"], values["miss"], values["delta"],
                                 slope if output_unit == "tanh_mse" else None)
    line = Line().text(f"δ{subscript(number)} = ∂L/∂{e} = ")
    if output_unit == "tanh_mse" and slope is not None:
        line.text(f"({y_hat} − {y})·tanh′({e}) = ({y_hat} − {y})·(1 − {y_hat}²) = (")
    elif output_unit == "linear_l1":
        line.text(f"sign({y_hat} − {y}) = sign(")
    else:
        line.text(f"{y_hat} − {y} = ")
    line.num(values["prediction"], "prediction", decimals=decimals).text(" − ")
    line.num(values["target"], "target", as_factor=True, decimals=decimals)
    if output_unit == "tanh_mse" and slope is not None:
        line.text(f")·(1 − {factor(sh(values['prediction'], decimals), decimals)}²) = ")
        line.num(values["miss"], "miss", as_factor=True, decimals=decimals).text("·")
        line.num(slope, "slope", as_factor=True, decimals=decimals).text(" = ")
    elif output_unit == "linear_l1":
        line.text(") = sign(").num(values["miss"], "miss", decimals=decimals).text(") = ")
    else:
        line.text(" = ")
    return line.num(values["delta"], "delta")


def error_view(terms: dict[str, Any], names: NetNames) -> InspectorView:
    """The error step of every output unit but gaussian_nll: per output unit, δ = ∂L/∂e with ŷ, y, ŷ − y
    (and tanh′(e) = 1 − ŷ² for tanh_mse) read from the event's terms; then the sample's loss."""
    out_layer = len(names.sizes) - 1
    output_unit = str(terms["output_unit"])
    if output_unit == "gaussian_nll":
        return gaussian_error_view(terms, names)
    targets = [float(t) for t in terms["target"]]
    several = len(terms["prediction"]) > 1
    misses = terms.get("miss")
    slopes = terms.get("slope")
    lines: list[Line] = []
    for unit, (y_hat, delta) in enumerate(zip(terms["prediction"], terms["delta"], strict=False)):
        label = names.labels[f"n{out_layer}_{unit}"]
        number = names.numbers[f"n{out_layer}_{unit}"]
        values = {"prediction": float(y_hat), "target": targets[min(unit, len(targets) - 1)],
                  "delta": float(delta),
                  "miss": float(misses[unit]) if misses is not None else float(delta)}
        if slopes is not None:
            values["slope"] = float(slopes[unit])
        y_name = f"y{subscript(unit + 1)}" if several else "y"
        lines.append(_delta_line(output_unit, number, (label, y_name), values))
    if output_unit in CANCELLED_SLOPES:
        lines.append(Line().text(gettext(CANCELLED_SLOPES[output_unit])))
    lines.append(Line().text(gettext("loss of this sample L = ")).num(float(terms["loss"]), "loss"))
    notes = [
        gettext("The error: compare the prediction ŷ with the target y using the %(loss)s. δ is how much "
                "the loss changes when the output's sum e changes.") % {"loss": _loss_name(output_unit)},
    ]
    if output_unit == "tanh_mse":
        notes.append(gettext("With a tanh output and squared error, the miss ŷ − y is scaled by the slope "
                             "of tanh at e, tanh′(e) = 1 − ŷ²: a saturated output (ŷ near ±1) learns slowly "
                             "even when it is wrong."))
    elif output_unit == "linear_l1":
        notes.append(gettext("With the absolute error, δ = sign(ŷ − y): only the direction of the miss "
                             "counts."))
    elif output_unit == "linear_mse":
        notes.append(gettext("A linear output's slope is 1, so with the squared error δ = ŷ − y exactly."))
    if output_unit == "softmax_ce" or several:
        notes.append(gettext("One output per class: ŷ₁ is the network's probability for the first class "
                             "(class 0), ŷ₂ for the next, …; the target y is 1 for this sample's class and 0 "
                             "for the others."))
    notes.append(gettext(SIGN_NOTE))
    return InspectorView(gettext("Error at the output"), lines, notes, "error")


GAUSSIAN_NOTES = (  # translated where they are shown
    N_("Gaussian output: for each target the network predicts a mean μ and a log-variance s, so a whole "
       "bell curve for y: σ² = eˢ is its variance, σ = √σ² its spread (y ≈ μ ± σ). The loss is the negative "
       "log of how likely the bell makes the real y, L = ½·[log 2π + s + (y − μ)²/σ²]."),
    N_("δ of μ is the miss divided by σ²: where the network says it is unsure (large σ²) a miss counts "
       "less. δ of s is ½·(1 − miss²/σ²): negative when the miss is larger than σ² expects, so the step "
       "raises s (σ² grows); positive when smaller, so σ² shrinks."),
    N_("Unlike a squared error, this loss can be negative: a good μ with a small σ² makes log σ² = s < 0."),
)
GAUSSIAN_SIGN_NOTE = N_(
    "Sign convention: δ = ∂L/∂e, how much the loss grows when the neuron's sum e grows (here e is μ or s); "
    "the update subtracts η·∂L/∂w. The lecture's tutorial writes the error with the opposite sign and adds."
)


def _gaussian_target_lines(names: tuple[str, str, str, str], mean: float, log_var: float, variance: float,
                           target: float, deltas: tuple[float, float]) -> list[Line]:
    """One target's four lines; `names` = (μ's label, σ²'s label, the log-variance sum's name, the
    target's subscript). Each line at the decimals where its printed numbers give its printed result."""
    mu_name, var_name, e_name, sub = names
    delta_mean, delta_s = deltas
    first = Line().text(f"{mu_name} = ").num(mean, "prediction").text(f" ;  target y{sub} = ")
    first.num(target, "target")
    dv = agreeing(lambda p: same(math.exp(sh(log_var, p)), variance))
    second = Line().text(f"s{sub} = {e_name} = ").num(log_var, "pre_activation", decimals=dv)
    second.text(f" ;  {var_name} = eˢ = exp(").num(log_var, "argument", decimals=dv).text(") = ")
    second.num(variance, "prediction")

    def miss(p: int) -> float:
        return sh(mean, p) - sh(target, p)

    lines = [first, second]
    dm = agreeing(lambda p: same(miss(p) / sh(variance, p), delta_mean))
    ds = agreeing(lambda p: same(0.5 * (1.0 - miss(p) ** 2 / sh(variance, p)), delta_s))
    heads = (gettext("δ of %(name)s") % {"name": mu_name} + " = ∂L/∂μ = (μ − y)/σ² = (",
             gettext("δ of %(name)s") % {"name": f"s{sub}"} + " = ∂L/∂s = ½·[1 − (μ − y)²/σ²] = ½·[1 − (")
    for p, head, tail, delta in ((dm, heads[0], ")/", delta_mean), (ds, heads[1], ")²/", delta_s)):
        line = Line().text(head).num(mean, "operand", decimals=p).text(" − ")
        line.num(target, "operand", as_factor=True, decimals=p).text(tail)
        line.num(variance, "operand", decimals=p).text("] = " if tail == ")²/" else " = ")
        lines.append(line.num(delta, "delta"))
    return lines


def _gaussian_loss_line(mean: float, log_var: float, variance: float, target: float, loss: float) -> Line:
    """L = ½·[log 2π + s + (y − μ)²/σ²] with the numbers, for one target."""
    def total(p: int) -> float:
        squared = (sh(target, p) - sh(mean, p)) ** 2
        return 0.5 * (sh(LOG_2PI, p) + sh(log_var, p) + squared / sh(variance, p))

    p = agreeing(lambda p: same(total(p), loss))
    line = Line().text(gettext("loss of this sample L = ") + "½·[log 2π + s + (y − μ)²/σ²] = ½·[")
    line.num(LOG_2PI, "operand", decimals=p).text(" + ")
    line.num(log_var, "operand", as_factor=True, decimals=p).text(" + (")
    line.num(target, "operand", decimals=p).text(" − ")
    line.num(mean, "operand", as_factor=True, decimals=p).text(")²/")
    line.num(variance, "operand", decimals=p).text("] = ")
    return line.num(loss, "loss")


def gaussian_error_view(terms: dict[str, Any], names: NetNames) -> InspectorView:
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
        sub = "" if d == 1 else subscript(k + 1)
        labels = (names.labels[f"n{out_layer}_{k}"], names.labels[f"n{out_layer}_{d + k}"],
                  f"e{subscript(names.numbers[f'n{out_layer}_{d + k}'])}", sub)
        lines += _gaussian_target_lines(labels, prediction[k], pre_activation[d + k], prediction[d + k],
                                        targets[k], (delta[k], delta[d + k]))
    loss = float(terms["loss"])
    if d == 1:
        lines.append(_gaussian_loss_line(prediction[0], pre_activation[1], prediction[1], targets[0], loss))
    else:
        lines.append(Line().text(gettext("loss of this sample L = ") + "½·Σ[log 2π + s + (y − μ)²/σ²] = ")
                     .num(loss, "loss"))
    return InspectorView(gettext("Error at the output"), lines,
                         [gettext(note) for note in (*GAUSSIAN_NOTES, GAUSSIAN_SIGN_NOTE)], "error")
