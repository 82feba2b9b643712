"""One batch's update on the live network, traced or untraced, and whether it stayed sane.

A batch whose loss is not finite or beyond the run's bound, or whose new parameters are not finite or
beyond PARAMETER_BOUND (engine/divergence.py), has diverged: these functions report it and leave the
network as the update left it; the run then puts back its last boundary (engine/run.py `_fall_back`).
"""

from __future__ import annotations

from engine.divergence import loss_ok, network_ok, trace_ok
from engine.network import Array, Network
from engine.optim import Optimizer, OptimizerConfig
from engine.regularization import Regularization
from engine.trace import Trace


def traced(network: Network, optimizer: Optimizer, inputs: Array, targets: Array,
           regularization: Regularization, step: int, bound: float) -> tuple[Trace | None, float]:
    """Trace the batch (inputs (B, F), targets (B, T)) and apply the optimiser's update number `step`:
    (the trace, or None if it diverged; the batch loss before the update; `bound` the largest loss)."""
    trace = network.trace_batch(inputs, targets, regularization)
    loss = float(trace.loss)
    if loss_ok(loss, bound):
        optimizer.apply(network, trace, step)
        if network_ok(network) and trace_ok(trace):
            return trace, loss
    return None, loss


def untraced(network: Network, optimizer: Optimizer, inputs: Array, targets: Array,
             regularization: Regularization, step: int, bound: float) -> tuple[bool, float]:
    """The same update with no Trace kept (Network.train_batch, bit for bit the traced one's numbers):
    (False if it diverged; the batch's data loss before the update)."""
    loss = network.train_batch(inputs, targets, regularization, optimizer, step)
    return loss_ok(loss, bound) and network_ok(network), loss


def synced(optimizer: Optimizer, current: OptimizerConfig, wanted: OptimizerConfig,
           network: Network) -> Optimizer:
    """The optimiser for a batch that starts now: `optimizer` (for `current`) while nothing changed,
    else one for `wanted`, keeping the state when the kind is the same (a new learning rate, momentum,
    schedule)."""
    if current == wanted:
        return optimizer
    state = optimizer.get_state()
    fresh = Optimizer(wanted, network)
    if current.kind == wanted.kind:
        fresh.set_state(state)
    return fresh
