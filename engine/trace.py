"""The trace of one batch step (forward, backward, update): the single source of truth the page reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass
class LayerTrace:
    """One layer's numbers for a batch of B samples. Maxout layers (k pieces) have the shapes in brackets.

    The arrays belong to this trace: later steps of the network never write into them."""

    weights: Array          # before the update, (n_out, n_in) [(n_out, k, n_in)]
    bias: Array             # (n_out,) [(n_out, k)]
    pre_activation: Array   # e = W·x + b, (B, n_out) [(B, n_out, k)]
    activation: Array       # y = f(e), (B, n_out); the output layer's is the prediction ŷ
    delta: Array            # per-sample ∂L_i/∂z, (B, n_out) [∂L_i/∂(chosen piece)]
    grad_weights: Array     # like weights: batch mean of delta ⊗ input, plus the regularization gradient
    grad_bias: Array        # like bias: batch mean of delta (no regularization on biases)
    weight_update: Array | None = None  # the change the optimiser applied (new − old), like weights
    bias_update: Array | None = None    # like bias
    argmax: NDArray[np.int64] | None = None  # maxout only: the chosen piece per sample and unit, (B, n_out)

    def __post_init__(self) -> None:
        # Weights and bias gradient side by side, (rows, n_in + 1) with rows = n_out [n_out·k], when the
        # network produced them that way: the optimiser updates weights and bias in one operation.
        # Not a dataclass field, so it never reaches the JSON API.
        self.packed_grad: Array | None = None
        self.packed_update: Array | None = None  # the same for the update, filled by the optimiser


@dataclass
class Trace:
    """One batch: inputs (B, n_in), targets (B, n_targets), prediction (B, n_out), losses, layers 1..L."""

    inputs: Array
    targets: Array
    prediction: Array
    loss_per_sample: Array  # (B,)
    loss_data: float        # mean of loss_per_sample
    loss_reg: float         # the regularization term at the weights before the update
    layers: list[LayerTrace]
    learning_rate: float | None = None  # filled when the optimiser applies the update

    @property
    def loss(self) -> float:
        """The batch loss the gradient descends: data term plus regularization term."""
        return self.loss_data + self.loss_reg
