"""Backprop in the trace equals central finite differences of the batch loss, for every activation ×
every output unit, random shapes, 0 hidden layers and maxout; plus the trace's shapes and ownership."""

from __future__ import annotations

import numpy as np
import pytest

from engine.activations import ACTIVATIONS
from engine.network import LayerConfig, Network, NetworkConfig
from engine.optim import Optimizer, OptimizerConfig, Regularization
from engine.outputs import OUTPUT_UNITS
from engine.trace import Trace

KINKED = {"relu", "leaky_relu", "elu", "abs"}
MARGIN = 1e-3  # a kink closer than this to a pre-activation could be crossed by the difference step


def make_targets(output_unit: str, rng: np.random.Generator, batch: int, n_targets: int) -> np.ndarray:
    if output_unit == "tanh_mse":
        return rng.choice([-1.0, 1.0], (batch, n_targets))
    if output_unit == "sigmoid_bce":
        return rng.choice([0.0, 1.0], (batch, n_targets))
    if output_unit == "softmax_ce":
        return np.eye(n_targets)[rng.integers(0, n_targets, batch)]
    return rng.normal(size=(batch, n_targets))


def clear_of_kinks(trace: Trace, network: Network) -> bool:
    """No pre-activation near a kink (relu family at 0, maxout ties, l1 at z = y)."""
    for layer, lt in zip(network.layers[:-1], trace.layers[:-1], strict=True):
        if layer.pieces > 1:
            ordered = np.sort(lt.pre_activation, axis=2)
            if np.min(ordered[:, :, -1] - ordered[:, :, -2]) < MARGIN:
                return False
        elif layer.activation_name in KINKED and np.min(np.abs(lt.pre_activation)) < MARGIN:
            return False
    if network.config.output_unit == "linear_l1":
        return bool(np.min(np.abs(trace.layers[-1].pre_activation - trace.targets)) > MARGIN)
    return True


def batch_loss(network: Network, X: np.ndarray, Y: np.ndarray, regularization: Regularization) -> float:
    return network.trace_batch(X, Y, regularization).loss


def finite_difference(network: Network, X: np.ndarray, Y: np.ndarray,
                      regularization: Regularization) -> list[tuple[np.ndarray, np.ndarray]]:
    """Central differences of the batch loss for every weight and bias, h = 1e-6."""
    h = 1e-6
    base = network.get_params()
    result = []
    for index, (weights, bias) in enumerate(base):
        grads = []
        for which, array in ((0, weights), (1, bias)):
            grad = np.zeros_like(array)
            for position in np.ndindex(array.shape):
                values = []
                for sign in (1.0, -1.0):
                    params = [(w.copy(), b.copy()) for w, b in base]
                    params[index][which][position] += sign * h
                    network.set_params(params)
                    values.append(batch_loss(network, X, Y, regularization))
                grad[position] = (values[0] - values[1]) / (2 * h)
            grads.append(grad)
        result.append((grads[0], grads[1]))
    network.set_params(base)
    return result


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """|a − n| / (|a| + |n|), with the scale floored at 1e-3: a gradient that is exactly 0 (dead ReLU units)
    must not fail against the finite difference's rounding noise (~1e-10), which is not an error."""
    scale = max(float(np.linalg.norm(analytic) + np.linalg.norm(numeric)), 1e-3)
    return float(np.linalg.norm(analytic - numeric) / scale)


def check_gradients(config: NetworkConfig, seed: int, regularization: Regularization) -> None:
    for attempt in range(50):
        rng = np.random.default_rng(seed * 1000 + attempt)
        network = Network(config, rng)
        batch = int(rng.integers(1, 7))
        X = rng.normal(size=(batch, config.n_inputs))
        Y = make_targets(config.output_unit, rng, batch, config.n_targets)
        trace = network.trace_batch(X, Y, regularization)
        if clear_of_kinks(trace, network):
            break
    else:
        pytest.fail("no draw clear of kinks")
    numeric = finite_difference(network, X, Y, regularization)
    for number, (lt, (grad_w, grad_b)) in enumerate(zip(trace.layers, numeric, strict=True), start=1):
        assert lt.grad_weights.shape == grad_w.shape and lt.grad_bias.shape == grad_b.shape
        assert relative_error(lt.grad_weights, grad_w) <= 1e-6, f"layer {number} weights"
        assert relative_error(lt.grad_bias, grad_b) <= 1e-6, f"layer {number} bias"


@pytest.mark.parametrize("output_unit", OUTPUT_UNITS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backprop_matches_finite_differences(activation: str, output_unit: str) -> None:
    seed = ACTIVATIONS.index(activation) * 10 + OUTPUT_UNITS.index(output_unit)
    rng = np.random.default_rng(seed)
    hidden = tuple(
        LayerConfig(int(rng.integers(1, 5)), activation, alpha=0.1 if activation == "leaky_relu" else None,
                    pieces=int(rng.integers(2, 5)))
        for _ in range(int(rng.integers(1, 3)))
    )
    n_targets = 3 if output_unit == "softmax_ce" else int(rng.integers(1, 3))
    config = NetworkConfig(int(rng.integers(1, 4)), hidden, output_unit, n_targets)
    check_gradients(config, seed, Regularization("l2", 0.01))


@pytest.mark.parametrize("output_unit", OUTPUT_UNITS)
def test_backprop_without_hidden_layers_matches_finite_differences(output_unit: str) -> None:
    n_targets = 2 if output_unit in ("softmax_ce", "gaussian_nll") else 1
    check_gradients(NetworkConfig(3, (), output_unit, n_targets), 7, Regularization("l2", 0.1))


def test_mixed_layers_with_maxout_feeding_maxout_match_finite_differences() -> None:
    hidden = (LayerConfig(3, "maxout", pieces=3), LayerConfig(2, "maxout", pieces=2), LayerConfig(3, "elu"))
    check_gradients(NetworkConfig(2, hidden, "softmax_ce", 3), 21, Regularization("l1", 0.01))


def test_trace_shapes_follow_the_contract_for_maxout() -> None:
    config = NetworkConfig(2, (LayerConfig(3, "maxout", pieces=4),), "sigmoid_bce")
    network = Network(config, np.random.default_rng(0))
    trace = network.trace_batch(np.ones((5, 2)), np.ones((5, 1)), Regularization())
    first = trace.layers[0]
    assert first.weights.shape == (3, 4, 2) and first.bias.shape == (3, 4)
    assert first.pre_activation.shape == (5, 3, 4) and first.activation.shape == (5, 3)
    assert first.delta.shape == (5, 3) and first.argmax is not None and first.argmax.shape == (5, 3)
    np.testing.assert_array_equal(
        first.activation, np.take_along_axis(first.pre_activation, first.argmax[:, :, None], 2)[:, :, 0])
    assert trace.layers[1].delta.shape == (5, 1) and trace.prediction.shape == (5, 1)


def test_maxout_tie_sends_the_gradient_to_the_first_piece() -> None:
    config = NetworkConfig(1, (LayerConfig(1, "maxout", pieces=3),), "linear_mse")
    network = Network(config, np.random.default_rng(0))
    network.set_params([(np.full((1, 3, 1), 2.0), np.zeros((1, 3))), (np.ones((1, 1)), np.zeros(1))])
    trace = network.trace_batch(np.ones((1, 1)), np.zeros((1, 1)), Regularization())
    assert trace.layers[0].argmax is not None and trace.layers[0].argmax[0, 0] == 0
    np.testing.assert_array_equal(trace.layers[0].grad_weights[0, 1:], 0.0)
    assert trace.layers[0].grad_weights[0, 0, 0] == 2.0


def test_a_trace_keeps_its_numbers_after_updates_and_hand_edits() -> None:
    config = NetworkConfig(2, (LayerConfig(4), LayerConfig(2)), "tanh_mse")
    network = Network(config, np.random.default_rng(1))
    optimizer = Optimizer(OptimizerConfig(learning_rate=0.5), network)
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(10, 2)), rng.choice([-1.0, 1.0], (10, 1))
    first = network.trace_batch(X, Y, Regularization())
    saved = [(lt.weights.copy(), lt.bias.copy(), lt.activation.copy(), lt.grad_weights.copy())
             for lt in first.layers]
    network.layers[0].weights[0, 0] = 99.0  # an edit while the trace is shown must not reach it
    assert first.layers[0].weights[0, 0] == saved[0][0][0, 0]
    optimizer.apply(network, first, 0)
    second = network.trace_batch(X, Y, Regularization())
    optimizer.apply(network, second, 1)
    for lt, (weights, bias, activation, grad) in zip(first.layers, saved, strict=True):
        np.testing.assert_array_equal(lt.weights, weights)
        np.testing.assert_array_equal(lt.bias, bias)
        np.testing.assert_array_equal(lt.activation, activation)
        np.testing.assert_array_equal(lt.grad_weights, grad)


def test_grid_outputs_match_the_traced_forward_pass() -> None:
    config = NetworkConfig(2, (LayerConfig(5, "relu"), LayerConfig(3, "maxout", pieces=2)), "softmax_ce", 3)
    network = Network(config, np.random.default_rng(4))
    X = np.random.default_rng(5).normal(size=(7, 2))
    trace = network.trace_batch(X, np.eye(3)[[0, 1, 2, 0, 1, 2, 0]], Regularization())
    outputs = network.layer_outputs(X)
    for lt, values in zip(trace.layers, outputs, strict=True):
        np.testing.assert_allclose(values, lt.activation, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(network.predict(X), trace.prediction, rtol=1e-12)
    assert network.data_loss(X, trace.targets) == pytest.approx(trace.loss_data, rel=1e-12)


def test_default_init_follows_the_activation() -> None:
    config = NetworkConfig(2, (LayerConfig(64, "relu"), LayerConfig(64, "tanh")), "linear_mse")
    network = Network(config, np.random.default_rng(0))
    relu_layer, tanh_layer, _ = network.layers
    np.testing.assert_array_equal(relu_layer.bias, 0.01)
    np.testing.assert_array_equal(tanh_layer.bias, 0.0)
    assert abs(relu_layer.weights.std() - 1.0) < 0.15  # He: std sqrt(2 / 2)
    assert np.abs(tanh_layer.weights).max() <= np.sqrt(6 / 128)  # Xavier uniform limit
    uniform_config = NetworkConfig(2, (LayerConfig(8),), "tanh_mse", init="uniform")
    uniform = Network(uniform_config, np.random.default_rng(0))
    assert np.abs(uniform.layers[0].weights).max() <= 0.5
    np.testing.assert_array_equal(uniform.layers[0].bias, 0.1)
