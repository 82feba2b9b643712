"""The inspector's update step: how each weight and bias of one neuron moves, with every term printed.

SGD prints one line per parameter, `w ← w − η·∂L/∂w`. Momentum and Adam build the step from earlier
gradients too, so their lines print the optimiser's state as well (engine/events.py `_update_terms`
reads it from the batch's optimiser state before and after):

    momentum   v(w) ← μ·v − η·∂L/∂w            then   w ← w + v
    Adam       m(w) ← β₁·m + (1 − β₁)·∂L/∂w     v(w) ← β₂·v + (1 − β₂)·(∂L/∂w)²
               m̂ = m/(1 − β₁ᵗ) ;  v̂ = v/(1 − β₂ᵗ)     then   w ← w − η·m̂/(√v̂ + ε)

Each line prints its operands with one significant digit more than its result (a sum of rounded
terms is off by the sum of their roundings, and dividing by 1 − βᵗ < 1 magnifies it), the fewest that
make every line of the parameter hold; a number carried from one line to the next (the new v, m, m̂)
is printed the same in both. The optimiser's constants (μ, β₁, β₂, ε, and η as set) are printed
exactly; the new weight with the decimals that tell it from the old one.
"""

from __future__ import annotations

import math
from typing import Any

from app.i18n import N_, gettext
from app.inspector_text import (
    InspectorView,
    Line,
    NetNames,
    distinct_decimals,
    fmt,
    same,
    sh,
    subscript,
    weight_name,
)
from engine.printed import MAX_DECIMALS, agreeing, superscript


def exact_decimals(value: float) -> int:
    """The fewest decimals at which `value` prints as itself (0.9 -> 1, 0.999 -> 3, 10⁻⁸ -> 0)."""
    for decimals in range(MAX_DECIMALS + 1):
        if abs(sh(value, decimals) - value) <= 1e-12 * max(1.0, abs(value)):
            return decimals
    return MAX_DECIMALS


def _constant(line: Line, value: float, role: str) -> Line:
    return line.num(value, role, decimals=exact_decimals(value))


def _eta_times(line: Line, rate: float, value: float, role: str, d: int) -> Line:
    """`η·value` with both at `d` decimals (a negative value in parentheses)."""
    return line.num(rate, "learning_rate", decimals=d).text("·").num(value, role, as_factor=True, decimals=d)


def _sgd_lines(name: str, role: str, t: dict[str, float], rate: float) -> list[Line]:
    """`w ← old − η·∂L/∂w = new`, decimals: the fewest at which old and new differ and the printed
    numbers give the printed new."""
    old, grad, new = t["old"], t["grad"], t["new"]
    shown_new = distinct_decimals(old, new)  # so a small step does not read 0.69 ← 0.69
    d = agreeing(lambda d: same(sh(old, d) - sh(rate, d) * sh(grad, d), new, shown_new), start=shown_new)
    line = Line().text(f"{name} ← ").num(old, f"old_{role}", decimals=d).text(" − ")
    _eta_times(line, rate, grad, f"grad_{role}", d)
    return [line.text(" = ").num(new, f"new_{role}", decimals=shown_new)]


def digits_for(value: float, significant: int) -> int:
    """The `decimals` that print `value` with `significant` significant digits (engine/printed.py fixed:
    a power of ten below 0.005 has them in its mantissa)."""
    size = abs(value)
    if size == 0.0 or not math.isfinite(size):
        return 2
    if size < 0.005 or size >= 1e4:
        return significant - 1
    return max(0, significant - 1 - math.floor(math.log10(size)))


def sum_digits(result: float, terms: list[float], significant: int) -> int:
    """The `decimals` of a sum printed with `significant` digits less those its terms cancel: a result
    100 times smaller than its largest term loses two (its terms' rounding is that much larger than
    its own last digit); at least one."""
    largest = max((abs(term) for term in terms), default=0.0)
    lost = 0
    if result != 0.0 and largest > abs(result):
        lost = math.floor(math.log10(largest / abs(result)))
    return digits_for(result, max(1, significant - lost))


def _significant(value: float, decimals: int) -> int:
    """How many significant digits `value` has when printed with `decimals` (the inverse of digits_for)."""
    size = abs(value)
    if size == 0.0 or not math.isfinite(size):
        return 1
    if size < 0.005 or size >= 1e4:
        return decimals + 1
    return max(1, decimals + 1 + math.floor(math.log10(size)))


def _rate_digits(rate: float, significant: int) -> int:
    """η as set (0.03), or with `significant` digits if a schedule made it a longer number."""
    return min(exact_decimals(rate), digits_for(rate, significant))


def _momentum_lines(name: str, role: str, t: dict[str, float], rate: float, mu: float) -> list[Line]:
    """`v(w) ← μ·v − η·∂L/∂w = v′` and `w ← w + v′ = new`: the operands with one significant digit more
    than the v they give (a sum of rounded terms is off by the sum of their roundings), and v fewer where
    its two terms cancel (sum_digits)."""
    old, grad, new, v_old, v_new = t["old"], t["grad"], t["new"], t["old_velocity"], t["new_velocity"]
    shown_new = distinct_decimals(old, new)  # so a small step does not read 0.69 ← 0.69

    def places(p: int) -> dict[str, int]:
        return {"v_old": digits_for(v_old, p + 1), "grad": digits_for(grad, p + 1),
                "rate": _rate_digits(rate, p + 1), "v_new": sum_digits(v_new, [mu * v_old, rate * grad], p),
                "old": max(shown_new, digits_for(old, p + 1))}

    def holds(p: int) -> bool:
        at = places(p)
        return (same(mu * sh(v_old, at["v_old"]) - sh(rate, at["rate"]) * sh(grad, at["grad"]), v_new,
                     at["v_new"])
                and same(sh(old, at["old"]) + sh(v_new, at["v_new"]), new, shown_new))

    at = places(agreeing(holds))
    velocity = _constant(Line().text(f"v({name}) ← "), mu, "momentum").text("·")
    velocity.num(v_old, f"old_velocity_{role}", as_factor=True, decimals=at["v_old"]).text(" − ")
    velocity.num(rate, "learning_rate", decimals=at["rate"]).text("·")
    velocity.num(grad, f"grad_{role}", as_factor=True, decimals=at["grad"])
    velocity.text(" = ").num(v_new, f"new_velocity_{role}", decimals=at["v_new"])
    step = Line().text(f"{name} ← ").num(old, f"old_{role}", decimals=at["old"]).text(" + ")
    step.num(v_new, f"new_velocity_{role}", as_factor=True, decimals=at["v_new"])
    return [velocity, step.text(" = ").num(new, f"new_{role}", decimals=shown_new)]


def _adam_lines(name: str, role: str, t: dict[str, float], rate: float, c: dict[str, float]) -> list[Line]:
    """The two running means, their bias corrections and the step, four lines (module docstring). At
    precision p: m's and v's operands with p + 2 significant digits, m and v with p + 1, m̂ and v̂ with p
    (each line's result one digit short of its operands, so the rounding of the operands stays inside
    the result's last digit); the smallest p ≥ 2 at which every line holds."""
    old, grad, new = t["old"], t["grad"], t["new"]
    m_old, m_new, v_old, v_new, m_hat, v_hat = (t[k] for k in ("old_m", "new_m", "old_v", "new_v", "m_hat",
                                                               "v_hat"))
    beta1, beta2, eps, step = c["beta1"], c["beta2"], c["eps"], int(c["t"])
    keep1, keep2 = 1.0 - beta1, 1.0 - beta2
    shown_new = distinct_decimals(old, new)
    # the printed constants as the reader takes them (0.1, not 1 − 0.9 in binary)
    p_keep1, p_keep2 = sh(keep1, exact_decimals(keep1)), sh(keep2, exact_decimals(keep2))

    def places(p: int) -> dict[str, int]:
        m_digits = sum_digits(m_new, [beta1 * m_old, keep1 * grad], p + 1)  # the two terms may cancel
        v_digits = digits_for(v_new, p + 1)  # two terms ≥ 0: nothing cancels
        # m̂ and v̂ one significant digit short of the m and v they are divided from (at least one)
        m_hat_digits = digits_for(m_hat, max(1, min(p, _significant(m_new, m_digits) - 1)))
        v_hat_digits = digits_for(v_hat, max(1, min(p, _significant(v_new, v_digits) - 1)))
        return {"m_old": digits_for(m_old, p + 2), "v_old": digits_for(v_old, p + 2),
                "grad": digits_for(grad, p + 2), "m_new": m_digits, "v_new": v_digits,
                "m_hat": m_hat_digits, "v_hat": v_hat_digits,
                "rate": _rate_digits(rate, p + 1), "old": max(shown_new, digits_for(old, p + 1))}

    def holds(p: int) -> bool:
        at = places(p)
        g = sh(grad, at["grad"])
        m, v, mh, vh = (sh(x, at[k]) for x, k in ((m_new, "m_new"), (v_new, "v_new"), (m_hat, "m_hat"),
                                                  (v_hat, "v_hat")))
        return (same(beta1 * sh(m_old, at["m_old"]) + p_keep1 * g, m_new, at["m_new"])
                and same(beta2 * sh(v_old, at["v_old"]) + p_keep2 * g * g, v_new, at["v_new"])
                and same(m / (1.0 - beta1 ** step), m_hat, at["m_hat"])
                and same(v / (1.0 - beta2 ** step), v_hat, at["v_hat"])
                and same(sh(old, at["old"]) - sh(rate, at["rate"]) * mh / (math.sqrt(max(vh, 0.0)) + eps),
                         new, shown_new))

    at = places(agreeing(holds))
    power = superscript(step)
    first = _constant(Line().text(f"m({name}) ← "), beta1, "beta1").text("·")
    first.num(m_old, f"old_m_{role}", as_factor=True, decimals=at["m_old"]).text(" + ")
    _constant(first, keep1, "one_minus_beta1").text("·")
    first.num(grad, f"grad_{role}", as_factor=True, decimals=at["grad"])
    first.text(" = ").num(m_new, f"new_m_{role}", decimals=at["m_new"])
    second = _constant(Line().text(f"v({name}) ← "), beta2, "beta2").text("·")
    second.num(v_old, f"old_v_{role}", as_factor=True, decimals=at["v_old"]).text(" + ")
    _constant(second, keep2, "one_minus_beta2").text("·")
    if "·10" in fmt(grad, at["grad"]):  # (4.31·10⁻³)², not 4.31·10⁻³² (a power of 10⁻³²)
        second.text("(").num(grad, f"grad_{role}", decimals=at["grad"]).text(")²")
    else:
        second.num(grad, f"grad_{role}", as_factor=True, decimals=at["grad"]).text("²")
    second.text(" = ").num(v_new, f"new_v_{role}", decimals=at["v_new"])
    hats = Line().text("   m̂ = ").num(m_new, f"new_m_{role}", decimals=at["m_new"]).text("/(1 − ")
    _constant(hats, beta1, "beta1").text(f"{power}) = ").num(m_hat, f"m_hat_{role}", decimals=at["m_hat"])
    hats.text(" ;  v̂ = ").num(v_new, f"new_v_{role}", decimals=at["v_new"]).text("/(1 − ")
    _constant(hats, beta2, "beta2").text(f"{power}) = ").num(v_hat, f"v_hat_{role}", decimals=at["v_hat"])
    last = Line().text(f"{name} ← ").num(old, f"old_{role}", decimals=at["old"]).text(" − ")
    last.num(rate, "learning_rate", decimals=at["rate"]).text("·")
    last.num(m_hat, f"m_hat_{role}", as_factor=True, decimals=at["m_hat"])
    last.text("/(√").num(v_hat, f"v_hat_{role}", decimals=at["v_hat"]).text(" + ")
    _constant(last, eps, "eps").text(") = ").num(new, f"new_{role}", decimals=shown_new)
    return [first, second, hats, last]


STATE_KEYS = {"momentum": ("velocity",), "adam": ("m", "v", "m_hat", "v_hat")}


def _parameters(terms: dict[str, Any], names: NetNames, layer: int, unit: int,
                number: int) -> list[tuple[str, str, dict[str, float]]]:
    """(name, role, its numbers) for each weight, then the bias, of the unit; maxout: piece by piece.
    Its numbers: old, grad, new and the optimiser's state (old_velocity, new_m, m_hat, ...)."""
    kind = str(terms.get("optimizer", "sgd"))
    keys = [("old", "old_{}"), ("grad", "grad_{}"), ("new", "new_{}")]
    for key in STATE_KEYS.get(kind, ()):
        keys += ([(f"old_{key}", f"old_{key}_{{}}"), (f"new_{key}", f"new_{key}_{{}}")] if "hat" not in key
                 else [(key, f"{key}_{{}}")])

    def pick(what: str, *index: int) -> dict[str, float]:
        out = {}
        for short, pattern in keys:
            value: Any = terms[pattern.format("weights" if what == "weight" else "bias")]
            for i in index:
                value = value[i]
            out[short] = float(value)
        return out

    weights = terms["old_weights"]
    found: list[tuple[str, str, dict[str, float]]] = []
    if weights and isinstance(weights[0], list):  # maxout: every piece's weights and bias
        for k, piece in enumerate(weights):
            tag = f"⁽{superscript(k + 1)}⁾"
            found += [(weight_name(names, layer, unit, i) + tag, "weight", pick("weight", k, i))
                      for i in range(len(piece))]
            found.append((f"b{subscript(number)}{tag}", "bias", pick("bias", k)))
    else:
        found += [(weight_name(names, layer, unit, i), "weight", pick("weight", i))
                  for i in range(len(weights))]
        found.append((f"b{subscript(number)}", "bias", pick("bias")))
    return found


NOTES = {
    "sgd": N_("Update: each weight takes a small step against its gradient, w ← w − η·∂L/∂w, with η the "
              "learning rate. The links that changed flash."),
    "momentum": N_("Update with momentum: each weight keeps a velocity v, the running sum of its earlier "
                   "steps: v ← μ·v − η·∂L/∂w (μ = {momentum}), then w ← w + v. So the step is not exactly "
                   "η·∂L/∂w: the lines show v before and after. The links that changed flash."),
    "adam": N_("Update with Adam (update number t = {t}): running means of the gradient, "
               "m ← β₁·m + (1 − β₁)·∂L/∂w, and of its square, v ← β₂·v + (1 − β₂)·(∂L/∂w)²; corrected "
               "for starting at 0, m̂ = m/(1 − β₁ᵗ) and v̂ = v/(1 − β₂ᵗ); then w ← w − η·m̂/(√v̂ + ε). So "
               "each weight's step is about η in size whatever its gradient's scale. The links that "
               "changed flash."),
}


def update_view(terms: dict[str, Any], event: Any, names: NetNames) -> InspectorView:
    """The update micro-step of one neuron: every incoming weight and its bias, old → new."""
    layer, unit = event.layer, event.unit
    label = names.labels[f"n{layer}_{unit}"]
    number = names.numbers[f"n{layer}_{unit}"]
    rate = float(terms.get("learning_rate") or 0.0)
    kind = str(terms.get("optimizer", "sgd"))
    lines: list[Line] = []
    for name, role, numbers in _parameters(terms, names, layer, unit, number):
        if kind == "momentum":
            lines += _momentum_lines(name, role, numbers, rate, float(terms["momentum"]))
        elif kind == "adam":
            lines += _adam_lines(name, role, numbers, rate, terms)
        else:
            lines += _sgd_lines(name, role, numbers, rate)
    note = gettext(NOTES.get(kind, NOTES["sgd"])).format(momentum=terms.get("momentum"), t=terms.get("t"))
    return InspectorView(gettext("Update: %(neuron)s's weights") % {"neuron": label}, lines, [note], "update")
