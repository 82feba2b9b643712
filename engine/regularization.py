"""Regularization: a penalty R on the weights (never the biases) added to the batch loss, and its gradient.

L1: R = rate·Σ|w|, dR/dw = rate·sign(w) (sign(0) = 0). L2: R = (rate/2)·Σw², dR/dw = rate·w. The
network adds dR/dW to every layer's weight gradient (engine/network.py); the run reports R at the
current weights (engine/metrics.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from engine import vocabulary
from engine.errors import SetupError

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Regularization:
    """A penalty on the weights (never the biases): L1 = rate·Σ|w|, L2 = (rate/2)·Σw²."""

    kind: Literal["none", "l1", "l2"] = "none"
    rate: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in vocabulary.REGULARIZATIONS:
            raise SetupError("regularization", "kind must be one of {names}",
                             names=", ".join(vocabulary.REGULARIZATIONS))
        if not (math.isfinite(self.rate) and self.rate >= 0.0):
            raise SetupError("regularization", "rate must be a finite number ≥ 0")

    def gradient(self, weights: Array) -> Array:
        """dR/dW, same shape as `weights` (L1 takes sign(0) = 0)."""
        if self.kind == "l1":
            return self.rate * np.sign(weights)
        if self.kind == "l2":
            return self.rate * weights
        return np.zeros_like(weights)


def penalty(regularization: Regularization, weights: Sequence[Array]) -> float:
    """The regularization term R over every layer's weights (any shapes)."""
    if regularization.kind == "none" or regularization.rate == 0.0:
        return 0.0
    if regularization.kind == "l1":
        return regularization.rate * sum(float(np.abs(w).sum()) for w in weights)
    return 0.5 * regularization.rate * sum(float(np.vdot(w, w)) for w in weights)
