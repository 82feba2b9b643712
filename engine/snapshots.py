"""A run's boundary as a history Snapshot (engine/history.py) and back: parameters, optimiser state, RNG
and counters. Taking and restoring are exact, which is what makes back-then-forward bit-identical."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.events import Params
from engine.history import Snapshot, SnapshotKind, flatten, unflatten
from engine.network import Network
from engine.optim import Optimizer, OptimizerConfig


def take(kind: SnapshotKind, network: Network, optimizer: Optimizer, optimizer_config: OptimizerConfig,
         rng: np.random.Generator, counters: tuple[int, int, int]) -> Snapshot:
    """The boundary now: `counters` = (epoch, batch, updates); `optimizer_config` the one the optimiser
    state belongs to."""
    params, params_layout = flatten(network.get_params())
    state, state_layout = flatten(optimizer.get_state())
    epoch, batch, updates = counters
    return Snapshot(kind, epoch, batch, updates, params, params_layout, state, state_layout,
                    optimizer_config.kind, dict(rng.bit_generator.state))


def params_of(snapshot: Snapshot) -> Params:
    """The snapshot's (weights, bias) per layer (copies)."""
    return list(unflatten(snapshot.params, snapshot.params_layout))


def optimizer_state_of(snapshot: Snapshot) -> Any:
    return unflatten(snapshot.optimizer, snapshot.optimizer_layout)


def restore(snapshot: Snapshot, network: Network, optimizer: Optimizer, optimizer_config: OptimizerConfig,
            rng: np.random.Generator) -> Optimizer:
    """Put parameters, optimiser state and RNG back to `snapshot`; returns the optimiser to use: the same
    one, or a fresh one when the snapshot's state is of another kind than `optimizer_config` (changed live
    since)."""
    network.set_params(params_of(snapshot))
    if snapshot.optimizer_kind == optimizer_config.kind:
        optimizer.set_state(optimizer_state_of(snapshot))
    else:
        optimizer = Optimizer(optimizer_config, network)
    rng.bit_generator.state = snapshot.rng_state
    return optimizer
