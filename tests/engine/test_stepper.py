"""The Run: micro-steps equal the vectorized step, rewind is exact, history is bounded, divergence stops."""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data import DataConfig
from engine.network import LayerConfig
from engine.optim import OptimizerConfig, Regularization
from engine.stepper import Run, RunConfig

OptimizerKind = Literal["sgd", "momentum", "adam"]


def config_for(optimizer: OptimizerKind = "sgd", batch_size: int = 4, learning_rate: float = 0.03,
               regularization: Regularization | None = None, **changes: object) -> RunConfig:
    base = RunConfig(
        dataset=DataConfig(name="circle", n_samples=40, seed=1),
        hidden=(LayerConfig(3), LayerConfig(2)),
        optimizer=OptimizerConfig(kind=optimizer, learning_rate=learning_rate),
        regularization=regularization or Regularization(),
        batch_size=batch_size, seed=5,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def params_of(run: Run) -> list[np.ndarray]:
    return [array.copy() for pair in run.network.get_params() for array in pair]


def numbers_in(value: object) -> list[float]:
    """Every number in a tree of dicts and (ragged) lists."""
    if isinstance(value, dict):
        return [n for item in value.values() for n in numbers_in(item)]
    if isinstance(value, list):
        return [n for item in value for n in numbers_in(item)]
    return [float(value)] if isinstance(value, int | float) else []


def assert_same_params(a: Run, b: Run) -> None:
    for x, y in zip(params_of(a), params_of(b), strict=True):
        assert np.array_equal(x, y)


def diverged_run() -> Run:
    """A run that has diverged: linear outputs on 4 blobs at η = 10, 200 batches."""
    config = RunConfig(dataset=DataConfig(name="blobs", n_samples=90, seed=2, classes=4),
                       hidden=(LayerConfig(8, activation="relu"),), output_unit="linear_mse",
                       optimizer=OptimizerConfig(kind="sgd", learning_rate=10.0), batch_size=10, seed=1)
    run = Run(config)
    run.step("batch", 200)
    return run


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_every_micro_step_of_a_batch_lands_on_the_vectorized_step(optimizer: OptimizerKind) -> None:
    reg = Regularization(kind="l2", rate=0.01)
    micro = Run(config_for(optimizer, regularization=reg))
    coarse = Run(config_for(optimizer, regularization=reg))
    for _ in range(3):  # several batches, so momentum / Adam state carries over
        micro.step("micro")
        remaining = len(micro.events) - 1
        micro.step("micro", remaining)
        coarse.step("batch")
        assert micro.cursor is None and micro.updates == coarse.updates
        for x, y in zip(params_of(micro), params_of(coarse), strict=True):
            np.testing.assert_allclose(x, y, rtol=0, atol=1e-12)


def test_update_events_change_only_their_own_unit() -> None:
    run = Run(config_for(batch_size=1))
    run.step("sample")  # forward, error, backward, accumulate of the only sample
    assert run.current_event is not None and run.current_event.kind == "accumulate"
    before = run.network.get_params()
    run.step("micro")
    event = run.current_event
    assert event is not None and (event.kind, event.layer, event.unit) == ("update", 1, 0)
    after = run.network.get_params()
    assert not np.array_equal(before[0][0][0], after[0][0][0])
    assert np.array_equal(before[0][0][1:], after[0][0][1:])
    assert all(np.array_equal(b[0], a[0]) for b, a in zip(before[1:], after[1:], strict=True))


def test_sample_steps_stop_at_each_accumulate_then_finish_the_batch() -> None:
    run = Run(config_for(batch_size=3))
    seen = []
    for _ in range(3):
        run.step("sample")
        assert run.current_event is not None
        seen.append((run.current_event.kind, run.sample))
    assert seen == [("accumulate", 0), ("accumulate", 1), ("accumulate", 2)]
    run.step("sample")
    assert run.cursor is None and run.updates == 1 and run.batch == 1


def test_epoch_follows_the_fixed_train_order_with_a_partial_last_batch() -> None:
    run = Run(config_for(batch_size=7))
    n_train = run.dataset.train_index.shape[0]  # 20 of 40 points
    assert run.batches_per_epoch == -(-n_train // 7)
    run.step("epoch")
    assert (run.epoch, run.batch, run.updates) == (1, 0, run.batches_per_epoch)
    run.step("batch", run.batches_per_epoch - 1)
    run.step("micro")
    last_batch = n_train - 7 * (run.batches_per_epoch - 1)
    assert run.last_trace is not None and run.last_trace.inputs.shape[0] == last_batch


def test_back_one_micro_step_then_forward_again_is_bit_identical() -> None:
    run = Run(config_for("adam"))
    run.step("batch", 2)
    run.step("micro", 30)  # into the update events of the third batch
    forward = params_of(run)
    event = run.current_event
    run.back("micro")
    run.step("micro")
    assert run.current_event == event
    for x, y in zip(forward, params_of(run), strict=True):
        assert np.array_equal(x, y)


def test_back_a_batch_restores_the_parameters_before_it_exactly() -> None:
    run = Run(config_for("momentum"))
    run.step("batch", 3)
    saved = params_of(run)
    state = run.optimizer.get_state()
    run.step("batch", 2)
    run.step("micro", 5)
    assert run.back("batch") == 1  # out of the batch in progress
    assert run.back("batch", 2) == 2
    assert run.updates == 3 and run.cursor is None
    for x, y in zip(saved, params_of(run), strict=True):
        assert np.array_equal(x, y)
    run.step("batch")
    reference = Run(config_for("momentum"))
    reference.step("batch", 4)
    assert_same_params(run, reference)
    assert repr(state) != repr(run.optimizer.get_state())


def test_back_micro_from_a_boundary_enters_the_previous_batch_at_its_last_update_but_one() -> None:
    run = Run(config_for())
    run.step("batch", 2)
    run.back("micro")
    assert run.updates == 1 and run.cursor == len(run.events) - 2
    run.step("micro")
    reference = Run(config_for())
    reference.step("batch", 2)
    assert run.updates == 2
    assert_same_params(run, reference)


def test_back_epoch_goes_to_the_start_of_the_epoch() -> None:
    run = Run(config_for(batch_size=5))
    run.step("epoch")
    run.step("batch", 2)
    run.back("epoch")
    assert (run.epoch, run.batch) == (1, 0)
    run.back("epoch")
    assert (run.epoch, run.batch, run.updates) == (0, 0, 0)
    assert run.back("epoch") == 0


def test_history_keeps_at_most_its_limit_and_back_stops_at_the_oldest_point() -> None:
    run = Run(config_for(), history_limit=5)
    run.step("batch", 12)
    assert len(run.history) == 5
    assert run.back("batch", 100) == 4
    assert run.updates == 8


def test_metrics_are_recorded_after_every_batch_and_rewound_with_it() -> None:
    run = Run(config_for())
    run.step("batch", 6)
    assert [m.step for m in run.history_metrics] == [1, 2, 3, 4, 5, 6]
    last = run.history_metrics[-1]
    assert (last.train_loss, last.test_loss) == run.losses()
    assert last.accuracy is not None and 0.0 <= last.accuracy <= 1.0
    run.back("batch", 2)
    assert [m.step for m in run.history_metrics] == [1, 2, 3, 4]


def test_learning_rate_ten_diverges_and_no_nan_leaves_the_run() -> None:
    run = diverged_run()
    assert run.diverged is not None
    assert "diverged" in run.diverged.message and "smaller learning rate" in run.diverged.message
    assert all(np.all(np.isfinite(p)) for p in params_of(run))
    assert all(np.isfinite(run.losses()))
    trace = run.last_trace
    assert trace is None or np.all(np.isfinite(trace.prediction))
    stuck = (run.updates, params_of(run))
    assert run.step("batch") == 0 and run.updates == stuck[0]
    run.update_live(learning_rate=0.001)
    assert run.diverged is None
    run.back("epoch", 1000)  # the last good state is already far out: start again from the beginning
    assert run.updates == 0 and run.step("batch", 20) == 20 and run.diverged is None


@pytest.mark.parametrize(("output_unit", "dataset"), [("softmax_ce", "blobs"), ("tanh_mse", "circle"),
                                                    ("sigmoid_bce", "xor"), ("linear_mse", "blobs")])
def test_at_learning_rate_ten_every_number_the_run_shows_stays_finite(output_unit: str, dataset: str) -> None:
    config = RunConfig(dataset=DataConfig(name=dataset, n_samples=80, seed=2, classes=3),
                       hidden=(LayerConfig(6, activation="relu"), LayerConfig(6, activation="relu")),
                       output_unit=output_unit, optimizer=OptimizerConfig(learning_rate=10.0), batch_size=8)
    run = Run(config)
    run.step("batch", 150)
    run.step("micro", 3)
    assert all(np.all(np.isfinite(p)) for p in params_of(run))
    assert all(np.isfinite(run.losses()))
    assert all(np.isfinite([m.train_loss, m.test_loss, m.reg]).all() for m in run.history_metrics)
    assert all(np.all(np.isfinite(values)) for values in run.grid(8).layers)
    for event in run.events[:40]:
        assert all(np.isfinite(number) for number in numbers_in(event.terms))


def test_a_live_learning_rate_change_applies_from_the_next_batch() -> None:
    run = Run(config_for())
    run.step("micro", 3)
    run.update_live(learning_rate=0.5)
    run.step("batch")  # finishes the batch already in progress
    assert run.last_trace is not None and run.last_trace.learning_rate == pytest.approx(0.03)
    run.step("batch")
    assert run.last_trace is not None and run.last_trace.learning_rate == pytest.approx(0.5)


def test_a_hand_edit_is_a_history_point_that_back_undoes() -> None:
    run = Run(config_for())
    run.step("batch", 2)
    before = params_of(run)
    run.set_parameter(2, 1, 0, 0.75)
    run.set_parameter(1, 2, None, -0.25)
    assert run.network.layers[1].weights[1, 0] == 0.75 and run.network.layers[0].bias[2] == -0.25
    run.back("batch", 2)
    assert run.updates == 2
    for x, y in zip(before, params_of(run), strict=True):
        assert np.array_equal(x, y)


def test_a_hand_edit_inside_a_batch_lands_at_the_batch_start_and_back_undoes_it() -> None:
    run = Run(config_for())
    run.step("batch", 2)
    start = params_of(run)
    run.step("micro", 7)  # inside the third batch
    run.set_parameter(1, 0, 0, 0.777)
    assert run.cursor is None and run.updates == 2
    assert run.network.layers[0].weights[0, 0] == 0.777  # the edit is there, not lost with the batch
    assert run.history.top.kind == "edit"
    run.back("micro")
    for x, y in zip(start, params_of(run), strict=True):
        assert np.array_equal(x, y)


def test_bad_edits_name_the_field() -> None:
    run = Run(config_for())
    with pytest.raises(ValueError, match=r"^layer"):
        run.set_parameter(9, 0, 0, 1.0)
    with pytest.raises(ValueError, match=r"^input"):
        run.set_parameter(1, 0, 5, 1.0)
    with pytest.raises(ValueError, match=r"^value"):
        run.set_parameter(1, 0, 0, float("nan"))
    with pytest.raises(ValueError, match=r"^unit"):
        run.step("week")


def test_step_id_grows_on_every_change_including_back_and_edits() -> None:
    run = Run(config_for())
    ids = [run.step_id]
    for action in (lambda: run.step("micro"), lambda: run.back("micro"), lambda: run.step("batch"),
                   lambda: run.set_parameter(1, 0, 0, 0.1), lambda: run.reset()):
        action()
        ids.append(run.step_id)
    assert ids == sorted(set(ids))


def test_reset_with_the_same_seed_gives_the_same_initial_weights() -> None:
    run = Run(config_for())
    start = params_of(run)
    run.step("epoch")
    run.reset()
    for x, y in zip(start, params_of(run), strict=True):
        assert np.array_equal(x, y)
    run.reset(seed=99)
    assert not np.array_equal(start[0], params_of(run)[0])


def test_grid_gives_every_layer_over_the_data_extent() -> None:
    run = Run(config_for())
    grid = run.grid(16)
    assert [values.shape for values in grid.layers] == [(256, 3), (256, 2), (256, 1)]
    assert grid.prediction.shape == (256, 1)
    corner = np.array([[grid.extent[0], grid.extent[2]]])  # row 0, column 0 = (xmin, ymin)
    np.testing.assert_array_equal(grid.prediction[0], run.network.predict(corner)[0])


OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["step", "back"]), st.sampled_from(["micro", "sample", "batch", "epoch"]),
              st.integers(1, 4)),
    min_size=1, max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS)
def test_any_walk_of_steps_and_backs_ends_where_a_fresh_run_gets_by_stepping_forward(
        operations: list[tuple[str, str, int]]) -> None:
    run = Run(config_for("adam", batch_size=6))
    for action, unit, count in operations:
        getattr(run, action)(unit, count)
    fresh = Run(config_for("adam", batch_size=6))
    if run.updates:
        fresh.step("batch", run.updates)
    if run.cursor is not None:
        fresh.step("micro", run.cursor + 1)
    assert (fresh.epoch, fresh.batch, fresh.cursor) == (run.epoch, run.batch, run.cursor)
    assert_same_params(run, fresh)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_rewind_to_an_earlier_history_point_then_replay_is_bit_identical(optimizer: OptimizerKind) -> None:
    run = Run(config_for(optimizer))
    run.step("batch", 7)
    run.step("micro", 4)  # inside a batch: the rewind must drop the batch in progress too
    run.rewind_to(3)  # point 0 is the start, so point 3 is after 3 batches
    assert run.updates == 3 and run.cursor is None and len(run.history) == 4
    reference = Run(config_for(optimizer))
    reference.step("batch", 3)
    assert_same_params(run, reference)
    assert repr(run.optimizer.get_state()) == repr(reference.optimizer.get_state())
    run.step("batch", 4)
    reference.step("batch", 4)
    assert_same_params(run, reference)
    with pytest.raises(ValueError, match="index"):
        run.rewind_to(len(run.history))


def test_divergence_message_names_the_batch_as_an_ordinal_and_the_loss_in_the_page_format() -> None:
    run = diverged_run()
    assert run.diverged is not None
    # the counters are counts (epochs done, batches done); the batch that failed is the next one
    assert (run.diverged.epoch, run.diverged.batch) == (run.epoch, run.batch)
    message = run.diverged.message
    assert message.startswith(f"Training diverged in batch {run.batch + 1} of epoch {run.epoch + 1} (loss = ")
    assert "smaller learning rate (e.g. 1 instead of 10)" in message
    shown = message.split("(loss = ")[1].split(")")[0]
    loss = run.diverged.loss
    if math.isfinite(loss) and abs(loss) >= 1000:
        mantissa = f"{loss:.2e}".split("e")[0]
        assert shown.startswith(mantissa.replace("-", "−") + "·10") and "e+" not in shown
    assert "e+" not in message


def test_the_divergence_message_writes_its_loss_as_the_page_does() -> None:
    from engine.divergence import divergence_message

    assert "(loss = 2.06·10¹²)" in divergence_message(0, 0, 2.064e12, 1.0)
    assert "(loss = −0.500)" in divergence_message(0, 0, -0.5, 1.0)
    assert "(loss = not a finite number)" in divergence_message(0, 0, math.inf, 1.0)
