"""When training has diverged: the bounds a batch's new parameters and its trace must stay within."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.network import Network
from engine.trace import Trace

PARAMETER_BOUND = 1e12  # a weight this large has left any sensible scale: treat it as divergence


def loss_ok(loss: float) -> bool:
    """A batch loss that is finite and below PARAMETER_BOUND (NaN fails the comparison)."""
    return math.isfinite(loss) and abs(loss) < PARAMETER_BOUND


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
