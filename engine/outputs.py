"""Output unit + loss pairs: prediction, per-sample loss and delta = ∂L_i/∂z side by side, per pair.

Shapes: z is the output layer's pre-activation (B, n_out), y the targets (B, n_targets). The loss of
sample i is summed over output units; the batch loss is the mean over samples (engine/network.py).
`delta` is the per-sample ∂L_i/∂z (B, n_out), not divided by B. Titles, formulas, which targets each
unit fits and whether its outputs are probabilities are engine/vocabulary.py's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from engine import vocabulary
from engine.activations import sigmoid
from engine.errors import SetupError

Array = NDArray[np.float64]

OUTPUT_UNITS = tuple(vocabulary.OUTPUT_UNITS)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


class OutputUnit(Protocol):
    @property
    def name(self) -> str: ...

    def n_outputs(self, n_targets: int) -> int: ...
    def start(self, params: Array) -> Array: ...  # the output layer's first parameters, adjusted
    def predict(self, z: Array) -> Array: ...
    def loss(self, z: Array, y: Array) -> Array: ...
    def evaluate(self, z: Array, y: Array) -> tuple[Array, Array, Array]: ...


def _half_squared_norm(diff: Array) -> Array:
    """½ Σ_j diff_ij² per row, (B, n) -> (B,): one matrix product with a vector of halves does the sum and
    the scaling in one NumPy call (the batches are tiny, so the call count is the cost)."""
    width = diff.shape[1]
    halves = _HALVES.get(width)
    if halves is None:
        halves = _HALVES[width] = np.full(width, 0.5)
        halves.flags.writeable = False
    return np.dot(diff * diff, halves)


_HALVES: dict[int, Array] = {}  # the vector of ½ per output width, made once


class _SameWidth:
    """Units with one output per target, starting from the network's usual initial weights."""

    def n_outputs(self, n_targets: int) -> int:
        return n_targets

    def start(self, params: Array) -> Array:
        """The output layer's initial parameters (n_out, n_in + 1), unchanged."""
        return params


@dataclass(frozen=True)
class LinearMSE(_SameWidth):
    name: str = "linear_mse"

    def predict(self, z: Array) -> Array:
        return z.copy()

    def loss(self, z: Array, y: Array) -> Array:
        diff = z - y
        return _half_squared_norm(diff)

    def evaluate(self, z: Array, y: Array) -> tuple[Array, Array, Array]:
        """(prediction, loss (B,), delta (B, n_out))."""
        delta = z - y
        return z.copy(), _half_squared_norm(delta), delta


@dataclass(frozen=True)
class LinearL1(_SameWidth):
    name: str = "linear_l1"

    def predict(self, z: Array) -> Array:
        return z.copy()

    def loss(self, z: Array, y: Array) -> Array:
        return np.abs(z - y).sum(axis=1)

    def evaluate(self, z: Array, y: Array) -> tuple[Array, Array, Array]:
        diff = z - y
        return z.copy(), np.abs(diff).sum(axis=1), np.sign(diff)  # ∂|0| taken as 0


@dataclass(frozen=True)
class GaussianNLL:
    """2d outputs: the mean μ (first d) then the log-variance s (last d)."""

    name: str = "gaussian_nll"

    def n_outputs(self, n_targets: int) -> int:
        return 2 * n_targets

    def start(self, params: Array) -> Array:
        """The output layer's initial parameters (2d, n_in + 1) with the log-variance rows (the last d)
        all zero: s = 0, σ² = 1 for every input, the lecture's N(y; ŷ, I) and the scale of the page's
        regression targets (about ±1). Random weights there would make s a random plane over inputs
        of ±6 (σ² ≈ 0.001 in a corner, a first loss of 10⁴ on the plane data and divergence at once)."""
        d = params.shape[0] // 2
        params[d:] = 0.0
        return params

    def predict(self, z: Array) -> Array:
        """(B, 2d) -> μ then the variance e^s, (B, 2d)."""
        d = z.shape[1] // 2
        return np.concatenate([z[:, :d], np.exp(z[:, d:])], axis=1)

    def loss(self, z: Array, y: Array) -> Array:
        return self.evaluate(z, y)[1]

    def evaluate(self, z: Array, y: Array) -> tuple[Array, Array, Array]:
        d = z.shape[1] // 2
        mean, log_var = z[:, :d], z[:, d:]
        precision = np.exp(-log_var)
        diff = mean - y
        scaled = diff * diff * precision
        loss = (HALF_LOG_2PI * d) + 0.5 * (log_var + scaled).sum(axis=1)
        delta = np.concatenate([diff * precision, 0.5 * (1.0 - scaled)], axis=1)
        return np.concatenate([mean, np.exp(log_var)], axis=1), loss, delta


@dataclass(frozen=True)
class SigmoidBCE(_SameWidth):
    name: str = "sigmoid_bce"

    def predict(self, z: Array) -> Array:
        return sigmoid(z)

    def loss(self, z: Array, y: Array) -> Array:
        """−[y log σ(z) + (1 − y) log(1 − σ(z))] = softplus(z) − y·z, written without the cancellation of
        that difference: softplus(z) = max(z, 0) + log1p(e^(−|z|)), so the loss is
        log1p(e^(−|z|)) + (max(z, 0) − y·z), where the bracket is exactly 0 for a confident correct sample
        (z ≫ 0 with y = 1, or z ≪ 0 with y = 0) and the tiny log1p term keeps all its digits (e^(−20)
        relative to 1 + 20 would lose 7 of them). For targets between 0 and 1 the bracket is
        (1 − y)·z or −y·z, still one product, never a difference of two large numbers."""
        bracket = np.where(z > 0.0, (1.0 - y) * z, -y * z)
        return (np.log1p(np.exp(-np.abs(z))) + bracket).sum(axis=1)

    def evaluate(self, z: Array, y: Array) -> tuple[Array, Array, Array]:
        prediction = sigmoid(z)
        return prediction, self.loss(z, y), prediction - y


@dataclass(frozen=True)
class SoftmaxCE(_SameWidth):
    name: str = "softmax_ce"

    @staticmethod
    def _log_softmax(z: Array) -> Array:
        shifted = z - z.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def predict(self, z: Array) -> Array:
        return np.exp(self._log_softmax(z))

    def loss(self, z: Array, y: Array) -> Array:
        return -(y * self._log_softmax(z)).sum(axis=1)

    def evaluate(self, z: Array, y: Array) -> tuple[Array, Array, Array]:
        log_prediction = self._log_softmax(z)
        prediction = np.exp(log_prediction)
        # ŷ·Σy − y, which is ŷ − y for one-hot targets and stays exact for any target weights
        delta = prediction * y.sum(axis=1, keepdims=True) - y
        return prediction, -(y * log_prediction).sum(axis=1), delta


@dataclass(frozen=True)
class TanhMSE(_SameWidth):
    name: str = "tanh_mse"

    def predict(self, z: Array) -> Array:
        return np.tanh(z)

    def loss(self, z: Array, y: Array) -> Array:
        diff = np.tanh(z) - y
        return _half_squared_norm(diff)

    def evaluate(self, z: Array, y: Array) -> tuple[Array, Array, Array]:
        prediction = np.tanh(z)
        diff = prediction - y
        return prediction, _half_squared_norm(diff), diff * (1.0 - prediction * prediction)


_UNITS: dict[str, OutputUnit] = {
    unit.name: unit for unit in (LinearMSE(), LinearL1(), GaussianNLL(), SigmoidBCE(), SoftmaxCE(), TanhMSE())
}


def get(name: str) -> OutputUnit:
    """The output unit called `name` (one of OUTPUT_UNITS)."""
    if name not in _UNITS:
        raise SetupError("output_unit", "must be one of {names}", names=", ".join(OUTPUT_UNITS))
    return _UNITS[name]
