"""The inspector's error step: δ is written out with live numbers that combine, as printed, to the δ shown."""

from __future__ import annotations

from typing import Any

import pytest

from app.inspector import MINUS, fmt
from app.inspector_error import agreeing_decimals
from app.views import inspector_context
from engine.data import DataConfig
from engine.network import LayerConfig
from engine.stepper import Run, RunConfig

DATASETS = {"tanh_mse": "circle", "sigmoid_bce": "xor", "softmax_ce": "blobs", "linear_mse": "plane",
            "linear_l1": "plane"}


def _error_views(output_unit: str, samples: int = 8) -> list[Any]:
    """The inspector views of the error step of `samples` samples (one batch, micro-step by micro-step)."""
    run = Run(RunConfig(dataset=DataConfig(name=DATASETS[output_unit], n_samples=80, seed=4),
                        hidden=(LayerConfig(4), LayerConfig(2)), output_unit=output_unit,
                        batch_size=samples, seed=2))
    views: list[Any] = []
    while len(views) < samples:
        run.step("micro")
        assert run.current_event is not None
        if run.current_event.kind == "error":
            views.append((run.current_event, inspector_context(run)["inspector"]))
    return views


def _value(text: str) -> float:
    """A number as printed: 0.62, (−1.00), 3.12·10⁻³."""
    text = text.strip("()").replace(MINUS, "-")
    if "·10" in text:
        mantissa, exponent = text.split("·10")
        power = exponent.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789"))
        return float(mantissa) * 10.0 ** int(power)
    return float(text)


def _decimals(text: str) -> int:
    return len(text.strip("()").split("·10")[0].partition(".")[2])


def _printed(line: Any) -> dict[str, str]:
    return {t.role: t.text for t in line.tokens if t.role is not None}


def _same_as_printed(computed: float, printed: str) -> bool:
    return fmt(computed, _decimals(printed)) == printed.strip("()")


def test_tanh_error_line_shows_miss_times_slope_and_they_multiply_to_the_printed_delta() -> None:
    for event, view in _error_views("tanh_mse"):
        line = view.lines[0]
        text = "".join(t.text for t in line.tokens)
        assert text.startswith("δ₇ = ∂L/∂e₇ = (ŷ − y)·tanh′(e₇) = (ŷ − y)·(1 − ŷ²) = (")
        printed = _printed(line)
        assert set(printed) == {"prediction", "target", "miss", "slope", "delta"}
        y_hat, y = _value(printed["prediction"]), _value(printed["target"])
        miss, slope = _value(printed["miss"]), _value(printed["slope"])
        assert _same_as_printed(y_hat - y, printed["miss"]), text
        assert _same_as_printed(1 - y_hat * y_hat, printed["slope"]), text
        assert _same_as_printed(miss * slope, printed["delta"]), text
        # and the numbers are the event's terms, not recomputed
        assert [t.value for t in line.tokens if t.role == "slope"] == event.terms["slope"]
        assert [t.value for t in line.tokens if t.role == "delta"] == event.terms["delta"]


@pytest.mark.parametrize("output_unit", ["sigmoid_bce", "softmax_ce", "linear_mse"])
def test_matched_pairs_write_delta_as_prediction_minus_target(output_unit: str) -> None:
    event, view = _error_views(output_unit, samples=3)[-1]
    units = len(event.terms["prediction"])
    lines = view.lines[:units]
    for line in lines:
        printed = _printed(line)
        assert set(printed) == {"prediction", "target", "delta"}
        text = "".join(t.text for t in line.tokens)
        assert " − y" in text and "tanh′" not in text
        assert _same_as_printed(_value(printed["prediction"]) - _value(printed["target"]), printed["delta"])
    rest = "".join(t.text for line in view.lines[units:] for t in line.tokens)
    if output_unit in ("sigmoid_bce", "softmax_ce"):
        assert "cancels" in rest and "slope" in rest
    else:
        assert "cancels" not in rest


def test_absolute_error_writes_delta_as_the_sign_of_the_miss() -> None:
    for event, view in _error_views("linear_l1", samples=4):
        line = view.lines[0]
        text = "".join(t.text for t in line.tokens)
        assert "= sign(ŷ − y) = sign(" in text
        printed = _printed(line)
        assert _value(printed["delta"]) in (-1.0, 0.0, 1.0)
        assert _value(printed["delta"]) == (_value(printed["miss"]) > 0) - (_value(printed["miss"]) < 0)
        assert [t.value for t in line.tokens if t.role == "miss"] == event.terms["miss"]


def test_more_decimals_are_printed_when_two_would_not_multiply_out() -> None:
    # 1.625·0.615 = 0.999375: at 2 decimals 1.63·0.62 = 1.0106 prints 1.01 ≠ 1.00, so 3 decimals are used
    prediction = 0.625
    assert agreeing_decimals(prediction, -1.0, 1.625, 0.999375, 0.609375) >= 3
    assert agreeing_decimals(0.5, -1.0, 1.5, 1.125, 0.75) == 2
