"""The rows a run reads: the training split in its fixed order, cut into batches, and both splits stacked
for evaluating the losses in one pass."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine import features as feature_transforms
from engine.data import Dataset, targets_for
from engine.metrics import Points

Array = NDArray[np.float64]


@dataclass(frozen=True)
class RunData:
    """train_inputs (N_train, F) after the feature transform and train_targets (N_train, T) in the fixed
    train order (never reshuffled); `points`: train then test rows, for engine.metrics.evaluate."""

    train_inputs: Array
    train_targets: Array
    points: Points

    @classmethod
    def of(cls, dataset: Dataset, features: tuple[str, ...], output_unit: str) -> RunData:
        """The rows of `dataset` for a network with these input features and output unit (SetupError
        naming output_unit when the labels do not fit it)."""
        targets = targets_for(dataset.labels, dataset.task, output_unit, dataset.n_classes)
        inputs = feature_transforms.transform(dataset.points, features)
        order = np.concatenate([dataset.train_index, dataset.test_index])
        points = Points(inputs[order], targets[order], np.asarray(dataset.labels)[order],
                        int(dataset.train_index.shape[0]))
        return cls(inputs[dataset.train_index], targets[dataset.train_index], points)

    @property
    def n_train(self) -> int:
        return int(self.train_inputs.shape[0])

    def batches_per_epoch(self, batch_size: int) -> int:
        """ceil(N_train / batch_size): the last batch of an epoch is partial."""
        return math.ceil(self.n_train / batch_size)

    def batch_rows(self, batch: int, batch_size: int) -> tuple[Array, Array]:
        """Batch `batch` (0-based in its epoch): inputs (B, F) and targets (B, T)."""
        start = batch * batch_size
        return self.train_inputs[start:start + batch_size], self.train_targets[start:start + batch_size]
