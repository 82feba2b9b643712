"""Training sanity: the TF-like default setup learns a linearly separable set; softmax separates blobs."""

from __future__ import annotations

import numpy as np

from engine.network import LayerConfig, Network, NetworkConfig
from engine.optim import Optimizer, OptimizerConfig, Regularization


def train(network: Network, optimizer: Optimizer, X: np.ndarray, Y: np.ndarray, epochs: int,
          batch_size: int) -> list[float]:
    """Plain epochs over a fixed order; the data loss on the whole set after each epoch."""
    losses, step = [], 0
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            rows = slice(start, start + batch_size)
            trace = network.trace_batch(X[rows], Y[rows], Regularization())
            optimizer.apply(network, trace, step)
            step += 1
        losses.append(network.data_loss(X, Y))
    return losses


def test_tf_default_setup_reaches_train_loss_below_one_hundredth_on_separable_data() -> None:
    rng = np.random.default_rng(0)
    labels = rng.choice([-1.0, 1.0], 250)
    X = labels[:, None] * 2.0 + rng.normal(0.0, 0.7, (250, 2))  # clusters at (2, 2) and (-2, -2)
    config = NetworkConfig(2, (LayerConfig(4, "tanh"), LayerConfig(2, "tanh")), "tanh_mse")
    network = Network(config, np.random.default_rng(1))
    losses = train(network, Optimizer(OptimizerConfig("sgd", 0.03), network), X, labels[:, None], 300, 10)
    assert losses[0] > 0.01
    assert min(losses) < 0.01


def test_softmax_cross_entropy_separates_three_gaussian_blobs() -> None:
    rng = np.random.default_rng(2)
    classes = rng.integers(0, 3, 300)
    centres = 3.0 * np.array([[1.0, 0.0], [-0.5, 0.87], [-0.5, -0.87]])
    X = centres[classes] + rng.normal(0.0, 0.6, (300, 2))
    Y = np.eye(3)[classes]
    config = NetworkConfig(2, (LayerConfig(6, "relu"),), "softmax_ce", 3)
    network = Network(config, np.random.default_rng(3))
    losses = train(network, Optimizer(OptimizerConfig("sgd", 0.05), network), X, Y, 60, 10)
    accuracy = np.mean(network.predict(X).argmax(axis=1) == classes)
    assert losses[-1] < losses[0]
    assert accuracy > 0.95
