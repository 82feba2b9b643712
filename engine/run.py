"""A training run, top to bottom: what a run is, stepping, the batch in progress, rewind, changes by hand.

Positions. A run is either at a *boundary* (no batch in progress, `cursor is None`) or *inside* a batch
at `cursor`, the index of the last event done in that batch's TeachingSequence. Doing the batch's last
event (its last update) completes the batch: the run is then at the next boundary. Stops per unit:
micro = every position, sample = boundaries and every accumulate event, batch = boundaries, epoch =
boundaries where `batch == 0`. `step(unit)` moves to the next stop, `back(unit)` to the previous one.

History. At a boundary the live state (parameters, optimiser state, RNG, counters) equals the newest
history snapshot; inside a batch the parameters are that snapshot's with the rows of the done update
events replaced by the batch's vectorized result (engine/batch_cursor.py). That is what makes
back-then-forward bit-identical. A hand edit is a snapshot too, so one `back` of any unit undoes it.

Live settings (learning rate, schedule, optimiser, regularization) are not history: `update_live` takes
effect when the next batch starts, and a batch replayed after `back` runs with the current settings.

Beside it: run_config.py (RunConfig, units), run_data.py (the rows), batch_step.py (one batch's update),
batch_cursor.py (stops inside a batch), snapshots.py (boundaries), metrics.py (losses, the loss chart).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine import batch_cursor, batch_step, maps, snapshots
from engine.batch_cursor import BatchInProgress
from engine.data import CUSTOM, Dataset, make_dataset, n_targets_for
from engine.divergence import divergence_message, loss_bound, loss_ok, trace_ok
from engine.errors import SetupError
from engine.events import Event, OptimizerStep, Params, TeachingSequence
from engine.history import DEFAULT_HISTORY, History, Snapshot, SnapshotKind
from engine.metrics import Divergence, GridValues, Metrics, MetricsLog, evaluate
from engine.network import Network, NetworkConfig
from engine.optim import Optimizer, OptimizerConfig, Schedule
from engine.regularization import Regularization
from engine.run_config import MAX_COUNT, UNITS, RunConfig, Unit, live_config
from engine.run_data import RunData
from engine.trace import Trace

MAX_EDIT = 1e6  # the largest |value| a hand edit may set


def check_unit(unit: Any, count: int) -> Unit:
    """`unit` as a Unit and `count` as 1..MAX_COUNT, or ValueError naming the field."""
    if unit not in UNITS:
        raise SetupError("unit", "must be one of {names}", names=", ".join(UNITS))
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise SetupError("count", "must be a whole number from 1 to {high}", high=MAX_COUNT)
    return unit


class Run:
    """One training run (positions, history and live settings: this module's docstring). `config`,
    `dataset`, `network`, `optimizer`, `rng`; `history` (boundaries and hand edits, newest = the current
    boundary); `metrics` (the loss chart); counters `epoch` (completed epochs), `batch` (completed batches
    in this epoch), `updates` (batches applied since the start: the optimiser's step number); `step_id`
    (+1 on every call that changes anything); `diverged` (None or the Divergence)."""

    def __init__(self, config: RunConfig, dataset: Dataset | None = None,
                 history_limit: int = DEFAULT_HISTORY) -> None:
        if dataset is None:
            if config.dataset.name == CUSTOM:
                raise SetupError("dataset", "custom data needs its points (upload a CSV or import a run)")
            dataset = make_dataset(config.dataset)
        self.config = config
        self.history_limit = history_limit
        self.step_id = 0
        # +1 whenever what the losses depend on changes (parameters, data, regularization): the key of
        # the cached evaluation at the current parameters (current_metrics)
        self._version = 0
        self._measured: tuple[int, Metrics] | None = None
        self._bind_data(dataset)
        self.network_config = NetworkConfig(
            n_inputs=len(config.features), hidden=config.hidden, output_unit=config.output_unit,
            n_targets=n_targets_for(dataset, config.output_unit), init=config.init,
        )
        self._start(config.seed)

    def _bind_data(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self._data = RunData.of(dataset, self.config.features, self.config.output_unit)
        self._version += 1

    def _start(self, seed: int) -> None:
        """Fresh network, optimiser, counters, history and metrics from `seed` (same seed, same run)."""
        self.rng = np.random.default_rng(seed)
        self.network = Network(self.network_config, self.rng)
        self.optimizer = Optimizer(self.config.optimizer, self.network)
        # the optimiser the live state belongs to (config.optimizer may be newer: update_live)
        self._optimizer_config = self.config.optimizer
        self.epoch = self.batch = self.updates = 0
        self.diverged: Divergence | None = None
        self.metrics = MetricsLog()
        self.history = History(self.history_limit)
        self._in_batch: BatchInProgress | None = None
        self._shown: TeachingSequence | None = None  # a batch micro-steps completed: its last event shows
        self._trace: Trace | None = None
        self._version += 1
        # divergence includes finite but absurd losses, measured against where this network started
        self._loss_bound = loss_bound(self.current_metrics().train_loss)
        self.history.push(self._snapshot("start"))

    def reset(self, seed: int | None = None) -> None:
        """Back to a fresh network (same seed ⇒ same initial weights); data and settings are kept."""
        if seed is not None:
            self.config = dataclasses.replace(self.config, seed=seed)
        self._start(self.config.seed)
        self.step_id += 1

    def rebuild(self, config: RunConfig) -> Run:
        """A new Run for a config that changes the network or data (layers, activations, output unit,
        features, init, batch size, dataset, seed): everything restarts from epoch 0. The dataset object
        is kept when config.dataset is unchanged or custom (uploaded/edited points survive). step_id
        continues so stream ids stay monotonic."""
        keep = config.dataset == self.config.dataset or config.dataset.name == CUSTOM
        run = Run(config, dataset=self.dataset if keep else None, history_limit=self.history_limit)
        run.step_id = self.step_id + 1
        return run

    def replace_data(self, dataset: Dataset) -> None:
        """Train on new points (a regenerate) with the same network: parameters, optimiser state,
        counters and the loss curve stay; the losses are now the new data's. A batch in progress is
        dropped first (its rows were the old data's). History restarts here: older points were reached
        on other data, so `back` stops at the regenerate. The batch size shrinks to a smaller training
        set; a batch counter past the new epoch's end starts the next epoch. SetupError (field dataset)
        if the new data needs another number of output units, before anything changes."""
        n_targets = n_targets_for(dataset, self.config.output_unit)
        if n_targets != self.network_config.n_targets:
            raise SetupError("dataset", "the network has {n} target(s), the new data needs {needed}",
                             n=self.network_config.n_targets, needed=n_targets)
        if self._in_batch is not None:
            self._restore(self.history.top)
        n_train = int(dataset.train_index.shape[0])
        self.config = dataclasses.replace(self.config, dataset=dataset.config,
                                          batch_size=min(self.config.batch_size, n_train))
        self._bind_data(dataset)
        if self.batch >= self.batches_per_epoch:
            self.epoch += 1
            self.batch = 0
        self._restart_at(self._snapshot("start"))
        with np.errstate(all="ignore"):
            self._preview()
        self.step_id += 1

    # ---- what the page reads ------------------------------------------------------------------------
    @property
    def batches_per_epoch(self) -> int:
        return self._data.batches_per_epoch(self.config.batch_size)

    @property
    def cursor(self) -> int | None:
        """Index of the last event done in the batch in progress; None at a boundary."""
        return self._in_batch.cursor if self._in_batch is not None else None

    @property
    def sample(self) -> int:
        """The sample (row of the batch) of the current micro-step; 0 at a boundary."""
        return self._in_batch.sample if self._in_batch is not None else 0

    @property
    def events(self) -> Sequence[Event]:
        """The teaching sequence of the batch in progress, or of the batch just completed by micro-steps
        (its last event is then current); empty after coarse steps."""
        sequence = self._in_batch.sequence if self._in_batch is not None else self._shown
        return sequence if sequence is not None else ()

    @property
    def current_event(self) -> Event | None:
        """The micro-step just done (what the page highlights), or None."""
        if self._in_batch is not None:
            return self._in_batch.event
        if self._shown is not None:
            return self._shown[len(self._shown) - 1]
        return None

    @property
    def last_trace(self) -> Trace | None:
        """The trace of the batch in progress or last done. After `back` to a boundary or an edit: the
        trace of the next batch at the current parameters (not yet applied: learning_rate is None)."""
        return self._trace

    @property
    def can_back(self) -> bool:
        """Whether `back` does something: a batch in progress (back to its start), an older point held, or
        a divergence to clear. False at the oldest point the history keeps (the page disables Back)."""
        return self._in_batch is not None or len(self.history) > 1 or self.diverged is not None

    @property
    def history_metrics(self) -> list[Metrics]:
        return self.metrics.points

    def current_metrics(self) -> Metrics:
        """Train and test loss (data term, mean over the split), the regularization term R and the
        accuracies at the current parameters, with the run's counters: the one source of the numbers the
        page and the API show. Evaluated once per change of parameters, data or regularization (a
        micro-step that updates nothing reuses it); equal to the chart's newest point when the run is at
        that point."""
        if self._measured is None or self._measured[0] != self._version:
            with np.errstate(all="ignore"):
                measured = evaluate(self.network, self.config.regularization, self.dataset.task,
                                    self._data.points, epoch=self.epoch, batch=self.batch, step=self.updates)
            self._measured = (self._version, measured)
        return self._measured[1]

    def losses(self) -> tuple[float, float]:
        """Train and test loss (data term, mean over the points) at the current parameters."""
        measured = self.current_metrics()
        return measured.train_loss, measured.test_loss

    def grid(self, resolution: int) -> GridValues:
        """Every layer's activation and the prediction over the data's extent (maps.grid_values):
        layers[l] (res*res, n_l) for layers 1..L, prediction (res*res, n_out), row 0 at ymin."""
        return maps.grid_values(self.network, self.dataset.extent, self.config.features, resolution)

    # ---- stepping forward ---------------------------------------------------------------------------
    def step(self, unit: str, count: int = 1) -> int:
        """Advance `count` stops of `unit` (micro | sample | batch | epoch). Returns how many were done:
        fewer when training diverges (see `diverged`); 0 while diverged (back, reset or a settings change
        clears it)."""
        unit = check_unit(unit, count)
        done = 0
        with np.errstate(all="ignore"):
            # only the last stop's trace can be shown: the ones before it train untraced
            while done < count and self.diverged is None and self._advance(unit, done == count - 1):
                done += 1
        if done or self.diverged is not None:
            self.step_id += 1
        return done

    def _advance(self, unit: Unit, last: bool = True) -> bool:
        """One stop of `unit`; `last` (the step's last stop) traces its last batch and measures after it,
        the batches before it train untraced."""
        if unit == "epoch":
            if not self._advance("batch", last and self.batch == self.batches_per_epoch - 1):
                return False
            while self.batch != 0:
                if not self._advance("batch", last and self.batch == self.batches_per_epoch - 1):
                    return False
            return True
        if self._in_batch is None:
            return self._coarse_batch(last) if unit == "batch" else self._enter_batch(unit)
        return self._advance_in_batch(unit)

    def _coarse_batch(self, last: bool) -> bool:
        """One batch from a boundary to the next. Only a step's last batch keeps its Trace; the others
        train untraced (the same parameters bit for bit)."""
        trace = self._vectorized() if last else None
        if last and trace is None:
            return False
        if not last:
            self._sync_live()
            inputs, targets = self._data.batch_rows(self.batch, self.config.batch_size)
            ok, loss = batch_step.untraced(self.network, self.optimizer, inputs, targets,
                                           self.config.regularization, self.updates, self._loss_bound)
            if not ok:
                self._fall_back(loss)
                return False
        self._trace = trace  # untraced: the last shown trace belonged to an older batch
        self._shown = None
        return self._finish_batch(last)

    def _sync_live(self) -> None:
        """A pending optimiser change (update_live) takes effect at a batch start."""
        self.optimizer = batch_step.synced(self.optimizer, self._optimizer_config, self.config.optimizer,
                                           self.network)
        self._optimizer_config = self.config.optimizer

    def _vectorized(self) -> Trace | None:
        """Trace the next batch and apply the optimiser to the live network; None if it diverged (the
        run fell back, `diverged` set)."""
        self._sync_live()
        inputs, targets = self._data.batch_rows(self.batch, self.config.batch_size)
        trace, loss = batch_step.traced(self.network, self.optimizer, inputs, targets,
                                        self.config.regularization, self.updates, self._loss_bound)
        if trace is None:
            self._fall_back(loss)
        return trace

    def _finish_batch(self, last: bool) -> bool:
        """Counters, the chart's point and a history snapshot after a batch's update. The losses over
        every point are evaluated only where something shows them: after a step's last batch and when the
        chart takes this batch (MetricsLog.due); if they are not finite there, the run falls back."""
        self.updates += 1
        self.batch += 1
        if self.batch >= self.batches_per_epoch:
            self.epoch += 1
            self.batch = 0
        self._version += 1
        if last or self.metrics.due(self.updates):
            measured = self.current_metrics()
            if not self._losses_ok():
                self._fall_back(measured.train_loss)
                self._trace = None
                return False
            self.metrics.append(measured)
        self.history.push(self._snapshot("batch"))
        return True

    def _fall_back(self, loss: float) -> None:
        """A batch diverged (its loss or new parameters not finite or beyond the bound): undo it, back
        to the boundary before it, and further back while the losses over every point are not finite
        there (batches between two evaluations are checked by their own loss only), then `diverged`."""
        self._restore(self.history.top)
        while len(self.history) >= 2 and not self._losses_ok():
            self.history.pop()
            self._restore(self.history.top)
            self._trace = self._shown = None
        rate = self.config.optimizer.learning_rate
        self.diverged = Divergence(self.epoch, self.batch, loss,
                                   divergence_message(self.epoch, self.batch, loss, rate), rate)

    def _losses_ok(self) -> bool:
        """Train and test loss at the current parameters finite and within the run's bound."""
        return all(loss_ok(loss, self._loss_bound) for loss in self.losses())

    # ---- the batch in progress, event by event ------------------------------------------------------
    def _enter_batch(self, unit: Unit) -> bool:
        """From a boundary: begin the next batch and go to its first stop of `unit` (micro or sample)."""
        if not self._begin_batch():
            return False
        assert self._in_batch is not None
        self._goto(batch_cursor.first_stop(self._in_batch.sequence, unit))
        return True

    def _advance_in_batch(self, unit: Unit) -> bool:
        """One stop of `unit` inside the batch in progress; reaching its last event completes it."""
        assert self._in_batch is not None
        sequence = self._in_batch.sequence
        target = batch_cursor.next_stop(sequence, self._in_batch.cursor, unit)
        if target >= len(sequence) - 1:
            return self._complete_batch()
        self._goto(target)
        return True

    def _begin_batch(self) -> bool:
        """Compute the batch's vectorized step, keep its result in the sequence, and put the live state
        back to the boundary: the update events then copy the result in, row by row."""
        trace = self._vectorized()
        if trace is None:
            return False
        new_params, new_state = self.network.get_params(), self.optimizer.get_state()
        self._restore(self.history.top)  # the optimiser the batch started from, with its state then
        self._trace = trace
        self._shown = None
        names = [layer.activation_name for layer in self.network.layers]
        used = self.optimizer.config
        step = OptimizerStep(used.kind, used.momentum, used.beta1, used.beta2, used.eps, self.updates,
                             self.optimizer.get_state(), new_state)
        sequence = TeachingSequence(trace, new_params, self.network.derivative, names,
                                    self.config.output_unit, step)
        self._in_batch = BatchInProgress(sequence, self.history.top.parameters(), new_state)
        return True

    def _goto(self, cursor: int) -> None:
        """Inside the batch in progress: the state after events 0..cursor."""
        batch = self._in_batch
        assert batch is not None
        self.network.set_params(batch.params_at(cursor))
        if batch.changes_params(cursor):
            self._version += 1  # an update event was done or undone: the losses change
        batch.cursor = cursor

    def _complete_batch(self) -> bool:
        """The batch's last event: the vectorized result and optimiser state become live."""
        assert self._in_batch is not None
        batch = self._in_batch
        self.network.set_params(batch.sequence.new_params)
        self.optimizer.set_state(batch.new_optimizer_state)
        self._in_batch = None
        if not self._finish_batch(last=True):
            return False
        self._shown = batch.sequence
        return True

    # ---- rewind --------------------------------------------------------------------------------------
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
            target = batch_cursor.previous_stop(self._in_batch.sequence, self._in_batch.cursor, unit)
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
            # into the batch done from here before: replay it up to its last stop of `unit`
            if not self._begin_batch():  # cannot fail: this batch was done from this very state
                return False
            assert self._in_batch is not None
            self._goto(batch_cursor.last_stop(self._in_batch.sequence, unit))
            return True
        if unit == "epoch":
            self._retreat_to_epoch_start()
        self._preview()
        return True

    def _retreat_to_epoch_start(self) -> None:
        while self.batch != 0 and len(self.history) >= 2:
            self.history.pop()
            self._restore(self.history.top)
        self._preview()

    def rewind_to(self, index: int) -> None:
        """Go back to history point `index` (0 = the oldest held; see `history`)."""
        if not 0 <= index < len(self.history):
            raise SetupError("index", "history holds points 0..{last}", last=len(self.history) - 1)
        self.history.truncate(index + 1)
        self._restore(self.history.top)
        self._shown = None
        self.diverged = None
        with np.errstate(all="ignore"):
            self._preview()
        self.step_id += 1

    def _snapshot(self, kind: SnapshotKind) -> Snapshot:
        return snapshots.take(kind, self.network, self.optimizer, self._optimizer_config, self.rng,
                              (self.epoch, self.batch, self.updates))

    def _restore(self, snapshot: Snapshot) -> None:
        """The live state back to `snapshot` (a boundary): parameters, optimiser, RNG, counters, and the
        loss chart truncated to it."""
        self.optimizer = snapshots.restore(snapshot, self.network, self.optimizer, self._optimizer_config,
                                           self.rng)
        self.epoch, self.batch, self.updates = snapshot.epoch, snapshot.batch, snapshot.updates
        self.metrics.truncate_after(snapshot.updates)
        self._version += 1
        self._in_batch = None

    def _restart_at(self, point: Snapshot) -> None:
        """History starts again at `point` (a regenerate, an import): the live state is put back to it."""
        self.history.clear()
        self.history.push(point)
        self._restore(point)
        self._shown = self._trace = None
        self.diverged = None

    def _preview(self) -> None:
        """Show the next batch's trace at the current parameters (nothing applied)."""
        inputs, targets = self._data.batch_rows(self.batch, self.config.batch_size)
        trace = self.network.trace_batch(inputs, targets, self.config.regularization)
        self._trace = trace if trace_ok(trace) else None

    # ---- changes by hand and live settings ------------------------------------------------------------
    def update_live(self, *, learning_rate: float | None = None, schedule: Schedule | None = None,
                    optimizer: OptimizerConfig | None = None,
                    regularization: Regularization | None = None) -> None:
        """Change settings without a reset. They take effect when the next batch starts (a batch already
        in progress finishes with the settings it started with). Clears `diverged`."""
        self.config = live_config(self.config, learning_rate=learning_rate, schedule=schedule,
                                  optimizer=optimizer, regularization=regularization)
        self.diverged = None
        self._version += 1
        self.step_id += 1

    def set_parameter(self, layer: int, unit: int, input: int | None, value: float, piece: int = 0) -> None:
        """Set one weight (input = index of the input) or bias (input = None) by hand; a history point
        that `back` undoes. Inside a batch, the batch's micro-steps are dropped first (the edit lands at
        the batch's start boundary). Clears `diverged`."""
        self.network.check_parameter(layer, unit, input, piece)
        if not (math.isfinite(value) and abs(value) <= MAX_EDIT):
            raise SetupError("value", "must be a finite number between -{bound} and {bound}",
                             bound=format(MAX_EDIT, "g"))
        if self._in_batch is not None:
            self._restore(self.history.top)
        self.network.set_parameter(layer, unit, input, value, piece)
        self._shown = None
        self.diverged = None
        self._version += 1
        self.history.push(self._snapshot("edit"))
        with np.errstate(all="ignore"):
            self._preview()
        self.step_id += 1

    # ---- the current point, for export and import (engine/serialize.py) --------------------------------
    def current_point_params(self) -> Params:
        """Parameters at the newest history point (the batch start when a batch is in progress)."""
        return self.history.top.parameters()

    def current_point_optimizer(self) -> Any:
        return self.history.top.optimizer_state()

    def load_point(self, point: Snapshot, *, cursor: int | None, step_id: int,
                   metrics: Sequence[Metrics], diverged: Divergence | None) -> None:
        """Continue from an exported point: history restarts there; `cursor` replays the batch in
        progress. SetupError names the field (cursor, state) if the point does not fit this run."""
        if point.optimizer_kind != self._optimizer_config.kind:
            raise SetupError("state.optimizer.kind", "expected {kind}",
                             kind=repr(self._optimizer_config.kind))
        self.metrics = MetricsLog.restored(metrics)
        self._restart_at(point)
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
                raise SetupError("cursor", "expected 0..{last}", last=last)
            self._goto(cursor)
        self.step_id = step_id
        self.diverged = diverged
