"""Memory of one Run with a full rewind history: bytes held by the run, measured two ways, vs the 5 MB budget.

    OPENBLAS_NUM_THREADS=1 python bench/memory_bench.py [--batches N] [--runs K] [--hidden 8,8,8,8,8,8 ...]

Networks: [2,4,2,1] (the default), [2,8x6,1] and [2,64,64,1] unless --hidden names others (one comma list
each); [2,64,64,1] keeps at most 3 runs alive for the RSS figure.

tracemalloc: bytes still allocated after building one run and stepping it until its history is full
(history 1,000 batch boundaries, metrics, dataset, last trace). RSS: growth of the process's resident set
over K such runs kept alive at once, divided by K (includes allocator overhead).
"""

from __future__ import annotations

import argparse
import gc
import resource
import tracemalloc

from engine.network import LayerConfig
from engine.stepper import Run, RunConfig

BUDGET = 5 * 1024 * 1024


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def build(batches: int, hidden: tuple[int, ...]) -> Run:
    """tanh layers, circle 500 points, batch 10, SGD, stepped `batches` batches."""
    run = Run(RunConfig(hidden=tuple(LayerConfig(units) for units in hidden)))
    run.step("batch", batches)
    run.step("micro", 5)  # a batch in progress too, as on the page
    return run


def measure(hidden: tuple[int, ...], batches: int, runs: int) -> None:
    build(10, hidden)  # import and warm every code path first
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    run = build(batches, hidden)
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    traced = after - before
    snapshot_bytes = sum(s.nbytes for s in run.history)
    del run

    gc.collect()
    start = rss_bytes()
    kept = [build(batches, hidden) for _ in range(runs)]
    gc.collect()
    per_run_rss = (rss_bytes() - start) / len(kept)
    name = f"[2,{','.join(map(str, hidden))},1]"
    print(f"{name}: history points {len(kept[0].history)} (limit {kept[0].history_limit}), "
          f"metrics {len(kept[0].history_metrics)}, snapshot arrays {snapshot_bytes / 2**20:.2f} MiB; "
          f"tracemalloc {traced / 2**20:.2f} MiB = {traced / BUDGET:.2f} of the 5 MB budget; "
          f"RSS growth per run ({len(kept)} runs) {per_run_rss / 2**20:.2f} MiB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=1200)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--hidden", nargs="*", default=["4,2", "8,8,8,8,8,8", "64,64"])
    args = parser.parse_args()
    for token in args.hidden:
        hidden = tuple(int(units) for units in token.split(",") if units)
        measure(hidden, args.batches, min(args.runs, 3) if max(hidden) >= 64 else args.runs)


if __name__ == "__main__":
    main()
