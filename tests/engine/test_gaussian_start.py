"""The Gaussian output unit starts where the lecture's linear unit is (σ² = 1) and trains on the plane data
with no hidden layer at the default learning rate; absurd finite losses count as divergence, and the state
a diverged run is put back to is a good one."""

from __future__ import annotations

import numpy as np

from engine.data import DataConfig
from engine.divergence import ABSURD_FACTOR
from engine.network import LayerConfig
from engine.optim import OptimizerConfig
from engine.stepper import Run, RunConfig


def plane_run(hidden: tuple[LayerConfig, ...] = (), learning_rate: float = 0.03) -> Run:
    return Run(RunConfig(dataset=DataConfig(name="plane"), hidden=hidden, output_unit="gaussian_nll",
                         optimizer=OptimizerConfig(learning_rate=learning_rate)))


def test_the_log_variance_starts_at_zero_for_every_input() -> None:
    run = plane_run((LayerConfig(4), LayerConfig(2)))
    inputs = np.random.default_rng(0).uniform(-6, 6, (50, 2))
    variance = run.network.predict(inputs)[:, 1]
    assert np.all(variance == 1.0)  # s = 0 exactly: zero weights and bias on the log-variance row


def test_plane_with_no_hidden_layer_trains_at_the_default_learning_rate() -> None:
    run = plane_run()
    start = run.losses()[0]
    # σ² = 1 over targets of about ±1 and means of up to ±8 (random weights on inputs of ±6): a few units,
    # not the 10⁴ a random log-variance gave
    assert 1.0 < start < 10.0
    losses = []
    for _ in range(2):
        assert run.step("epoch") == 1 and run.diverged is None
        losses.append(run.losses()[0])
    assert losses[0] < start / 5 and losses[1] < losses[0] < 1.0
    mean_row = run.network.layers[-1].params[0]
    np.testing.assert_allclose(mean_row, [0.1, 0.1, 0.0], atol=0.005)  # the plane's (x1 + x2) / 10


def test_plane_with_hidden_layers_trains_fifty_epochs_without_diverging() -> None:
    run = plane_run((LayerConfig(4), LayerConfig(2)))
    start = run.losses()[0]
    assert run.step("epoch", 50) == 50 and run.diverged is None
    assert run.losses()[0] < start - 1.0


def test_a_finite_but_absurd_loss_is_divergence_and_history_keeps_only_sensible_states() -> None:
    # exact-fit data drive σ² towards 0, and at a fixed η the mean's steps (∝ 1/σ²) blow up within a few
    # epochs: losses like 10¹³ appear while every number is still finite
    run = plane_run()
    start = run.losses()[0]
    run.step("epoch", 10)
    assert run.diverged is not None
    bound = ABSURD_FACTOR * max(abs(start), 1.0)
    assert abs(run.diverged.loss) >= bound or not np.isfinite(run.diverged.loss)
    # the state it was put back to, and every earlier one, has a sensible loss
    assert abs(run.losses()[0]) < bound
    assert all(abs(point.train_loss) < bound for point in run.history_metrics)
    while run.back("batch") == 1:
        assert abs(run.losses()[0]) < bound
    assert run.updates == 0 or run.back("batch") == 0
