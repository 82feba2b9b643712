"""Gradient descent: SGD (w ← w − η ∂L/∂w), momentum, Adam, and learning-rate schedules.

The optimiser works on each layer's packed parameters (rows, n_in + 1), weights then the bias column (see
engine/layer.py), so one elementwise expression updates a layer's weights and bias together. Its state
(velocity, Adam moments) has the same packed shape per layer. It takes the layers (or anything with a
`layers` list, such as a Network), so it needs nothing from engine/network.py. L1/L2 regularization is
engine/regularization.py (its names are importable from here too).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from engine import vocabulary
from engine.errors import SetupError
from engine.layer import Layer
from engine.regularization import Regularization, penalty
from engine.trace import LayerTrace, Trace

__all__ = ["Optimizer", "OptimizerConfig", "Regularization", "Schedule", "penalty"]

Array = NDArray[np.float64]
State = dict[str, list[Array]]


class HasLayers(Protocol):
    """A network, for the optimiser: its layers, layer 1 first."""

    @property
    def layers(self) -> Sequence[Layer]: ...


Layers = Sequence[Layer] | HasLayers


def _layers(target: Layers) -> Sequence[Layer]:
    return target if isinstance(target, Sequence) else target.layers


@dataclass(frozen=True)
class Schedule:
    """The learning rate at update `step` (0-based) as a multiple of the base rate η.

    constant:      η
    step:          η·gamma^⌊step / step_size⌋            (start large, decrease in stages)
    exponential:   η·gamma^(step / step_size)            (start large, decrease gradually)
    warmup_decay:  rises linearly from η/warmup to η over the first `warmup` steps, holds η, then falls
                   linearly over the last fifth of `total` steps to η/100, and stays there
                   (the lecture's "start small, increase, then decrease in the final stage")."""

    kind: Literal["constant", "step", "exponential", "warmup_decay"] = "constant"
    step_size: int = 100
    gamma: float = 0.5
    warmup: int = 0
    total: int = 10_000

    def __post_init__(self) -> None:
        if self.kind not in vocabulary.SCHEDULES:
            raise SetupError("schedule", "kind must be one of {names}", names=", ".join(vocabulary.SCHEDULES))
        if self.step_size < 1 or self.total < 1 or self.warmup < 0:
            raise SetupError("schedule", "step_size and total must be ≥ 1, warmup ≥ 0")
        if not 0.0 < self.gamma <= 1.0:
            raise SetupError("schedule", "gamma must be in (0, 1]")

    def rate(self, base: float, step: int) -> float:
        if self.kind == "step":
            return base * self.gamma ** (step // self.step_size)
        if self.kind == "exponential":
            return base * self.gamma ** (step / self.step_size)
        if self.kind == "warmup_decay":
            if step < self.warmup:
                return base * (step + 1) / self.warmup
            decay_start = max(self.warmup, int(0.8 * self.total))
            if step < decay_start:
                return base
            progress = min(1.0, (step - decay_start) / max(1, self.total - decay_start))
            return base * (1.0 - 0.99 * progress)
        return base


@dataclass(frozen=True)
class OptimizerConfig:
    kind: Literal["sgd", "momentum", "adam"] = "sgd"
    learning_rate: float = 0.03
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    schedule: Schedule = field(default_factory=Schedule)

    def __post_init__(self) -> None:
        if self.kind not in vocabulary.OPTIMIZERS:
            raise SetupError("optimizer", "kind must be one of {names}",
                             names=", ".join(vocabulary.OPTIMIZERS))
        if not (math.isfinite(self.learning_rate) and self.learning_rate >= 0.0):
            raise SetupError("learning_rate", "must be a finite number ≥ 0")


_STATE_NAMES = {"sgd": (), "momentum": ("velocity",), "adam": ("m", "v")}


def _pack(lt: LayerTrace) -> Array:
    """The layer's gradient as (rows, n_in + 1): the network's packed copy if present, else built."""
    if lt.packed_grad is not None:
        return lt.packed_grad
    rows = lt.bias.size
    return np.concatenate([lt.grad_weights.reshape(rows, -1), lt.grad_bias.reshape(rows, 1)], axis=1)


def _unpack(packed: Array, like: LayerTrace) -> tuple[Array, Array]:
    """Views of a packed (rows, n_in + 1) array in the shapes of `like`'s weights and bias."""
    if like.argmax is None:
        return packed[:, :-1], packed[:, -1]
    return packed[:, :-1].reshape(like.weights.shape), packed[:, -1].reshape(like.bias.shape)


class Optimizer:
    """Applies a Trace's gradients to a Network. `step` is the number of updates done before this one
    (0 for the first): it sets the scheduled learning rate and Adam's bias correction."""

    def __init__(self, config: OptimizerConfig, layers: Layers) -> None:
        self.config = config
        self._state: State = {name: [np.zeros_like(layer.params) for layer in _layers(layers)]
                              for name in _STATE_NAMES[config.kind]}

    def learning_rate(self, step: int) -> float:
        return self.config.schedule.rate(self.config.learning_rate, step)

    def _update(self, grad: Array, state: list[Array], learning_rate: float,
                step: int) -> tuple[Array, list[Array]]:
        """(update to add to the parameters, new state arrays) from a gradient block and its state block.

        Elementwise only, so a block of rows gives bit for bit the rows of the whole-layer result."""
        config = self.config
        if config.kind == "sgd":
            return grad * -learning_rate, []
        if config.kind == "momentum":
            velocity = config.momentum * state[0] - learning_rate * grad
            return velocity.copy(), [velocity]  # the trace's update must not alias the state
        t = step + 1
        m = config.beta1 * state[0] + (1.0 - config.beta1) * grad
        v = config.beta2 * state[1] + (1.0 - config.beta2) * (grad * grad)
        m_hat = m / (1.0 - config.beta1 ** t)
        v_hat = v / (1.0 - config.beta2 ** t)
        return -learning_rate * m_hat / (np.sqrt(v_hat) + config.eps), [m, v]

    def apply(self, layers: Layers, trace: Trace, step: int) -> None:
        """Update every layer from `trace`; fills each LayerTrace's weight_update and
        bias_update (the change applied) and trace.learning_rate. The trace's own arrays are untouched."""
        learning_rate = self.learning_rate(step)
        trace.learning_rate = learning_rate
        if self.config.kind == "sgd":  # the common case, kept to two NumPy calls per layer
            factor = -learning_rate
            for layer, lt in zip(_layers(layers), trace.layers, strict=True):
                update = _pack(lt) * factor
                layer.params = layer.params + update  # a new array: a trace holding the old one keeps it
                lt.packed_update = update
                lt.weight_update, lt.bias_update = _unpack(update, lt)
            return
        names = _STATE_NAMES[self.config.kind]
        for index, (layer, lt) in enumerate(zip(_layers(layers), trace.layers, strict=True)):
            state = [self._state[name][index] for name in names]
            update, new_state = self._update(_pack(lt), state, learning_rate, step)
            for name, array in zip(names, new_state, strict=True):
                self._state[name][index] = array
            layer.params = layer.params + update  # a new array: a trace holding the old one keeps it
            lt.packed_update = update
            lt.weight_update, lt.bias_update = _unpack(update, lt)

    def apply_packed(self, layers: Layers, grads: Sequence[Array], step: int, *,
                     flat: tuple[Array, Array] | None = None) -> None:
        """Update every layer in place from its packed gradient (rows, n_in + 1), with no Trace to fill:
        the untraced step (Network.train_batch). The same arithmetic as `apply`, so bit for bit the
        same parameters and state; the gradient arrays are used as scratch space. `flat` = (parameters,
        gradients) when every layer's params and grad are views of these two flat buffers (same layout):
        SGD is then two NumPy calls for the whole network."""
        config = self.config
        schedule = config.schedule
        learning_rate = config.learning_rate if schedule.kind == "constant" else schedule.rate(
            config.learning_rate, step)
        kind = config.kind
        if kind == "sgd":  # the common case: grad *= −η; params += grad
            factor = -learning_rate
            if flat is not None:
                params_flat, grad_flat = flat
                grad_flat *= factor
                params_flat += grad_flat
                return
            for layer, grad in zip(_layers(layers), grads, strict=True):
                grad *= factor
                params = layer.writable_params()
                params += grad
            return
        for index, (layer, grad) in enumerate(zip(_layers(layers), grads, strict=True)):
            params = layer.writable_params()
            if kind == "momentum":
                velocity = self._state["velocity"][index]
                velocity *= self.config.momentum  # μ·v − η·g, as `_update` computes it
                grad *= learning_rate
                velocity -= grad
                params += velocity
            else:
                state = [self._state[name][index] for name in ("m", "v")]
                update, (m, v) = self._update(grad, state, learning_rate, step)
                self._state["m"][index], self._state["v"][index] = m, v
                params += update

    def state_arrays(self) -> list[Array]:
        """The state's arrays in get_state's order (names, then layers), not copied: read them only."""
        return [array for arrays in self._state.values() for array in arrays]

    def get_state(self) -> State:
        """Copies of the state: {"velocity": [...]} or {"m": [...], "v": [...]} (one packed array per
        layer), {} for SGD."""
        return {name: [array.copy() for array in arrays] for name, arrays in self._state.items()}

    def set_state(self, state: State) -> None:
        """Restore a state from get_state (same optimiser kind and layer shapes); arrays are copied."""
        if set(state) != set(self._state):
            raise ValueError(f"optimizer state: expected keys {sorted(self._state)}, got {sorted(state)}")
        for name, arrays in state.items():
            current = self._state[name]
            if len(arrays) != len(current) or any(
                    np.shape(a) != c.shape for a, c in zip(arrays, current, strict=False)):
                raise ValueError(f"optimizer state: '{name}' does not match the network's layers")
            self._state[name] = [np.array(a, dtype=np.float64) for a in arrays]
