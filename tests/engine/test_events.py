"""The teaching sequence: its order, and that every event's terms are the batch trace's own numbers."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import DataConfig
from engine.network import LayerConfig
from engine.stepper import Run, RunConfig


def make_run(hidden: tuple[int, ...] = (3, 2), batch_size: int = 1, output_unit: str = "tanh_mse",
             dataset: str = "circle", activation: str = "tanh") -> Run:
    config = RunConfig(
        dataset=DataConfig(name=dataset, n_samples=60, seed=3),
        hidden=tuple(LayerConfig(units, activation=activation) for units in hidden),
        output_unit=output_unit, batch_size=batch_size, seed=7,
    )
    return Run(config)


def test_two_three_two_one_batch_one_runs_the_tutorials_order() -> None:
    run = make_run()
    run.step("micro")
    order = [(e.kind, e.layer, e.unit) for e in run.events]
    expected = (
        [("forward", 1, j) for j in range(3)] + [("forward", 2, j) for j in range(2)] + [("forward", 3, 0)]
        + [("error", 3, 0)]
        + [("backward", 2, j) for j in range(2)] + [("backward", 1, j) for j in range(3)]
        + [("accumulate", 3, 0)]
        + [("update", 1, j) for j in range(3)] + [("update", 2, j) for j in range(2)] + [("update", 3, 0)]
    )
    assert order == expected
    assert [e.index for e in run.events] == list(range(len(expected)))


def test_each_sample_repeats_forward_error_backward_accumulate_before_the_updates() -> None:
    run = make_run(batch_size=3)
    run.step("micro")
    kinds = [e.kind for e in run.events]
    per_sample = 6 + 1 + 5 + 1
    assert kinds.count("update") == 6
    assert kinds[-6:] == ["update"] * 6
    for sample in range(3):
        block = run.events[sample * per_sample:(sample + 1) * per_sample]
        assert {e.sample for e in block} == {sample}
        assert block[-1].kind == "accumulate"


def test_softmax_output_has_one_forward_event_per_class_and_one_error_event() -> None:
    run = make_run(hidden=(4,), output_unit="softmax_ce", dataset="blobs")
    run.step("micro")
    first_sample = run.events[: 4 + 3 + 1 + 4 + 1]
    assert [(e.kind, e.layer) for e in first_sample if e.layer == 2 and e.kind == "forward"] == [
        ("forward", 2)] * 3
    error = next(e for e in run.events if e.kind == "error")
    assert run.last_trace is not None
    assert len(error.terms["prediction"]) == 3
    assert error.terms["prediction"] == pytest.approx(run.last_trace.prediction[0].tolist(), abs=0)
    assert sum(error.terms["prediction"]) == pytest.approx(1.0)


def test_forward_terms_add_up_to_the_traced_pre_activation() -> None:
    run = make_run(batch_size=4)
    run.step("micro")
    for event in run.events:
        if event.kind != "forward":
            continue
        t = event.terms
        e = float(np.dot(t["weights"], t["inputs"]) + t["bias"])
        assert e == pytest.approx(t["pre_activation"], rel=1e-12, abs=1e-12)
        assert t["activation"] == pytest.approx(np.tanh(t["pre_activation"]), rel=1e-12, abs=1e-15)


def test_backward_delta_is_slope_times_the_weighted_deltas_from_downstream() -> None:
    run = make_run(batch_size=2)
    run.step("micro")
    trace = run.last_trace
    assert trace is not None
    for event in run.events:
        if event.kind != "backward":
            continue
        t = event.terms
        assert t["derivative"] == pytest.approx(1 - np.tanh(t["pre_activation"]) ** 2, rel=1e-12)
        assert t["delta"] == pytest.approx(t["derivative"] * t["weighted_sum"], rel=1e-12, abs=1e-300)
        assert t["delta"] == trace.layers[event.layer - 1].delta[event.sample, event.unit]


def test_accumulate_sum_after_the_last_sample_is_batch_size_times_the_mean_gradient() -> None:
    run = make_run(batch_size=5)
    run.step("micro")
    trace = run.last_trace
    assert trace is not None
    last = [e for e in run.events if e.kind == "accumulate"][-1]
    assert last.terms["samples_done"] == 5
    for layer, lt in enumerate(trace.layers):
        # no regularization in this config, so grad = mean of δ ⊗ input exactly
        np.testing.assert_allclose(np.array(last.terms["sum_grad_weights"][layer]) / 5, lt.grad_weights,
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(np.array(last.terms["sum_grad_bias"][layer]) / 5, lt.grad_bias,
                                   rtol=1e-12, atol=1e-15)


def test_update_terms_show_the_old_and_new_row_of_that_unit() -> None:
    run = make_run(batch_size=2)
    before = [w.copy() for w, _ in run.network.get_params()]
    run.step("micro")
    updates = [e for e in run.events if e.kind == "update"]
    run.step("batch")
    after = run.network.get_params()
    for event in updates:
        t = event.terms
        assert t["old_weights"] == before[event.layer - 1][event.unit].tolist()
        assert t["new_weights"] == after[event.layer - 1][0][event.unit].tolist()
        assert t["new_bias"] == float(after[event.layer - 1][1][event.unit])
        assert t["learning_rate"] == pytest.approx(run.config.optimizer.learning_rate)


def test_event_terms_are_plain_python_numbers() -> None:
    run = make_run(batch_size=2)
    run.step("micro")

    def plain(value: object) -> bool:
        if isinstance(value, list):
            return all(plain(v) for v in value)
        if isinstance(value, dict):
            return all(plain(v) for v in value.values())
        return value is None or type(value) in (float, int, str)

    assert all(plain(event.terms) for event in run.events)


def test_maxout_events_name_the_chosen_piece_and_its_gradient_sums_match_the_trace() -> None:
    run = make_run(hidden=(3, 2), batch_size=4, activation="maxout")
    run.step("micro")
    trace = run.last_trace
    assert trace is not None
    forward = next(e for e in run.events if e.kind == "forward" and e.layer == 1)
    lt = trace.layers[0]
    assert forward.terms["piece"] == int(lt.argmax[0, 0])  # type: ignore[index]
    assert forward.terms["activation"] == max(forward.terms["pre_activation"])
    backward = [e for e in run.events if e.kind == "backward"]
    assert all(e.terms["derivative"] == 1.0 for e in backward)
    assert all(e.terms["delta"] == pytest.approx(e.terms["weighted_sum"], rel=1e-12) for e in backward)
    last = [e for e in run.events if e.kind == "accumulate"][-1]
    for layer, layer_trace in enumerate(trace.layers):
        np.testing.assert_allclose(np.array(last.terms["sum_grad_weights"][layer]) / 4,
                                   layer_trace.grad_weights, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("output_unit", ["tanh_mse", "linear_mse", "linear_l1", "sigmoid_bce"])
def test_error_terms_carry_the_miss_and_tanh_slope_that_give_the_traced_delta(output_unit: str) -> None:
    run = make_run(batch_size=3, output_unit=output_unit)
    run.step("micro")
    trace = run.last_trace
    assert trace is not None
    errors = [e for e in run.events if e.kind == "error"]
    assert len(errors) == 3
    for event in errors:
        t = event.terms
        assert t["miss"] == (trace.prediction[event.sample] - trace.targets[event.sample]).tolist()
        if output_unit == "tanh_mse":
            # δ = (ŷ − y)·(1 − ŷ²) exactly as the trace has it, and 1 − ŷ² is tanh′(e)
            assert [m * s for m, s in zip(t["miss"], t["slope"], strict=True)] == t["delta"]
            assert t["slope"] == pytest.approx(1 - np.tanh(t["pre_activation"]) ** 2)
            assert t["delta"] != t["miss"]
        else:
            assert "slope" not in t
        if output_unit == "linear_l1":
            assert t["delta"] == [float(np.sign(m)) for m in t["miss"]]
        elif output_unit != "tanh_mse":
            assert t["delta"] == t["miss"]


def test_softmax_error_terms_have_a_miss_per_class_equal_to_delta() -> None:
    run = make_run(hidden=(4,), output_unit="softmax_ce", dataset="blobs")
    run.step("micro")
    error = next(e for e in run.events if e.kind == "error")
    assert len(error.terms["miss"]) == 3
    assert error.terms["miss"] == pytest.approx(error.terms["delta"], abs=1e-15)
