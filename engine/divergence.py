"""When training has diverged: the bounds a batch's new parameters and its trace must stay within."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine import printed
from engine.network import Network
from engine.trace import Trace

PARAMETER_BOUND = 1e12  # a weight this large has left any sensible scale: treat it as divergence


ABSURD_FACTOR = 1e6  # a loss a million times the starting one is not training any more, even if finite


def loss_bound(start_loss: float) -> float:
    """The largest |loss| a run accepts: ABSURD_FACTOR × its starting loss (at least 1, because a Gaussian
    NLL can start near 0 or below it), never above PARAMETER_BOUND."""
    scale = abs(start_loss) if math.isfinite(start_loss) else 1.0
    return min(PARAMETER_BOUND, ABSURD_FACTOR * max(scale, 1.0))


def loss_ok(loss: float, bound: float = PARAMETER_BOUND) -> bool:
    """A loss that is finite and below `bound` in size (NaN fails the comparison)."""
    return math.isfinite(loss) and abs(loss) < bound


def network_ok(network: Network) -> bool:
    """Every parameter finite and below PARAMETER_BOUND (NaN fails the comparison)."""
    return all(float(np.abs(layer.params).max()) < PARAMETER_BOUND for layer in network.layers)


def trace_ok(trace: Trace) -> bool:
    """Every number the page could show is finite (no NaN leaves the engine): prediction (B, n_out),
    loss_per_sample (B,), and each layer's pre_activation, activation, delta, grad_weights, grad_bias."""
    arrays: list[NDArray[Any]] = [trace.prediction, trace.loss_per_sample]
    for lt in trace.layers:
        arrays += [lt.pre_activation, lt.activation, lt.delta, lt.grad_weights, lt.grad_bias]
    # a sum is finite only if every term is (an overflow of finite terms errs on the safe side)
    return all(math.isfinite(float(array.sum())) for array in arrays) and math.isfinite(float(trace.loss))


def divergence_message(epoch: int, batch: int, loss: float, learning_rate: float) -> str:
    """Words for a diverged batch. `epoch`, `batch` are the run's counters when it started (epochs done,
    batches done in this epoch), so the batch is written as the inspector writes it: batch + 1 of
    epoch + 1."""
    shown = printed.loss(loss) if math.isfinite(loss) else "not a finite number"
    return (f"Training diverged in batch {batch + 1} of epoch {epoch + 1} (loss = {shown}). "
            f"The steps were too large: try a smaller learning rate (e.g. {learning_rate / 10:g} instead of "
            f"{learning_rate:g}), then step again, or go back or reset: the weights just before this are "
            "already large. The run was put back to the last good state, before this batch.")
