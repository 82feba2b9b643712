"""Server CPU of one play tick and one click, in process, against the textbook epoch measured alongside.

    OPENBLAS_NUM_THREADS=1 python bench/tick_bench.py [--rounds 9]

What the server does, without the network and the event loop (those are load_bench.py's):
- tick: a play tick at 20 batches/s with a stream open, as app/play.py play_loop runs it: one batch
  (`advance_within`), `build_frame`, the frame published and encoded as the SSE event; every 5th tick also
  `build_maps` and the event with maps (stream_maps_fps = 4 of 20);
- click: a manual batch step as `SessionManager.call` runs it: the step, `build_frame`, `build_maps`, the
  session document saved to a SQLite store, the event with maps encoded;
- save: the document alone (a playing session saves every 5 s);
- baseline: bench/baseline.py's epoch on the same network, the in-process reference: the machine's load
  moves it and the others alike, so compare the ratios when two runs were taken at different loads.

CPU time (thread_time), medians of interleaved rounds. Works on older trees too (the SSE event is then
encoded by sse-starlette, as it was), so `before` and `after` can be run from two checkouts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import baseline  # noqa: E402  (bench/baseline.py, after the path)
import numpy as np  # noqa: E402

from app import cli, frames  # noqa: E402
from app.broadcast import Broadcaster  # noqa: E402
from app.limits import advance_within  # noqa: E402
from app.store import SQLiteStore, run_document  # noqa: E402
from engine.network import LayerConfig  # noqa: E402
from engine.stepper import Run, RunConfig  # noqa: E402

NETS = {"[2,4,2,1]": (4, 2), "[2,8x6,1]": (8,) * 6}
MAPS_EVERY = 5


def event_bytes(b: Broadcaster, with_maps: bool) -> bytes:
    if hasattr(b, "event"):
        return bytes(b.event(with_maps, "frame"))
    from sse_starlette import ServerSentEvent  # the older trees' stream encoded every send this way

    assert b.frame is not None
    return ServerSentEvent(b.text(with_maps), event="frame", id=str(b.frame["id"])).encode()


def cpu(work: Callable[[], object], reps: int) -> float:
    started = time.thread_time()
    for _ in range(reps):
        work()
    return (time.thread_time() - started) / reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    tuned = hasattr(cli, "keep_freed_memory") and cli.keep_freed_memory()  # as `stepwise` starts
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        store = SQLiteStore(Path(scratch) / "sessions.db")
        cases = []
        for name, hidden in NETS.items():
            run = Run(RunConfig(hidden=tuple(LayerConfig(units) for units in hidden)))
            run.step("batch", 300)
            b = Broadcaster()
            ticks = [0]

            def tick(run: Run = run, b: Broadcaster = b, ticks: list[int] = ticks) -> None:
                advance_within(run, "batch", 1, 0.25)
                ticks[0] += 1
                with_maps = ticks[0] % MAPS_EVERY == 0
                b.publish(frames.build_frame(run), frames.build_maps(run) if with_maps else None)
                event_bytes(b, with_maps)

            def click(run: Run = run, b: Broadcaster = b, name: str = name) -> None:
                run.step("batch")
                frame, maps = frames.build_frame(run), frames.build_maps(run)
                store.save(name, run_document(run))
                b.publish(frame, maps)
                event_bytes(b, True)

            def save(run: Run = run, name: str = name) -> None:
                store.save(name, run_document(run))

            sizes = [2, *hidden, 1]
            params = baseline.init(sizes, np.random.default_rng(0))
            X = run.dataset.points[run.dataset.train_index]
            Y = np.where(np.asarray(run.dataset.labels)[run.dataset.train_index] == 1, 1.0, -1.0)[:, None]

            def epoch(params: tuple[list[np.ndarray], list[np.ndarray]] = params,
                      X: np.ndarray = X, Y: np.ndarray = Y) -> None:
                for start in range(0, len(X), 10):
                    baseline.train_batch(*params, X[start:start + 10], Y[start:start + 10], 0.03)

            works: dict[str, tuple[Callable[[], object], int]] = {
                "tick": (tick, 50), "click": (click, 10), "save": (save, 10), "baseline epoch": (epoch, 3)}
            cases.append((name, works))
        times = {name: {kind: [] for kind in works} for name, works in cases}
        for round_number in range(args.rounds + 1):  # round 0 warms up
            for name, works in cases:
                for kind, (work, reps) in works.items():
                    seconds = cpu(work, reps)
                    if round_number:
                        times[name][kind].append(seconds)
        store.close()
    print(f"load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at the end; freed memory kept: "
          f"{tuned}; CPU µs, medians of {args.rounds} interleaved rounds; (x) = / the baseline epoch")
    for name, _ in cases:
        m = {kind: statistics.median(values) * 1e6 for kind, values in times[name].items()}
        base = m["baseline epoch"]
        print(f"{name:<12}" + "".join(f"  {kind} {value:8.0f} ({value / base:.3f}x)"
                                      for kind, value in m.items()))


if __name__ == "__main__":
    main()
