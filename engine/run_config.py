"""What defines a training run (RunConfig) and the units a run steps by (micro, sample, batch, epoch)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal, cast

from engine import features as feature_transforms
from engine import vocabulary
from engine.data import DataConfig
from engine.errors import SetupError
from engine.network import LayerConfig
from engine.optim import OptimizerConfig, Schedule
from engine.regularization import Regularization

Unit = Literal["micro", "sample", "batch", "epoch"]
UNITS = cast(tuple[Unit, ...], tuple(vocabulary.STEP_UNITS))  # tests/test_vocabulary.py: equal to Unit
MAX_COUNT = 1_000_000


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run; JSON-able with dataclasses.asdict. Features are kept in the fixed
    FEATURES order (the network's input units). ValueError names the field."""

    dataset: DataConfig = field(default_factory=DataConfig)
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[LayerConfig, ...] = (LayerConfig(4), LayerConfig(2))
    output_unit: str = "tanh_mse"
    init: str | None = None
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    regularization: Regularization = field(default_factory=Regularization)
    batch_size: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", feature_transforms.ordered(self.features))
        object.__setattr__(self, "hidden", tuple(self.hidden))
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise SetupError("batch_size", "must be a whole number of at least 1")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise SetupError("seed", "must be a whole number from 0 to 2**63 - 1")


def live_config(config: RunConfig, *, learning_rate: float | None = None, schedule: Schedule | None = None,
                optimizer: OptimizerConfig | None = None,
                regularization: Regularization | None = None) -> RunConfig:
    """`config` with the settings a run may change without a reset; None keeps a setting. The learning
    rate and schedule apply to `optimizer` when both are given. SetupError names a refused value."""
    new_optimizer = optimizer if optimizer is not None else config.optimizer
    if learning_rate is not None:
        if not (math.isfinite(learning_rate) and learning_rate >= 0):
            raise SetupError("learning_rate", "must be a finite number ≥ 0")
        new_optimizer = dataclasses.replace(new_optimizer, learning_rate=float(learning_rate))
    if schedule is not None:
        new_optimizer = dataclasses.replace(new_optimizer, schedule=schedule)
    new_regularization = regularization if regularization is not None else config.regularization
    return dataclasses.replace(config, optimizer=new_optimizer, regularization=new_regularization)
