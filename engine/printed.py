"""Numbers as the student reads them: the one formatter behind the inspector, the graph view, the page's
losses and the divergence message (static/js/stepwise.js mirrors `loss` for the frames it paints).

Every format writes a real minus sign (−) and powers of ten as 2.06·10¹². `shown` reads a printed number
back, so a line can pick the fewest digits at which its printed operands give its printed result.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

MINUS = "−"
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_FROM_SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
MAX_DECIMALS = 12  # no printed line needs more (a line that still disagrees prints at this precision)


def superscript(number: int) -> str:
    return str(number).translate(_SUPERSCRIPT)


def _rounded(value: float, decimals: int) -> Decimal:
    """`value` (its exact binary value) rounded to `decimals` decimals, halves away from zero: what a
    student's calculator does, and what JavaScript's toFixed does (Python's format rounds halves to
    even: 0.0625 -> 0.062)."""
    return Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _power_of_ten(value: float, decimals: int) -> str:
    """2.06·10¹² with `decimals` decimals in the mantissa (halves away from zero, like toExponential)."""
    exact = Decimal(value)
    exponent = exact.adjusted()
    mantissa = exact.scaleb(-exponent).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if abs(mantissa) >= 10:  # 9.996 -> 10.00: one more power of ten
        exponent += 1
        mantissa = exact.scaleb(-exponent).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return f"{mantissa}·10{superscript(exponent)}".replace("-", MINUS)


def _decimals(value: float, decimals: int) -> str:
    """`value` with `decimals` decimals, halves away from zero, never '−0.00'."""
    text = f"{_rounded(value, decimals):f}"
    if text.startswith("-") and not text.strip("-0."):
        text = text[1:]
    return text.replace("-", MINUS)


def fixed(value: float, decimals: int = 2) -> str:
    """`decimals` decimals; |x| < 0.005 (but not 0) or ≥ 10⁴ as a power of ten with `decimals` decimals in
    the mantissa, so a small number keeps its significant digits instead of reading 0.00."""
    if not math.isfinite(value):
        return "overflow"
    if value != 0.0 and (abs(value) < 0.005 or abs(value) >= 1e4):
        return _power_of_ten(value, decimals)
    return _decimals(value, decimals)


def factor(value: float, decimals: int = 2) -> str:
    """A number as a factor in a product: negatives in parentheses, as written by hand."""
    text = fixed(value, decimals)
    return f"({text})" if text.startswith(MINUS) else text


def loss(value: float | None) -> str:
    """A loss as the page shows it: 3 decimals, or 2.06·10¹² once it no longer fits; '—' for none.
    static/js/stepwise.js num() is its mirror for the frames it paints (tests/e2e/test_number_mirror.py)."""
    if value is None or not math.isfinite(value):
        return "—"
    if abs(value) >= 1000:
        return _power_of_ten(value, 2)
    return _decimals(value, 3)


def percent(fraction: float) -> str:
    """An accuracy as the page shows it: 97.3 % (1 decimal, halves away from zero as stepwise.js's
    toFixed(1))."""
    return f"{_decimals(100.0 * fraction, 1)} %"


def _trimmed(text: str) -> str:
    """'0.0300' -> '0.03', '2.50·10⁻⁵' -> '2.5·10⁻⁵', '4.00' -> '4': trailing zeros say nothing here."""
    mantissa, times, power = text.partition("·10")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return mantissa + times + power


def rate(value: float | None) -> str:
    """A learning rate η as the counters show it: 3 significant digits, trailing zeros dropped (0.03,
    0.00123, 1.5), as a power of ten below 0.001 (1·10⁻⁵); '—' for none. Schedules make η any value
    between the offered ones (a warm-up's first batches: 0.0003, 0.0006, ...), so decimals alone lose it."""
    if value is None or not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e4:
        return _trimmed(_power_of_ten(value, 2))
    decimals = max(0, 2 - Decimal(value).adjusted())
    return _trimmed(_decimals(value, decimals))


def tick(value: float) -> str:
    """A chart's tick label (round values: 0, 250, 0.02, 10⁻³): 4 significant digits at most, trailing
    zeros dropped, 1·10⁻³ below 0.001 and from 10⁴ on."""
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e4:
        return _trimmed(_power_of_ten(value, 3))
    decimals = max(0, 3 - Decimal(value).adjusted())
    return _trimmed(_decimals(value, decimals))


def significant(value: float | None, digits: int = 4) -> str:
    """`digits` significant digits (the graph page's boxes), '' for no value."""
    if value is None:
        return ""
    if value == 0:
        return "0"
    return f"{value:.{digits}g}".replace("-", MINUS)


def shown(text: str) -> float:
    """The number a reader sees in `text` (as printed by this module): '−1.23·10⁻⁴' -> -0.000123."""
    plain = text.strip("()").replace(MINUS, "-")
    if "·10" in plain:
        mantissa, power = plain.split("·10")
        return float(f"{mantissa}e{power.translate(_FROM_SUPERSCRIPT)}")
    return float(plain)


def agreeing(holds: Callable[[int], bool], start: int = 2, limit: int = MAX_DECIMALS) -> int:
    """The fewest digits from `start` at which `holds(digits)` (a printed line's operands give its printed
    result); `limit` if none does."""
    for digits in range(start, limit + 1):
        if holds(digits):
            return digits
    return limit
