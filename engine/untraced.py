"""The untraced training step (Network.train_batch): buffers and views built once, so a batch is a short
run of NumPy calls doing, element for element, the arithmetic of trace_batch + Optimizer.apply.

Tiny networks are bound by the number of NumPy calls (0.3-0.6 µs each), not by arithmetic, so:

- the parameters live in one flat buffer (`Packing`), each layer's `params` (rows, n_in + 1) a view of
  it, and the gradients likewise: the 1/B scale and the SGD update are one call each for the whole
  network instead of one per layer;
- every layer's input with its ones column, and the prediction, live in one flat buffer per batch size
  (`Buffers`): f′ of tanh (1 − y²) or sigmoid (y(1 − y)) is then two calls for all the hidden layers
  together (and the tanh output unit's 1 − ŷ² comes with it);
- tanh + squared error, the playground's output unit, is written out with out= buffers.

Elementwise operations give the same bits whether they run per layer or over a longer buffer, and the
matrix products take the same operands as in trace_batch, so parameters and optimiser state stay bit
for bit those of the traced step (tests/engine/test_fast_path.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from engine.layer import Layer
from engine.optim import Optimizer
from engine.outputs import OutputUnit
from engine.regularization import Regularization

Array = NDArray[np.float64]
SlopeFn = Callable[[Array, Array], None]


def _tanh_slope(activation: Array, out: Array) -> None:
    """1 − y², as activations.Tanh.derivative computes it, into `out` (same shape as y)."""
    np.multiply(activation, activation, out=out)
    np.subtract(1.0, out, out=out)


def _sigmoid_slope(activation: Array, out: Array) -> None:
    """y·(1 − y), as activations.Sigmoid.derivative computes it, into `out`."""
    np.subtract(1.0, activation, out=out)
    np.multiply(activation, out, out=out)


# activations whose f′ is a function of the activation alone, so one call pair serves every layer
SLOPES: dict[str, SlopeFn] = {"tanh": _tanh_slope, "sigmoid": _sigmoid_slope}


class Packing:
    """The network's parameters in one flat buffer and its gradients in another, with per-layer views:
    `params[l]` (rows, n_in + 1) is what `layers[l].params` is bound to, `weights[l]` its first n_in
    columns, `weights_t[l]` its transpose (n_in + 1, rows), `grads[l]` (rows, n_in + 1)."""

    def __init__(self, layers: Sequence[Layer]) -> None:
        shapes = [layer.params.shape for layer in layers]
        sizes = [rows * columns for rows, columns in shapes]
        self.params_flat = np.empty(sum(sizes))
        self.grad_flat = np.empty(sum(sizes))
        self.params: list[Array] = []
        self.grads: list[Array] = []
        start = 0
        for layer, shape, size in zip(layers, shapes, sizes, strict=True):
            view = self.params_flat[start:start + size].reshape(shape)
            view[...] = layer.params
            layer.params = view  # a new array for the layer: a Trace holding the old one keeps it
            self.params.append(view)
            self.grads.append(self.grad_flat[start:start + size].reshape(shape))
            start += size
        self.weights = [params[:, :-1] for params in self.params]
        self.weights_t = [params.T for params in self.params]

    def current(self, layers: Sequence[Layer]) -> bool:
        """True while every layer is still bound to its view here and no Trace shares it (the traced
        step rebinds `params`, set_params too, and trace_batch marks them shared)."""
        for layer, view in zip(layers, self.params, strict=True):
            if layer._params is not view or layer._shared:
                return False
        return True


class Buffers:
    """Scratch arrays for one batch size B. `inputs[l]` (B, n_in + 1): layer l's input with its ones
    column, all in one flat buffer followed by the prediction (B, n_out); `pre_activations[l]` (B, rows);
    `downstream[l]` (B, n_in) for l ≥ 1: the delta of the layer below; `slopes[l]`: f′ of the layer
    below l at its activation (a view of one flat buffer), when that activation has one in SLOPES."""

    def __init__(self, layers: Sequence[Layer], batch: int, slope: SlopeFn | None,
                 output_slope: bool) -> None:
        widths = [layer.n_in + 1 for layer in layers]
        n_out = layers[-1].n_out
        sizes = [batch * width for width in widths]
        self.values = np.empty(sum(sizes) + batch * n_out)
        self.inputs: list[Array] = []
        start = 0
        for width, size in zip(widths, sizes, strict=True):
            self.inputs.append(self.values[start:start + size].reshape(batch, width))
            start += size
        for array in self.inputs:
            array[:, -1] = 1.0
        self.prediction = self.values[start:].reshape(batch, n_out)
        self.features = self.inputs[0][:, :-1]
        # where layer l's activation goes: the next layer's input, without its ones column
        self.activations = [array[:, :-1] for array in self.inputs[1:]]
        self.pre_activations = [np.empty((batch, layer.n_out * layer.pieces)) for layer in layers]
        self.downstream = [np.empty((batch, layer.n_in)) for layer in layers]
        # f′ of the hidden layers at once: their activations run from the end of inputs[0] to the end
        # of inputs[-1], or to the end of the prediction when the output unit shares the slope
        slope_to = len(self.values) if output_slope else sum(sizes)
        self.slope_values = np.empty(len(self.values))
        self.slope_input = self.values[sizes[0]:slope_to]
        self.slope_output = self.slope_values[sizes[0]:slope_to]
        self.slopes: list[Array | None] = [None] * len(layers)
        if slope is not None:
            start = sizes[0]
            for index in range(1, len(layers)):
                self.slopes[index] = self.slope_values[start:start + sizes[index]].reshape(
                    batch, widths[index])[:, :-1]
                start += sizes[index]
        self.output_slope = self.slope_values[len(self.values) - batch * n_out:].reshape(batch, n_out)
        self.difference = np.empty((batch, n_out))
        self.squared = np.empty((batch, n_out))
        self.squared_column = self.squared.reshape(batch * n_out)
        self.delta = np.empty((batch, n_out))


# per hidden layer, layer 1 first: (f, its input (B, n_in + 1), [W | b]ᵀ, pre-activation, activation)
Forward = tuple[Callable[..., Array], Array, Array, Array, Array]
# per layer, the output layer first: (its input, its grad (rows, n_in + 1), W, the delta below (B, n_in),
# f′ below (a buffer, or None: then the layer below, its pre-activation and its activation give it))
Backward = tuple[Array, Array, Array, Array, Array | None, "Layer | None", Array, Array]


class Program:
    """The untraced step's calls for one batch size and one Packing, as prebuilt tuples of arrays."""

    def __init__(self, step: UntracedStep, buffers: Buffers, packing: Packing) -> None:
        layers = step.layers
        last = len(layers) - 1
        self.buffers, self.packing = buffers, packing
        self.forward: list[Forward] = [
            (step.forward_functions[index], buffers.inputs[index], packing.weights_t[index],
             buffers.pre_activations[index], buffers.activations[index]) for index in range(last)]
        self.output = (buffers.inputs[last], packing.weights_t[last])
        self.backward: list[Backward] = []
        for index in range(last, 0, -1):
            slope = buffers.slopes[index]
            below = None if slope is not None else layers[index - 1]
            self.backward.append((buffers.inputs[index], packing.grads[index], packing.weights[index],
                                  buffers.downstream[index], slope, below,
                                  buffers.pre_activations[index - 1], buffers.activations[index - 1]))
        self.first = (buffers.inputs[0], packing.grads[0])


class UntracedStep:
    """Network.train_batch for networks without maxout: forward, backward and the optimiser's update on
    one batch, in place, no Trace."""

    def __init__(self, layers: Sequence[Layer], output: OutputUnit, output_unit: str) -> None:
        """`layers` the network's (layer 1 first; their params are rebound to one flat buffer), `output`
        its output unit, `output_unit` that unit's name."""
        self.layers = layers
        self.output = output
        hidden = {layer.activation_name for layer in layers[:-1]}
        # one slope function for every hidden layer, when they share an activation that has one
        self.slope = SLOPES.get(hidden.pop()) if len(hidden) == 1 else None
        self.tanh_output = output_unit == "tanh_mse"
        # the tanh output's 1 − ŷ² joins the hidden layers' (or stands alone without hidden layers)
        self.output_slope = self.tanh_output and (self.slope is _tanh_slope or len(layers) == 1)
        self.batched_slope = _tanh_slope if self.output_slope else self.slope
        self.forward_functions: list[Callable[..., Array]] = []
        for layer in layers[:-1]:
            assert layer.activation is not None
            self.forward_functions.append(np.tanh if layer.activation_name == "tanh" else layer.activation.f)
        self.packing: Packing | None = None
        self.programs: dict[int, Program] = {}
        self.halves = np.full(layers[-1].n_out, 0.5)

    def _program(self, batch: int, packing: Packing) -> Program:
        """The batch size's Program for `packing`; its buffers are kept when only the packing changed."""
        old = self.programs.get(batch)
        if old is not None:
            buffers = old.buffers
        else:
            if len(self.programs) > 4:  # a run uses its batch size and a short last batch
                self.programs.clear()
            buffers = Buffers(self.layers, batch, self.slope, self.output_slope)
        program = self.programs[batch] = Program(self, buffers, packing)
        return program

    def train(self, X: Array, Y: Array, regularization: Regularization, optimizer: Optimizer,
              step: int) -> float:
        """One batch X (B, n_in), Y (B, n_targets), B ≥ 1: the batch's data loss before the update."""
        layers = self.layers
        packing = self.packing
        if packing is None or not packing.current(layers):
            packing = self.packing = Packing(layers)
        batch = len(X)
        program = self.programs.get(batch)
        if program is None or program.packing is not packing:
            program = self._program(batch, packing)
        buffers = program.buffers
        dot, multiply = np.dot, np.multiply

        # forward: e = [x | 1]·[W | b]ᵀ into a buffer, y = f(e) straight into the next layer's input
        buffers.features[...] = X
        for f, layer_input, weights_t, pre_activation, activation in program.forward:
            dot(layer_input, weights_t, out=pre_activation)
            f(pre_activation, out=activation)
        if self.tanh_output:  # ŷ = tanh z, δ = (ŷ − y)(1 − ŷ²), L = ½ Σ (ŷ − y)², as outputs.TanhMSE
            prediction = dot(*program.output, out=buffers.prediction)
            np.tanh(prediction, out=prediction)
            difference = np.subtract(prediction, Y, out=buffers.difference)
            squared = multiply(difference, difference, out=buffers.squared)
            if self.batched_slope is not None:
                self.batched_slope(buffers.slope_input, buffers.slope_output)
            if not self.output_slope:
                _tanh_slope(prediction, buffers.output_slope)
            delta = multiply(difference, buffers.output_slope, out=buffers.delta)
            if squared.shape[1] == 1:
                # ½ is exact in binary, so ½·Σd² is bit for bit Σ(½d²), the traced step's sum
                loss_data = float(np.add.reduce(buffers.squared_column)) * 0.5 / batch
            else:
                loss_data = float(np.add.reduce(dot(squared, self.halves))) / batch
        else:
            z = dot(*program.output, out=buffers.pre_activations[-1])
            _, loss_per_sample, delta = self.output.evaluate(z, np.asarray(Y, dtype=np.float64))
            loss_data = float(np.add.reduce(loss_per_sample)) / batch
            if self.batched_slope is not None:
                self.batched_slope(buffers.slope_input, buffers.slope_output)

        # backward: grad = δᵀ·[x | 1], δ below = (δ·W) ⊙ f′ below, with the weights before the update
        for layer_input, grad, weights, downstream, slope, below, below_pre, below_y in program.backward:
            dot(delta.T, layer_input, out=grad)
            dot(delta, weights, out=downstream)
            if slope is None:  # f′ below from its pre-activation and activation, as trace_batch takes it
                assert below is not None and below.activation is not None
                slope = below.activation.derivative(below_pre, below_y)
            multiply(downstream, slope, out=downstream)
            delta = downstream
        layer_input, grad = program.first
        dot(delta.T, layer_input, out=grad)
        packing.grad_flat *= 1.0 / batch
        if regularization.kind != "none" and regularization.rate != 0.0:
            for weights, grad in zip(packing.weights, packing.grads, strict=True):
                grad[:, :-1] += regularization.gradient(weights)
        optimizer.apply_packed(layers, packing.grads, step, flat=(packing.params_flat, packing.grad_flat))
        return loss_data
