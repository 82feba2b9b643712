"""What the parts of a Run share: its live state, and the steps one part asks of another.

Run (engine/stepper.py) is put together from MicroSteps (engine/micro_steps.py) and Rewind
(engine/rewind.py); each part subclasses RunState so the type checker knows the whole run. The method
declarations below exist for the type checker only: at run time each is the one its part defines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from engine.data import Dataset
from engine.events import TeachingSequence
from engine.history import History, Snapshot
from engine.metrics import Divergence, MetricsLog
from engine.network import Network
from engine.optim import Optimizer, OptimizerConfig
from engine.run_config import RunConfig, Unit
from engine.trace import Trace

if TYPE_CHECKING:
    from engine.micro_steps import BatchInProgress


class RunState:
    """A run's live state; see engine/stepper.py for the meaning of each counter."""

    config: RunConfig
    dataset: Dataset
    network: Network
    optimizer: Optimizer
    rng: np.random.Generator
    history: History
    metrics: MetricsLog
    epoch: int
    batch: int
    updates: int
    step_id: int
    cursor: int | None               # index of the last event done in the batch in progress
    diverged: Divergence | None
    _optimizer_config: OptimizerConfig  # the optimiser the live state belongs to (config may be newer)
    _in_batch: BatchInProgress | None
    _shown: TeachingSequence | None  # a completed batch whose last event is still shown
    _trace: Trace | None
    _version: int                    # +1 on every change of what the losses depend on

    if TYPE_CHECKING:
        # engine/stepper.py
        def _batch_rows(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
        def _vectorized(self) -> Trace | None: ...
        def _finish_batch(self, final: bool) -> bool: ...
        def _fall_back(self, loss: float) -> None: ...

        # engine/micro_steps.py
        def _begin_batch(self) -> bool: ...
        def _goto(self, cursor: int) -> None: ...
        def _reenter_batch_at_end(self, unit: Unit) -> bool: ...

        # engine/rewind.py
        def _snapshot(self, kind: Literal["start", "batch", "edit"]) -> Snapshot: ...
        def _restore(self, snapshot: Snapshot) -> None: ...
        def _preview(self) -> None: ...
