"""Between the API's pydantic models and the engine's Run: config mapping, caps, JSON views of a Run."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from engine.data import DataConfig
from engine.network import LayerConfig
from engine.optim import OptimizerConfig, Regularization, Schedule
from engine.stepper import Run, RunConfig

from app.frames import r4
from app.schemas import ConfigPatch, PointAdd, SessionCreate
from app.sessions import SessionError
from app.settings import Settings
from engine import csvdata, serialize

LIVE_FIELDS = frozenset({"optimizer", "regularization"})


def check_caps(config: SessionCreate, settings: Settings) -> None:
    """Settings may be stricter than the schema's own bounds; refuse with 422 naming the field."""
    if len(config.hidden) > settings.max_hidden_layers:
        limit = settings.max_hidden_layers
        raise SessionError(422, {"field": "hidden", "message": f"at most {limit} hidden layers"})
    for index, layer in enumerate(config.hidden):
        if layer.units > settings.max_units:
            raise SessionError(
                422, {"field": f"hidden.{index}.units", "message": f"at most {settings.max_units} units"}
            )
    if config.dataset.n_samples > settings.max_samples:
        raise SessionError(
            422, {"field": "dataset.n_samples", "message": f"at most {settings.max_samples} samples"}
        )


def run_config(config: SessionCreate) -> RunConfig:
    """SessionCreate -> the engine's RunConfig (same field names, frozen dataclasses)."""
    optimizer = config.optimizer.model_dump()
    schedule = Schedule(**optimizer.pop("schedule"))
    return RunConfig(
        dataset=DataConfig(**config.dataset.model_dump()),
        features=tuple(config.features),
        hidden=tuple(LayerConfig(**layer.model_dump()) for layer in config.hidden),
        output_unit=config.output_unit,
        init=config.init,
        optimizer=OptimizerConfig(**optimizer, schedule=schedule),
        regularization=Regularization(**config.regularization.model_dump()),
        batch_size=config.batch_size,
        seed=config.seed,
    )


def config_dict(run: Run) -> dict[str, Any]:
    return dataclasses.asdict(run.config)


def patch_rebuilds(patch: ConfigPatch) -> bool:
    return bool(patch.model_fields_set - LIVE_FIELDS)


def rebuilt(run: Run, patch: ConfigPatch, settings: Settings) -> Run:
    """A new Run from the old config with the patch applied (validated fully before anything changes)."""
    merged = SessionCreate.model_validate(
        {**config_dict(run), **patch.model_dump(exclude_unset=True)}
    )
    check_caps(merged, settings)
    return Run(run_config(merged))


def apply_live(run: Run, patch: ConfigPatch) -> None:
    changes: dict[str, Any] = {}
    if patch.optimizer is not None:
        optimizer = patch.optimizer.model_dump()
        changes["optimizer"] = OptimizerConfig(**optimizer, schedule=Schedule(**optimizer.pop("schedule")))
    if patch.regularization is not None:
        changes["regularization"] = Regularization(**patch.regularization.model_dump())
    run.update_live(**changes)


def state_fields(run: Run) -> dict[str, Any]:
    event = run.current_event
    train, test = run.losses()
    trace = run.last_trace
    return {
        "step_id": run.step_id,
        "epoch": run.epoch,
        "batch": run.batch,
        "sample": run.sample,
        "phase": event.kind if event is not None else None,
        "diverged": run.diverged.message if run.diverged is not None else None,
        "loss": {"train": r4(train), "test": r4(test), "reg": r4(trace.loss_reg) if trace else 0.0},
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
    return {"step_id": run.step_id, "history": [_arrays(m) for m in run.history_metrics]}


def export_document(run: Run) -> dict[str, Any]:
    document: dict[str, Any] = serialize.export_run(run)
    return document


def import_checked(document: dict[str, Any], settings: Settings) -> Run:
    """serialize.import_run raises ValueError naming the field for a malformed or tampered document."""
    run = serialize.import_run(document)
    check_caps(SessionCreate.model_validate(config_dict(run)), settings)
    return run


def add_point(run: Run, point: PointAdd, settings: Settings) -> Run:
    dataset = run.dataset.with_point(point.x1, point.x2, point.label, point.split)
    if dataset.n_samples > settings.max_samples:
        raise SessionError(422, {"field": "x1", "message": f"at most {settings.max_samples} samples"})
    return Run(run.config, dataset=dataset)


def remove_point(run: Run, index: int) -> Run:
    return Run(run.config, dataset=run.dataset.without_point(index))


def load_csv(run: Run, data: bytes, settings: Settings) -> Run:
    dataset = csvdata.parse_csv(data, max_rows=settings.max_samples)
    return Run(run.config, dataset=dataset)


def regenerate(run: Run, seed: int | None) -> Run:
    config = run.config
    if seed is not None:
        config = dataclasses.replace(config, dataset=dataclasses.replace(config.dataset, seed=seed))
    return Run(config)
