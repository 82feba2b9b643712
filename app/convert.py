"""Between the API's pydantic models and the engine's Run: config mapping, caps, JSON views of a Run."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from pydantic import ValidationError

from app.frames import r4
from app.i18n import N_, said
from app.refusals import plain
from app.schemas import ConfigPatch, OptimizerSpec, PointAdd, SessionCreate
from app.sessions import SessionError
from app.settings import Settings
from app.store import finite_tree
from engine import csvdata, serialize, vocabulary
from engine import data as engine_data
from engine.data import DataConfig, Dataset
from engine.network import LayerConfig
from engine.optim import OptimizerConfig, Regularization, Schedule
from engine.stepper import Run, RunConfig

LIVE_FIELDS = frozenset({"optimizer", "regularization"})
POINTS_CAP = N_("at most {limit} points")


def check_caps(config: SessionCreate, settings: Settings) -> None:
    """Settings may be stricter than the schema's own bounds; refuse with 422 naming the field."""
    if len(config.hidden) > settings.max_hidden_layers:
        limit = settings.max_hidden_layers
        raise SessionError(422, {"field": "hidden", "message": N_("at most {limit} hidden layers")},
                           limit=limit)
    for index, layer in enumerate(config.hidden):
        if layer.units > settings.max_units:
            raise SessionError(422, {"field": f"hidden.{index}.units",
                                     "message": N_("at most {limit} units")}, limit=settings.max_units)
    if config.dataset.name != engine_data.CUSTOM and DataConfig(
        name=config.dataset.name, n_samples=config.dataset.n_samples
    ).size > settings.max_samples:
        raise SessionError(422, {"field": "dataset.n_samples", "message": N_("at most {limit} samples")},
                           limit=settings.max_samples)


def _optimizer_config(spec: OptimizerSpec) -> OptimizerConfig:
    fields = spec.model_dump()
    schedule = Schedule(**fields.pop("schedule"))
    return OptimizerConfig(**fields, schedule=schedule)


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """`patch` over `base`; nested objects merge field by field ({"dataset": {"noise": 0.2}} keeps the
    dataset's name), lists and values are replaced."""
    merged = dict(base)
    for key, value in patch.items():
        old = merged.get(key)
        merged[key] = _deep_merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return merged


def validated(data: dict[str, Any]) -> SessionCreate:
    """SessionCreate from a merged or imported config; a refusal is a 422 naming the first bad field
    (pydantic's own message, without the input it would echo)."""
    try:
        return SessionCreate.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first.get("loc", ())) or None
        # pydantic's words made plain, in the request's language already (refusals.plain)
        raise SessionError(422, {"field": field, "message": plain(first)}) from None


def patch_fields(patch: ConfigPatch) -> dict[str, Any]:
    """The fields a patch changes: null means "unchanged" (the schema marks every field nullable), except
    `init`, where null is a value (the activation's usual initialisation)."""
    return {key: value for key, value in patch.model_dump(exclude_unset=True).items()
            if value is not None or key == "init"}


def merged_config(run: Run, patch: ConfigPatch) -> SessionCreate:
    """The run's config with the fields the patch sets (validated by the schema again)."""
    return validated(_deep_merge(config_dict(run), patch_fields(patch)))


def checked_batch_size(run: Run) -> Run:
    """A batch larger than the training set could never fill: refuse it, naming batch_size."""
    n_train = int(run.dataset.train_index.shape[0])
    if run.config.batch_size > n_train:
        raise SessionError(422, {"field": "batch_size", "message": N_(
            "a whole number from 1 to {n_train} (the number of training points)")}, n_train=n_train)
    return run


def built(config: SessionCreate) -> Run:
    """A new Run for a validated SessionCreate (ValueErrors from the engine name their field)."""
    return checked_batch_size(Run(run_config(config)))


def run_config(config: SessionCreate) -> RunConfig:
    """SessionCreate -> the engine's RunConfig (same field names, frozen dataclasses)."""
    return RunConfig(
        dataset=DataConfig(**config.dataset.model_dump()),
        features=tuple(config.features),
        hidden=tuple(LayerConfig(**layer.model_dump()) for layer in config.hidden),
        output_unit=config.output_unit,
        init=config.init,
        optimizer=_optimizer_config(config.optimizer),
        regularization=Regularization(**config.regularization.model_dump()),
        batch_size=config.batch_size,
        seed=config.seed,
    )


def config_dict(run: Run) -> dict[str, Any]:
    return dataclasses.asdict(run.config)


def patch_rebuilds(patch: ConfigPatch) -> bool:
    return bool(set(patch_fields(patch)) - LIVE_FIELDS)


def rebuilt(run: Run, patch: ConfigPatch, settings: Settings) -> Run:
    """The run rebuilt for the old config with the patch applied (validated fully before anything
    changes). Run.rebuild keeps uploaded or edited points while the dataset settings stay the same, and
    keeps step_id growing so stream ids stay monotonic."""
    merged = merged_config(run, patch)
    check_caps(merged, settings)
    config = run_config(merged)
    if config.dataset.name == engine_data.CUSTOM and run.config.dataset.name != engine_data.CUSTOM:
        raise SessionError(422, {"field": "dataset.name",
                                 "message": N_("custom data comes from a CSV upload")})
    return checked_batch_size(run.rebuild(config))


def apply_live(run: Run, patch: ConfigPatch) -> None:
    """Optimizer / regularization changes without a reset (they start with the next batch)."""
    merged = merged_config(run, patch)
    run.update_live(optimizer=_optimizer_config(merged.optimizer),
                    regularization=Regularization(**merged.regularization.model_dump()))


def state_fields(run: Run) -> dict[str, Any]:
    event = run.current_event
    measured = run.current_metrics()
    return {
        "step_id": run.step_id,
        "epoch": run.epoch,
        "batch": run.batch,
        "sample": run.sample,
        "phase": event.kind if event is not None else None,
        "diverged": said(run.diverged) if run.diverged is not None else None,
        "loss": {"train": r4(measured.train_loss), "test": r4(measured.test_loss), "reg": r4(measured.reg)},
        "config": config_dict(run),
    }


def _arrays(obj: Any) -> Any:
    """Dataclass/array tree -> JSON (4 significant digits, NaN/inf as null)."""
    if isinstance(obj, np.ndarray):
        return r4(obj.astype(np.float64))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _arrays(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list | tuple):
        return [_arrays(item) for item in obj]
    if isinstance(obj, float):
        return r4(obj)
    return obj


def trace_dict(run: Run) -> dict[str, Any]:
    trace = run.last_trace
    if trace is None:
        return {"step_id": run.step_id, "trace": None}
    return {"step_id": run.step_id, "trace": {**_arrays(trace), "loss": r4(trace.loss)}}


def network_dict(run: Run) -> dict[str, Any]:
    return {
        "step_id": run.step_id,
        "layers": [
            {"activation": getattr(layer, "activation_name", None) or str(layer.activation),
             "weights": r4(layer.weights), "bias": r4(layer.bias)}
            for layer in run.network.layers
        ],
    }


def metrics_dict(run: Run) -> dict[str, Any]:
    """The loss chart: a point after every `every`-th batch (engine/metrics.py MetricsLog)."""
    return {"step_id": run.step_id, "every": run.metrics.every,
            "history": [_arrays(m) for m in run.history_metrics]}


def export_document(run: Run) -> dict[str, Any]:
    document: dict[str, Any] = finite_tree(serialize.export_run(run))
    return document


def import_checked(document: dict[str, Any], settings: Settings) -> Run:
    """serialize.import_run raises ValueError naming the field for a malformed or tampered document."""
    run = serialize.import_run(document)
    check_caps(validated(config_dict(run)), settings)
    if run.dataset.n_samples > settings.max_samples:
        raise SessionError(422, {"field": "data.points", "message": POINTS_CAP}, limit=settings.max_samples)
    return run


def with_dataset(run: Run, dataset: Dataset, config: RunConfig | None = None) -> Run:
    """A fresh Run (epoch 0) on new points; step_id goes on from the old run's so stream ids only grow.
    The batch size shrinks to the training set if the new data is smaller (an upload is not refused for
    the batch size the old data allowed)."""
    config = config or dataclasses.replace(run.config, dataset=dataset.config)
    n_train = int(dataset.train_index.shape[0])
    if config.batch_size > n_train:
        config = dataclasses.replace(config, batch_size=n_train)
    new = Run(config, dataset=dataset, history_limit=run.history_limit)
    new.step_id = run.step_id + 1
    return new


def add_point(run: Run, point: PointAdd, settings: Settings) -> Run:
    """The engine's add_point: label = class index (or name) or the regression value."""
    if run.dataset.n_samples >= settings.max_samples:
        raise SessionError(422, {"field": "x1", "message": POINTS_CAP}, limit=settings.max_samples)
    label: float | int = int(point.label) if float(point.label).is_integer() else point.label
    return with_dataset(run, engine_data.add_point(run.dataset, point.x1, point.x2, label, point.split))


def remove_point(run: Run, index: int) -> Run:
    return with_dataset(run, engine_data.remove_point(run.dataset, index))


def _fitting_output_unit(dataset: Dataset, wanted: str) -> str:
    """The run's output unit if it fits the uploaded data, else the usual one for that data."""
    try:
        engine_data.n_targets_for(dataset, wanted)
    except ValueError:
        return vocabulary.USUAL_OUTPUT[vocabulary.targets_of(dataset.task, dataset.n_classes)]
    return wanted


def load_csv(run: Run, data: bytes, settings: Settings) -> Run:
    """Uploaded points replace the data (CSVError names the row and column: a 422). An output unit that
    cannot learn the file's labels (e.g. tanh_mse on real values) is swapped for one that can."""
    try:
        dataset = csvdata.dataset_from_csv(
            data, max_rows=settings.max_samples, train_fraction=run.config.dataset.train_fraction,
            seed=run.config.dataset.seed,
        )
    except csvdata.CSVError as error:
        raise SessionError(
            422, {"field": "file", "message": str(error), "row": error.row, "column": error.column}
        ) from error
    output_unit = _fitting_output_unit(dataset, run.config.output_unit)
    config = dataclasses.replace(run.config, dataset=dataset.config, output_unit=output_unit)
    return with_dataset(run, dataset, config)


def regenerate(run: Run, seed: int | None) -> None:
    """A new draw (seed omitted: the next seed) under the same network, weights, optimiser state and
    counters (Run.replace_data); uploaded data keeps its points and gets a new split."""
    new_seed = seed if seed is not None else run.config.dataset.seed + 1
    run.replace_data(engine_data.regenerate(run.dataset, new_seed))
