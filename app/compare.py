"""Compare runs: a pinned run and up to three copies started from the same data and initial weights, each
with whatever the student changed; their loss curves overlaid, decision boundaries side by side, and a
table of final train / validation / test loss and accuracy.

Which runs a comparison holds is kept in the store (app/comparisons.py). Pinning copies the run's whole
setup (same seeds, so the same data and the same initial weights; uploaded or edited points are kept)
from epoch 0. Runs are read where they are (`StoredRuns`): a run this process holds, live; one another
process holds (or nobody), from the store's copy, never taken from its process (the class dashboard
does not take students' runs either). Everything shown is read from the runs: the chart's points
(Run.history_metrics), the heat-map bytes the page draws (engine/maps.py through app/frames.map_cache),
the three splits (engine/validation.py). This module only scales them to pixels, colours and the printed
numbers.
"""

from __future__ import annotations

import json
import struct
import zlib
from base64 import b64encode
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import numpy as np
from numpy.typing import NDArray

from app.convert import config_dict
from app.frames import map_cache
from app.sessions import SessionError, SessionManager
from engine import printed, serialize
from engine.stepper import Run
from engine.validation import three_splits

MAX_RUNS = 4
RUN_COLOURS = ("#1b5e9c", "#c4541a", "#2e7d32", "#7b2cbf")  # run 1..4 in the chart, the table, the maps
NEG, MID, POS = (245, 147, 34), (232, 234, 235), (8, 119, 189)  # stepwise.js's scale (−1, 0, +1)
CLASS_RGB = ((245, 147, 34), (8, 119, 189), (44, 162, 95), (158, 88, 184), (214, 96, 77), (77, 77, 77))
CHART_W, CHART_H, PAD = 560, 220, 36


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


class StoredRuns:
    """What the comparison shows of each run, read where the run is. A run this process holds is measured
    live, under its lock. Any other run is measured from the store's copy (the state its holder saved:
    after every manual step, on pause, every save interval while it plays), without taking its lease, so
    a comparison open on one process never pulls a student's run away from the process that serves
    their page. The copy's measurement is kept while the stored document stays the same."""

    MAX_KEPT = 64

    def __init__(self) -> None:
        self._kept: OrderedDict[str, tuple[str, Measured]] = OrderedDict()  # run id -> (document, seen)

    async def measured(self, sessions: SessionManager, session_id: str) -> Measured | None:
        """The run measured now, or None when it is gone (deleted, or pruned from the store)."""
        session = sessions.sessions.get(session_id)
        if session is not None and session.gone is None:
            try:
                return await sessions.read(session, lambda run: measure(run, config_dict(run)))
            except SessionError:
                pass  # handed over or evicted meanwhile: the store has what it saved
        document = await anyio.to_thread.run_sync(sessions.store.load, session_id)
        if document is None:
            return None
        kept = self._kept.get(session_id)
        if kept is not None and kept[0] == document:
            self._kept.move_to_end(session_id)
            return kept[1]

        def from_store() -> Measured:
            run = serialize.import_run(json.loads(document))
            return measure(run, config_dict(run))

        seen = await anyio.to_thread.run_sync(from_store)
        self._kept[session_id] = (document, seen)
        while len(self._kept) > self.MAX_KEPT:
            self._kept.popitem(last=False)
        return seen
