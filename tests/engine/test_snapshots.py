"""A run's boundary as a snapshot: the fast take() is history.flatten's tree, number for number."""

from __future__ import annotations

import numpy as np
import pytest

from engine import snapshots
from engine.history import flatten, unflatten
from engine.network import LayerConfig
from engine.optim import OptimizerConfig
from engine.stepper import Run, RunConfig


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("hidden", [(LayerConfig(4), LayerConfig(2)), (LayerConfig(3, "maxout", pieces=3),),
                                    ()])
def test_a_snapshot_holds_exactly_the_flattened_parameters_and_optimiser_state(kind, hidden) -> None:
    run = Run(RunConfig(hidden=hidden, optimizer=OptimizerConfig(kind=kind, learning_rate=0.1)))
    run.step("batch", 3)
    snapshot = snapshots.take("batch", run.network, run.optimizer, run.config.optimizer, run.rng,
                              (run.epoch, run.batch, run.updates))
    params, params_layout = flatten(run.network.get_params())
    state, state_layout = flatten(run.optimizer.get_state())
    assert np.array_equal(snapshot.params, params) and snapshot.params_layout == params_layout
    assert np.array_equal(snapshot.optimizer, state) and snapshot.optimizer_layout == state_layout
    assert (snapshot.epoch, snapshot.batch, snapshot.updates) == (0, 3, 3)
    for (w0, b0), (w1, b1) in zip(unflatten(snapshot.params, snapshot.params_layout),
                                  run.network.get_params(), strict=True):
        assert w0.shape == w1.shape and np.array_equal(w0, w1) and np.array_equal(b0, b1)
    if kind != "sgd":  # the state's numbers really are in it (not zeros from a fresh optimiser)
        assert np.any(snapshot.optimizer != 0.0)
