"""The teaching sequence of one batch: micro-step events read from its vectorized Trace, never recomputed.

For a batch of B samples through layers 1..L (n_l units each) the sequence is, per sample s:

    forward   one per unit, layer 1 first, unit 0 first          e = Σ w·x + b, y = f(e)
    error     one, for the whole output layer                    ŷ, y, ŷ − y, L_s, δ = ∂L_s/∂e at the output
    backward  one per hidden unit, layer L-1 down to layer 1     δ_j = f′(e_j)·Σ_k w_kj δ_k
    accumulate one                                               adds sample s's gradient to the batch sum

and after the last sample, `update` events, one per unit, layer 1 first: the unit's incoming weights and
bias move to the values the optimiser's vectorized step computed (so finishing every micro-step is
exactly one vectorized step); with momentum or Adam the update's terms also hold the optimiser state
before and after it (velocity; m, v and the bias-corrected m̂, v̂), so every step can be redone by hand.
A TeachingSequence is a lazy Sequence[Event]: an event's `terms` are only
built when it is read, so a large batch costs nothing until the page looks at it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import NDArray

from engine.trace import Trace

EventKind = Literal["forward", "error", "backward", "accumulate", "update"]
KINDS: tuple[EventKind, ...] = ("forward", "error", "backward", "accumulate", "update")

Params = list[tuple[NDArray[np.float64], NDArray[np.float64]]]
# f′(e) of a layer's activation at its pre-activations: (layer number 1..L, e (n,)) -> (n,)
DerivativeFn = Callable[[int, NDArray[np.float64]], NDArray[np.float64]]


@dataclass(frozen=True)
class Event:
    """One micro-step. `layer` is 1-based; `sample` is the row of the batch (update events: the last row,
    so the picture stays on the last sample seen). `error` and `accumulate` events name the output layer
    and unit 0 but cover the whole layer / network. `terms` holds plain floats and lists only."""

    index: int
    kind: EventKind
    sample: int
    layer: int
    unit: int
    terms: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class OptimizerStep:
    """What a momentum or Adam update used besides the gradient: the kind and its constants, `step` =
    updates before this one (Adam's t = step + 1), and the state before and after, one packed
    (rows, n_in + 1) array per layer (engine/optim.py get_state: "velocity", or "m" and "v")."""

    kind: str
    momentum: float
    beta1: float
    beta2: float
    eps: float
    step: int
    before: dict[str, list[NDArray[np.float64]]]
    after: dict[str, list[NDArray[np.float64]]]


def _floats(values: Any) -> Any:
    """An array (any shape) or scalar as plain Python floats / nested lists."""
    return np.asarray(values, dtype=np.float64).tolist()


class TeachingSequence(Sequence[Event]):
    """The events of one batch, indexed by position; built from a Trace and the parameters after the
    batch's vectorized update (`new_params`, one (weights, bias) per layer, shapes as in the Trace)."""

    def __init__(
        self,
        trace: Trace,
        new_params: Params,
        derivative: DerivativeFn,
        activation_names: Sequence[str],
        output_unit: str,
        optimizer: OptimizerStep | None = None,
    ) -> None:
        self.trace = trace
        self.optimizer = optimizer
        self.new_params = new_params
        self._derivative = derivative
        self._activation_names = list(activation_names)
        self._output_unit = output_unit
        self.batch_size = int(trace.inputs.shape[0])
        self.sizes = [int(lt.bias.shape[0]) for lt in trace.layers]
        n_layers = len(self.sizes)
        per_sample: list[tuple[EventKind, int, int]] = [
            ("forward", layer, unit)
            for layer in range(1, n_layers + 1) for unit in range(self.sizes[layer - 1])
        ]
        per_sample.append(("error", n_layers, 0))
        per_sample += [("backward", layer, unit) for layer in range(n_layers - 1, 0, -1)
                       for unit in range(self.sizes[layer - 1])]
        per_sample.append(("accumulate", n_layers, 0))
        self._per_sample = per_sample
        self._updates: list[tuple[EventKind, int, int]] = [
            ("update", layer, unit)
            for layer in range(1, n_layers + 1) for unit in range(self.sizes[layer - 1])
        ]
        self.sample_length = len(per_sample)
        self.first_update = self.batch_size * self.sample_length

    # ---- Sequence protocol --------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.first_update + len(self._updates)

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...
    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"event {index} outside 0..{len(self) - 1}")
        kind, sample, layer, unit = self.locate(index)
        return Event(index, kind, sample, layer, unit, self._terms(kind, sample, layer, unit))

    def __iter__(self) -> Iterator[Event]:
        return (self[i] for i in range(len(self)))

    # ---- positions ----------------------------------------------------------------------------------
    def locate(self, index: int) -> tuple[EventKind, int, int, int]:
        """(kind, sample, layer, unit) of event `index` without building its terms."""
        if index >= self.first_update:
            kind, layer, unit = self._updates[index - self.first_update]
            return kind, self.batch_size - 1, layer, unit
        sample, offset = divmod(index, self.sample_length)
        kind, layer, unit = self._per_sample[offset]
        return kind, sample, layer, unit

    def accumulate_index(self, sample: int) -> int:
        """Position of sample `sample`'s accumulate event (the end of that sample's events)."""
        return sample * self.sample_length + self.sample_length - 1

    def sample_of(self, index: int) -> int:
        return self.locate(index)[1]

    def updates_done(self, cursor: int | None) -> int:
        """How many update events are done once events 0..cursor are (None: the batch start)."""
        return 0 if cursor is None else max(0, cursor - self.first_update + 1)

    def params_at(self, old: Params, cursor: int | None) -> Params:
        """The parameters once events 0..cursor are done: each unit whose update event is done has its
        row (weights and bias) from new_params, every other row from `old`. Copies; exact."""
        done = -1 if cursor is None else cursor - self.first_update
        result: Params = []
        position = 0
        for (weights, bias), (new_weights, new_bias) in zip(old, self.new_params, strict=True):
            weights, bias = weights.copy(), bias.copy()
            count = min(max(done + 1 - position, 0), bias.shape[0])
            weights[:count] = new_weights[:count]
            bias[:count] = new_bias[:count]
            result.append((weights, bias))
            position += bias.shape[0]
        return result

    # ---- terms: what the inspector prints -----------------------------------------------------------
    def _inputs_of(self, layer: int, sample: int) -> NDArray[np.float64]:
        if layer == 1:
            return self.trace.inputs[sample]
        return self.trace.layers[layer - 2].activation[sample]

    def _terms(self, kind: EventKind, sample: int, layer: int, unit: int) -> dict[str, Any]:
        if kind == "forward":
            return self._forward_terms(sample, layer, unit)
        if kind == "error":
            return self._error_terms(sample)
        if kind == "backward":
            return self._backward_terms(sample, layer, unit)
        if kind == "accumulate":
            return self._accumulate_terms(sample)
        return self._update_terms(layer, unit)

    def _forward_terms(self, sample: int, layer: int, unit: int) -> dict[str, Any]:
        lt = self.trace.layers[layer - 1]
        terms: dict[str, Any] = {
            "activation_name": self._activation_names[layer - 1],
            "inputs": _floats(self._inputs_of(layer, sample)),
            "weights": _floats(lt.weights[unit]),
            "bias": _floats(lt.bias[unit]),
            "pre_activation": _floats(lt.pre_activation[sample, unit]),
            "activation": _floats(lt.activation[sample, unit]),
        }
        if lt.argmax is not None:
            terms["piece"] = int(lt.argmax[sample, unit])
        if layer == len(self.trace.layers):  # an output neuron's target, for its "show as graph" loss
            targets = self.trace.targets[sample]
            terms["target"] = float(targets[unit % targets.shape[0]])
        return terms

    def _error_terms(self, sample: int) -> dict[str, Any]:
        """The output's error; besides ŷ, y, L and δ: `miss` = ŷ − y per output unit and, for tanh_mse,
        `slope` = tanh′(e) = 1 − ŷ² (δ = miss·slope, the same operations as outputs.TanhMSE, so the
        product is δ bit for bit). Gaussian outputs (2d wide, targets d) have no miss/slope."""
        trace = self.trace
        out = trace.layers[-1]
        prediction, targets = trace.prediction[sample], trace.targets[sample]
        terms: dict[str, Any] = {
            "output_unit": self._output_unit,
            "pre_activation": _floats(out.pre_activation[sample]),
            "prediction": _floats(prediction),
            "target": _floats(targets),
            "loss": float(trace.loss_per_sample[sample]),
            "delta": _floats(out.delta[sample]),
        }
        if prediction.shape == targets.shape:
            terms["miss"] = _floats(prediction - targets)
        if self._output_unit == "tanh_mse":
            terms["slope"] = _floats(1.0 - prediction * prediction)
        return terms

    def _backward_terms(self, sample: int, layer: int, unit: int) -> dict[str, Any]:
        lt = self.trace.layers[layer - 1]
        down = self.trace.layers[layer]
        if down.argmax is None:
            down_weights = down.weights[:, unit]
        else:  # each downstream maxout unit passes δ back through the piece it chose for this sample
            chosen = down.argmax[sample]
            down_weights = down.weights[np.arange(chosen.shape[0]), chosen, unit]
        down_deltas = down.delta[sample]
        if lt.argmax is None:
            pre_activation = lt.pre_activation[sample, unit]
            derivative = float(self._derivative(layer, np.atleast_1d(pre_activation))[0])
        else:  # maxout: the chosen piece passes δ through with slope 1
            pre_activation = lt.pre_activation[sample, unit, int(lt.argmax[sample, unit])]
            derivative = 1.0
        return {
            "activation_name": self._activation_names[layer - 1],
            "pre_activation": float(pre_activation),
            "derivative": derivative,
            "down_weights": _floats(down_weights),
            "down_deltas": _floats(down_deltas),
            "weighted_sum": float(np.dot(down_weights, down_deltas)),
            "delta": float(lt.delta[sample, unit]),
        }

    def _accumulate_terms(self, sample: int) -> dict[str, Any]:
        """Sample `sample`'s own gradient (δ ⊗ input, no regularization) and the running sum so far."""
        own_weights, own_bias, sum_weights, sum_bias = [], [], [], []
        for layer, lt in enumerate(self.trace.layers, start=1):
            inputs = self.trace.inputs if layer == 1 else self.trace.layers[layer - 2].activation
            delta = lt.delta[: sample + 1]
            if lt.argmax is None:
                contributions = delta[:, :, None] * inputs[: sample + 1, None, :]  # (s+1, n_out, n_in)
            else:  # only the chosen piece's row gets δ ⊗ input
                k = lt.weights.shape[1]
                chosen = lt.argmax[: sample + 1, :, None] == np.arange(k)  # (s+1, n_out, k)
                picked = delta[:, :, None, None] * chosen[..., None]
                contributions = picked * inputs[: sample + 1, None, None, :]
            bias_contributions = delta if lt.argmax is None else delta[:, :, None] * chosen
            own_weights.append(_floats(contributions[-1]))
            own_bias.append(_floats(bias_contributions[-1]))
            sum_weights.append(_floats(contributions.sum(axis=0)))
            sum_bias.append(_floats(bias_contributions.sum(axis=0)))
        out = self.trace.layers[-1]  # the output layer (never maxout): δ and input of its first unit
        out_inputs = self.trace.inputs if len(self.trace.layers) == 1 else self.trace.layers[-2].activation
        before = out.delta[:sample, 0, None] * out_inputs[:sample]  # (s, n_in): the earlier samples' terms
        return {
            "loss": float(self.trace.loss_per_sample[sample]),
            "out_delta": float(out.delta[sample, 0]),
            "out_inputs": _floats(out_inputs[sample]),
            "previous_sum_grad_weights": _floats(before.sum(axis=0)),
            "samples_done": sample + 1,
            "batch_size": self.batch_size,
            "sample_grad_weights": own_weights,
            "sample_grad_bias": own_bias,
            "sum_grad_weights": sum_weights,
            "sum_grad_bias": sum_bias,
        }

    def _update_terms(self, layer: int, unit: int) -> dict[str, Any]:
        lt = self.trace.layers[layer - 1]
        new_weights, new_bias = self.new_params[layer - 1]
        terms = {
            "learning_rate": self.trace.learning_rate,
            "optimizer": self.optimizer.kind if self.optimizer is not None else "sgd",
            "old_weights": _floats(lt.weights[unit]),
            "grad_weights": _floats(lt.grad_weights[unit]),
            "new_weights": _floats(new_weights[unit]),
            "old_bias": _floats(lt.bias[unit]),
            "grad_bias": _floats(lt.grad_bias[unit]),
            "new_bias": _floats(new_bias[unit]),
        }
        optimizer = self.optimizer
        if optimizer is None or optimizer.kind == "sgd":
            return terms

        def unit_rows(packed: NDArray[np.float64]) -> tuple[Any, Any]:
            """This unit's (weights, bias) of a packed state array, shaped like the trace's."""
            weights = packed[:, :-1].reshape(lt.weights.shape)[unit]
            return _floats(weights), _floats(packed[:, -1].reshape(lt.bias.shape)[unit])

        names = ("velocity",) if optimizer.kind == "momentum" else ("m", "v")
        for name in names:
            for when, state in (("old", optimizer.before), ("new", optimizer.after)):
                weights, bias = unit_rows(state[name][layer - 1])
                terms[f"{when}_{name}_weights"], terms[f"{when}_{name}_bias"] = weights, bias
        if optimizer.kind == "momentum":
            terms["momentum"] = optimizer.momentum
            return terms
        t = optimizer.step + 1
        terms.update(beta1=optimizer.beta1, beta2=optimizer.beta2, eps=optimizer.eps, t=t)
        # the bias-corrected moments exactly as engine/optim.py divides them
        for name, beta in (("m", optimizer.beta1), ("v", optimizer.beta2)):
            packed = optimizer.after[name][layer - 1] / (1.0 - beta ** t)
            terms[f"{name}_hat_weights"], terms[f"{name}_hat_bias"] = unit_rows(packed)
        return terms
