"""The untraced step (Network.train_batch + Optimizer.apply_packed) equals the traced step bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from engine.network import LayerConfig, Network, NetworkConfig
from engine.optim import Optimizer, OptimizerConfig, Regularization


def _pair(hidden: tuple[LayerConfig, ...], output_unit: str, kind: str,
          n_targets: int = 1) -> tuple[Network, Optimizer, Network, Optimizer]:
    config = NetworkConfig(2, hidden, output_unit, n_targets=n_targets)
    traced = Network(config, np.random.default_rng(3))
    fast = Network(config, np.random.default_rng(3))
    optimizer_config = OptimizerConfig(kind, 0.1)  # type: ignore[arg-type]
    return traced, Optimizer(optimizer_config, traced), fast, Optimizer(optimizer_config, fast)


def _data(n_targets: int, classes: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    X = rng.uniform(-3, 3, (23, 2))
    if classes:
        return X, np.eye(n_targets)[rng.integers(0, n_targets, 23)]
    return X, np.where(X[:, :1] * X[:, 1:] > 0, 1.0, -1.0)


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "elu", "swish"])
@pytest.mark.parametrize("regularization", [Regularization(), Regularization("l2", 0.01),
                                            Regularization("l1", 0.003)])
def test_untraced_step_gives_the_traced_parameters_bit_for_bit(kind: str, activation: str,
                                                                regularization: Regularization) -> None:
    hidden = (LayerConfig(5, activation), LayerConfig(3, activation))
    traced, traced_optimizer, fast, fast_optimizer = _pair(hidden, "tanh_mse", kind)
    X, Y = _data(1, classes=False)
    for step, start in enumerate([0, 5, 10, 15, 20, 0]):  # a short last batch (3 rows) included
        rows = slice(start, start + 5)
        trace = traced.trace_batch(X[rows], Y[rows], regularization)
        traced_optimizer.apply(traced, trace, step)
        loss = fast.train_batch(X[rows], Y[rows], regularization, fast_optimizer, step)
        assert loss == trace.loss_data
        for a, b in zip(traced.layers, fast.layers, strict=True):
            assert np.array_equal(a.params, b.params)
    for name, arrays in traced_optimizer.get_state().items():
        for left, right in zip(arrays, fast_optimizer.get_state()[name], strict=True):
            assert np.array_equal(left, right)


def test_untraced_step_handles_softmax_and_maxout_like_the_traced_one() -> None:
    hidden = (LayerConfig(4, "maxout", pieces=3),)
    for layers, unit in [(hidden, "softmax_ce"), ((LayerConfig(4, "leaky_relu"),), "softmax_ce")]:
        traced, traced_optimizer, fast, fast_optimizer = _pair(layers, unit, "momentum", n_targets=3)
        X, Y = _data(3, classes=True)
        for step in range(4):
            trace = traced.trace_batch(X, Y, Regularization())
            traced_optimizer.apply(traced, trace, step)
            fast.train_batch(X, Y, Regularization(), fast_optimizer, step)
        for a, b in zip(traced.layers, fast.layers, strict=True):
            assert np.array_equal(a.params, b.params)


@pytest.mark.parametrize("output_unit", ["tanh_mse", "linear_mse", "linear_l1", "gaussian_nll", "sigmoid_bce",
                                         "softmax_ce"])
@pytest.mark.parametrize("hidden", [(), ("tanh",), ("tanh", "relu"), ("sigmoid", "sigmoid"),
                                    ("tanh", "tanh")])
@pytest.mark.parametrize("n_targets", [1, 2])
def test_untraced_step_matches_the_traced_one_for_every_output_unit_and_layer_mix(
        output_unit: str, hidden: tuple[str, ...], n_targets: int) -> None:
    layers = tuple(LayerConfig(4 + index, name) for index, name in enumerate(hidden))
    traced, traced_optimizer, fast, fast_optimizer = _pair(layers, output_unit, "sgd", n_targets=n_targets)
    rng = np.random.default_rng(11)
    X = rng.uniform(-1, 1, (9, 2))  # gaussian_nll's e^(−s) stays finite at η = 0.1
    Y = np.eye(n_targets)[rng.integers(0, n_targets, 9)] if output_unit == "softmax_ce" else \
        rng.uniform(-1, 1, (9, n_targets))
    for step, rows in enumerate([slice(0, 4), slice(4, 8), slice(8, 9), slice(0, 4)]):
        trace = traced.trace_batch(X[rows], Y[rows], Regularization())
        traced_optimizer.apply(traced, trace, step)
        assert fast.train_batch(X[rows], Y[rows], Regularization(), fast_optimizer, step) == trace.loss_data
        for a, b in zip(traced.layers, fast.layers, strict=True):
            assert np.array_equal(a.params, b.params)


def test_traced_untraced_and_hand_edited_steps_interleave_without_losing_a_bit() -> None:
    # the untraced step keeps the parameters in one flat buffer; a traced step, set_params or an edit
    # in place in between must be seen by the next untraced step, and must not be overwritten by it
    hidden = (LayerConfig(5), LayerConfig(3))
    reference, reference_optimizer, mixed, mixed_optimizer = _pair(hidden, "tanh_mse", "momentum")
    X, Y = _data(1, classes=False)
    regularization = Regularization("l2", 0.01)
    for step in range(8):
        rows = slice(3 * step, 3 * step + 5)
        trace = reference.trace_batch(X[rows], Y[rows], regularization)
        reference_optimizer.apply(reference, trace, step)
        if step in (2, 5):
            shown = mixed.trace_batch(X[rows], Y[rows], regularization)
            mixed_optimizer.apply(mixed, shown, step)
        else:
            mixed.train_batch(X[rows], Y[rows], regularization, mixed_optimizer, step)
        if step == 3:
            for network in (reference, mixed):
                network.layers[0].weights[1, 0] = 0.25
        if step == 6:
            mixed.set_params(mixed.get_params())
        for a, b in zip(reference.layers, mixed.layers, strict=True):
            assert np.array_equal(a.params, b.params)


def test_untraced_steps_leave_a_trace_taken_between_them_alone() -> None:
    config = NetworkConfig(2, (LayerConfig(4), LayerConfig(4)), "tanh_mse")
    network = Network(config, np.random.default_rng(0))
    optimizer = Optimizer(OptimizerConfig("sgd", 0.5), network)
    X, Y = _data(1, classes=False)
    network.train_batch(X[:5], Y[:5], Regularization(), optimizer, 0)  # the parameters are now packed
    trace = network.trace_batch(X, Y, Regularization())
    seen = [(layer.weights.copy(), layer.bias.copy()) for layer in trace.layers]
    for step in range(1, 4):
        network.train_batch(X[:5], Y[:5], Regularization(), optimizer, step)
    for layer, (weights, bias) in zip(trace.layers, seen, strict=True):
        assert np.array_equal(layer.weights, weights) and np.array_equal(layer.bias, bias)
    assert not np.array_equal(network.layers[0].weights, seen[0][0])


def test_untraced_step_never_rewrites_an_earlier_trace() -> None:
    network = Network(NetworkConfig(2, (LayerConfig(4),), "tanh_mse"), np.random.default_rng(0))
    optimizer = Optimizer(OptimizerConfig("sgd", 0.5), network)
    X, Y = _data(1, classes=False)
    trace = network.trace_batch(X, Y, Regularization())
    weights_seen = trace.layers[0].weights.copy()
    network.train_batch(X, Y, Regularization(), optimizer, 0)
    assert np.array_equal(trace.layers[0].weights, weights_seen)
    assert not np.array_equal(network.layers[0].weights, weights_seen)


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
def test_an_epoch_step_trains_untraced_yet_lands_where_single_batches_do(kind: str) -> None:
    from engine.data import DataConfig
    from engine.stepper import Run, RunConfig

    config = RunConfig(dataset=DataConfig(name="circle", n_samples=40, seed=1),
                       hidden=(LayerConfig(3), LayerConfig(2)),
                       optimizer=OptimizerConfig(kind=kind, learning_rate=0.1),  # type: ignore[arg-type]
                       batch_size=7, seed=5)
    by_epoch, by_batch = Run(config), Run(config)
    by_epoch.step("epoch", 2)
    while by_batch.epoch < 2:
        by_batch.step("batch")
    for a, b in zip(by_epoch.network.get_params(), by_batch.network.get_params(), strict=True):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    losses = [[m.train_loss for m in run.history_metrics] for run in (by_epoch, by_batch)]
    assert losses[0] == losses[1]
    last = by_epoch.last_trace
    assert last is not None and by_batch.last_trace is not None
    assert np.array_equal(last.prediction, by_batch.last_trace.prediction)
