"""Export and import of a Run as one versioned JSON document that continues bit for bit.

Document (format "stepwise-run", version 1), all JSON-safe (floats written by `json` round-trip exactly):

    config    dataclasses.asdict(RunConfig)
    data      {"source": "generated"} (the points are redrawn from config.dataset and its seed), or for
              uploaded / edited data: points, labels, class_names, task, train_index, test_index, extent
    state     the run's current boundary: kind, epoch, batch, updates, params [{weights, bias}] as nested
              lists, optimizer (kind + its state tree: arrays as {"shape", "data"}), rng (numpy
              bit_generator.state, plain ints)
    cursor    the micro-step inside the batch in progress (None at a boundary); on import the batch is
              re-traced from `state` and replayed to it
    step_id, diverged, metrics (columns, at most EXPORT_METRICS points, the newest kept)

Only the current point travels, not the rewind history: an imported run cannot go back past it. A
malformed or tampered document raises RunFormatError: a SetupError whose field is the path in the
document (`state.params[1].weights`) and whose words are a template and values (engine/errors.py), so
the app says them in the page's language; str() is "path: message" in English.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine import activations
from engine.data import DataConfig, Dataset, class_names_problem
from engine.errors import SetupError
from engine.history import Snapshot, flatten
from engine.metrics import Divergence, Metrics
from engine.network import LayerConfig
from engine.optim import OptimizerConfig, Regularization, Schedule
from engine.stepper import PARAMETER_BOUND, Run, RunConfig

FORMAT = "stepwise-run"
VERSION = 1
EXPORT_METRICS = 500
MAX_POINTS = 100_000
_METRIC_COLUMNS = tuple(f.name for f in dataclasses.fields(Metrics))


class RunFormatError(SetupError):
    """A run document that cannot be imported: `field` is the path of what is wrong ("state.epoch",
    "document" for the whole), `message` says why ("expected a whole number from 0 to 9")."""


def _inner(error: Exception, path: str, names: Collection[str] | None = ()) -> RunFormatError:
    """A check's own refusal (a config class's SetupError, the run's) as the document's. Its field, when
    it is one of `names` (the fields of the object at `path`; None: any), is the path ("batch_size:
    must be a whole number of at least 1"); another is said after `path` ("config: units: every hidden
    layer needs at least one unit"). A TypeError is text where a number belongs: Python's own words
    ("'<' not supported between …") are not a student's."""
    if isinstance(error, RunFormatError):
        return error
    if isinstance(error, SetupError):
        if error.field is None:
            return RunFormatError(path, error.template, **error.values)
        if names is None or error.field in names:
            return RunFormatError(error.field, error.template, **error.values)
        return RunFormatError(path, "{name}: {reason}", name=error.field, reason=error)
    return RunFormatError(path, "a value here is of the wrong kind (say text where a number belongs)")


# ---- export ---------------------------------------------------------------------------------------------

def _encode_tree(tree: Any) -> Any:
    """Optimiser state -> JSON: arrays as {"shape", "data"}, tuples as lists, scalars as they are."""
    if isinstance(tree, np.ndarray):
        return {"shape": list(tree.shape), "data": tree.astype(np.float64).ravel().tolist()}
    if isinstance(tree, dict):
        return {str(key): _encode_tree(value) for key, value in tree.items()}
    if isinstance(tree, list | tuple):
        return [_encode_tree(item) for item in tree]
    if isinstance(tree, np.integer):
        return int(tree)
    if isinstance(tree, np.floating):
        return float(tree)
    return tree


def _encode_data(dataset: Dataset) -> dict[str, Any]:
    if dataset.source == "generated":
        return {"source": "generated"}
    return {
        "source": dataset.source,
        "task": dataset.task,
        "class_names": list(dataset.class_names),
        "points": dataset.points.tolist(),
        "labels": dataset.labels.tolist(),
        "train_index": dataset.train_index.tolist(),
        "test_index": dataset.test_index.tolist(),
        "extent": list(dataset.extent),
        "config": dataclasses.asdict(dataset.config),
    }


def export_run(run: Run) -> dict[str, Any]:
    """The run's document (see the module docstring). Pure data: json.dumps(..., allow_nan=False) works."""
    point = run.history.top
    params = run.current_point_params()
    metrics = run.history_metrics[-EXPORT_METRICS:]
    diverged = run.diverged
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": dataclasses.asdict(run.config),
        "data": _encode_data(run.dataset),
        "state": {
            "kind": point.kind,
            "epoch": point.epoch,
            "batch": point.batch,
            "updates": point.updates,
            "params": [{"weights": w.tolist(), "bias": b.tolist()} for w, b in params],
            "optimizer": {"kind": point.optimizer_kind, "state": _encode_tree(run.current_point_optimizer())},
            "rng": _encode_tree(point.rng_state),
        },
        "cursor": run.cursor,
        "step_id": run.step_id,
        "diverged": None if diverged is None else dataclasses.asdict(diverged),
        "metrics": {name: [getattr(m, name) for m in metrics] for name in _METRIC_COLUMNS},
    }


# ---- import: small checkers that name the field ----------------------------------------------------

def _get(doc: Any, key: str, path: str) -> Any:
    if not isinstance(doc, dict):
        raise RunFormatError(path or "document", "expected an object")
    if key not in doc:
        # (a path is made before its raise: pybabel warns of an f-string among a message's arguments)
        where = f"{path}.{key}" if path else key
        raise RunFormatError(where, "missing")
    return doc[key]


def _int(value: Any, path: str, low: int = 0, high: int = 2**63 - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RunFormatError(path, "expected a whole number from {low} to {high}", low=low, high=high)
    return value


def _array(value: Any, path: str, shape: tuple[int, ...] | None = None, bound: float = PARAMETER_BOUND,
           dtype: Any = np.float64) -> NDArray[Any]:
    try:
        array = np.array(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        raise RunFormatError(path, "expected numbers in a rectangular list") from None
    if shape is not None and array.shape != shape:
        raise RunFormatError(path, "expected shape {shape}, got {got}", shape=shape, got=array.shape)
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise RunFormatError(path, "contains a number that is not finite")
    if array.size and np.max(np.abs(array)) >= bound:
        raise RunFormatError(path, "contains a number beyond ±{bound}", bound=format(bound, "g"))
    return array


def _dataclass(cls: type, value: Any, path: str, nested: dict[str, Any] | None = None) -> Any:
    """cls(**value) with unknown keys refused and the class's own ValueError prefixed with the path."""
    if not isinstance(value, dict):
        raise RunFormatError(path, "expected an object")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - names)
    if unknown:
        raise RunFormatError(path + "." + unknown[0], "unknown field")
    kwargs = dict(value)
    for name, build in (nested or {}).items():
        if name in kwargs:
            kwargs[name] = build(kwargs[name], f"{path}.{name}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        raise _inner(error, path, names) from None


def config_from_dict(value: Any, path: str = "config") -> RunConfig:
    """dataclasses.asdict(RunConfig) -> RunConfig, checked (RunFormatError naming the field)."""
    def hidden(items: Any, where: str) -> tuple[LayerConfig, ...]:
        if not isinstance(items, list):
            raise RunFormatError(where, "expected a list of layers")
        layers = tuple(_dataclass(LayerConfig, item, f"{where}[{i}]") for i, item in enumerate(items))
        for i, layer in enumerate(layers):
            try:
                activations.get(layer.activation, layer.alpha, layer.pieces)
            except (TypeError, ValueError) as error:  # said under the layer: hidden[0].activation
                if isinstance(error, SetupError) and error.field:
                    field = f"{where}[{i}].{error.field}"
                    raise RunFormatError(field, error.template, **error.values) from None
                raise _inner(error, f"{where}[{i}]") from None
        return layers

    def features(items: Any, where: str) -> tuple[str, ...]:
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise RunFormatError(where, "expected a list of feature names")
        return tuple(items)

    def optimizer(item: Any, where: str) -> OptimizerConfig:
        schedule = lambda v, w: _dataclass(Schedule, v, w)  # noqa: E731
        return _dataclass(OptimizerConfig, item, where, {"schedule": schedule})

    nested = {
        "dataset": lambda v, w: _dataclass(DataConfig, v, w),
        "features": features,
        "hidden": hidden,
        "optimizer": optimizer,
        "regularization": lambda v, w: _dataclass(Regularization, v, w),
    }
    return _dataclass(RunConfig, value, path, nested)


def _dataset_from(doc: Any, config: RunConfig) -> Dataset | None:
    source = _get(doc, "source", "data")
    if source == "generated":
        return None
    if source not in ("csv", "edited"):
        raise RunFormatError("data.source", "expected generated, csv or edited")
    task = _get(doc, "task", "data")
    if task not in ("classification", "regression"):
        raise RunFormatError("data.task", "expected classification or regression")
    names = _get(doc, "class_names", "data")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RunFormatError("data.class_names", "expected a list of names")
    if task == "regression" and names:
        raise RunFormatError("data.class_names", "a regression has no classes")
    if task == "classification" and (problem := class_names_problem(names)):
        raise RunFormatError("data.class_names", problem.template, **problem.values)
    points = _array(_get(doc, "points", "data"), "data.points", bound=1e9)
    n = points.shape[0] if points.ndim == 2 else -1
    if points.ndim != 2 or points.shape[1] != 2 or not 2 <= n <= MAX_POINTS:
        raise RunFormatError("data.points", "expected 2 to {high} points of 2 numbers", high=MAX_POINTS)
    labels = _array(_get(doc, "labels", "data"), "data.labels", (n,), bound=1e9)
    if task == "classification":
        if not np.all((labels == np.round(labels)) & (labels >= 0) & (labels < len(names))):
            raise RunFormatError("data.labels", "expected class indices 0..{last}", last=len(names) - 1)
        labels = labels.astype(np.int64)
    train = _array(_get(doc, "train_index", "data"), "data.train_index", dtype=np.int64, bound=MAX_POINTS + 1)
    test = _array(_get(doc, "test_index", "data"), "data.test_index", dtype=np.int64, bound=MAX_POINTS + 1)
    both = np.concatenate([train.ravel(), test.ravel()])
    if train.ndim != 1 or test.ndim != 1 or not train.size or not test.size or \
            not np.array_equal(np.sort(both), np.arange(n)):
        raise RunFormatError("data.train_index", "train and test indices must split the points, each once")
    extent = _array(_get(doc, "extent", "data"), "data.extent", (4,), bound=1e9)
    if not (extent[0] < extent[1] and extent[2] < extent[3]):
        raise RunFormatError("data.extent", "expected [xmin, xmax, ymin, ymax] with min < max")
    data_config = _dataclass(DataConfig, _get(doc, "config", "data"), "data.config")
    return Dataset(points=points, labels=labels, task=task, class_names=tuple(names), train_index=train,
                   test_index=test, extent=tuple(float(v) for v in extent),  # type: ignore[arg-type]
                   config=data_config, source=source)


def _decode_tree(value: Any, path: str) -> Any:
    if isinstance(value, dict) and set(value) == {"shape", "data"}:
        shape = value["shape"]
        if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
            raise RunFormatError(path + ".shape", "expected a list of sizes")
        data = _array(value["data"], f"{path}.data", (int(np.prod(shape, dtype=np.int64)),), bound=1e300)
        return data.reshape(shape)
    if isinstance(value, dict):
        return {key: _decode_tree(item, f"{path}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_decode_tree(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise RunFormatError(path, "not a finite number")
    return value


def _same_structure(a: Any, b: Any) -> bool:
    """Same keys, lengths and array shapes (tuples and lists alike, ints and floats alike)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and list(a) == list(b) and \
            all(_same_structure(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        return isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b) and \
            all(_same_structure(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) or (isinstance(a, int | float) and isinstance(b, int | float)
                                  and not isinstance(a, bool) and not isinstance(b, bool))


def _retype(template: Any, value: Any) -> Any:
    """value shaped like template, with tuples and ints where the template has them."""
    if isinstance(template, dict):
        return {k: _retype(template[k], value[k]) for k in template}
    if isinstance(template, list | tuple):
        items = [_retype(t, v) for t, v in zip(template, value, strict=True)]
        return tuple(items) if isinstance(template, tuple) else items
    if isinstance(template, bool | str) or template is None:
        return value
    if isinstance(template, int | np.integer) and not isinstance(value, np.ndarray):
        return int(value)
    if isinstance(template, float | np.floating):
        return float(value)
    return value


def import_run(doc: Any) -> Run:
    """A Run that continues exactly where the exported one was. RunFormatError names what is wrong."""
    if _get(doc, "format", "") != FORMAT:
        raise RunFormatError("format", "expected {format}", format=repr(FORMAT))
    if _get(doc, "version", "") != VERSION:
        raise RunFormatError("version", "this server reads version {version}", version=VERSION)
    config = config_from_dict(_get(doc, "config", ""))
    dataset = _dataset_from(_get(doc, "data", ""), config)
    try:
        run = Run(config, dataset=dataset)
    except (TypeError, ValueError) as error:  # a value the config classes let through that the run refuses
        raise _inner(error, "config") from None

    state = _get(doc, "state", "")
    kind = _get(state, "kind", "state")
    if kind not in ("start", "batch", "edit"):
        raise RunFormatError("state.kind", "expected start, batch or edit")
    epoch = _int(_get(state, "epoch", "state"), "state.epoch")
    batch = _int(_get(state, "batch", "state"), "state.batch", 0, run.batches_per_epoch - 1)
    updates = _int(_get(state, "updates", "state"), "state.updates")
    layers = _get(state, "params", "state")
    live = run.network.get_params()
    if not isinstance(layers, list) or len(layers) != len(live):
        raise RunFormatError("state.params", "expected {n} layers", n=len(live))
    params = [
        (_array(_get(layer, "weights", f"state.params[{i}]"), f"state.params[{i}].weights", w.shape),
         _array(_get(layer, "bias", f"state.params[{i}]"), f"state.params[{i}].bias", b.shape))
        for i, (layer, (w, b)) in enumerate(zip(layers, live, strict=True))
    ]
    optimizer = _get(state, "optimizer", "state")
    if _get(optimizer, "kind", "state.optimizer") != config.optimizer.kind:
        raise RunFormatError("state.optimizer.kind", "expected {kind} as in the config",
                             kind=repr(config.optimizer.kind))
    template = run.optimizer.get_state()
    optimizer_state = _decode_tree(_get(optimizer, "state", "state.optimizer"), "state.optimizer.state")
    if not _same_structure(template, optimizer_state):
        raise RunFormatError("state.optimizer.state", "does not fit a {kind} optimiser of this network",
                             kind=config.optimizer.kind)
    rng_state = _get(state, "rng", "state")
    try:
        run.rng.bit_generator.state = rng_state
    except (TypeError, ValueError, KeyError, OverflowError):
        raise RunFormatError("state.rng", "not a valid random generator state") from None

    params_vector, params_layout = flatten(params)
    state_vector, state_layout = flatten(_retype(template, optimizer_state))
    point = Snapshot(kind, epoch, batch, updates, params_vector, params_layout, state_vector, state_layout,
                     config.optimizer.kind, dict(run.rng.bit_generator.state))
    metrics = _metrics_from(doc.get("metrics"))
    diverged = doc.get("diverged")
    divergence = None if diverged is None else _dataclass(Divergence, diverged, "diverged")
    cursor = doc.get("cursor")
    if cursor is not None:
        cursor = _int(cursor, "cursor")
    step_id = _int(_get(doc, "step_id", ""), "step_id")
    try:
        run.load_point(point, cursor=cursor, step_id=step_id, metrics=metrics, diverged=divergence)
    except ValueError as error:  # a SetupError naming the field (cursor, state.optimizer.kind)
        raise _inner(error, "state", None) from None
    return run


def _metrics_from(value: Any) -> list[Metrics]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise RunFormatError("metrics", "expected an object of columns")
    columns = [_get(value, name, "metrics") for name in _METRIC_COLUMNS]
    if not all(isinstance(c, list) for c in columns) or len({len(c) for c in columns}) != 1:
        raise RunFormatError("metrics", "expected columns of equal length")
    points = []
    for i, row in enumerate(zip(*columns, strict=True)):
        for name, item in zip(_METRIC_COLUMNS, row, strict=True):
            ok = item is None if name in ("accuracy", "test_accuracy") and item is None else \
                isinstance(item, int | float) and not isinstance(item, bool) and math.isfinite(item)
            if not ok:
                where = f"metrics.{name}[{i}]"
                raise RunFormatError(where, "expected a finite number")
        points.append(Metrics(*row))
    return points
