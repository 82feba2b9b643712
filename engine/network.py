"""A fully connected network (0..N hidden layers + an output unit): init, forward, traced backward, grids.

Each layer keeps its weights and bias side by side in one packed array (engine/layer.py): one matrix
product per layer gives e = W·x + b for the whole batch, and one gives the gradient of both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine import activations, outputs, vocabulary
from engine.activations import RELU_FAMILY
from engine.errors import SetupError
from engine.layer import Layer
from engine.optim import Optimizer
from engine.regularization import Regularization, penalty
from engine.trace import LayerTrace, Trace
from engine.untraced import UntracedStep

__all__ = ["INITS", "Layer", "LayerConfig", "Network", "NetworkConfig", "Params"]

Array = NDArray[np.float64]
Params = list[tuple[Array, Array]]
INITS = tuple(vocabulary.INITS)


@dataclass(frozen=True)
class LayerConfig:
    units: int
    activation: str = "tanh"     # one of activations.ACTIVATIONS
    alpha: float | None = None   # leaky_relu / elu α (None: vocabulary's default)
    pieces: int = 2              # maxout k (vocabulary.PIECES)


@dataclass(frozen=True)
class NetworkConfig:
    n_inputs: int
    hidden: tuple[LayerConfig, ...]
    output_unit: str             # one of outputs.OUTPUT_UNITS
    n_targets: int = 1           # softmax_ce: classes; gaussian_nll: d (outputs are 2d)
    init: str | None = None      # uniform | xavier | he | None = per-activation default


def _with_ones(values: Array) -> Array:
    """(B, n) -> (B, n + 1) with a last column of ones (the bias input)."""
    augmented = np.empty((values.shape[0], values.shape[1] + 1))
    augmented[:, :-1] = values
    augmented[:, -1] = 1.0
    return augmented


def _init_params(rng: np.random.Generator, scheme: str, n_in: int, n_out: int, pieces: int,
                 bias_value: float) -> Array:
    """Weights drawn by `scheme` for a (n_out, pieces, n_in) layer, packed with the bias column."""
    shape = (n_out * pieces, n_in)
    if scheme == "uniform":
        weights = rng.uniform(-0.5, 0.5, shape)
        bias_value = 0.1
    elif scheme == "xavier":
        limit = math.sqrt(6.0 / (n_in + n_out))
        weights = rng.uniform(-limit, limit, shape)
    elif scheme == "he":
        weights = rng.normal(0.0, math.sqrt(2.0 / n_in), shape)
    else:
        raise SetupError("init", "must be one of {names} or None", names=", ".join(INITS))
    return np.concatenate([weights, np.full((shape[0], 1), bias_value)], axis=1)


class Network:
    """The network of `config`, initialised from `rng` (layer 1 first). Layers are numbered from 1 in the
    course; `layers[0]` is layer 1 and `layers[-1]` the output layer."""

    def __init__(self, config: NetworkConfig, rng: np.random.Generator) -> None:
        self.config = config
        self.output = outputs.get(config.output_unit)
        if config.n_inputs < 1 or config.n_targets < 1:
            raise SetupError("n_inputs", "a network needs at least one input and one target")
        if config.init is not None and config.init not in INITS:
            raise SetupError("init", "must be one of {names} or None", names=", ".join(INITS))
        self.layers: list[Layer] = []
        n_in = config.n_inputs
        for spec in config.hidden:
            if spec.units < 1:
                raise SetupError("units", "every hidden layer needs at least one unit")
            activation = activations.get(spec.activation, spec.alpha, spec.pieces)
            pieces = spec.pieces if spec.activation == "maxout" else 1
            relu_like = spec.activation in RELU_FAMILY
            scheme = config.init or ("he" if relu_like else "xavier")
            params = _init_params(rng, scheme, n_in, spec.units, pieces, 0.01 if relu_like else 0.0)
            self.layers.append(Layer(n_in, spec.units, spec.activation, activation, pieces, params))
            n_in = spec.units
        n_out = self.output.n_outputs(config.n_targets)
        params = self.output.start(_init_params(rng, config.init or "xavier", n_in, n_out, 1, 0.0))
        self.layers.append(Layer(n_in, n_out, config.output_unit, None, 1, params))
        self._untraced: UntracedStep | None = None  # built on the first untraced step
        self._has_maxout = any(layer.pieces > 1 for layer in self.layers)

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    # ---- forward ----------------------------------------------------------------------------------
    def _outputs_z(self, X: Array) -> tuple[list[Array], Array]:
        """Every hidden layer's activation (B, n_l) and the output pre-activation z (B, n_out)."""
        values = np.asarray(X, dtype=np.float64)
        hidden: list[Array] = []
        for layer in self.layers:
            params = layer._params
            pre_activation = np.dot(values, params[:, :-1].T)
            pre_activation += params[:, -1]
            if layer.activation is None:
                return hidden, pre_activation
            if layer.pieces == 1:
                values = layer.activation.f(pre_activation, out=pre_activation)
            else:
                values = pre_activation.reshape(len(values), layer.n_out, layer.pieces).max(axis=2)
            hidden.append(values)
        raise AssertionError("the last layer is the output layer")

    def forward(self, X: Array) -> Array:
        """(B, n_in) -> the output layer's pre-activation z (B, n_out)."""
        return self._outputs_z(X)[1]

    def predict(self, X: Array) -> Array:
        """(B, n_in) -> ŷ (B, n_out): softmax probabilities, sigmoid probability, μ and σ², ..."""
        return self.output.predict(self.forward(X))

    def layer_outputs(self, X: Array) -> list[Array]:
        """(B, n_in) -> every layer's activation [(B, n_1), ..., (B, n_out) = ŷ], for the heat maps."""
        hidden, z = self._outputs_z(X)
        return [*hidden, self.output.predict(z)]

    def data_loss(self, X: Array, Y: Array) -> float:
        """Mean per-sample loss on X (B, n_in), Y (B, n_targets); 0 for an empty set."""
        if len(X) == 0:
            return 0.0
        return float(np.mean(self.output.loss(self.forward(X), np.asarray(Y, dtype=np.float64))))

    def derivative(self, layer: int, pre_activation: Array) -> Array:
        """f′(e) of hidden layer `layer` (1-based) at e (any shape); maxout's chosen piece has slope 1."""
        if not 1 <= layer < len(self.layers):
            raise SetupError("layer", "hidden layers are 1..{last} (the output unit has δ)",
                             last=len(self.layers) - 1)
        activation = self.layers[layer - 1].activation
        assert activation is not None
        values = np.asarray(pre_activation, dtype=np.float64)
        return activation.derivative(values, activation.f(values))

    # ---- the traced step --------------------------------------------------------------------------
    def trace_batch(self, X: Array, Y: Array, regularization: Regularization) -> Trace:
        """Forward and backward on one batch, X (B, n_in), Y (B, n_targets); nothing is updated.

        grad_weights = mean_i delta_i ⊗ input_i + dR/dW, grad_bias = mean_i delta_i. Every array in the
        Trace is new or no longer the network's (the optimiser rebinds parameters; an in-place edit
        copies first), so a Trace never changes after it is returned."""
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        batch = X.shape[0]
        if batch == 0:
            raise SetupError("batch", "needs at least one sample")
        layers = self.layers
        augmented = _with_ones(X)
        inputs = [augmented]  # each layer's input with the ones column: the bias is one more weight
        forward: list[tuple[Array, Array, NDArray[np.int64] | None]] = []
        for layer in layers[:-1]:
            pre_activation = np.dot(augmented, layer._params.T)
            augmented = np.empty((batch, layer.n_out + 1))
            augmented[:, -1] = 1.0
            activation = augmented[:, :-1]
            argmax = None
            if layer.pieces == 1:
                assert layer.activation is not None
                layer.activation.f(pre_activation, out=activation)
            else:
                pre_activation = pre_activation.reshape(batch, layer.n_out, layer.pieces)
                argmax = pre_activation.argmax(axis=2)  # the first piece wins a tie
                activation[...] = np.take_along_axis(pre_activation, argmax[:, :, None], axis=2)[:, :, 0]
            forward.append((pre_activation, activation, argmax))
            inputs.append(augmented)
        z = np.dot(augmented, layers[-1]._params.T)
        prediction, loss_per_sample, delta = self.output.evaluate(z, Y)
        forward.append((z, prediction, None))

        traces: list[LayerTrace] = []
        scale = 1.0 / batch
        regularized = regularization.kind != "none" and regularization.rate != 0.0
        for index in range(len(layers) - 1, -1, -1):
            layer = layers[index]
            pre_activation, activation, argmax = forward[index]
            params = layer._params
            layer._shared = True
            weights = params[:, :-1]
            if argmax is None:
                delta_rows = delta
            else:  # only the chosen piece of each unit receives the unit's delta
                chosen = argmax[:, :, None] == np.arange(layer.pieces)
                delta_rows = (delta[:, :, None] * chosen).reshape(batch, -1)
            packed_grad = np.dot(delta_rows.T, inputs[index])
            packed_grad *= scale
            if regularized:
                packed_grad[:, :-1] += regularization.gradient(weights)
            if layer.pieces == 1:
                layer_trace = LayerTrace(weights, params[:, -1], pre_activation, activation, delta,
                                         packed_grad[:, :-1], packed_grad[:, -1])
            else:
                k, n_out, n_in = layer.pieces, layer.n_out, layer.n_in
                layer_trace = LayerTrace(
                    weights.reshape(n_out, k, n_in), params[:, -1].reshape(n_out, k), pre_activation,
                    activation, delta, packed_grad[:, :-1].reshape(n_out, k, n_in),
                    packed_grad[:, -1].reshape(n_out, k), argmax=argmax)
            layer_trace.packed_grad = packed_grad
            traces.append(layer_trace)
            if index > 0:
                below = layers[index - 1]
                downstream = np.dot(delta_rows, weights)  # Σ_k w_kj δ_k, (B, n_in)
                if below.activation is None or below.pieces > 1:  # maxout's chosen piece has slope 1
                    delta = downstream
                else:
                    below_z, below_y, _ = forward[index - 1]
                    downstream *= below.activation.derivative(below_z, below_y)
                    delta = downstream
        traces.reverse()
        loss_reg = penalty(regularization, [layer._params[:, :-1] for layer in layers]) if regularized else 0.
        # add.reduce / B is what np.mean computes, without its Python-level overhead
        loss_data = float(np.add.reduce(loss_per_sample)) / batch
        return Trace(X, Y, prediction, loss_per_sample, loss_data, loss_reg, traces)

    # ---- the untraced step -------------------------------------------------------------------------
    def train_batch(self, X: Array, Y: Array, regularization: Regularization, optimizer: Optimizer,
                    step: int) -> float:
        """Forward, backward and the optimiser's update on one batch X (B, n_in), Y (B, n_targets), with
        no Trace kept: the batch's data loss (mean per-sample loss, before the update).

        The arithmetic of trace_batch + Optimizer.apply element for element, so the parameters and
        optimiser state after it are bit for bit those of the traced step (tests/engine/
        test_fast_path.py); intermediate arrays live in reused buffers (engine/untraced.py). Parameters
        are updated in place (a Trace that shares them keeps its own copy)."""
        if self._has_maxout or len(X) == 0:
            trace = self.trace_batch(X, Y, regularization)  # maxout keeps the general path
            optimizer.apply(self, trace, step)
            return trace.loss_data
        if self._untraced is None:
            self._untraced = UntracedStep(self.layers, self.output, self.config.output_unit)
        return self._untraced.train(X, Y, regularization, optimizer, step)

    # ---- parameters -------------------------------------------------------------------------------
    def check_parameter(self, layer: int, unit: int, input: int | None, piece: int = 0) -> None:
        """SetupError naming the first of layer (1-based), unit, input (None = the bias) and piece (maxout)
        that names no parameter of this network."""
        layers = self.layers
        if not 1 <= layer <= len(layers):
            raise SetupError("layer", "must be 1..{last}", last=len(layers))
        target = layers[layer - 1]
        if not 0 <= unit < target.n_out:
            raise SetupError("unit", "layer {layer} has units 0..{last}", layer=layer, last=target.n_out - 1)
        if input is not None and not 0 <= input < target.n_in:
            raise SetupError("input", "layer {layer} has inputs 0..{last}", layer=layer, last=target.n_in - 1)
        if not 0 <= piece < target.pieces:
            raise SetupError("piece", "layer {layer} has pieces 0..{last}", layer=layer,
                             last=target.pieces - 1)

    def set_parameter(self, layer: int, unit: int, input: int | None, value: float, piece: int = 0) -> None:
        """Set one weight (input = its index) or bias (input = None) in place (check_parameter first)."""
        self.check_parameter(layer, unit, input, piece)
        target = self.layers[layer - 1]
        index: tuple[int, ...] = (unit,) if target.pieces == 1 else (unit, piece)
        if input is None:
            target.bias[index] = float(value)
        else:
            target.weights[(*index, input)] = float(value)

    def get_params(self) -> Params:
        """Copies of (weights, bias) per layer, in the contract's shapes."""
        return [(layer.weights.copy(), layer.bias.copy()) for layer in self.layers]

    def set_params(self, params: Sequence[tuple[Array, Array]]) -> None:
        """Replace every layer's (weights, bias); shapes must match. The arrays are copied."""
        if len(params) != len(self.layers):
            raise SetupError("params", "expected {n} layers, got {got}", n=len(self.layers), got=len(params))
        packed = []
        for number, (layer, (weights, bias)) in enumerate(zip(self.layers, params, strict=True), start=1):
            weights = np.asarray(weights, dtype=np.float64)
            bias = np.asarray(bias, dtype=np.float64)
            if weights.shape != layer.weights.shape or bias.shape != layer.bias.shape:
                raise SetupError("params", "layer {layer} needs weights {weights} and bias {bias}",
                                 layer=number, weights=layer.weights.shape, bias=layer.bias.shape)
            rows = layer.n_out * layer.pieces
            packed.append(np.concatenate([weights.reshape(rows, layer.n_in), bias.reshape(rows, 1)], axis=1))
        for layer, array in zip(self.layers, packed, strict=True):
            layer.params = array
