"""The loss chart and the η plot (app/charts.py): values placed where a ruler says, ticks, log scale,
the schedule from the engine, the page's warm-up defaults."""

from __future__ import annotations

import itertools
import re

import pytest
from pydantic import ValidationError

from app.charts import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, eta_plot, loss_chart, sampling_words
from app.setupform import PAGE_TOTAL, PAGE_WARMUP, SetupForm, schedule_patch
from engine.metrics import Metrics
from engine.optim import OptimizerConfig, Schedule


def _points(values: list[tuple[int, float, float]]) -> list[Metrics]:
    return [Metrics(0, 0, step, train, test, 0.0, None, None) for step, train, test in values]


def _xy(path: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", path)]


def test_a_linear_chart_starts_at_zero_and_puts_each_loss_at_its_height() -> None:
    chart = loss_chart(_points([(1, 0.8, 0.9), (2, 0.5, 0.6), (3, 0.4, 0.45), (4, 0.3, 0.4)]), 25,
                       regularized=False)
    assert not chart.log and set(chart.paths) == {"train", "test"}
    assert (chart.points, chart.last_step) == (4, 4)
    labels = [t.label for t in chart.axes.y_ticks]
    assert labels[0] == "0" and labels[-1] == "1"  # 0 .. 0.9 rounds up to 1
    bottom, span = HEIGHT - BOTTOM, WIDTH - RIGHT - LEFT
    # by hand: train 0.5 after batch 2 of a 0..4 axis sits half-way up and half-way along
    x, y = _xy(chart.paths["train"])[1]
    assert x == pytest.approx(LEFT + span * 2 / 4, abs=0.05)
    assert y == pytest.approx(bottom - 0.5 * (bottom - TOP), abs=0.05)
    assert [t.label for t in chart.axes.x_ticks] == ["0", "1", "2", "3", "4"]


def test_an_empty_chart_has_a_plain_zero_to_one_axis() -> None:
    chart = loss_chart([], 25, regularized=False)  # a fresh run, or one put back after diverging
    assert chart.points == 0 and all(path == "" for path in chart.paths.values())
    assert (chart.axes.y_ticks[0].label, chart.axes.y_ticks[-1].label) == ("0", "1")


def test_losses_spanning_two_decades_go_on_a_log_axis_with_power_of_ten_ticks() -> None:
    chart = loss_chart(_points([(10, 0.5, 0.6), (20, 0.01, 0.02), (30, 0.002, 0.003)]), 10, regularized=True)
    assert chart.log and "log" in chart.axes.y_title
    assert [t.label for t in chart.axes.y_ticks] == ["0.001", "0.01", "0.1", "1"]
    assert "reg" not in chart.paths or chart.paths["reg"] == ""  # R = 0 has no place on a log axis
    # 0.01 sits on the 0.01 tick
    tick = next(t for t in chart.axes.y_ticks if t.label == "0.01")
    assert _xy(chart.paths["train"])[1][1] == pytest.approx(tick.at, abs=0.05)
    assert chart.sampling == "a point every 10 batches"


def test_a_negative_loss_keeps_a_linear_axis_that_reaches_below_zero() -> None:
    chart = loss_chart(_points([(1, 2.0, 2.0), (2, -0.5, -0.4)]), 5, regularized=False)
    assert not chart.log
    assert chart.axes.y_ticks[0].label.startswith("−")


def test_the_sampling_words_name_the_newest_spacing_and_say_when_older_points_were_thinned() -> None:
    assert sampling_words([1, 2, 3]) == "a point after every batch"
    assert sampling_words([2, 4, 6, 7, 8]) == "a point after every batch (older points thinned)"
    assert sampling_words([5, 10, 15]) == "a point every 5 batches"


def test_a_long_log_draws_at_most_one_point_per_unit_of_width_and_keeps_the_newest() -> None:
    points = _points([(s, 1.0 / s, 1.0 / s) for s in range(1, 2001)])
    chart = loss_chart(points, 25, regularized=False)
    drawn = _xy(chart.paths["train"])
    assert len(drawn) <= WIDTH - LEFT - RIGHT + 1
    assert chart.points == 2000 and drawn[-1][0] == pytest.approx(LEFT + (WIDTH - RIGHT - LEFT) * 2000 / 2000)


@pytest.mark.parametrize("updates", [0, 10, 49, 50, 799, 800, 900, 1000, 1100])
def test_the_eta_marker_sits_on_the_engines_scheduled_rate(updates: int) -> None:
    schedule = Schedule("warmup_decay", warmup=PAGE_WARMUP, total=PAGE_TOTAL)
    optimizer = OptimizerConfig(learning_rate=0.1, schedule=schedule)
    plot = eta_plot(optimizer, updates)
    rate = schedule.rate(0.1, updates)
    assert plot.rate == rate
    assert plot.marker == pytest.approx((plot.x0 + updates * plot.per_batch, plot.y0 - rate * plot.per_eta))
    assert plot.horizon >= PAGE_TOTAL  # both phases and the tail are on the plot
    # the drawn curve passes through the marker (its corners are where the schedule bends)
    curve = _xy(plot.path)
    x = plot.marker[0]
    (x0, y0), (x1, y1) = next((a, b) for a, b in itertools.pairwise(curve) if a[0] <= x <= b[0])
    height = y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    assert height == pytest.approx(plot.marker[1], abs=0.11)  # the path's one decimal


def test_the_eta_plot_grows_past_a_constant_runs_position() -> None:
    plot = eta_plot(OptimizerConfig(learning_rate=0.03), 730)
    assert plot.horizon >= 730 and plot.marker[0] <= WIDTH - RIGHT


def test_picking_warm_up_then_decay_starts_from_the_pages_lesson_sized_defaults() -> None:
    api_default = {"kind": "constant", "step_size": 100, "gamma": 0.5, "warmup": 0, "total": 10_000}
    picked = schedule_patch(SetupForm(schedule="warmup_decay"), api_default)
    assert (picked["kind"], picked["warmup"], picked["total"]) == ("warmup_decay", PAGE_WARMUP, PAGE_TOTAL)
    changed = schedule_patch(SetupForm(schedule="warmup_decay", warmup=20, total=400), picked)
    assert (changed["warmup"], changed["total"]) == (20, 400)
    with pytest.raises(ValidationError, match="total"):
        SetupForm.model_validate({"schedule": "warmup_decay", "warmup": "20", "total": "lots"})
    assert schedule_patch(SetupForm(schedule="step", warmup=20), picked)["warmup"] == PAGE_WARMUP
