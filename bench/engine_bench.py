"""Epochs per second of the engine (trace_batch + apply, the full trace kept; and the untraced
train_batch) against the textbook loop
(bench/baseline.py), measured in one process. Run: OPENBLAS_NUM_THREADS=1 python bench/engine_bench.py"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the engine
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the baseline

import baseline
import numpy as np

from engine.network import LayerConfig, Network, NetworkConfig
from engine.optim import Optimizer, OptimizerConfig, Regularization

N_TRAIN = 250
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


def best_seconds(run: Callable[[], None], repeats: int, min_time: float = 0.3) -> float:
    """Best time per call of `run` over several rounds, each at least `min_time` long."""
    run()
    best = float("inf")
    for _ in range(repeats):
        count, start = 0, time.perf_counter()
        while True:
            run()
            count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        best = min(best, elapsed / count)
    return best


def engine_network(sizes: list[int]) -> tuple[Network, Optimizer]:
    hidden = tuple(LayerConfig(n, "tanh") for n in sizes[1:-1])
    network = Network(NetworkConfig(sizes[0], hidden, "tanh_mse", init="uniform"), np.random.default_rng(0))
    return network, Optimizer(OptimizerConfig("sgd", LEARNING_RATE), network)


def measure(sizes: list[int], batch_size: int, sets: tuple[np.ndarray, ...], grid: np.ndarray) -> list[float]:
    """Seconds per epoch and per full step, baseline then engine; then the untraced engine epoch."""
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

    runs = (baseline_epoch, engine_epoch, baseline_full, engine_full, fast_epoch)
    return [best_seconds(run, 5) for run in runs]


def main() -> None:
    sets = (*data(0), *data(1))
    axis = np.linspace(-6, 6, GRID)
    grid = np.column_stack([np.tile(axis, GRID), np.repeat(axis, GRID)])
    print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"{N_TRAIN} training points, times are the best of 5 rounds")
    print(f"{'network':<24}{'batch':>6}{'baseline ms':>13}{'engine ms':>11}{'ratio':>8}{'target':>8}"
          f"{'full step: base ms':>20}{'engine ms':>11}{'ratio':>8}{'untraced ms':>13}{'ratio':>8}")
    for sizes, batch_size, target in CASES:
        base, ours, base_full, ours_full, fast = measure(sizes, batch_size, sets, grid)
        name = "[" + ",".join(map(str, sizes)) + "]"
        print(f"{name:<24}{batch_size:>6}{base * 1e3:>13.3f}{ours * 1e3:>11.3f}{base / ours:>7.2f}x"
              f"{target:>7.1f}x{base_full * 1e3:>20.3f}{ours_full * 1e3:>11.3f}"
              f"{base_full / ours_full:>7.2f}x{fast * 1e3:>13.3f}{base / fast:>7.2f}x")


if __name__ == "__main__":
    main()
