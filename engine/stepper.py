"""A training run: its counters, coarse steps (batch, epoch), live settings, hand edits and heat maps.

Positions. A run is either at a *boundary* (no batch in progress, `cursor is None`) or *inside* a batch
at `cursor`, the index of the last event done in that batch's TeachingSequence. Doing the batch's last
event (its last update) completes the batch: the run is then at the next boundary. Stops per unit:
micro = every position, sample = boundaries and every accumulate event, batch = boundaries, epoch =
boundaries where `batch == 0`. `step(unit)` moves to the next stop, `back(unit)` to the previous one.

Run is put together from three ideas: this module (stepping forward by batches and epochs, divergence,
live settings), engine/micro_steps.py (one batch event by event) and engine/rewind.py (history, back,
rewind, export points). RunConfig and the units are in engine/run_config.py; every public name is
importable from here as before.

Live settings (learning rate, schedule, optimiser, regularization) are not history: `update_live` takes
effect when the next batch starts, and a batch replayed after `back` runs with the current settings.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numpy.typing import NDArray

from engine import features as feature_transforms
from engine import maps
from engine.data import CUSTOM, Dataset, make_dataset, n_targets_for, targets_for
from engine.divergence import PARAMETER_BOUND, divergence_message, loss_bound, loss_ok, network_ok, trace_ok
from engine.errors import SetupError
from engine.history import DEFAULT_HISTORY, History
from engine.metrics import Divergence, GridValues, Metrics, MetricsLog, Points, evaluate
from engine.micro_steps import MicroSteps
from engine.network import Network, NetworkConfig
from engine.optim import Optimizer, OptimizerConfig, Regularization, Schedule
from engine.rewind import Rewind
from engine.run_config import MAX_COUNT, UNITS, RunConfig, Unit, check_unit
from engine.trace import Trace

__all__ = ["MAX_COUNT", "MAX_EDIT", "PARAMETER_BOUND", "UNITS", "Run", "RunConfig", "Unit"]

MAX_EDIT = 1e6


class Run(MicroSteps, Rewind):
    """One training run. Positions and stops: this module's docstring; the batch in progress:
    engine/micro_steps.py; the history invariant: engine/rewind.py."""

    def __init__(
        self, config: RunConfig, dataset: Dataset | None = None, history_limit: int = DEFAULT_HISTORY
    ) -> None:
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

    # ---- construction -----------------------------------------------------------------------------
    def _bind_data(self, dataset: Dataset) -> None:
        """The rows training and evaluation read: inputs (N_split, F), targets (N_split, T), labels."""
        config = self.config
        self.dataset = dataset
        targets = targets_for(dataset.labels, dataset.task, config.output_unit, dataset.n_classes)
        inputs = feature_transforms.transform(dataset.points, config.features)
        self._train_inputs = inputs[dataset.train_index]
        self._train_targets = targets[dataset.train_index]
        order = np.concatenate([dataset.train_index, dataset.test_index])
        self._points = Points(inputs[order], targets[order], np.asarray(dataset.labels)[order],
                              int(dataset.train_index.shape[0]))
        self._version += 1

    def _start(self, seed: int) -> None:
        """Fresh network, optimiser, counters, history and metrics from `seed` (same seed, same run)."""
        self.rng = np.random.default_rng(seed)
        self.network = Network(self.network_config, self.rng)
        self.optimizer = Optimizer(self.config.optimizer, self.network)
        self._optimizer_config = self.config.optimizer
        self.epoch = 0
        self.batch = 0
        self.updates = 0
        self.cursor = None
        self.diverged = None
        self.metrics = MetricsLog()
        self.history = History(self.history_limit)
        self._in_batch = None
        self._shown = None
        self._trace = None
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

    def replace_data(self, dataset: Dataset) -> None:
        """Train on new points (a regenerate) with the same network: parameters, optimiser state,
        counters and the loss curve stay; the losses are now the new data's. A batch in progress is
        dropped first (its rows were the old data's). History restarts here: older points were reached
        on other data, so `back` stops at the regenerate. The batch size shrinks to a smaller training
        set; a batch counter past the new epoch's end starts the next epoch. ValueError (field dataset)
        if the new data needs another number of output units, before anything changes."""
        n_targets = n_targets_for(dataset, self.config.output_unit)
        if n_targets != self.network_config.n_targets:
            raise SetupError("dataset", f"the network has {self.network_config.n_targets} target(s), "
                                        f"the new data needs {n_targets}")
        if self._in_batch is not None:
            self._restore(self.history.top)
        n_train = int(dataset.train_index.shape[0])
        self.config = dataclasses.replace(self.config, dataset=dataset.config,
                                          batch_size=min(self.config.batch_size, n_train))
        self._bind_data(dataset)
        if self.batch >= self.batches_per_epoch:
            self.epoch += 1
            self.batch = 0
        self.history.clear()
        self.history.push(self._snapshot("start"))
        self.diverged = None
        self._shown = None
        with np.errstate(all="ignore"):
            self._preview()
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

    # ---- views --------------------------------------------------------------------------------------
    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self._train_inputs.shape[0] / self.config.batch_size)

    @property
    def last_trace(self) -> Trace | None:
        """The trace of the batch in progress or last done. After `back` to a boundary or an edit: the
        trace of the next batch at the current parameters (not yet applied: learning_rate is None)."""
        return self._trace

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
            self._measured = (self._version, self._evaluate())
        return self._measured[1]

    def losses(self) -> tuple[float, float]:
        """Train and test loss (data term, mean over the points) at the current parameters."""
        measured = self.current_metrics()
        return measured.train_loss, measured.test_loss

    # ---- stepping -----------------------------------------------------------------------------------
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

    def _advance(self, unit: Unit, traced: bool = True) -> bool:
        """One stop of `unit`; `traced` False lets coarse batches skip building the Trace."""
        if unit == "epoch":
            if not self._advance("batch", traced and self.batch == self.batches_per_epoch - 1):
                return False
            while self.batch != 0:
                if not self._advance("batch", traced and self.batch == self.batches_per_epoch - 1):
                    return False
            return True
        if self._in_batch is None:
            if unit == "batch":
                return self._coarse_batch() if traced else self._untraced_batch()
            return self._enter_batch(unit)
        return self._advance_in_batch(unit)

    def _batch_rows(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The next batch's inputs (B, F) and targets (B, T): the fixed train order, last batch partial."""
        size = self.config.batch_size
        start = self.batch * size
        return self._train_inputs[start:start + size], self._train_targets[start:start + size]

    def _sync_live(self) -> None:
        """Apply a pending optimiser change at a batch start (state kept when the kind is the same)."""
        if self._optimizer_config == self.config.optimizer:
            return
        state = self.optimizer.get_state()
        same_kind = self._optimizer_config.kind == self.config.optimizer.kind
        self.optimizer = Optimizer(self.config.optimizer, self.network)
        if same_kind:
            self.optimizer.set_state(state)
        self._optimizer_config = self.config.optimizer

    def _vectorized(self) -> Trace | None:
        """Trace the next batch and apply the optimiser to the live network. None (live state back at
        the boundary, `diverged` set) if the loss or any parameter is not finite or beyond the bound."""
        self._sync_live()
        inputs, targets = self._batch_rows()
        trace = self.network.trace_batch(inputs, targets, self.config.regularization)
        loss = float(trace.loss)
        if loss_ok(loss, self._loss_bound):
            self.optimizer.apply(self.network, trace, self.updates)
            if network_ok(self.network) and trace_ok(trace):
                return trace
        self._fall_back(loss)
        return None

    def _coarse_batch(self) -> bool:
        trace = self._vectorized()
        if trace is None:
            return False
        self._trace = trace
        self._shown = None
        return self._finish_batch(final=True)

    def _untraced_batch(self) -> bool:
        """A coarse batch with no Trace kept (Network.train_batch): the same parameters bit for bit."""
        self._sync_live()
        inputs, targets = self._batch_rows()
        loss = self.network.train_batch(inputs, targets, self.config.regularization, self.optimizer,
                                         self.updates)
        if not (loss_ok(loss, self._loss_bound) and network_ok(self.network)):
            self._fall_back(loss)
            return False
        self._trace = None  # the last shown trace belongs to an older batch
        self._shown = None
        return self._finish_batch(final=False)

    def _finish_batch(self, final: bool) -> bool:
        """Counters, the chart's point and a history snapshot after a batch's update. The losses over
        every point are evaluated only where something shows them: at the end of a step (`final`) and
        when the chart takes this batch (MetricsLog.due); if they are not finite there, the run falls
        back (_fall_back) and the step stops."""
        self.updates += 1
        self.batch += 1
        if self.batch >= self.batches_per_epoch:
            self.epoch += 1
            self.batch = 0
        self._version += 1
        if final or self.metrics.due(self.updates):
            measured = self._evaluate()
            if not (loss_ok(measured.train_loss, self._loss_bound)
                    and loss_ok(measured.test_loss, self._loss_bound)):
                self._fall_back(measured.train_loss)
                self._trace = None
                return False
            self._measured = (self._version, measured)
            self.metrics.append(measured)
        self.history.push(self._snapshot("batch"))
        return True

    def _fall_back(self, loss: float) -> None:
        """A batch diverged (its loss or new parameters not finite or beyond the bound): undo it, back
        to the boundary before it, and further back while the losses over every point are not finite
        there (batches between two evaluations are checked by their own loss only), then `diverged`."""
        self._restore(self.history.top)
        while len(self.history) >= 2 and not all(loss_ok(loss, self._loss_bound) for loss in self.losses()):
            self.history.pop()
            self._restore(self.history.top)
            self._trace = self._shown = None
        self._diverge(loss)

    def _diverge(self, loss: float) -> None:
        self.diverged = Divergence(self.epoch, self.batch, loss,
                                   divergence_message(self.epoch, self.batch, loss,
                                                      self.config.optimizer.learning_rate))

    def _evaluate(self) -> Metrics:
        with np.errstate(all="ignore"):
            return evaluate(self.network, self.config.regularization, self.dataset.task, self._points,
                            epoch=self.epoch, batch=self.batch, step=self.updates)

    # ---- live edits ---------------------------------------------------------------------------------
    def update_live(
        self,
        *,
        learning_rate: float | None = None,
        schedule: Schedule | None = None,
        optimizer: OptimizerConfig | None = None,
        regularization: Regularization | None = None,
    ) -> None:
        """Change settings without a reset. They take effect when the next batch starts (a batch already
        in progress finishes with the settings it started with). Clears `diverged`."""
        new_optimizer = optimizer if optimizer is not None else self.config.optimizer
        if learning_rate is not None:
            if not (math.isfinite(learning_rate) and learning_rate >= 0):
                raise SetupError("learning_rate", "must be a finite number ≥ 0")
            new_optimizer = dataclasses.replace(new_optimizer, learning_rate=float(learning_rate))
        if schedule is not None:
            new_optimizer = dataclasses.replace(new_optimizer, schedule=schedule)
        new_regularization = regularization if regularization is not None else self.config.regularization
        self.config = dataclasses.replace(self.config, optimizer=new_optimizer,
                                          regularization=new_regularization)
        self.diverged = None
        self._version += 1
        self.step_id += 1

    def set_parameter(self, layer: int, unit: int, input: int | None, value: float, piece: int = 0) -> None:
        """Set one weight (input = index of the input) or bias (input = None) by hand; a history point
        that `back` undoes. Inside a batch, the batch's micro-steps are dropped first (the edit lands at
        the batch's start boundary). Clears `diverged`."""
        layers = self.network.layers
        if not 1 <= layer <= len(layers):
            raise SetupError("layer", f"must be 1..{len(layers)}")
        weights, bias = layers[layer - 1].weights, layers[layer - 1].bias
        if not 0 <= unit < bias.shape[0]:
            raise SetupError("unit", f"layer {layer} has units 0..{bias.shape[0] - 1}")
        if input is not None and not 0 <= input < weights.shape[-1]:
            raise SetupError("input", f"layer {layer} has inputs 0..{weights.shape[-1] - 1}")
        pieces = weights.shape[1] if weights.ndim == 3 else 1
        if not 0 <= piece < pieces:
            raise SetupError("piece", f"layer {layer} has pieces 0..{pieces - 1}")
        if not (math.isfinite(value) and abs(value) <= MAX_EDIT):
            raise SetupError("value", f"must be a finite number between -{MAX_EDIT:g} and {MAX_EDIT:g}")
        if self._in_batch is not None:
            self._restore(self.history.top)
        target_index: tuple[int, ...] = (unit,) if weights.ndim == 2 else (unit, piece)
        if input is None:
            bias[target_index] = float(value)
        else:
            weights[(*target_index, input)] = float(value)
        self._shown = None
        self.diverged = None
        self._version += 1
        self.history.push(self._snapshot("edit"))
        with np.errstate(all="ignore"):
            self._preview()
        self.step_id += 1

    # ---- heat maps ----------------------------------------------------------------------------------
    def grid(self, resolution: int) -> GridValues:
        """Every layer's activation and the prediction over the data's extent on a resolution² grid.

        Points run row-major with row 0 at ymin and column 0 at xmin: layers[l] (res*res, n_l) for
        layers 1..L, prediction (res*res, n_out)."""
        return maps.grid_values(self.network, self.dataset.extent, self.config.features, resolution)

