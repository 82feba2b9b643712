"""A run's boundary as a history Snapshot (engine/history.py) and back: parameters, optimiser state, RNG
and counters. Taking and restoring are exact, which is what makes back-then-forward bit-identical."""

from __future__ import annotations

import numpy as np

from engine.history import Layout, Snapshot, SnapshotKind, flatten
from engine.network import Network
from engine.optim import Optimizer, OptimizerConfig

# layouts by the shapes they describe: a batch's snapshot then skips walking the trees (history.flatten)
_layouts: dict[tuple[object, ...], tuple[Layout, Layout]] = {}


def take(kind: SnapshotKind, network: Network, optimizer: Optimizer, optimizer_config: OptimizerConfig,
         rng: np.random.Generator, counters: tuple[int, int, int]) -> Snapshot:
    """The boundary now: `counters` = (epoch, batch, updates); `optimizer_config` the one the optimiser
    state belongs to. The vectors and layouts are history.flatten's of network.get_params() and
    optimizer.get_state(), number for number (tests/engine/test_snapshots.py), built without the trees:
    one concatenation each."""
    layers = network.layers
    state = optimizer.state_arrays()
    key = (optimizer_config.kind, *((layer.n_out, layer.pieces, layer.n_in) for layer in layers),
           *(array.shape for array in state))
    layouts = _layouts.get(key)
    if layouts is None:
        layouts = _layouts[key] = (flatten(network.get_params())[1], flatten(optimizer.get_state())[1])
    parts = [part for layer in layers for part in (layer.params[:, :-1].ravel(), layer.params[:, -1])]
    params = np.concatenate(parts)
    state_vector = np.concatenate([array.ravel() for array in state]) if state else np.empty(0)
    epoch, batch, updates = counters
    return Snapshot(kind, epoch, batch, updates, params, layouts[0], state_vector, layouts[1],
                    optimizer_config.kind, dict(rng.bit_generator.state))


def restore(snapshot: Snapshot, network: Network, optimizer: Optimizer, optimizer_config: OptimizerConfig,
            rng: np.random.Generator) -> Optimizer:
    """Put parameters, optimiser state and RNG back to `snapshot`; returns the optimiser to use: the same
    one, or a fresh one when the snapshot's state is of another kind than `optimizer_config` (changed live
    since)."""
    network.set_params(snapshot.parameters())
    if snapshot.optimizer_kind == optimizer_config.kind:
        optimizer.set_state(snapshot.optimizer_state())
    else:
        optimizer = Optimizer(optimizer_config, network)
    rng.bit_generator.state = snapshot.rng_state
    return optimizer
