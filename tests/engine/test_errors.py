"""The engine's refusals carry their field and a message, so the app never parses message text."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from engine.data import DataConfig, add_point, make_dataset
from engine.errors import SetupError
from engine.optim import Regularization
from engine.stepper import Run, RunConfig


def test_a_refused_batch_size_names_its_field_and_keeps_the_field_colon_message_form() -> None:
    with pytest.raises(SetupError) as caught:
        RunConfig(batch_size=0)
    assert caught.value.field == "batch_size"
    assert caught.value.message == "must be a whole number of at least 1"
    assert str(caught.value) == "batch_size: must be a whole number of at least 1"
    assert isinstance(caught.value, ValueError)  # callers catching ValueError keep working


@pytest.mark.parametrize(
    ("refuse", "field"),
    [
        (lambda run: run.step("hour"), "unit"),
        (lambda run: run.step("batch", 0), "count"),
        (lambda run: run.set_parameter(9, 0, 0, 1.0), "layer"),
        (lambda run: run.set_parameter(1, 99, 0, 1.0), "unit"),
        (lambda run: run.set_parameter(1, 0, 0, float("nan")), "value"),
        (lambda run: run.update_live(learning_rate=-1.0), "learning_rate"),
        (lambda run: run.rewind_to(5), "index"),
        (lambda run: run.grid(1), "resolution"),
        (lambda run: run.rebuild(RunConfig(output_unit="tanh_mse",
                                           dataset=DataConfig("blobs"))), "output_unit"),
        (lambda run: Regularization("l3", 0.1), "regularization"),
    ],
)
def test_run_refusals_name_the_field_and_leave_the_run_unchanged(refuse, field) -> None:
    run = Run(RunConfig())
    run.step("batch", 2)
    before = [p.copy() for p in run.network.get_params()[0]]
    step_id = run.step_id
    with pytest.raises(SetupError) as caught:
        refuse(run)
    assert caught.value.field == field
    assert caught.value.message and not caught.value.message.startswith(field + ":")
    assert run.step_id == step_id
    assert all(np.array_equal(a, b) for a, b in zip(before, run.network.get_params()[0], strict=True))


def test_a_non_finite_point_names_the_coordinate_that_is_wrong() -> None:
    dataset = make_dataset(DataConfig("circle"))
    with pytest.raises(SetupError) as caught:
        add_point(dataset, 1.0, float("inf"), 0)
    assert caught.value.field == "x2"


def test_a_setup_error_survives_pickling_with_both_parts() -> None:
    error = pickle.loads(pickle.dumps(SetupError("noise", "must be between 0 and 0.5")))
    assert (error.field, error.message, str(error)) == ("noise", "must be between 0 and 0.5",
                                                        "noise: must be between 0 and 0.5")
    assert str(SetupError(None, "no one field")) == "no one field"
