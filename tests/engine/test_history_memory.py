"""Rewind history is bounded in bytes per run and in total, and what it keeps stays exact (Hardening II
item 3). The figures are sizes the history counts, not timings."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from engine import history as history_module
from engine.history import History, HistoryBudget
from engine.network import LayerConfig
from engine.optim import OptimizerConfig
from engine.stepper import Run, RunConfig


def big_run() -> Run:
    """The issue's case: 8 x 64 units, Adam, 10 points, batch 1 (~0.7 MB a snapshot)."""
    from engine.data import DataConfig
    config = RunConfig(hidden=tuple(LayerConfig(units=64) for _ in range(8)),
                       optimizer=OptimizerConfig(kind="adam"), batch_size=1,
                       dataset=DataConfig(name="circle", n_samples=10))
    return Run(config)


def params(run: Run) -> list[np.ndarray]:
    return [array.copy() for w, b in run.network.get_params() for array in (w, b)]


def test_a_big_network_keeps_fewer_points_within_its_byte_cap() -> None:
    run = big_run()
    run.history = History(max_bytes=4 * 2**20, budget=HistoryBudget(2**40))
    run.history.push(run._snapshot("start"))
    run.step("batch", 40)
    snapshot_bytes = run.history.top.nbytes
    assert snapshot_bytes > 500_000  # ~0.7 MB each: 40 of them would be ~28 MB
    assert run.history.nbytes <= 4 * 2**20
    kept = len(run.history)
    assert kept == (4 * 2**20) // snapshot_bytes
    assert run.back("batch", 100) == kept - 1  # Back stops at the oldest point held


def test_a_small_network_keeps_all_its_points() -> None:
    run = Run(RunConfig())
    run.step("batch", 300)
    assert len(run.history) == 301
    assert run.history.nbytes < 2**20


def test_going_back_within_the_bytes_kept_is_bit_exact() -> None:
    run, replay = big_run(), big_run()
    run.history = History(max_bytes=4 * 2**20, budget=HistoryBudget(2**40))
    run.history.push(run._snapshot("start"))
    run.step("batch", 30)
    kept = len(run.history)
    assert 2 < kept < 31
    assert run.back("batch", kept - 1) == kept - 1
    replay.step("batch", 30 - (kept - 1))
    for mine, theirs in zip(params(run), params(replay), strict=True):
        assert np.array_equal(mine, theirs)
    assert run.step("batch", 3) == 3 and replay.step("batch", 3) == 3  # and training goes on alike
    for mine, theirs in zip(params(run), params(replay), strict=True):
        assert np.array_equal(mine, theirs)


def test_all_histories_together_stay_within_the_budget_and_give_bytes_back_when_a_run_goes() -> None:
    budget = HistoryBudget(6 * 2**20)
    runs = []
    for _ in range(3):
        run = big_run()
        run.history = History(max_bytes=4 * 2**20, budget=budget)
        run.history.push(run._snapshot("start"))
        run.step("batch", 20)
        runs.append(run)
    snapshot_bytes = runs[0].history.top.nbytes
    # over budget a history keeps its last two points; beyond those the total holds
    assert budget.used <= 6 * 2**20 + 3 * 2 * snapshot_bytes
    assert budget.used == sum(run.history.nbytes for run in runs)
    assert all(len(run.history) >= 2 for run in runs)
    held = budget.used
    del run
    runs.pop()
    gc.collect()
    assert budget.used < held
    assert budget.used == sum(run.history.nbytes for run in runs)


def test_the_process_wide_defaults_bound_a_run_made_the_usual_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_module, "DEFAULT_RUN_BYTES", 3 * 2**20)
    run = big_run()
    run.step("batch", 20)
    assert run.history.nbytes <= 3 * 2**20 and len(run.history) < 21
