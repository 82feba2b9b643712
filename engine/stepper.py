"""A training run: coarse steps (batch, epoch), the teaching sequence of micro-steps, rewind, divergence.

Positions. A run is either at a *boundary* (no batch in progress, `cursor is None`) or *inside* a batch
at `cursor`, the index of the last event done in that batch's TeachingSequence. Doing the batch's last
event (its last update) completes the batch: the run is then at the next boundary. Stops per unit:
micro = every position, sample = boundaries and every accumulate event, batch = boundaries, epoch =
boundaries where `batch == 0`. `step(unit)` moves to the next stop, `back(unit)` to the previous one.

Invariant: at a boundary the live state (parameters, optimiser state, RNG, counters) equals the newest
history snapshot; inside a batch the parameters are that snapshot's with the rows of the done update
events replaced by the batch's vectorized result. That is what makes back-then-forward bit-identical.

Live settings (learning rate, schedule, optimiser, regularization) are not history: `update_live` takes
effect when the next batch starts, and a batch replayed after `back` runs with the current settings.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from engine import features as feature_transforms
from engine.data import CUSTOM, DataConfig, Dataset, make_dataset, n_targets_for, targets_for
from engine.events import Event, Params, TeachingSequence
from engine.history import DEFAULT_HISTORY, History, Snapshot, flatten, unflatten
from engine.metrics import Divergence, GridValues, Metrics, MetricsLog, divergence_message, evaluate
from engine.network import LayerConfig, Network, NetworkConfig
from engine.optim import Optimizer, OptimizerConfig, Regularization, Schedule
from engine.trace import Trace

Unit = Literal["micro", "sample", "batch", "epoch"]
UNITS: tuple[Unit, ...] = ("micro", "sample", "batch", "epoch")
MAX_COUNT = 1_000_000
PARAMETER_BOUND = 1e12  # a weight this large has left any sensible scale: treat it as divergence
MAX_EDIT = 1e6


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
            raise ValueError("batch_size: must be a whole number of at least 1")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise ValueError("seed: must be a whole number from 0 to 2**63 - 1")


@dataclass
class _Batch:
    """The batch in progress: its sequence (trace + vectorized result) and the optimiser state after it."""

    sequence: TeachingSequence
    new_optimizer_state: Any


class Run:
    """One training run. See the module docstring for positions, stops and the history invariant."""

    def __init__(
        self, config: RunConfig, dataset: Dataset | None = None, history_limit: int = DEFAULT_HISTORY
    ) -> None:
        if dataset is None:
            if config.dataset.name == CUSTOM:
                raise ValueError("dataset: custom data needs its points (upload a CSV or import a run)")
            dataset = make_dataset(config.dataset)
        self.config = config
        self.dataset = dataset
        self.history_limit = history_limit
        self.step_id = 0
        n_targets = n_targets_for(dataset, config.output_unit)
        targets = targets_for(dataset.labels, dataset.task, config.output_unit, dataset.n_classes)
        inputs = feature_transforms.transform(dataset.points, config.features)
        self._train_inputs = inputs[dataset.train_index]
        self._train_targets = targets[dataset.train_index]
        self._test_inputs = inputs[dataset.test_index]
        self._test_targets = targets[dataset.test_index]
        self._train_labels = np.asarray(dataset.labels)[dataset.train_index]
        self._test_labels = np.asarray(dataset.labels)[dataset.test_index]
        self.network_config = NetworkConfig(
            n_inputs=len(config.features), hidden=config.hidden, output_unit=config.output_unit,
            n_targets=n_targets, init=config.init,
        )
        self._start(config.seed)

    # ---- construction -----------------------------------------------------------------------------
    def _start(self, seed: int) -> None:
        """Fresh network, optimiser, counters, history and metrics from `seed` (same seed, same run)."""
        self.rng = np.random.default_rng(seed)
        self.network = Network(self.network_config, self.rng)
        self.optimizer = Optimizer(self.config.optimizer, self.network)
        self._optimizer_config = self.config.optimizer
        self.epoch = 0
        self.batch = 0
        self.updates = 0
        self.cursor: int | None = None
        self.diverged: Divergence | None = None
        self.metrics = MetricsLog()
        self.history = History(self.history_limit)
        self._in_batch: _Batch | None = None
        self._shown: TeachingSequence | None = None  # a completed batch whose last event is still shown
        self._trace: Trace | None = None
        self._losses: tuple[int, tuple[float, float]] | None = None
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

    # ---- views --------------------------------------------------------------------------------------
    @property
    def sample(self) -> int:
        """The sample (row of the batch) of the current micro-step; 0 at a boundary."""
        if self._in_batch is None or self.cursor is None:
            return 0
        return self._in_batch.sequence.sample_of(self.cursor)

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self._train_inputs.shape[0] / self.config.batch_size)

    @property
    def events(self) -> Sequence[Event]:
        """The teaching sequence of the batch in progress, or of the batch just completed by micro-steps
        (its last event is then current); empty after coarse steps."""
        sequence = self._in_batch.sequence if self._in_batch is not None else self._shown
        return sequence if sequence is not None else ()

    @property
    def current_event(self) -> Event | None:
        """The micro-step just done (what the page highlights), or None."""
        if self._in_batch is not None and self.cursor is not None:
            return self._in_batch.sequence[self.cursor]
        if self._shown is not None:
            return self._shown[len(self._shown) - 1]
        return None

    @property
    def last_trace(self) -> Trace | None:
        """The trace of the batch in progress or last done. After `back` to a boundary or an edit: the
        trace of the next batch at the current parameters (not yet applied: learning_rate is None)."""
        return self._trace

    @property
    def history_metrics(self) -> list[Metrics]:
        return self.metrics.points

    def losses(self) -> tuple[float, float]:
        """Train and test loss (data term, mean over the points) at the current parameters."""
        if self._losses is None or self._losses[0] != self.step_id:
            evaluation = self._evaluate()
            self._losses = (self.step_id, (evaluation.train_loss, evaluation.test_loss))
        return self._losses[1]

    # ---- stepping -----------------------------------------------------------------------------------
    def step(self, unit: str, count: int = 1) -> int:
        """Advance `count` stops of `unit` (micro | sample | batch | epoch). Returns how many were done:
        fewer when training diverges (see `diverged`); 0 while diverged (back, reset or a settings change
        clears it)."""
        unit = _check_unit(unit, count)
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
            if not self._begin_batch():
                return False
            assert self._in_batch is not None
            sequence = self._in_batch.sequence
            self._goto(0 if unit == "micro" else sequence.accumulate_index(0))
            return True
        sequence = self._in_batch.sequence
        assert self.cursor is not None
        if unit == "micro":
            target = self.cursor + 1
        elif unit == "sample":
            later = [sequence.accumulate_index(s) for s in range(sequence.batch_size)
                     if sequence.accumulate_index(s) > self.cursor]
            target = later[0] if later else len(sequence) - 1
        else:
            target = len(sequence) - 1
        if target >= len(sequence) - 1:
            return self._complete_batch()
        self._goto(target)
        return True

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
        if math.isfinite(loss) and abs(loss) < PARAMETER_BOUND:
            self.optimizer.apply(self.network, trace, self.updates)
            if _network_ok(self.network) and _trace_ok(trace):
                return trace
        self._restore(self.history.top)
        self._diverge(loss)
        return None

    def _coarse_batch(self) -> bool:
        trace = self._vectorized()
        if trace is None:
            return False
        self._trace = trace
        self._shown = None
        return self._finish_batch()

    def _untraced_batch(self) -> bool:
        """A coarse batch with no Trace kept (Network.train_batch): the same parameters bit for bit."""
        self._sync_live()
        inputs, targets = self._batch_rows()
        loss = self.network.train_batch(inputs, targets, self.config.regularization, self.optimizer,
                                         self.updates)
        if not (math.isfinite(loss) and abs(loss) < PARAMETER_BOUND and _network_ok(self.network)):
            self._restore(self.history.top)
            self._diverge(loss)
            return False
        self._trace = None  # the last shown trace belongs to an older batch
        self._shown = None
        return self._finish_batch()

    def _begin_batch(self) -> bool:
        """Compute the batch's vectorized step, keep its result in the sequence, and put the live state
        back to the boundary: the update events then copy the result in, row by row."""
        trace = self._vectorized()
        if trace is None:
            return False
        new_params, new_state = self.network.get_params(), self.optimizer.get_state()
        self._restore(self.history.top)
        self._trace = trace
        self._shown = None
        self._in_batch = _Batch(self._sequence(trace, new_params), new_state)
        return True

    def _sequence(self, trace: Trace, new_params: Params) -> TeachingSequence:
        network = self.network
        names = [layer.activation_name for layer in network.layers]
        return TeachingSequence(trace, new_params, network.derivative, names, self.config.output_unit)

    def _goto(self, cursor: int) -> None:
        """Inside the batch in progress: the state after events 0..cursor."""
        assert self._in_batch is not None
        sequence = self._in_batch.sequence
        old = unflatten(self.history.top.params, self.history.top.params_layout)
        self.network.set_params(sequence.params_at(old, cursor))
        self.cursor = cursor

    def _complete_batch(self) -> bool:
        assert self._in_batch is not None
        batch = self._in_batch
        self.network.set_params(batch.sequence.new_params)
        self.optimizer.set_state(batch.new_optimizer_state)
        self._in_batch = None
        self.cursor = None
        if not self._finish_batch():
            return False
        self._shown = batch.sequence
        return True

    def _finish_batch(self) -> bool:
        """Counters, metrics and a history snapshot after a batch's update; divergence if the losses at
        the new parameters are not finite."""
        evaluation = self._evaluate()
        if not (math.isfinite(evaluation.train_loss) and math.isfinite(evaluation.test_loss)):
            self._restore(self.history.top)
            self._trace = None
            self._diverge(evaluation.train_loss)
            return False
        self.updates += 1
        self.batch += 1
        if self.batch >= self.batches_per_epoch:
            self.epoch += 1
            self.batch = 0
        self.metrics.append(dataclasses.replace(evaluation, epoch=self.epoch, batch=self.batch,
                                                step=self.updates))
        self.history.push(self._snapshot("batch"))
        return True

    def _diverge(self, loss: float) -> None:
        self.diverged = Divergence(self.epoch, self.batch, loss,
                                   divergence_message(self.epoch, self.batch, loss,
                                                      self.config.optimizer.learning_rate))

    def _evaluate(self) -> Metrics:
        with np.errstate(all="ignore"):
            return evaluate(self.network, self.config.regularization, self.dataset.task,
                            (self._train_inputs, self._train_targets, self._train_labels),
                            (self._test_inputs, self._test_targets, self._test_labels),
                            epoch=self.epoch, batch=self.batch, step=self.updates)

    # ---- snapshots and rewind -----------------------------------------------------------------------
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
        self._in_batch = None
        self.cursor = None

    def back(self, unit: str, count: int = 1) -> int:
        """Go back `count` stops of `unit`; an undone hand edit counts as one stop of any unit. Stops at
        the oldest point history holds. Returns how many were done. Clears `diverged`."""
        unit = _check_unit(unit, count)
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
            sequence = self._in_batch.sequence
            target = -1
            if unit == "micro":
                target = self.cursor - 1
            elif unit == "sample":
                earlier = [sequence.accumulate_index(s) for s in range(sequence.batch_size)
                           if sequence.accumulate_index(s) < self.cursor]
                target = earlier[-1] if earlier else -1
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
            if not self._begin_batch():  # cannot fail: this batch was done from this very state before
                return False
            assert self._in_batch is not None
            sequence = self._in_batch.sequence
            last_sample = sequence.accumulate_index(sequence.batch_size - 1)
            self._goto(len(sequence) - 2 if unit == "micro" else last_sample)
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

    def _preview(self) -> None:
        """Show the next batch's trace at the current parameters (nothing applied)."""
        inputs, targets = self._batch_rows()
        trace = self.network.trace_batch(inputs, targets, self.config.regularization)
        self._trace = trace if _trace_ok(trace) else None

    def rewind_to(self, index: int) -> None:
        """Go back to history point `index` (0 = the oldest held; see `history`)."""
        if not 0 <= index < len(self.history):
            raise ValueError(f"index: history holds points 0..{len(self.history) - 1}")
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

    def load_point(self, point: Snapshot, *, cursor: int | None, step_id: int, metrics: Sequence[Metrics],
                   diverged: Divergence | None) -> None:
        """Continue from an exported point: history restarts there; `cursor` replays the batch in
        progress. ValueError names the field (cursor, state) if the point does not fit this run."""
        if point.optimizer_kind != self._optimizer_config.kind:
            raise ValueError(f"state.optimizer.kind: expected {self._optimizer_config.kind!r}")
        self.history.clear()
        self.history.push(point)
        self.metrics = MetricsLog()
        for item in metrics:
            self.metrics.append(item)
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
                raise ValueError("cursor: the batch in progress does not replay from this state")
            assert self._in_batch is not None
            last = len(self._in_batch.sequence) - 2
            if not 0 <= cursor <= last:
                self._restore(point)
                raise ValueError(f"cursor: expected 0..{last}")
            self._goto(cursor)
        self.diverged = diverged

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
                raise ValueError("learning_rate: must be a finite number ≥ 0")
            new_optimizer = dataclasses.replace(new_optimizer, learning_rate=float(learning_rate))
        if schedule is not None:
            new_optimizer = dataclasses.replace(new_optimizer, schedule=schedule)
        new_regularization = regularization if regularization is not None else self.config.regularization
        self.config = dataclasses.replace(self.config, optimizer=new_optimizer,
                                          regularization=new_regularization)
        self.diverged = None
        self._losses = None
        self.step_id += 1

    def set_parameter(self, layer: int, unit: int, input: int | None, value: float, piece: int = 0) -> None:
        """Set one weight (input = index of the input) or bias (input = None) by hand; a history point
        that `back` undoes. Inside a batch, the batch's micro-steps are dropped first (the edit lands at
        the batch's start boundary). Clears `diverged`."""
        layers = self.network.layers
        if not 1 <= layer <= len(layers):
            raise ValueError(f"layer: must be 1..{len(layers)}")
        weights, bias = layers[layer - 1].weights, layers[layer - 1].bias
        if not 0 <= unit < bias.shape[0]:
            raise ValueError(f"unit: layer {layer} has units 0..{bias.shape[0] - 1}")
        if input is not None and not 0 <= input < weights.shape[-1]:
            raise ValueError(f"input: layer {layer} has inputs 0..{weights.shape[-1] - 1}")
        pieces = weights.shape[1] if weights.ndim == 3 else 1
        if not 0 <= piece < pieces:
            raise ValueError(f"piece: layer {layer} has pieces 0..{pieces - 1}")
        if not (math.isfinite(value) and abs(value) <= MAX_EDIT):
            raise ValueError(f"value: must be a finite number between -{MAX_EDIT:g} and {MAX_EDIT:g}")
        if self._in_batch is not None:
            self._restore(self.history.top)
        target_index: tuple[int, ...] = (unit,) if weights.ndim == 2 else (unit, piece)
        if input is None:
            bias[target_index] = float(value)
        else:
            weights[(*target_index, input)] = float(value)
        self._shown = None
        self.diverged = None
        self.history.push(self._snapshot("edit"))
        with np.errstate(all="ignore"):
            self._preview()
        self.step_id += 1

    # ---- heat maps ----------------------------------------------------------------------------------
    def grid(self, resolution: int) -> GridValues:
        """Every layer's activation and the prediction over the data's extent on a resolution² grid.

        Points run row-major with row 0 at ymin and column 0 at xmin: layers[l] (res*res, n_l) for
        layers 1..L, prediction (res*res, n_out)."""
        if not 2 <= resolution <= 512:
            raise ValueError("resolution: must be between 2 and 512")
        xmin, xmax, ymin, ymax = self.dataset.extent
        xs, ys = np.linspace(xmin, xmax, resolution), np.linspace(ymin, ymax, resolution)
        points = np.column_stack([np.tile(xs, resolution), np.repeat(ys, resolution)])
        inputs = feature_transforms.transform(points, self.config.features)
        with np.errstate(all="ignore"):
            layers = self.network.layer_outputs(inputs)
            prediction = self.network.predict(inputs)
        return GridValues(resolution, self.dataset.extent, layers, prediction)


def _check_unit(unit: Any, count: int) -> Unit:
    if unit not in UNITS:
        raise ValueError(f"unit: must be one of {', '.join(UNITS)}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise ValueError(f"count: must be a whole number from 1 to {MAX_COUNT}")
    return unit


def _network_ok(network: Network) -> bool:
    """Every parameter finite and below PARAMETER_BOUND (NaN fails the comparison)."""
    return all(float(np.abs(layer.params).max()) < PARAMETER_BOUND for layer in network.layers)


def _trace_ok(trace: Trace) -> bool:
    """Every number the page could show is finite (no NaN leaves the engine)."""
    arrays: list[NDArray[Any]] = [trace.prediction, trace.loss_per_sample]
    for lt in trace.layers:
        arrays += [lt.pre_activation, lt.activation, lt.delta, lt.grad_weights, lt.grad_bias]
    # a sum is finite only if every term is (an overflow of finite terms errs on the safe side)
    return all(math.isfinite(float(array.sum())) for array in arrays) and math.isfinite(float(trace.loss))
