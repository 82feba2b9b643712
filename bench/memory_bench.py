"""Memory of one Run with a full rewind history: bytes held by the run, measured two ways, vs the 5 MB budget.

    OPENBLAS_NUM_THREADS=1 python bench/memory_bench.py [--batches N] [--runs K]

tracemalloc: bytes still allocated after building one run and stepping it until its history is full
(history 1,000 batch boundaries, metrics, dataset, last trace). RSS: growth of the process's resident set
over K such runs kept alive at once, divided by K (includes allocator overhead).
"""

from __future__ import annotations

import argparse
import gc
import resource
import tracemalloc

from engine.stepper import Run, RunConfig

BUDGET = 5 * 1024 * 1024


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def build(batches: int) -> Run:
    run = Run(RunConfig())  # [2, 4, 2, 1] tanh, circle 500 points, batch 10, SGD
    run.step("batch", batches)
    run.step("micro", 5)  # a batch in progress too, as on the page
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=1200)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    build(10)  # import and warm every code path first
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    run = build(args.batches)
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    traced = after - before
    snapshot_bytes = sum(s.nbytes for s in run.history)

    gc.collect()
    start = rss_bytes()
    runs = [build(args.batches) for _ in range(args.runs)]
    gc.collect()
    per_run_rss = (rss_bytes() - start) / len(runs)

    print(f"history points: {len(run.history)} (limit {run.history_limit}); "
          f"metrics: {len(run.history_metrics)}")
    print(f"snapshot arrays: {snapshot_bytes / 1024:.1f} KiB")
    print(f"tracemalloc, one run: {traced / 1024:.1f} KiB = {traced / BUDGET:.2f} of the 5 MB budget")
    print(f"RSS growth per run ({len(runs)} runs): {per_run_rss / 1024:.1f} KiB = {per_run_rss / BUDGET:.2f} "
          "of the budget")


if __name__ == "__main__":
    main()
