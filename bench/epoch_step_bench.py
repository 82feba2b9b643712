"""Run.step("epoch") per epoch, as a ratio to bench/baseline.py's textbook loop in the same process.

What a page's "step by epoch" costs: every batch of the epoch (untraced but the last), the losses where
they are shown (the end of the step and the loss chart's own schedule), a history snapshot per batch.
Two regimes: a run 200 epochs in (the chart samples every 8th-16th batch) and the first 4 epochs of a
fresh run (the chart still samples every batch). Rounds interleave baseline and engine; medians.

    OPENBLAS_NUM_THREADS=1 python bench/epoch_step_bench.py [--rounds 21]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the engine
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the baseline

import baseline
import numpy as np

from engine.data import DataConfig
from engine.network import LayerConfig
from engine.run_data import RunData
from engine.stepper import Run, RunConfig

NETS = [("[2,4,2,1] b10", (4, 2), 10), ("[2,8x6,1] b10", (8,) * 6, 10), ("[2,64,64,1] b32", (64, 64), 32)]


def config(hidden: tuple[int, ...], batch: int) -> RunConfig:
    return RunConfig(dataset=DataConfig("circle"), hidden=tuple(LayerConfig(n) for n in hidden),
                     batch_size=batch)


def timed(action: Callable[[], object], times: int) -> float:
    started = time.perf_counter()
    for _ in range(times):
        action()
    return (time.perf_counter() - started) / times


def measure(name: str, hidden: tuple[int, ...], batch: int, rounds: int) -> None:
    run = Run(config(hidden, batch))
    data = RunData.of(run.dataset, run.config.features, run.config.output_unit)
    weights, biases = baseline.init([2, *hidden, 1], np.random.default_rng(0))
    batches = [(data.train_inputs[s:s + batch], data.train_targets[s:s + batch])
               for s in range(0, data.n_train, batch)]

    def baseline_epoch() -> None:
        for inputs, targets in batches:
            baseline.train_batch(weights, biases, inputs, targets, 0.03)

    run.step("epoch", 200)
    base, steady, fresh = [], [], []
    new = run
    for _ in range(rounds):
        base.append(timed(baseline_epoch, 5))
        steady.append(timed(lambda: run.step("epoch"), 5))
        new = Run(config(hidden, batch))
        fresh.append(timed(partial(new.step, "epoch"), 4))
        base.append(timed(baseline_epoch, 5))
    b, s, f = (statistics.median(values) for values in (base, steady, fresh))
    print(f"{name}: baseline {b * 1e6:7.0f} µs/epoch | Run.step('epoch') 200 epochs in "
          f"{s * 1e6:7.0f} µs = {s / b:5.2f}x | first 4 epochs {f * 1e6:7.0f} µs = {f / b:5.2f}x "
          f"(chart every {run.metrics.every} / every {new.metrics.every} batches)")


def main() -> None:
    parser = argparse.ArgumentParser(description="Run.step('epoch') per epoch against bench/baseline.py")
    parser.add_argument("--rounds", type=int, default=21)
    rounds = parser.parse_args().rounds
    for name, hidden, batch in NETS:
        measure(name, hidden, batch, rounds)


if __name__ == "__main__":
    main()
