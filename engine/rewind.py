"""Rewind: the run's history of boundaries, stepping back, going back to a point, continuing an export.

Invariant: at a boundary the live state (parameters, optimiser state, RNG, counters) equals the newest
history snapshot; inside a batch the parameters are that snapshot's with the rows of the done update
events replaced by the batch's vectorized result (engine/micro_steps.py). That is what makes
back-then-forward bit-identical. A hand edit is a snapshot too, so one `back` of any unit undoes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from engine.divergence import trace_ok
from engine.errors import SetupError
from engine.events import Params
from engine.history import Snapshot, flatten, unflatten
from engine.metrics import Divergence, Metrics, MetricsLog
from engine.micro_steps import previous_stop
from engine.optim import Optimizer
from engine.run_config import Unit, check_unit
from engine.run_state import RunState


class Rewind(RunState):
    """Run's history: snapshots of boundaries and hand edits, `back`, `rewind_to`, export points."""

    def _snapshot(self, kind: Literal["start", "batch", "edit"]) -> Snapshot:
        params, params_layout = flatten(self.network.get_params())
        state, state_layout = flatten(self.optimizer.get_state())
        return Snapshot(kind, self.epoch, self.batch, self.updates, params, params_layout, state,
                        state_layout, self._optimizer_config.kind, dict(self.rng.bit_generator.state))

    def _restore(self, snapshot: Snapshot) -> None:
        """Put the live state back to `snapshot` (a boundary). An optimiser of another kind than the
        snapshot's (changed live since) starts from a fresh state."""
        self.network.set_params(unflatten(snapshot.params, snapshot.params_layout))
        if snapshot.optimizer_kind == self._optimizer_config.kind:
            self.optimizer.set_state(unflatten(snapshot.optimizer, snapshot.optimizer_layout))
        else:
            self.optimizer = Optimizer(self._optimizer_config, self.network)
        self.rng.bit_generator.state = snapshot.rng_state
        self.epoch, self.batch, self.updates = snapshot.epoch, snapshot.batch, snapshot.updates
        self.metrics.truncate_after(snapshot.updates)
        self._version += 1
        self._in_batch = None
        self.cursor = None

    def back(self, unit: str, count: int = 1) -> int:
        """Go back `count` stops of `unit`; an undone hand edit counts as one stop of any unit. Stops at
        the oldest point history holds. Returns how many were done. Clears `diverged`."""
        unit = check_unit(unit, count)
        done = 0
        with np.errstate(all="ignore"):
            while done < count and self._retreat(unit):
                done += 1
        if done or self.diverged is not None:
            self.diverged = None
            self.step_id += 1
        return done

    def _retreat(self, unit: Unit) -> bool:
        if self._in_batch is not None:
            assert self.cursor is not None
            target = previous_stop(self._in_batch.sequence, self.cursor, unit)
            if target >= 0:
                self._goto(target)
                return True
            self._restore(self.history.top)  # the boundary before this batch; its trace stays shown
            if unit == "epoch":
                self._retreat_to_epoch_start()
            return True
        if len(self.history) < 2:
            return False
        popped = self.history.pop()
        self._restore(self.history.top)
        self._shown = None
        if popped.kind == "edit":
            self._preview()
            return True
        if unit in ("micro", "sample"):
            return self._reenter_batch_at_end(unit)
        if unit == "epoch":
            self._retreat_to_epoch_start()
        self._preview()
        return True

    def _retreat_to_epoch_start(self) -> None:
        while self.batch != 0 and len(self.history) >= 2:
            self.history.pop()
            self._restore(self.history.top)
        self._preview()

    def _preview(self) -> None:
        """Show the next batch's trace at the current parameters (nothing applied)."""
        inputs, targets = self._batch_rows()
        trace = self.network.trace_batch(inputs, targets, self.config.regularization)
        self._trace = trace if trace_ok(trace) else None

    def rewind_to(self, index: int) -> None:
        """Go back to history point `index` (0 = the oldest held; see `history`)."""
        if not 0 <= index < len(self.history):
            raise SetupError("index", f"history holds points 0..{len(self.history) - 1}")
        self.history.truncate(index + 1)
        self._restore(self.history.top)
        self._shown = None
        self.diverged = None
        with np.errstate(all="ignore"):
            self._preview()
        self.step_id += 1

    # ---- the current point, for export and import ----------------------------------------------------
    def current_point_params(self) -> Params:
        """Parameters at the newest history point (the batch start when a batch is in progress)."""
        return list(unflatten(self.history.top.params, self.history.top.params_layout))

    def current_point_optimizer(self) -> Any:
        return unflatten(self.history.top.optimizer, self.history.top.optimizer_layout)

    def load_point(self, point: Snapshot, *, cursor: int | None, step_id: int,
                   metrics: Sequence[Metrics], diverged: Divergence | None) -> None:
        """Continue from an exported point: history restarts there; `cursor` replays the batch in
        progress. ValueError names the field (cursor, state) if the point does not fit this run."""
        if point.optimizer_kind != self._optimizer_config.kind:
            raise SetupError("state.optimizer.kind", f"expected {self._optimizer_config.kind!r}")
        self.history.clear()
        self.history.push(point)
        self.metrics = MetricsLog.restored(metrics)
        self._restore(point)
        self._shown = None
        self._trace = None
        self.step_id = step_id
        self.diverged = None
        if cursor is not None:
            with np.errstate(all="ignore"):
                began = self._begin_batch()
            if not began:
                self.diverged = None
                raise SetupError("cursor", "the batch in progress does not replay from this state")
            assert self._in_batch is not None
            last = len(self._in_batch.sequence) - 2
            if not 0 <= cursor <= last:
                self._restore(point)
                raise SetupError("cursor", f"expected 0..{last}")
            self._goto(cursor)
        self.diverged = diverged
