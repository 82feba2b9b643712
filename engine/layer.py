"""One layer's parameters: weights and bias side by side in one array `params` (rows, n_in + 1).

The last column is the bias, and rows = n_out (n_out·k for maxout, piece-major within a unit). With a
column of ones appended to the layer's input, one matrix product gives e = W·x + b for the whole batch and
one gives the gradient of weights and bias together, which keeps the number of NumPy calls per batch low;
tiny networks are dominated by per-call overhead, not arithmetic. `weights` and `bias` are views of
`params` in the contract's shapes (engine/trace.py, docs/architecture.md).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.activations import Activation

Array = NDArray[np.float64]


class Layer:
    """One layer. `params` (rows, n_in + 1) is rebound (never written in place) by the optimiser, so a
    Trace that holds the old array keeps its numbers; `weights`/`bias` are live views for reading and
    in-place edits."""

    def __init__(self, n_in: int, n_out: int, activation_name: str, activation: Activation | None,
                 pieces: int, params: Array) -> None:
        self.n_in = n_in
        self.n_out = n_out
        self.activation_name = activation_name  # the output layer's is its output unit's name
        self.activation = activation            # None for the output layer (the output unit acts there)
        self.pieces = pieces                    # 1 unless maxout
        self._params = params
        self._shared = False  # True while a Trace holds `params`: copy before any in-place write

    @property
    def params(self) -> Array:
        return self._params

    @params.setter
    def params(self, value: Array) -> None:
        self._params = value
        self._shared = False

    def writable_params(self) -> Array:
        """`params`, copied first if a Trace shares it (so editing a weight never rewrites a trace)."""
        if self._shared:
            self._params = self._params.copy()
            self._shared = False
        return self._params

    @property
    def weights(self) -> Array:
        """(n_out, n_in), or (n_out, k, n_in) for maxout; a view, writable in place."""
        view = self.writable_params()[:, :-1]
        return view if self.pieces == 1 else view.reshape(self.n_out, self.pieces, self.n_in)

    @weights.setter
    def weights(self, value: Array) -> None:
        self.weights[...] = value

    @property
    def bias(self) -> Array:
        """(n_out,), or (n_out, k) for maxout; a view, writable in place."""
        view = self.writable_params()[:, -1]
        return view if self.pieces == 1 else view.reshape(self.n_out, self.pieces)

    @bias.setter
    def bias(self, value: Array) -> None:
        self.bias[...] = value


def _with_ones(values: Array) -> Array:
    """(B, n) -> (B, n + 1) with a last column of ones (the bias input)."""
    augmented = np.empty((values.shape[0], values.shape[1] + 1))
    augmented[:, :-1] = values
    augmented[:, -1] = 1.0
    return augmented
