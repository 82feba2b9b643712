"""Stepwise against TF Playground's own engine, side by side in one run: per epoch and per whole step.

    OPENBLAS_NUM_THREADS=1 python bench/tf_bench.py --tf-src DIR --esbuild PATH [--rounds 7]

TF Playground is not part of this repository and nothing is fetched at run time. To get what it needs:
`git clone https://github.com/tensorflow/playground DIR` (its src/nn.ts is the engine), and esbuild from
npm in a scratch directory outside the repository (`npm install esbuild` there; PATH is its
node_modules/.bin/esbuild); Node 20 runs it. The bench compiles DIR/src/nn.ts to CommonJS in a temp
directory (TypeScript's own class-field semantics, useDefineForClassFields false, as TF's build uses;
esbuild's default native class fields made TF 1.3-1.9x slower) and drives it with bench/tf_driver.js
exactly as playground.ts's oneStep does (forwardProp + backProp per point, updateWeights every batch; a
whole Step adds train and test loss and updateDecisionBoundary's 100x100 forward passes).

Stepwise: `Run.step("epoch")`, and a whole step as the server plays it: the epoch, `build_frame` (train
and test loss included) and `build_maps` (48x48 decision map + a 24x24 map per hidden neuron). Same
shapes, tanh hidden and output units, square error, batch 10 (32 for [2,64,64,1]), learning rate 0.03,
250 training and 250 test points of the circle set (TF gets Stepwise's points, labels ±1). Also in the
same rounds: bench/baseline.py's textbook NumPy epoch, the in-process reference the other benches use.

Times are CPU time (process_time / process.cpuUsage) per epoch or step, medians over interleaved rounds
(each round runs every contender on every network in turn), so other load on the machine hits all of
them alike; ratios are Stepwise / TF (< 1: Stepwise is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
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
from engine.network import LayerConfig  # noqa: E402
from engine.optim import OptimizerConfig  # noqa: E402
from engine.stepper import Run, RunConfig  # noqa: E402

LEARNING_RATE = 0.03
# (hidden sizes, batch, epochs per timing, whole steps per timing, targets: epoch, full step vs TF)
CASES: list[tuple[tuple[int, ...], int, int, int, tuple[float | None, float | None]]] = [
    ((4, 2), 10, 10, 3, (1.0, 0.5)),
    ((8,) * 6, 10, 4, 1, (0.5, 0.5)),
    ((64, 64), 32, 2, 1, (None, None)),
]


def name_of(hidden: tuple[int, ...]) -> str:
    return f"[2,{'8x6' if hidden == (8,) * 6 else ','.join(map(str, hidden))},1]"


def compile_nn(tf_src: Path, esbuild: Path, out_dir: Path) -> Path:
    source = tf_src / "src" / "nn.ts"
    if not source.is_file():
        raise SystemExit(f"{source} not found: --tf-src is a clone of github.com/tensorflow/playground")
    target = out_dir / "nn.js"
    subprocess.run([str(esbuild), str(source), "--format=cjs", "--platform=node", "--target=node20",
                    '--tsconfig-raw={"compilerOptions":{"useDefineForClassFields":false}}',
                    f"--outfile={target}", "--log-level=warning"], check=True)
    return target


class TF:
    """bench/tf_driver.js in a Node process, one JSON line per command."""

    def __init__(self, nn_js: Path) -> None:
        self.process = subprocess.Popen(["node", str(HERE / "tf_driver.js"), str(nn_js)], text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def ask(self, **command: object) -> dict[str, float]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return dict(json.loads(self.process.stdout.readline()))

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def cpu_seconds(work: Callable[[], object], reps: int) -> float:
    started = time.process_time()
    for _ in range(reps):
        work()
    return (time.process_time() - started) / reps


def stepwise_run(hidden: tuple[int, ...], batch: int) -> Run:
    return Run(RunConfig(hidden=tuple(LayerConfig(units) for units in hidden), batch_size=batch,
                         optimizer=OptimizerConfig(learning_rate=LEARNING_RATE)))


def points_of(run: Run) -> tuple[list[list[float]], list[list[float]]]:
    """The run's training and test points as TF's [x, y, label ±1]."""
    data = run.dataset
    labelled = np.column_stack([data.points, np.where(np.asarray(data.labels) == 1, 1.0, -1.0)])
    return labelled[data.train_index].tolist(), labelled[data.test_index].tolist()


def baseline_epoch(params: tuple[list[np.ndarray], list[np.ndarray]], X: np.ndarray, Y: np.ndarray,
                   batch: int) -> None:
    weights, biases = params
    for start in range(0, len(X), batch):
        baseline.train_batch(weights, biases, X[start:start + batch], Y[start:start + batch], LEARNING_RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tf-src", type=Path, required=True, help="a clone of tensorflow/playground")
    parser.add_argument("--esbuild", type=Path, required=True, help="the esbuild executable (from npm)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if hasattr(cli, "keep_freed_memory"):  # as `stepwise` starts (older trees have no such setting)
        cli.keep_freed_memory()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        nn_js = compile_nn(args.tf_src, args.esbuild, Path(scratch))
        tfs, runs, bases = [], [], []
        for hidden, batch, _, _, _ in CASES:
            run = stepwise_run(hidden, batch)
            train, test = points_of(run)
            tf = TF(nn_js)
            tf.ask(cmd="setup", shape=[2, *hidden, 1], batch=batch, lr=LEARNING_RATE, train=train, test=test)
            sizes = [2, *hidden, 1]
            X = run.dataset.points[run.dataset.train_index]
            Y = np.where(np.asarray(run.dataset.labels)[run.dataset.train_index] == 1, 1.0, -1.0)[:, None]
            params = baseline.init(sizes, np.random.default_rng(0))
            tfs.append(tf)
            runs.append(run)
            bases.append((params, X, Y, batch))
        times: dict[str, dict[str, list[float]]] = {
            name_of(c[0]): {k: [] for k in ("tf_epoch", "epoch", "base", "tf_full", "full")} for c in CASES}
        try:
            for round_number in range(args.rounds + 1):  # round 0 warms up Node's JIT and NumPy's caches
                for (hidden, _, epochs, steps, _), tf, run, (params, X, Y, batch) in zip(
                        CASES, tfs, runs, bases, strict=True):
                    row = times[name_of(hidden)]

                    def full(run: Run = run) -> None:
                        run.step("epoch")
                        frames.build_frame(run)
                        frames.build_maps(run)

                    measured = {
                        "tf_epoch": tf.ask(cmd="epoch", reps=epochs)["cpu_us"] * 1e-6,
                        "epoch": cpu_seconds(lambda run=run: run.step("epoch"), epochs),
                        "base": cpu_seconds(lambda p=params, x=X, y=Y, b=batch: baseline_epoch(p, x, y, b),
                                            epochs),
                        "tf_full": tf.ask(cmd="full", reps=steps)["cpu_us"] * 1e-6,
                        "full": cpu_seconds(full, steps),
                    }
                    if round_number:
                        for key, value in measured.items():
                            row[key].append(value)
        finally:
            for tf in tfs:
                tf.close()
    print(f"load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at the end; CPU ms, medians of "
          f"{args.rounds} interleaved rounds; ratio = Stepwise / TF")
    print(f"{'network':<14}{'TF epoch':>10}{'Run.step':>10}{'ratio':>8}{'target':>8}{'baseline':>10}"
          f"{'TF/base':>9} | {'TF step':>9}{'Stepwise':>10}{'ratio':>8}{'target':>8}")
    for hidden, _, _, _, (epoch_target, full_target) in CASES:
        m = {key: statistics.median(values) * 1e3 for key, values in times[name_of(hidden)].items()}
        print(f"{name_of(hidden):<14}{m['tf_epoch']:>10.3f}{m['epoch']:>10.3f}"
              f"{m['epoch'] / m['tf_epoch']:>7.2f}x{_target(epoch_target):>8}{m['base']:>10.3f}"
              f"{m['tf_epoch'] / m['base']:>8.2f}x | {m['tf_full']:>9.2f}{m['full']:>10.2f}"
              f"{m['full'] / m['tf_full']:>7.2f}x{_target(full_target):>8}")


def _target(value: float | None) -> str:
    return "—" if value is None else f"≤{value:.1f}x"


if __name__ == "__main__":
    main()
