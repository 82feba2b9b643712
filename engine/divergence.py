"""When training has diverged: the bounds a batch's new parameters and its trace must stay within."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine import printed
from engine.errors import N_, Phrase, Value
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


# The words for a diverged batch, in English; the app says them in the page's language (app/i18n.py
# `said` on the run's Divergence, stepwise.js from a frame's `divergence` figures) with the same figures.
DIVERGED = N_("Training diverged in batch {batch} of epoch {epoch} (loss = {loss}). The steps were too "
              "large: try a smaller learning rate (e.g. {smaller} instead of {rate}), then step again, or "
              "go back or reset: the weights just before this are already large. The run was put back to "
              "the last good state, before this batch.")
NOT_FINITE = Phrase(N_("not a finite number"))


def divergence_values(epoch: int, batch: int, loss: float, learning_rate: float) -> dict[str, Value]:
    """DIVERGED's figures. `epoch`, `batch` are the run's counters when it started (epochs done, batches
    done in this epoch), so the batch is written as the inspector writes it: batch + 1 of epoch + 1."""
    return {"batch": batch + 1, "epoch": epoch + 1,
            "loss": printed.loss(loss) if math.isfinite(loss) else NOT_FINITE,
            "smaller": f"{learning_rate / 10:g}", "rate": f"{learning_rate:g}"}


def divergence_message(epoch: int, batch: int, loss: float, learning_rate: float) -> str:
    """DIVERGED in English with its figures."""
    return DIVERGED.format_map(divergence_values(epoch, batch, loss, learning_rate))
