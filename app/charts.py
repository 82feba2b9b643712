"""The output column's two small charts as SVG geometry: the loss over training and the η schedule.

Both are drawn by the server from the engine's own records, so a reload, a Back or a second browser tab
draws the same chart: the loss chart is the run's metrics log (engine/metrics.py: Back truncates it), the
η plot is the engine's Schedule.rate at every batch. Geometry only: every value on them comes from the
engine; this module places it on the axes and picks round tick values.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.i18n import gettext
from engine import printed

# Drawing box (SVG units = CSS px at 1x): the plot area sits inside margins that hold the tick labels.
WIDTH, HEIGHT = 260, 128
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 16, 28
ETA_HEIGHT = 88
LOG_SPAN = 100.0  # a loss chart whose values span at least this factor (two decades) is drawn on log axes
SERIES = (("train", "train_loss"), ("test", "test_loss"), ("reg", "reg"))


@dataclass(frozen=True)
class Tick:
    at: float     # position along its axis, in SVG units
    label: str


@dataclass(frozen=True)
class Axes:
    """One chart's frame: the plot box, ticks on both axes, the axis titles."""

    width: int
    height: int
    left: int
    top: int
    right: float   # x of the plot box's right edge
    bottom: float  # y of its bottom edge
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    x_title: str
    y_title: str


@dataclass(frozen=True)
class LossChart:
    axes: Axes
    paths: dict[str, str]   # series name -> SVG path (train, test, and reg when there is regularization)
    log: bool               # y on a log scale (the losses span two decades or more)
    points: int             # metrics points in the log (all are drawn, or every n-th for a long log)
    last_step: int          # batches trained at the newest point (0 = none yet)
    sampling: str           # which batches the chart samples, in words


@dataclass(frozen=True)
class EtaPlot:
    axes: Axes
    path: str
    marker: tuple[float, float]   # the run's position: (x, y) of η at the current batch
    x0: float                     # x of batch 0 and SVG units per batch: the page moves the marker
    per_batch: float
    y0: float                     # y of η = 0 and SVG units per unit of η
    per_eta: float
    horizon: int                  # batches on the x axis
    rate: float                   # the scheduled η now


def nice_step(span: float, count: int) -> float:
    """A round tick spacing (1, 2, 2.5 or 5 times a power of ten) giving about `count` ticks over `span`."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw)


def charts_context(run: Any) -> dict[str, Any]:
    """The charts partial's context for a Run: its metrics log and its schedule at its position."""
    regularized = run.config.regularization.kind != "none" or any(p.reg for p in run.history_metrics)
    return {"loss": loss_chart(run.history_metrics, run.batches_per_epoch, regularized=regularized),
            "eta": eta_plot(run.config.optimizer, run.updates)}


def _ticks(low: float, high: float, count: int) -> list[float]:
    step = nice_step(high - low, count)
    first = math.ceil(low / step - 1e-9) * step
    values = []
    value = first
    while value <= high + step * 1e-9:
        values.append(round(value, 12))
        value += step
    return values


def _axes(height: int, x_max: float, y_ticks: list[Tick], x_title: str, y_title: str) -> Axes:
    right, bottom = WIDTH - RIGHT, height - BOTTOM
    span = right - LEFT
    x_ticks = [Tick(LEFT + span * v / x_max, printed.tick(v)) for v in _ticks(0.0, x_max, 4)]
    return Axes(WIDTH, height, LEFT, TOP, right, bottom, x_ticks, y_ticks, x_title, y_title)


def _path(xy: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(xy))


def sampling_words(steps: Sequence[int]) -> str:
    """Which batches the chart's points were taken after, from the steps themselves (the engine decides
    the schedule): 'a point after every batch', 'a point every 5 batches' (older points thinned)."""
    if len(steps) < 2:
        return gettext("a point after each sampled batch")
    gaps = [b - a for a, b in itertools.pairwise(steps)]
    newest = gaps[-1]
    thinned = any(gap > newest for gap in gaps)
    words = (gettext("a point after every batch") if newest == 1
             else gettext("a point every %(n)s batches") % {"n": newest})
    return words + (gettext(" (older points thinned)") if thinned else "")


def loss_chart(points: Sequence[Any], batches_per_epoch: int, *, regularized: bool) -> LossChart:
    """The loss chart of a metrics log (engine.metrics.Metrics in step order): x = batches trained,
    y = the losses at the parameters after that batch (linear from 0, or log when they span decades)."""
    names = [name for name, _ in SERIES if name != "reg" or regularized]
    steps = [int(p.step) for p in points]
    values = {name: [float(getattr(p, field)) for p in points] for name, field in SERIES}
    # the scale fits train, test and a positive R (R = 0, no regularization yet, has no place on a log axis)
    finite = [v for name in names for v in values[name] if math.isfinite(v) and (name != "reg" or v > 0)]
    bottom = HEIGHT - BOTTOM
    # the x axis ends at the round number at or after the newest point, so its end is labelled
    last = max(steps[-1] if steps else 0, 1)
    x_step = nice_step(last, 4)
    x_max = float(math.ceil(last / x_step - 1e-9) * x_step)
    x_title = gettext("batches trained (1 epoch = %(n)s)") % {"n": batches_per_epoch}
    positive = [v for v in finite if v > 0]
    log = bool(positive) and len(positive) == len(finite) and max(positive) / min(positive) >= LOG_SPAN
    if log:
        low_power, high_power = math.floor(math.log10(min(positive))), math.ceil(math.log10(max(positive)))
        high_power = max(high_power, low_power + 1)
        def y_of(v: float) -> float:
            share = (math.log10(v) - low_power) / (high_power - low_power)
            return bottom - share * (bottom - TOP)
        y_ticks = [Tick(y_of(10.0 ** p), printed.tick(10.0 ** p)) for p in range(low_power, high_power + 1)]
    else:
        low = min([0.0, *finite])  # from 0, unless a loss is below it (a Gaussian NLL can be)
        # nothing to draw yet (a fresh run, or one put back to its start after diverging): a plain 0 to 1
        # axis, not 0 to 10⁻⁹
        high = max([*finite, low + 1e-9]) if finite else low + 1.0
        step = nice_step(high - low, 3)
        top_value = math.ceil(high / step - 1e-9) * step
        low_value = math.floor(low / step + 1e-9) * step
        def y_of(v: float) -> float:
            return bottom - (v - low_value) / (top_value - low_value) * (bottom - TOP)
        y_ticks = [Tick(y_of(v), printed.tick(v)) for v in _ticks(low_value, top_value, 3)]
    axes = _axes(HEIGHT, x_max, y_ticks, x_title, gettext("loss (log scale)") if log else gettext("loss"))
    span = axes.right - LEFT
    # at most one drawn point per SVG unit of width (a 2,000-point log draws as ~210); the newest is kept
    every = max(1, math.ceil(len(steps) / span))
    shown = list(range(0, len(steps), every))
    if steps and shown[-1] != len(steps) - 1:
        shown.append(len(steps) - 1)
    paths = {}
    for name in names:
        xy = [(LEFT + span * steps[i] / x_max, y_of(values[name][i])) for i in shown
              if math.isfinite(values[name][i]) and (not log or values[name][i] > 0)]
        paths[name] = _path(xy)
    return LossChart(axes, paths, log, len(steps), steps[-1] if steps else 0, sampling_words(steps))


def schedule_horizon(schedule: Any, updates: int) -> int:
    """Batches the η plot spans: the whole warm-up-then-decay run and a bit of its tail, four stages of a
    step schedule, or a round number past the run's position (the plot grows as the run goes on)."""
    if schedule.kind == "warmup_decay":
        base = int(schedule.total * 1.1)
    elif schedule.kind in ("step", "exponential"):
        base = 4 * schedule.step_size
    else:
        base = 100
    if updates <= base:
        return max(base, 10)
    step = nice_step(updates * 1.25, 4)
    return int(math.ceil(updates * 1.25 / step) * step)


def _corners(schedule: Any, horizon: int) -> list[int]:
    """The batches where the schedule's curve bends, so straight lines between them are the curve itself
    (warm-up: linear up to `warmup`, then flat, then linear down to `total`); a step schedule's stairs
    get both ends of each riser; an exponential one is sampled at ~200 batches."""
    if schedule.kind == "warmup_decay":
        decay_start = max(schedule.warmup, int(0.8 * schedule.total))
        marks = [0, schedule.warmup - 1, schedule.warmup, decay_start, schedule.total, horizon]
    elif schedule.kind == "step":
        marks = [0, horizon]
        for riser in range(schedule.step_size, horizon + 1, schedule.step_size):
            marks += [riser - 1, riser]
    elif schedule.kind == "exponential":
        marks = [*range(0, horizon, max(1, math.ceil(horizon / 200))), horizon]
    else:
        marks = [0, horizon]
    return sorted({m for m in marks if 0 <= m <= horizon})


def eta_plot(optimizer: Any, updates: int) -> EtaPlot:
    """The learning-rate schedule of `optimizer` (an engine OptimizerConfig) over the batches, with the
    run at `updates` batches trained: the engine's Schedule.rate at every batch (up to ~400 samples)."""
    schedule, base = optimizer.schedule, optimizer.learning_rate
    horizon = schedule_horizon(schedule, updates)
    bottom = ETA_HEIGHT - BOTTOM
    batches = _corners(schedule, horizon)
    rates = [schedule.rate(base, b) for b in batches]
    peak = max(max(rates), base) or 1.0
    right = WIDTH - RIGHT
    per_batch = (right - LEFT) / horizon
    per_eta = (bottom - TOP) / peak
    def y_of(v: float) -> float:
        return bottom - v * per_eta
    axes = _axes(ETA_HEIGHT, float(horizon), [Tick(y_of(0.0), "0"), Tick(y_of(peak), printed.tick(peak))],
                 gettext("batches trained"), "η")
    path = _path([(LEFT + b * per_batch, y_of(r)) for b, r in zip(batches, rates, strict=True)])
    rate = schedule.rate(base, updates)
    return EtaPlot(axes, path, (LEFT + updates * per_batch, y_of(rate)), LEFT, per_batch, bottom, per_eta,
                   horizon, rate)

