"""Train / validation / test: the held-out points of a run cut in two, for choosing by trial and error.

The lecture picks the number of hidden units by trying several on a validation set and reports the
chosen one's error on a test set neither choice nor training has seen. A run holds out its test split
(engine/data.py); where a lesson asks for a validation split, the first half of those held-out points
(in their fixed, already shuffled order) is the validation set and the rest the test set. Training never
reads either half, so a run's trajectory is the same with or without the split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.metrics import _accuracy
from engine.run_data import RunData
from engine.stepper import Run


@dataclass(frozen=True)
class Split:
    """One split's numbers at the run's current parameters: mean data loss, accuracy (None for
    regression) and how many points it holds."""

    loss: float
    accuracy: float | None
    points: int


@dataclass(frozen=True)
class ThreeSplits:
    train: Split
    validation: Split
    test: Split


def validation_count(n_held_out: int) -> int:
    """How many of the held-out points are the validation set: the first half, rounded down, and at
    least one point left for the test set."""
    return max(0, min(n_held_out // 2, n_held_out - 1))


def three_splits(run: Run) -> ThreeSplits:
    """Losses and accuracies of the training, validation and test points at the current parameters, in
    one forward pass over all points (the same z gives prediction and loss, as engine/metrics.evaluate)."""
    data = RunData.of(run.dataset, run.config.features, run.config.output_unit)
    points = data.points
    network = run.network
    with np.errstate(all="ignore"):
        z = network.forward(points.inputs)
        per_sample = network.output.loss(z, points.targets)
        prediction = network.output.predict(z)
    n_train = points.n_train
    n_validation = validation_count(per_sample.shape[0] - n_train)
    bounds = {"train": (0, n_train), "validation": (n_train, n_train + n_validation),
              "test": (n_train + n_validation, per_sample.shape[0])}
    threshold = 0.5 if network.config.output_unit == "sigmoid_bce" else 0.0

    def split(start: int, stop: int) -> Split:
        loss = float(np.mean(per_sample[start:stop])) if stop > start else float("nan")
        accuracy = None
        if run.dataset.task != "regression" and stop > start:
            labels: NDArray = points.labels[start:stop]
            accuracy = _accuracy(prediction[start:stop], labels, network.config.n_targets, threshold)
        return Split(loss, accuracy, stop - start)

    return ThreeSplits(**{name: split(*bound) for name, bound in bounds.items()})
