"""Epochs per second of the engine (trace_batch + apply, the full trace kept; and the untraced
train_batch) against the textbook loop (bench/baseline.py), measured in one process, and the full
playground step. Run: OPENBLAS_NUM_THREADS=1 python bench/engine_bench.py"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the engine
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the baseline

import baseline
import numpy as np

from engine import maps
from engine.network import LayerConfig, Network, NetworkConfig
from engine.optim import Optimizer, OptimizerConfig, Regularization
from engine.stepper import Run, RunConfig

N_TRAIN = 250
ROUNDS = 7
GRID = 100
LEARNING_RATE = 0.03
CASES = [  # (sizes, batch size, target ratio)
    ([2, 4, 2, 1], 10, 2.0),
    ([2, 8, 8, 8, 8, 8, 8, 1], 10, 2.0),
    ([2, 64, 64, 1], 32, 1.0),
]


def data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A circle-like set: 250 points in [−5, 5]², label +1 inside radius 3."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-5, 5, (N_TRAIN, 2))
    return X, np.where(np.hypot(X[:, 0], X[:, 1]) < 3, 1.0, -1.0)[:, None]


def best_seconds(runs: list[Callable[[], None]], rounds: int, min_time: float = 0.2) -> list[float]:
    """Best time per call of each of `runs` over `rounds` rounds, each run timed for at least `min_time`
    per round. The runs take turns within a round, so a change of machine load hits them all alike."""
    for run in runs:
        run()
    best = [float("inf")] * len(runs)
    for _ in range(rounds):
        for index, run in enumerate(runs):
            count, start = 0, time.perf_counter()
            while True:
                run()
                count += 1
                elapsed = time.perf_counter() - start
                if elapsed >= min_time:
                    break
            best[index] = min(best[index], elapsed / count)
    return best


def engine_network(sizes: list[int]) -> tuple[Network, Optimizer]:
    hidden = tuple(LayerConfig(n, "tanh") for n in sizes[1:-1])
    network = Network(NetworkConfig(sizes[0], hidden, "tanh_mse", init="uniform"), np.random.default_rng(0))
    return network, Optimizer(OptimizerConfig("sgd", LEARNING_RATE), network)


def measure(sizes: list[int], batch_size: int, sets: tuple[np.ndarray, ...], grid: np.ndarray) -> list[float]:
    """Seconds per epoch (baseline, traced engine, untraced engine), then per full step (baseline, all
    batches traced, the stepper's way: untraced batches and the last one traced)."""
    X, Y, X_test, Y_test = sets
    starts = range(0, N_TRAIN, batch_size)
    batches = [(X[start:start + batch_size], Y[start:start + batch_size]) for start in starts]
    weights, biases = baseline.init(sizes, np.random.default_rng(0))
    network, optimizer = engine_network(sizes)
    regularization = Regularization()
    step = [0]

    def baseline_epoch() -> None:
        for inputs, targets in batches:
            baseline.train_batch(weights, biases, inputs, targets, LEARNING_RATE)

    def engine_epoch() -> None:
        for inputs, targets in batches:
            trace = network.trace_batch(inputs, targets, regularization)
            optimizer.apply(network, trace, step[0])
            step[0] += 1

    fast_network, fast_optimizer = engine_network(sizes)

    def fast_epoch() -> None:  # the untraced step the stepper uses for all but a coarse step's last batch
        for inputs, targets in batches:
            fast_network.train_batch(inputs, targets, regularization, fast_optimizer, step[0])
            step[0] += 1

    def baseline_full() -> None:
        baseline_epoch()
        baseline.loss(weights, biases, X, Y)
        baseline.loss(weights, biases, X_test, Y_test)
        baseline.layer_outputs(weights, biases, grid)

    def engine_full() -> None:
        engine_epoch()
        network.data_loss(X, Y)
        network.data_loss(X_test, Y_test)
        network.layer_outputs(grid)

    def stepper_full() -> None:  # what an epoch step of the page runs: untraced batches, the last traced
        for inputs, targets in batches[:-1]:
            fast_network.train_batch(inputs, targets, regularization, fast_optimizer, step[0])
            step[0] += 1
        trace = fast_network.trace_batch(*batches[-1], regularization)
        fast_optimizer.apply(fast_network, trace, step[0])
        step[0] += 1
        fast_network.data_loss(X, Y)
        fast_network.data_loss(X_test, Y_test)
        fast_network.layer_outputs(grid)

    epochs = best_seconds([baseline_epoch, engine_epoch, fast_epoch], ROUNDS)
    full = best_seconds([baseline_full, engine_full, stepper_full], ROUNDS)
    return epochs + full


def maps_precision(rounds: int) -> None:
    """engine/maps.py: the maps in float64 (what the server sends) against the checked float32 pass (the
    same bytes), per network, CPU ms, medians of interleaved rounds."""
    print("\nheat maps (48x48 decision map + 24x24 per hidden neuron), CPU ms, checked float32 / float64:")
    for sizes, _, _ in CASES:
        run = Run(RunConfig(hidden=tuple(LayerConfig(units) for units in sizes[1:-1])))
        run.step("epoch", 10)
        args = (run.network, run.dataset.extent, run.config.features, run.dataset.n_classes)
        seconds: dict[str, list[float]] = {"float64": [], "float32": []}
        for _ in range(rounds):
            for precision, values in seconds.items():
                started = time.process_time()
                for _ in range(5):
                    maps.map_bytes(*args, precision=precision)
                values.append((time.process_time() - started) / 5)
        f64, f32 = (statistics.median(seconds[k]) * 1e3 for k in ("float64", "float32"))
        cells = maps.OUTPUT_RES ** 2 + maps.NODE_RES ** 2
        redone = maps.map_bytes(*args, precision="float32").rows_float64 / cells
        name = "[" + ",".join(map(str, sizes)) + "]"
        print(f"  {name:<20} float64 {f64:.2f} ms, checked float32 {f32:.2f} ms "
              f"({f32 / f64:.2f}x; {redone:.0%} of the rows redone in float64)")


def main() -> None:
    sets = (*data(0), *data(1))
    axis = np.linspace(-6, 6, GRID)
    grid = np.column_stack([np.tile(axis, GRID), np.repeat(axis, GRID)])
    print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"{N_TRAIN} training points, best of {ROUNDS} interleaved rounds")
    print(f"{'network':<20}{'batch':>6}{'base ms':>9}{'traced ms':>11}{'ratio':>7}{'untraced ms':>13}"
          f"{'ratio':>7}{'target':>7}{'µs/batch':>10} | {'full: base ms':>13}{'traced':>8}{'ratio':>7}"
          f"{'stepper':>9}{'ratio':>7}")
    for sizes, batch_size, target in CASES:
        base, traced, untraced, base_full, traced_full, stepper_full = measure(sizes, batch_size, sets, grid)
        name = "[" + ",".join(map(str, sizes)) + "]"
        per_batch = untraced / -(-N_TRAIN // batch_size) * 1e6
        print(f"{name:<20}{batch_size:>6}{base * 1e3:>9.3f}{traced * 1e3:>11.3f}{base / traced:>6.2f}x"
              f"{untraced * 1e3:>13.3f}{base / untraced:>6.2f}x{target:>6.1f}x{per_batch:>10.1f} | "
              f"{base_full * 1e3:>13.3f}{traced_full * 1e3:>8.3f}{base_full / traced_full:>6.2f}x"
              f"{stepper_full * 1e3:>9.3f}{base_full / stepper_full:>6.2f}x")
    maps_precision(ROUNDS)
    print("\nTF Playground's engine, side by side in one run: bench/tf_bench.py (needs its sources).")


if __name__ == "__main__":
    main()
