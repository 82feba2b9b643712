"""Optimisers, schedules and regularization: exact update rules, per-unit updates equal the whole step,
state round-trips, and hypothesis properties (same seed ⇒ same run, η = 0 ⇒ no change, L2 shrinkage)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.network import LayerConfig, Network, NetworkConfig
from engine.optim import Optimizer, OptimizerConfig, Regularization, Schedule, penalty

KINDS = ("sgd", "momentum", "adam")


def small_problem(seed: int, hidden: tuple[LayerConfig, ...] = (LayerConfig(4), LayerConfig(2)),
                  output_unit: str = "tanh_mse") -> tuple[Network, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    network = Network(NetworkConfig(2, hidden, output_unit), rng)
    X = rng.normal(size=(10, 2))
    Y = np.where(X[:, :1] + X[:, 1:] > 0, 1.0, -1.0)
    return network, X, Y


def run(seed: int, kind: str, steps: int, learning_rate: float = 0.1,
        regularization: Regularization | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    regularization = regularization or Regularization()
    network, X, Y = small_problem(seed)
    optimizer = Optimizer(OptimizerConfig(kind, learning_rate), network)  # type: ignore[arg-type]
    for step in range(steps):
        optimizer.apply(network, network.trace_batch(X, Y, regularization), step)
    return network.get_params()


def test_sgd_moves_each_weight_by_minus_learning_rate_times_gradient() -> None:
    network, X, Y = small_problem(0)
    before = network.get_params()
    trace = network.trace_batch(X, Y, Regularization())
    Optimizer(OptimizerConfig("sgd", 0.2), network).apply(network, trace, 0)
    for (w0, b0), (w1, b1), lt in zip(before, network.get_params(), trace.layers, strict=True):
        np.testing.assert_array_equal(w1, w0 + lt.grad_weights * -0.2)
        np.testing.assert_array_equal(b1, b0 + lt.grad_bias * -0.2)
        np.testing.assert_array_equal(lt.weight_update, lt.grad_weights * -0.2)
    assert trace.learning_rate == 0.2


def test_adam_first_step_moves_every_weight_by_about_the_learning_rate() -> None:
    network, X, Y = small_problem(1)
    before = network.get_params()
    trace = network.trace_batch(X, Y, Regularization())
    Optimizer(OptimizerConfig("adam", 0.01), network).apply(network, trace, 0)
    for (w0, _), (w1, _), lt in zip(before, network.get_params(), trace.layers, strict=True):
        moved = w1 - w0
        # bias-corrected m/√v is sign(g) on the first step (up to eps)
        np.testing.assert_allclose(moved, -0.01 * np.sign(lt.grad_weights), rtol=1e-4, atol=1e-12)


def test_momentum_accumulates_velocity() -> None:
    network, X, Y = small_problem(2)
    optimizer = Optimizer(OptimizerConfig("momentum", 0.1, momentum=0.5), network)
    first = network.trace_batch(X, Y, Regularization())
    optimizer.apply(network, first, 0)
    second = network.trace_batch(X, Y, Regularization())
    optimizer.apply(network, second, 1)
    for a, b in zip(first.layers, second.layers, strict=True):
        assert a.weight_update is not None and b.weight_update is not None
        np.testing.assert_allclose(b.weight_update, 0.5 * a.weight_update - 0.1 * b.grad_weights, rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_state_round_trip_continues_the_run_exactly(kind: str) -> None:
    network, X, Y = small_problem(5)
    optimizer = Optimizer(OptimizerConfig(kind, 0.05), network)  # type: ignore[arg-type]
    optimizer.apply(network, network.trace_batch(X, Y, Regularization()), 0)
    params, state = network.get_params(), optimizer.get_state()
    optimizer.apply(network, network.trace_batch(X, Y, Regularization()), 1)
    expected = network.get_params()
    network.set_params(params)
    fresh = Optimizer(OptimizerConfig(kind, 0.05), network)  # type: ignore[arg-type]
    fresh.set_state(state)
    fresh.apply(network, network.trace_batch(X, Y, Regularization()), 1)
    for (w0, b0), (w1, b1) in zip(expected, network.get_params(), strict=True):
        np.testing.assert_array_equal(w0, w1)
        np.testing.assert_array_equal(b0, b1)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(KINDS), steps=st.integers(1, 4))
def test_same_seed_gives_the_same_run_bit_for_bit(seed: int, kind: str, steps: int) -> None:
    for a, b in zip(run(seed, kind, steps), run(seed, kind, steps), strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(KINDS))
def test_zero_learning_rate_changes_nothing(seed: int, kind: str) -> None:
    network, _, _ = small_problem(seed)
    for (w0, b0), (w1, b1) in zip(network.get_params(), run(seed, kind, 3, 0.0, Regularization("l2", 0.1)),
                                  strict=True):
        np.testing.assert_array_equal(w0, w1)
        np.testing.assert_array_equal(b0, b1)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), learning_rate=st.floats(1e-4, 1.0), rate=st.floats(1e-4, 1.0))
def test_l2_with_zero_data_gradient_shrinks_weights_by_one_minus_eta_rate(
        seed: int, learning_rate: float, rate: float) -> None:
    rng = np.random.default_rng(seed)
    network = Network(NetworkConfig(3, (LayerConfig(4, "relu"),), "linear_mse", 2), rng)
    X = rng.normal(size=(6, 3))
    # targets equal to the network's own outputs: every delta, hence the data gradient, is exactly 0
    Y = network.trace_batch(X, np.zeros((6, 2)), Regularization()).prediction
    before = network.get_params()
    trace = network.trace_batch(X, Y, Regularization("l2", rate))
    assert trace.loss_data == 0.0
    Optimizer(OptimizerConfig("sgd", learning_rate), network).apply(network, trace, 0)
    for (w0, b0), (w1, b1) in zip(before, network.get_params(), strict=True):
        # exact up to the rounding of w − (η·rate)·w against w·(1 − η·rate): a few ulps of w
        expected = w0 * (1.0 - learning_rate * rate)
        assert np.all(np.abs(w1 - expected) <= 4 * np.finfo(float).eps * np.abs(w0))
        np.testing.assert_array_equal(b1, b0)


def test_regularization_term_is_reported_separately_and_skips_biases() -> None:
    network, X, Y = small_problem(6)
    weights = [layer.weights for layer in network.layers]
    l2 = network.trace_batch(X, Y, Regularization("l2", 0.2))
    plain = network.trace_batch(X, Y, Regularization())
    assert l2.loss_data == plain.loss_data and plain.loss_reg == 0.0
    assert l2.loss_reg == pytest.approx(0.1 * sum(float(np.sum(w**2)) for w in weights))
    l1 = penalty(Regularization("l1", 0.5), weights)
    assert l1 == pytest.approx(0.5 * sum(np.abs(w).sum() for w in weights))
    np.testing.assert_array_equal(l2.layers[0].grad_bias, plain.layers[0].grad_bias)


def test_schedules_follow_their_formulas() -> None:
    assert Schedule().rate(0.03, 10_000) == 0.03
    step = Schedule("step", step_size=100, gamma=0.5)
    assert step.rate(1.0, 99) == 1.0 and step.rate(1.0, 100) == 0.5 and step.rate(1.0, 250) == 0.25
    assert Schedule("exponential", step_size=10, gamma=0.5).rate(1.0, 5) == pytest.approx(2 ** -0.5)
    warm = Schedule("warmup_decay", warmup=10, total=100)
    rates = [warm.rate(1.0, s) for s in range(120)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == 1.0 and rates[50] == 1.0
    assert all(a <= b for a, b in itertools.pairwise(rates[:11]))  # rises
    assert all(a >= b for a, b in itertools.pairwise(rates[80:]))  # then falls
    assert rates[100] == pytest.approx(0.01) and rates[119] == pytest.approx(0.01)


def test_schedule_sets_the_learning_rate_recorded_in_the_trace() -> None:
    network, X, Y = small_problem(7)
    schedule = Schedule("step", step_size=2, gamma=0.5)
    optimizer = Optimizer(OptimizerConfig("sgd", 0.4, schedule=schedule), network)
    trace = network.trace_batch(X, Y, Regularization())
    optimizer.apply(network, trace, 5)
    assert trace.learning_rate == pytest.approx(0.1)


def test_bad_settings_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="regularization"):
        Regularization("l3", 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="schedule"):
        Schedule("cosine")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="optimizer"):
        OptimizerConfig("rmsprop")  # type: ignore[arg-type]
