"""The losses at the current weights (Run.current_metrics) and the loss chart's schedule (MetricsLog)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine import data as data_module
from engine import features
from engine.data import DataConfig
from engine.metrics import CHART_POINTS, Metrics, MetricsLog
from engine.network import LayerConfig
from engine.optim import OptimizerConfig, Regularization, penalty
from engine.serialize import export_run, import_run
from engine.stepper import Run, RunConfig


def small_config(**changes: object) -> RunConfig:
    base = dict(dataset=DataConfig(name="circle", n_samples=60, seed=3), hidden=(LayerConfig(3),),
                optimizer=OptimizerConfig(learning_rate=0.3), batch_size=3,
                regularization=Regularization("l2", 0.05))
    base.update(changes)
    return RunConfig(**base)  # type: ignore[arg-type]


def by_hand(run: Run) -> tuple[float, float, float]:
    """Train and test data loss and R redone from the network's own forward pass and weights."""
    network, data = run.network, run.dataset
    inputs = features.transform(data.points, run.config.features)
    targets = data_module.targets_for(data.labels, data.task, run.config.output_unit, data.n_classes)
    train = network.data_loss(inputs[data.train_index], targets[data.train_index])
    test = network.data_loss(inputs[data.test_index], targets[data.test_index])
    reg = penalty(run.config.regularization, [layer.weights for layer in network.layers])
    return train, test, reg


def test_the_losses_follow_every_micro_step_that_updates_a_weight() -> None:
    run = Run(small_config())
    run.step("batch", 2)
    seen = set()
    while run.updates == 2:
        run.step("micro")
        measured = run.current_metrics()
        train, test, reg = by_hand(run)
        assert measured.train_loss == pytest.approx(train, rel=1e-12)
        assert measured.test_loss == pytest.approx(test, rel=1e-12)
        assert measured.reg == pytest.approx(reg, rel=1e-12)
        seen.add(round(measured.reg, 15))
    assert len(seen) > 3  # R moved as the update events changed the weights one unit at a time


def test_the_losses_follow_a_hand_edit_a_regularization_change_and_back() -> None:
    run = Run(small_config())
    run.step("batch", 4)
    before = run.current_metrics()
    run.set_parameter(1, 0, 0, 3.0)
    assert run.current_metrics().reg == pytest.approx(by_hand(run)[2], rel=1e-12) != before.reg
    run.update_live(regularization=Regularization("l1", 0.2))
    assert run.current_metrics().reg == pytest.approx(by_hand(run)[2], rel=1e-12)
    run.back("batch")
    assert run.current_metrics().train_loss == pytest.approx(by_hand(run)[0], rel=1e-12)


def test_the_chart_samples_evenly_and_doubles_its_spacing_when_full() -> None:
    run = Run(small_config())  # 10 batches an epoch
    run.step("batch", CHART_POINTS)
    assert run.metrics.every == 1 and [m.step for m in run.history_metrics] == list(range(1, 201))
    run.step("batch")
    assert run.metrics.every == 2
    assert [m.step for m in run.history_metrics] == list(range(2, 201, 2))  # 201 is not on the chart
    run.step("epoch", 70)  # to the end of epoch 90: 900 batches
    every = run.metrics.every
    steps = [m.step for m in run.history_metrics]
    assert every == 8 and steps == list(range(8, 900, 8))
    assert CHART_POINTS // 2 < len(steps) <= CHART_POINTS
    # numbers between two chart points are still exact for the state shown
    assert run.updates == 900 and run.losses() == pytest.approx(by_hand(run)[:2], rel=1e-12)


def test_epoch_steps_and_batch_steps_give_the_same_chart() -> None:
    by_epoch, by_batch = Run(small_config()), Run(small_config())
    by_epoch.step("epoch", 30)
    for _ in range(300):
        by_batch.step("batch")
    assert by_epoch.history_metrics == by_batch.history_metrics
    assert by_epoch.metrics.every == by_batch.metrics.every == 2


def test_back_truncates_the_chart_to_where_the_run_is_and_keeps_its_spacing() -> None:
    run = Run(small_config())
    run.step("epoch", 25)
    run.back("epoch", 4)
    assert run.updates == 210
    assert run.history_metrics[-1].step <= run.updates
    assert all(m.step % run.metrics.every == 0 for m in run.history_metrics)
    run.step("epoch")
    steps = [m.step for m in run.history_metrics]
    assert steps == sorted(set(steps)) and steps[-1] == 220  # no point from before the back survives past it


def test_an_exported_run_continues_the_chart_with_the_same_spacing() -> None:
    run = Run(small_config())
    run.step("batch", 420)
    copy = import_run(json.loads(json.dumps(export_run(run))))
    assert copy.metrics.every == run.metrics.every == 4
    run.step("batch", 100)
    copy.step("batch", 100)
    assert copy.history_metrics == run.history_metrics


def test_a_restored_log_infers_its_spacing_from_the_steps() -> None:
    def point(step: int) -> Metrics:
        return Metrics(0, step, step, 1.0, 1.0, 0.0, None, None)

    assert MetricsLog.restored([point(s) for s in range(4, 41, 4)]).every == 4
    assert MetricsLog.restored([point(s) for s in range(1, 11)]).every == 1
    old_export = MetricsLog.restored([point(s) for s in range(1, 501)])  # every batch, past the limit
    assert old_export.every == 4 and len(old_export.points) == 125


def test_accuracy_at_the_current_weights_counts_the_points_on_the_right_side() -> None:
    run = Run(small_config(regularization=Regularization()))
    run.step("epoch", 5)
    measured = run.current_metrics()
    data = run.dataset
    prediction = run.network.predict(features.transform(data.points, run.config.features))[:, 0]
    right = (prediction > 0).astype(int) == data.labels
    assert measured.accuracy == pytest.approx(float(np.mean(right[data.train_index])), abs=1e-15)
    assert measured.test_accuracy == pytest.approx(float(np.mean(right[data.test_index])), abs=1e-15)
    assert measured.accuracy != measured.test_accuracy  # so a swap of the two would show
