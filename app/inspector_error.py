"""The inspector's error step: the output's miss ŷ − y and its δ = ∂L/∂e written out per output unit.

Every number is an error event's term (engine/events.py): prediction ŷ, target y, miss = ŷ − y, slope =
tanh′(e) = 1 − ŷ² for tanh_mse, δ and the loss. Nothing is recomputed; the only arithmetic here picks how
many decimals to print so that the printed numbers combine to the printed result (0.62 − (−1.00) = 1.62,
1.62·0.62 = 1.00), as a student checking by hand would expect.
"""

from __future__ import annotations

from typing import Any

from app.inspector_text import (
    MINUS,
    SIGN_NOTE,
    InspectorView,
    Line,
    NetNames,
    factor,
    fmt,
    subscript,
)
from engine import vocabulary

# Output units whose loss carries a log that cancels the output function's slope: δ = ŷ − y.
CANCELLED_SLOPES = {
    "sigmoid_bce": "The log in the cross-entropy cancels the sigmoid's slope σ′(e) = ŷ·(1 − ŷ), "
                   "so δ = ŷ − y.",
    "softmax_ce": "The log in the cross-entropy cancels the softmax's slope, so δ = ŷ − y for every output.",
}
MAX_DECIMALS = 8


def _loss_name(output_unit: str) -> str:
    """The output unit's loss in words, from the engine's vocabulary."""
    term = vocabulary.OUTPUT_UNITS.get(output_unit)
    return term.loss_name if term is not None else "loss"


def _shown(value: float, decimals: int) -> float:
    """The number a reader sees when `value` is printed by fmt with `decimals` decimals."""
    text = fmt(value, decimals)
    if "·10" in text:
        return float(f"{value:.{decimals}e}")
    return float(text.replace(MINUS, "-"))


def agreeing_decimals(prediction: float, target: float, miss: float, delta: float,
                      slope: float | None = None) -> int:
    """The fewest decimals (2 or more) at which the printed ŷ − y gives the printed miss and, with a
    slope, 1 − ŷ² gives the printed slope and miss·slope the printed δ (each as printed)."""
    for decimals in range(2, MAX_DECIMALS + 1):
        def same(computed: float, value: float, decimals: int = decimals) -> bool:
            return fmt(computed, decimals) == fmt(value, decimals)

        shown_prediction = _shown(prediction, decimals)
        ok = same(shown_prediction - _shown(target, decimals), miss)
        if slope is not None:
            ok = ok and same(1.0 - shown_prediction * shown_prediction, slope)
            ok = ok and same(_shown(miss, decimals) * _shown(slope, decimals), delta)
        if ok:
            return decimals
    return MAX_DECIMALS


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
        line.text(f")·(1 − {factor(_shown(values['prediction'], decimals), decimals)}²) = ")
        line.num(values["miss"], "miss", as_factor=True, decimals=decimals).text("·")
        line.num(slope, "slope", as_factor=True, decimals=decimals).text(" = ")
    elif output_unit == "linear_l1":
        line.text(") = sign(").num(values["miss"], "miss", decimals=decimals).text(") = ")
    else:
        line.text(" = ")
    return line.num(values["delta"], "delta", decimals=decimals)


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
        lines.append(Line().text(CANCELLED_SLOPES[output_unit]))
    lines.append(Line().text("loss of this sample L = ").num(float(terms["loss"]), "loss"))
    notes = [
        "The error: compare the prediction ŷ with the target y using the "
        f"{_loss_name(output_unit)}."
        " δ is how much the loss changes when the output's sum e changes.",
    ]
    if output_unit == "tanh_mse":
        notes.append("With a tanh output and squared error, the miss ŷ − y is scaled by the slope of tanh "
                     "at e, tanh′(e) = 1 − ŷ²: a saturated output (ŷ near ±1) learns slowly even when it "
                     "is wrong.")
    elif output_unit == "linear_l1":
        notes.append("With the absolute error, δ = sign(ŷ − y): only the direction of the miss counts.")
    elif output_unit == "linear_mse":
        notes.append("A linear output's slope is 1, so with the squared error δ = ŷ − y exactly.")
    if output_unit == "softmax_ce" or several:
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


