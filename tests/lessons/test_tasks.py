"""Tasks are checked on the server from the run's state: targets on the real run, typed numbers against the
trace at the printed precision, graph values, choices, ranges, the validation split."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app import convert, tasks
from app.lessons import ChoiceTask, NumberTask, RangeTask, TargetTask
from app.schemas import SessionCreate
from engine import printed
from engine.features import transform
from engine.stepper import Run
from engine.validation import three_splits, validation_count


def built(**setup: object) -> Run:
    return convert.built(SessionCreate.model_validate(setup))


def target(**fields: object) -> TargetTask:
    return TargetTask.model_validate({"kind": "target", "question": "q", **fields})


def test_a_perceptron_misses_xor_and_reaches_it_with_the_product_feature() -> None:
    goal = target(metric="test_accuracy", at_least=0.95, max_hidden_units=0, max_epochs=50)
    plain = built(dataset={"name": "xor"}, hidden=[])
    plain.step("epoch", 20)
    verdict = tasks.check(goal, plain, "")
    assert not verdict.solved
    shown = printed.percent(plain.current_metrics().test_accuracy or 0.0)
    assert f"test accuracy {shown} at epoch 20; the target is at least 95.0 %" in verdict.message
    product = built(dataset={"name": "xor"}, hidden=[], features=["x1", "x2", "x1_x2"])
    product.step("epoch", 20)
    assert (product.current_metrics().test_accuracy or 0) >= 0.95
    assert tasks.check(goal, product, "").solved


def test_a_target_counts_hidden_units_and_epochs() -> None:
    run = built(dataset={"name": "xor"}, hidden=[{"units": 3}, {"units": 2}])
    run.step("epoch", 3)
    small = tasks.check(target(metric="test_loss", below=10.0, max_hidden_units=4), run, "")
    assert not small.solved and "5 hidden units; the task allows at most 4" in small.message
    late = tasks.check(target(metric="test_loss", below=10.0, max_epochs=2), run, "")
    assert not late.solved and "within 2 epochs" in late.message
    early = tasks.check(target(metric="test_loss", below=10.0, min_epochs=4), run, "")
    assert not early.solved and "at least 4 epochs" in early.message
    fits = target(metric="test_loss", below=10.0, max_hidden_units=5, max_epochs=3)
    assert tasks.check(fits, run, "").solved


def test_a_typed_number_is_checked_against_the_trace_at_the_printed_precision() -> None:
    run = built(dataset={"name": "gauss"}, hidden=[{"units": 3}, {"units": 2}], batch_size=1)
    run.step("micro", 1)
    task = NumberTask.model_validate({"kind": "number", "question": "y", "quantity": "activation",
                                      "layer": 1, "unit": 2})
    trace = run.last_trace
    assert trace is not None
    # redo the unit by hand from the weights and the sample: y = tanh(w·x + b)
    layer = trace.layers[0]
    by_hand = math.tanh(float(np.dot(layer.weights[1], trace.inputs[run.sample]) + layer.bias[1]))
    decimals = 2 if abs(by_hand) >= 0.1 else 3
    typed = printed.fixed(by_hand, decimals)
    assert tasks.check(task, run, typed).solved
    assert tasks.check(task, run, typed.replace(printed.MINUS, "-")).solved
    off = printed.fixed(by_hand + 3 * 10 ** -decimals, decimals)
    wrong = tasks.check(task, run, off)
    assert not wrong.solved and f"checked with {decimals} decimals" in wrong.message


def test_a_number_of_the_trace_needs_a_step_into_a_batch() -> None:
    run = built(dataset={"name": "gauss"}, hidden=[{"units": 3}], batch_size=1)
    task = NumberTask.model_validate({"kind": "number", "question": "δ", "quantity": "delta",
                                      "layer": 2, "unit": 1})
    with pytest.raises(tasks.AnswerError, match="step into a batch first"):
        tasks.check(task, run, "0.1")
    with pytest.raises(tasks.AnswerError, match="not a number"):
        run.step("micro", 1)
        tasks.check(task, run, "zero point one")


def test_the_output_delta_is_the_traces() -> None:
    run = built(dataset={"name": "gauss"}, hidden=[{"units": 3}, {"units": 2}], batch_size=1)
    run.step("micro", 9)  # 6 forward, then the error: δ at the output is known
    trace = run.last_trace
    assert trace is not None
    y_hat, y = float(trace.prediction[0, 0]), float(trace.targets[0, 0])
    delta = (y_hat - y) * (1 - y_hat ** 2)  # tanh output with squared error
    task = NumberTask.model_validate({"kind": "number", "question": "δ₆", "quantity": "delta",
                                      "layer": 3, "unit": 1, "decimals": 4})
    assert tasks.check(task, run, printed.fixed(delta, 4)).solved


def test_the_computation_graph_by_hand() -> None:
    graph = {"kind": "number", "question": "f", "expression": "(x + y) * z",
             "values": {"x": -2, "y": 5, "z": -4}, "decimals": 0}
    run = built()
    value = NumberTask.model_validate({**graph, "quantity": "graph_value"})
    assert tasks.check(value, run, "−12").solved
    assert not tasks.check(value, run, "12").solved
    for name, answer in (("x", "-4"), ("y", "-4"), ("z", "3")):
        gradient = NumberTask.model_validate({**graph, "quantity": "graph_gradient", "gradient_of": name})
        assert tasks.check(gradient, run, answer).solved, name


def test_a_choice_and_an_unknown_option() -> None:
    task = ChoiceTask.model_validate({"kind": "choice", "question": "?", "options": ["a", "b"],
                                      "answer": "b"})
    run = built()
    assert tasks.check(task, run, "b").solved
    assert not tasks.check(task, run, "a").solved
    with pytest.raises(tasks.AnswerError, match="pick one of the options"):
        tasks.check(task, run, "c")


def test_a_range_found_by_experiment_needs_the_run_to_show_it() -> None:
    task = RangeTask.model_validate({"kind": "range", "question": "η?", "low": 0.2, "high": 0.3,
                                     "diverged": True})
    plane = {"dataset": {"name": "plane"}, "hidden": [], "output_unit": "linear_mse"}
    calm = built(**plane, optimizer={"learning_rate": 0.1})
    calm.step("epoch", 2)
    assert calm.diverged is None
    assert "has not diverged" in tasks.check(task, calm, "0.3").message
    wild = built(**plane, optimizer={"learning_rate": 0.3})
    wild.step("epoch", 2)
    assert wild.diverged is not None
    assert tasks.check(task, wild, "0.3").solved
    assert "too large" in tasks.check(task, wild, "1").message
    assert "too small" in tasks.check(task, wild, "0.1").message


def test_the_validation_split_halves_the_held_out_points_and_redoes_by_hand() -> None:
    run = built(dataset={"name": "circle", "noise": 0.2}, hidden=[{"units": 3}])
    run.step("epoch", 2)
    splits = three_splits(run)
    n_test = int(run.dataset.test_index.shape[0])
    assert splits.validation.points == validation_count(n_test) == n_test // 2
    assert splits.train.points + splits.validation.points + splits.test.points == run.dataset.n_samples
    measured = run.current_metrics()
    assert splits.train.loss == pytest.approx(measured.train_loss, rel=1e-12)
    # the page's test loss is the mean over both halves
    validation, test = splits.validation, splits.test
    both = (validation.loss * validation.points + test.loss * test.points) / n_test
    assert both == pytest.approx(measured.test_loss, rel=1e-12)
    # by hand for the validation half: ½(ŷ − y)² with ±1 targets, tanh output
    rows = run.dataset.test_index[: splits.validation.points]
    z = run.network.forward(transform(run.dataset.points[rows], run.config.features))
    y = np.where(run.dataset.labels[rows] == 1, 1.0, -1.0)
    by_hand = float(np.mean(0.5 * (np.tanh(z[:, 0]) - y) ** 2))
    assert by_hand == pytest.approx(splits.validation.loss, rel=1e-9)
    goal = target(metric="validation_loss", below=splits.validation.loss + 1e-9)
    assert tasks.check(goal, run, "").solved
