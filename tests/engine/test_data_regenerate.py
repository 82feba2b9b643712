"""Run.replace_data (regenerate): new points under the same network, optimiser state and counters."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine import features
from engine.data import DataConfig, make_dataset, regenerate
from engine.optim import OptimizerConfig
from engine.stepper import Run, RunConfig


def adam_run() -> Run:
    return Run(RunConfig(dataset=DataConfig(name="xor", noise=0.2), optimizer=OptimizerConfig(kind="adam")))


def params_of(run: Run) -> list[np.ndarray]:
    return [array for w, b in run.network.get_params() for array in (w, b)]


def test_regenerate_keeps_weights_optimiser_state_and_counters_and_swaps_the_points() -> None:
    run = adam_run()
    run.step("batch", 30)
    params, state = params_of(run), run.optimizer.get_state()
    counters = (run.epoch, run.batch, run.updates)
    metrics = len(run.history_metrics)
    old_points = run.dataset.points

    run.replace_data(regenerate(run.dataset, 1))

    assert (run.epoch, run.batch, run.updates) == counters
    for before, after in zip(params, params_of(run), strict=True):
        np.testing.assert_array_equal(before, after)
    for key, arrays in state.items():
        for before, after in zip(arrays, run.optimizer.get_state()[key], strict=True):
            np.testing.assert_array_equal(before, after)
    assert len(run.history_metrics) == metrics  # the loss curve goes on across the regenerate
    assert run.config.dataset.seed == 1
    assert not np.array_equal(run.dataset.points, old_points)


def test_the_loss_after_regenerate_is_the_new_data_loss_at_the_same_weights() -> None:
    run = adam_run()
    run.step("batch", 30)
    old_train, _ = run.losses()
    new_data = regenerate(run.dataset, 7)
    run.replace_data(new_data)
    train, test = run.losses()
    inputs = features.transform(new_data.points, run.config.features)
    targets = np.where(new_data.labels == 1, 1.0, -1.0)[:, None]  # tanh_mse's ±1 targets
    assert train == pytest.approx(run.network.data_loss(inputs[new_data.train_index],
                                                        targets[new_data.train_index]), rel=1e-12)
    assert test == pytest.approx(run.network.data_loss(inputs[new_data.test_index],
                                                       targets[new_data.test_index]), rel=1e-12)
    assert train != old_train


def test_the_next_batch_trains_on_the_new_points() -> None:
    run = adam_run()
    run.step("batch", 3)
    new_data = regenerate(run.dataset, 2)
    run.replace_data(new_data)
    run.step("batch")
    trace = run.last_trace
    assert trace is not None
    expected = new_data.points[new_data.train_index][30:40]  # batch 4 of size 10 in the fixed train order
    np.testing.assert_array_equal(trace.inputs, expected)


def test_back_stops_at_the_regenerate_because_older_points_belong_to_other_data() -> None:
    run = adam_run()
    run.step("batch", 5)
    run.replace_data(regenerate(run.dataset, 1))
    assert run.back("batch", 3) == 0
    assert run.updates == 5
    run.step("batch", 2)
    assert run.back("batch", 5) == 2 and run.updates == 5


def test_a_batch_in_progress_is_dropped_back_to_its_start() -> None:
    run = adam_run()
    run.step("batch", 4)
    at_start = params_of(run)
    run.step("micro", 7)
    run.replace_data(regenerate(run.dataset, 1))
    assert run.cursor is None and run.updates == 4
    for before, after in zip(at_start, params_of(run), strict=True):
        np.testing.assert_array_equal(before, after)


def test_a_smaller_training_set_shrinks_the_batch_and_ends_an_epoch_past_its_end() -> None:
    run = Run(RunConfig(dataset=DataConfig(n_samples=200), batch_size=20))  # 100 train points: 5 batches
    run.step("batch", 4)
    small = make_dataset(DataConfig(n_samples=40, train_fraction=0.5, seed=3))  # 20 train points
    run.replace_data(small)
    assert run.config.batch_size == 20 and run.batches_per_epoch == 1
    assert (run.epoch, run.batch) == (1, 0)
    tiny = dataclasses.replace(small.config, n_samples=10)
    run.replace_data(make_dataset(tiny))
    assert run.config.batch_size == 5


def test_data_needing_other_output_units_is_refused_before_anything_changes() -> None:
    run = Run(RunConfig(dataset=DataConfig(name="blobs", classes=3), output_unit="softmax_ce"))
    run.step("batch", 2)
    step_id, points = run.step_id, run.dataset.points
    with pytest.raises(ValueError, match=r"^dataset:"):
        run.replace_data(make_dataset(DataConfig(name="blobs", classes=4)))
    assert run.step_id == step_id and run.dataset.points is points
