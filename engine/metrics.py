"""What a run records and reports besides its parameters: losses and accuracy per batch, divergence, grids."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from engine.network import Network
from engine.optim import Regularization, penalty

METRICS_LIMIT = 2000  # points kept; past it the older half is thinned to every other point

Split = tuple[NDArray[np.float64], NDArray[np.float64], NDArray]  # inputs (N, F), targets (N, T), labels (N,)


@dataclass(frozen=True)
class Metrics:
    """One point of the loss chart, taken after a batch: `step` = batches applied since the start.
    Losses are the data term (mean over the split); `reg` the regularization term; accuracies are
    fractions for classification, None for regression."""

    epoch: int
    batch: int
    step: int
    train_loss: float
    test_loss: float
    reg: float
    accuracy: float | None
    test_accuracy: float | None


@dataclass(frozen=True)
class Divergence:
    epoch: int
    batch: int
    loss: float
    message: str


@dataclass(frozen=True)
class GridValues:
    """Heat-map values over the input plane, row-major, row 0 at ymin: layers[l] (res*res, n_{l+1}) for
    every layer (the last is the output layer), prediction (res*res, n_out)."""

    resolution: int
    extent: tuple[float, float, float, float]
    layers: list[NDArray[np.float64]]
    prediction: NDArray[np.float64]


@dataclass
class MetricsLog:
    """Metrics in step order, at most METRICS_LIMIT points (older ones thinned, newest kept)."""

    points: list[Metrics] = field(default_factory=list)
    limit: int = METRICS_LIMIT

    def append(self, point: Metrics) -> None:
        self.points.append(point)
        if len(self.points) > self.limit:
            half = len(self.points) // 2
            self.points[:half] = self.points[:half:2]

    def truncate_after(self, step: int) -> None:
        """Drop the points taken after `step` batches (rewind)."""
        while self.points and self.points[-1].step > step:
            self.points.pop()


def _accuracy(prediction: NDArray[np.float64], labels: NDArray, n_targets: int, threshold: float) -> float:
    """Classification accuracy: the largest of the first n_targets outputs for several classes, the
    single output against `threshold` (0 for ±1 targets, 0.5 for probabilities) for two."""
    if labels.shape[0] == 0:
        return 0.0
    if n_targets == 1:
        chosen = (prediction[:, 0] > threshold).astype(np.int64)
    else:
        chosen = np.argmax(prediction[:, :n_targets], axis=1)
    return float(np.mean(chosen == labels))


def evaluate(network: Network, regularization: Regularization, task: str, train: Split, test: Split,
             *, epoch: int, batch: int, step: int) -> Metrics:
    """Losses (one forward pass per split) and accuracy at the network's current parameters."""
    config = network.config
    threshold = 0.5 if config.output_unit == "sigmoid_bce" else 0.0
    results: list[tuple[float, float | None]] = []
    for inputs, targets, labels in (train, test):
        z = network.forward(inputs)  # one pass for both the prediction and the loss
        prediction = network.output.predict(z)
        loss = float(np.mean(network.output.loss(z, targets))) if len(inputs) else 0.0
        accuracy = (None if task == "regression"
                    else _accuracy(prediction, labels, config.n_targets, threshold))
        results.append((loss, accuracy))
    reg = penalty(regularization, [layer.weights for layer in network.layers])
    (train_loss, train_accuracy), (test_loss, test_accuracy) = results
    return Metrics(epoch, batch, step, train_loss, test_loss, reg, train_accuracy, test_accuracy)
