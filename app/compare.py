"""Compare runs: a pinned run and up to three copies started from the same data and initial weights, each
with whatever the student changed; their loss curves overlaid, decision boundaries side by side, and a
table of final train / validation / test loss and accuracy.

A comparison is a list of session ids (in memory, like lesson progress). Pinning copies the run's whole
setup (same seeds, so the same data and the same initial weights; uploaded or edited points are kept)
from epoch 0. Everything shown is read from the runs: the chart's points (Run.history_metrics), the
heat-map bytes the page draws (engine/maps.py through app/frames.map_cache), the three splits
(engine/validation.py). This module only scales them to pixels, colours and the printed numbers.
"""

from __future__ import annotations

import secrets
import struct
import zlib
from base64 import b64encode
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.frames import map_cache
from engine import printed
from engine.stepper import Run
from engine.validation import three_splits

MAX_RUNS = 4
RUN_COLOURS = ("#1b5e9c", "#c4541a", "#2e7d32", "#7b2cbf")  # run 1..4 in the chart, the table, the maps
NEG, MID, POS = (245, 147, 34), (232, 234, 235), (8, 119, 189)  # stepwise.js's scale (−1, 0, +1)
CLASS_RGB = ((245, 147, 34), (8, 119, 189), (44, 162, 95), (158, 88, 184), (214, 96, 77), (77, 77, 77))
CHART_W, CHART_H, PAD = 560, 220, 36


@dataclass
class Comparison:
    id: str
    sessions: list[str] = field(default_factory=list)


class Comparisons:
    """Comparisons by id, and which comparison each session belongs to (one each)."""

    def __init__(self) -> None:
        self._by_id: dict[str, Comparison] = {}
        self._of_session: dict[str, str] = {}

    def of(self, session_id: str) -> Comparison | None:
        found = self._of_session.get(session_id)
        return self._by_id.get(found) if found is not None else None

    def get(self, comparison_id: str) -> Comparison | None:
        return self._by_id.get(comparison_id)

    def pin(self, session_id: str) -> Comparison:
        """The comparison `session_id` belongs to, made with it as run 1 if it has none."""
        found = self.of(session_id)
        if found is None:
            found = Comparison(secrets.token_urlsafe(9), [session_id])
            self._by_id[found.id] = found
            self._of_session[session_id] = found.id
        return found

    def add(self, comparison: Comparison, session_id: str) -> None:
        comparison.sessions.append(session_id)
        self._of_session[session_id] = comparison.id


def copy_from_start(run: Run) -> Run:
    """A fresh run with `run`'s setup and points: the same data and the same initial weights (same seed),
    at epoch 0, with the live settings (learning rate, optimiser) it has now."""
    return Run(run.config, dataset=run.dataset, history_limit=run.history_limit)


def differences(first: dict[str, Any], other: dict[str, Any], prefix: str = "") -> list[str]:
    """What `other`'s config changes from `first`'s, as 'optimizer.learning_rate 0.03 → 0.3'."""
    changed: list[str] = []
    for key in sorted(set(first) | set(other)):
        a, b = first.get(key), other.get(key)
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            changed += differences(a, b, f"{name}.")
        elif a != b:
            changed.append(f"{name} {_setting(a)} → {_setting(b)}")
    return changed


def _setting(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_setting(v) for v in value) + "]"
    if isinstance(value, dict) and "units" in value:
        return f"{value['units']} {value.get('activation', '')}".strip()
    return f"{value:g}" if isinstance(value, float) else str(value)


def _png(rgb: NDArray[np.uint8]) -> str:
    """An RGB image (H, W, 3) as a data: URL (a PNG: zlib and the chunk layout of the PNG spec)."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
           + chunk(b"IEND", b""))
    return "data:image/png;base64," + b64encode(png).decode("ascii")


def boundary_image(run: Run) -> str:
    """The output heat map the playground paints (the same bytes), as a PNG with +x₂ up."""
    data = map_cache(run).get(run.network, run.dataset.extent, run.config.features, run.dataset.n_classes)
    res = int(np.sqrt(data.out.shape[0]))
    if data.classes is not None:
        probabilities = np.stack([np.asarray(c, dtype=np.float64) / 255 for c in data.classes], axis=1)
        chosen = np.argmax(probabilities, axis=1)
        strength = probabilities[np.arange(chosen.shape[0]), chosen][:, None]
        palette = np.asarray(CLASS_RGB, dtype=np.float64)[chosen % len(CLASS_RGB)]
        rgb = np.asarray(MID) + (palette - np.asarray(MID)) * strength
    else:
        v = np.asarray(data.out, dtype=np.float64) / 127.5 - 1
        end = np.where(v[:, None] < 0, np.asarray(NEG, dtype=np.float64), np.asarray(POS, dtype=np.float64))
        rgb = np.asarray(MID) + (end - np.asarray(MID)) * np.minimum(1, np.abs(v))[:, None]
    image = np.clip(np.rint(rgb), 0, 255).astype(np.uint8).reshape(res, res, 3)[::-1]  # row 0 = top
    return _png(np.ascontiguousarray(image))


@dataclass(frozen=True)
class Measured:
    """What the comparison shows of one run, read under that run's lock (SessionManager.read)."""

    config: dict[str, Any]
    epoch: int
    diverged: bool
    curve: list[tuple[float, float, float]]  # (epochs done, train loss, test loss) per chart point
    loss: list[str]       # train, validation, test, printed
    accuracy: list[str]
    points: list[int]
    image: str


def measure(run: Run, config: dict[str, Any]) -> Measured:
    splits = three_splits(run)
    per_epoch = max(1, run.batches_per_epoch)
    parts = (splits.train, splits.validation, splits.test)
    return Measured(
        config=config, epoch=run.epoch, diverged=run.diverged is not None,
        curve=[(p.step / per_epoch, p.train_loss, p.test_loss) for p in run.history_metrics],
        loss=[printed.loss(part.loss) for part in parts],
        accuracy=[printed.percent(part.accuracy) if part.accuracy is not None else "—" for part in parts],
        points=[part.points for part in parts], image=boundary_image(run))


def _curves(series: list[list[tuple[float, float, float]]]) -> dict[str, Any]:
    """SVG polylines of each run's train (dashed) and test (solid) loss against epochs, one scale."""
    losses = [v for points in series for _, a, b in points for v in (a, b) if np.isfinite(v)]
    top = max(losses) if losses else 1.0
    top = top if top > 0 else 1.0
    right = max([points[-1][0] for points in series if points] or [1.0])

    def xy(epoch: float, loss: float) -> str:
        x = PAD + (CHART_W - 2 * PAD) * epoch / right
        y = CHART_H - PAD + (2 * PAD - CHART_H) * min(loss, top) / top
        return f"{x:.1f},{y:.1f}"

    lines = [{"train": " ".join(xy(e, a) for e, a, _ in points if np.isfinite(a)),
              "test": " ".join(xy(e, b) for e, _, b in points if np.isfinite(b)),
              "colour": RUN_COLOURS[i], "number": i + 1} for i, points in enumerate(series)]
    return {"lines": lines, "width": CHART_W, "height": CHART_H, "pad": PAD,
            "top": printed.loss(top), "right": f"{right:.3g}"}


def view(runs: list[tuple[str, Measured]]) -> dict[str, Any]:
    """The comparison page's context for (session id, measured run) in run order (run 1 first)."""
    first = runs[0][1].config
    rows = [{"number": i, "sid": sid, "colour": RUN_COLOURS[i - 1], "epoch": m.epoch, "diverged": m.diverged,
             "changes": differences(first, m.config) if i > 1 else [], "loss": m.loss,
             "accuracy": m.accuracy, "points": m.points, "image": m.image}
            for i, (sid, m) in enumerate(runs, 1)]
    return {"rows": rows, "chart": _curves([m.curve for _, m in runs])}
