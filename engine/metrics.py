"""What a run records and reports besides its parameters: losses and accuracy per batch, divergence, grids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from engine import divergence
from engine.errors import Value
from engine.network import Network
from engine.optim import Regularization, penalty

CHART_POINTS = 200  # the loss chart (260 px wide) holds at most this many points, at least half as many



@dataclass(frozen=True)
class Points:
    """Both splits stacked for one evaluation pass: rows [:n_train] are the training split, the rest the
    test split. inputs (N, F) after the feature transform, targets (N, T), labels (N,)."""

    inputs: NDArray[np.float64]
    targets: NDArray[np.float64]
    labels: NDArray
    n_train: int


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
    """Where a run diverged (its counters then, the batch's loss) and why, in English (`message`, as an
    export keeps it). `template` and `values` are those words to say in another language; a run exported
    before the learning rate was kept (`learning_rate` None) has only its English words."""

    epoch: int
    batch: int
    loss: float
    message: str
    learning_rate: float | None = None

    @property
    def template(self) -> str:
        return self.message if self.learning_rate is None else divergence.DIVERGED

    @property
    def values(self) -> dict[str, Value]:
        if self.learning_rate is None:
            return {}
        return divergence.divergence_values(self.epoch, self.batch, self.loss, self.learning_rate)


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
    """The loss chart: Metrics after every `every`-th batch (steps every, 2·every, 3·every, ...), oldest
    first, at most `limit` points. When one more point would not fit, `every` doubles and the points
    between go, so the chart always samples evenly and a long run costs one evaluation every `every`
    batches. `every` is a power of two; it never shrinks (back keeps it).

    The Run appends a point when a batch completes at a step that is `due`, and truncates the log when it
    goes back (`truncate_after`), so the log always ends at or before the run's position. The current
    state's numbers (which may lie between two points) are Run.current_metrics()."""

    points: list[Metrics] = field(default_factory=list)
    limit: int = CHART_POINTS
    every: int = 1

    def due(self, step: int) -> bool:
        """True when the point after `step` batches belongs on the chart."""
        return step > 0 and step % self.every == 0

    def append(self, point: Metrics) -> None:
        """Add the point after `point.step` batches; ignored unless due and newer than the last point."""
        if not self.due(point.step) or (self.points and point.step <= self.points[-1].step):
            return
        self.points.append(point)
        while len(self.points) > self.limit:
            self.every *= 2
            self.points = [p for p in self.points if p.step % self.every == 0]

    def truncate_after(self, step: int) -> None:
        """Drop the points taken after `step` batches (back, rewind)."""
        while self.points and self.points[-1].step > step:
            self.points.pop()

    def since(self, step: int) -> list[Metrics]:
        """The points taken after `step` batches, oldest first."""
        return [p for p in self.points if p.step > step]

    @classmethod
    def restored(cls, points: Sequence[Metrics], limit: int = CHART_POINTS) -> MetricsLog:
        """A log holding `points` (an export's, oldest first): `every` is the largest power of two that
        divides every step, so the points after them keep the spacing the chart had."""
        every = 1
        steps = [p.step for p in points if p.step > 0]
        while steps and all(step % (2 * every) == 0 for step in steps):
            every *= 2
        log = cls(limit=limit, every=every)
        for point in points:
            log.append(point)
        return log


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


def evaluate(network: Network, regularization: Regularization, task: str, points: Points,
             *, epoch: int, batch: int, step: int) -> Metrics:
    """Losses and accuracy of both splits at the network's current parameters, in one forward pass over
    every point (the prediction and the loss come from the same z), and R at the current weights."""
    config = network.config
    z = network.forward(points.inputs)
    per_sample = network.output.loss(z, points.targets)
    n = points.n_train
    train_loss = float(np.mean(per_sample[:n])) if n else 0.0
    test_loss = float(np.mean(per_sample[n:])) if len(per_sample) > n else 0.0
    train_accuracy = test_accuracy = None
    if task != "regression":
        threshold = 0.5 if config.output_unit == "sigmoid_bce" else 0.0
        prediction = network.output.predict(z)
        train_accuracy = _accuracy(prediction[:n], points.labels[:n], config.n_targets, threshold)
        test_accuracy = _accuracy(prediction[n:], points.labels[n:], config.n_targets, threshold)
    reg = penalty(regularization, [layer.weights for layer in network.layers])
    return Metrics(epoch, batch, step, train_loss, test_loss, reg, train_accuracy, test_accuracy)
