"""Export/import: a JSON round trip continues bit for bit; a tampered document names its field."""

from __future__ import annotations

import copy
import json
from typing import Any, Literal

import numpy as np
import pytest

from engine.data import DataConfig
from engine.network import LayerConfig
from engine.optim import OptimizerConfig
from engine.serialize import RunFormatError, export_run, import_run
from engine.stepper import Run, RunConfig

OptimizerKind = Literal["sgd", "momentum", "adam"]


def make_run(optimizer: OptimizerKind = "adam") -> Run:
    return Run(RunConfig(dataset=DataConfig(name="spiral", n_samples=60, seed=4),
                         hidden=(LayerConfig(4), LayerConfig(2)),
                         optimizer=OptimizerConfig(kind=optimizer, learning_rate=0.05), batch_size=5, seed=3))


def through_json(run: Run) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(export_run(run), allow_nan=False))
    return document


def params_of(run: Run) -> list[np.ndarray]:
    return [array for pair in run.network.get_params() for array in pair]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_an_imported_run_takes_the_same_next_three_steps(optimizer: OptimizerKind) -> None:
    run = make_run(optimizer)
    run.step("batch", 7)
    copy_ = import_run(through_json(run))
    assert (copy_.epoch, copy_.batch, copy_.updates, copy_.step_id) == (run.epoch, run.batch, run.updates,
                                                                          run.step_id)
    for _ in range(3):
        run.step("batch")
        copy_.step("batch")
        for x, y in zip(params_of(run), params_of(copy_), strict=True):
            assert np.array_equal(x, y)


def test_a_run_exported_inside_a_batch_resumes_at_the_same_micro_step() -> None:
    run = make_run()
    run.step("batch", 2)
    run.step("micro", 71)
    copy_ = import_run(through_json(run))
    assert copy_.cursor == run.cursor and copy_.current_event == run.current_event
    for x, y in zip(params_of(run), params_of(copy_), strict=True):
        assert np.array_equal(x, y)
    run.step("micro", 40)
    copy_.step("micro", 40)
    for x, y in zip(params_of(run), params_of(copy_), strict=True):
        assert np.array_equal(x, y)


def test_edited_data_travels_in_the_document_and_generated_data_does_not() -> None:
    run = make_run()
    assert "points" not in export_run(run)["data"]
    edited = Run(run.config, dataset=run.dataset.with_point(1.5, -2.0, 1))
    document = through_json(edited)
    assert len(document["data"]["points"]) == 61
    copy_ = import_run(document)
    assert np.array_equal(copy_.dataset.points, edited.dataset.points)
    assert np.array_equal(copy_.dataset.train_index, edited.dataset.train_index)


def test_the_metrics_survive_the_round_trip() -> None:
    run = make_run()
    run.step("batch", 4)
    copy_ = import_run(through_json(run))
    assert copy_.history_metrics == run.history_metrics


def test_the_default_runs_document_stays_small() -> None:
    run = Run(RunConfig())
    run.step("epoch", 20)
    size = len(json.dumps(export_run(run)))
    assert size < 150_000, size


def changed(document: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    """A copy of `document` with the item at `path` set to `value` (KeyError: taken out)."""
    copied = copy.deepcopy(document)
    target = copied
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return copied


def tamper(path: list[Any], value: Any) -> dict[str, Any]:
    run = make_run()
    run.step("batch", 3)
    return changed(through_json(run), path, value)


@pytest.mark.parametrize(("path", "value", "field"), [
    (["version"], 2, "version"),
    (["format"], "other", "format"),
    (["state"], KeyError, "state"),
    (["state", "params", 0, "weights"], [[0.1, 0.2]], "state.params[0].weights"),
    (["state", "params", 1, "bias"], [float("nan"), 0.0], "state.params[1].bias"),
    (["state", "params", 1, "bias"], ["a", "b"], "state.params[1].bias"),
    (["config", "hidden", 0, "activation"], "sparkle", "hidden"),
    (["config", "batch_size"], 0, "batch_size"),
    (["config", "mystery"], 1, "config.mystery"),
    (["state", "epoch"], -1, "state.epoch"),
    (["state", "batch"], 999, "state.batch"),
    (["state", "rng"], {"bit_generator": "PCG64"}, "state.rng"),
    (["state", "optimizer", "state"], {"m": []}, "state.optimizer.state"),
    (["state", "optimizer", "kind"], "sgd", "state.optimizer.kind"),
    (["cursor"], 10**6, "cursor"),
    (["metrics", "train_loss"], [1.0], "metrics"),
])
def test_a_tampered_document_is_refused_naming_the_field(path: list[Any], value: Any, field: str) -> None:
    document = tamper(path, value)
    with pytest.raises(RunFormatError) as caught:
        import_run(document)
    assert field in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(RunFormatError, match="document"):
        import_run([1, 2, 3])
