"""Run -> template context: the page's counters, controls, option lists; the first paint and each fragment.

The drawing's geometry is app/layout.py, the units' names app/inspector_text.py, the inspector's formula
app/inspector.py; this module puts them together with the Run's state. It prints numbers the engine
computed and computes none of its own.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.charts import charts_context
from app.frames import r4, scheduled_rate, unit_interval_layers
from app.i18n import gettext, said
from app.inspector import inspector_view, neuron_graph_url
from app.inspector_text import NetNames, layer_sizes, neuron_labels, neuron_numbers
from app.layout import network_layout, output_map_node
from app.setupform import running_alpha
from app.urlstate import SPEEDS, VIEW_DEFAULTS
from engine import features as engine_features
from engine import printed, vocabulary
from engine.data import Dataset, n_targets_for
from engine.errors import SetupError
from engine.features import FEATURE_LABELS, FEATURES
from engine.stepper import Run, RunConfig

LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REG_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
PAGE_MAX_LAYERS = 6
PAGE_MAX_UNITS = 16
FEATURE_MAP_RES = 24


def _encode_map(values: Any) -> str:
    """(res, res) feature values -> base64 uint8 on the frames' scale, divided by the largest |value| so
    every feature's map spans the colour range (a display choice: the map shows the shape, not the size)."""
    grid = np.asarray(values, dtype=np.float64)
    peak = float(np.max(np.abs(grid))) or 1.0
    scaled = np.rint((np.clip(grid / peak, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    return base64.b64encode(scaled.tobytes()).decode("ascii")


def feature_maps(extent: Sequence[float], names: Sequence[str], res: int = FEATURE_MAP_RES) -> dict[str, str]:
    """Each feature's thumbnail: the engine's values over the input plane (row 0 = ymin), as bytes."""
    ordered = engine_features.ordered(names)
    grids = engine_features.grid_values(extent, res, ordered)
    return {name: _encode_map(grid) for name, grid in zip(ordered, grids, strict=True)}


@dataclass(frozen=True)
class OutputChoice:
    """One option of the output-unit select (vocabulary's title and formula); `refused` says why the engine
    cannot fit it to this data."""

    name: str
    title: str
    formula: str
    refused: str | None


def output_choices(dataset: Dataset) -> list[OutputChoice]:
    """Every output unit, each with the engine's reason when it cannot learn `dataset`'s labels (the
    page disables those options, so a student never picks one only to see it refused)."""
    choices = []
    for name, term in vocabulary.OUTPUT_UNITS.items():
        try:
            n_targets_for(dataset, name)
            refused = None
        except SetupError as error:  # in the page's language (a tooltip on the disabled option)
            refused = f"{error.field}: {said(error)}"
        except ValueError as error:
            refused = str(error)
        choices.append(OutputChoice(name, term.title, term.formula, refused))
    return choices


def with_value(value: float, choices: Sequence[float]) -> tuple[float, ...]:
    """The offered values plus the run's own (a link's lr=0.05 is shown and kept as 0.05, not as the
    nearest offered 0.03, which the next change would then silently set)."""
    return tuple(sorted({*choices, value}))


def setup_values(config: RunConfig) -> dict[str, Any]:
    """RunConfig -> the values the setup controls show."""
    optimizer, regularization = config.optimizer, config.regularization
    return {
        "learning_rate": optimizer.learning_rate,
        "schedule": optimizer.schedule.kind,
        "warmup": optimizer.schedule.warmup, "total": optimizer.schedule.total,
        "optimizer": optimizer.kind,
        "regularization": regularization.kind,
        "regularization_rate": regularization.rate,
        "batch_size": config.batch_size,
        "output_unit": config.output_unit,
        "activations": [layer.activation for layer in config.hidden],
        # α as the engine runs it (its default when the config leaves it None), k of maxout
        "layers": [{"activation": layer.activation, "pieces": layer.pieces,
                    "alpha": running_alpha(layer.activation, layer.alpha),
                    "term": vocabulary.ACTIVATIONS[layer.activation],
                    "parameters": {p.name: p for p in vocabulary.ACTIVATIONS[layer.activation].parameters}}
                   for layer in config.hidden],
        "hidden_units": [layer.units for layer in config.hidden],
        "dataset": config.dataset.name,
        "noise": config.dataset.noise,
        "train_fraction": config.dataset.train_fraction,
    }


def net_names(run: Run) -> tuple[list[int], NetNames]:
    """Layer sizes and the inspector's names for a Run."""
    config = run.config
    sizes = layer_sizes(config, int(run.network.layers[-1].bias.shape[0]))
    features = list(config.features)
    activations = [layer.activation for layer in config.hidden] + [config.output_unit]
    names = NetNames(neuron_labels(sizes, features, config.output_unit), neuron_numbers(sizes), sizes,
                     activations, [layer.alpha for layer in config.hidden])
    return sizes, names


def inspector_context(run: Run) -> dict[str, Any]:
    """The inspector partial's context: the current micro-step's formula with the trace's numbers."""
    _, names = net_names(run)
    view = inspector_view(run.current_event, names, optimizer=run.config.optimizer.kind,
                          position=(run.epoch, run.batch))
    return {"inspector": view, "step_id": run.step_id}


def current_graph_url(run: Run) -> str | None:
    """The graph page's link for the current forward step's neuron (None when there is none to draw)."""
    _, names = net_names(run)
    return neuron_graph_url(run.current_event, names)


def charts_view(run: Run) -> dict[str, Any]:
    """The charts partial's context (loss chart and η schedule, app/charts.py)."""
    return {"charts": charts_context(run), "step_id": run.step_id}


def page_context(run: Run, sid: str, *, playing: bool, share_query: str) -> dict[str, Any]:
    """Everything index.html needs for the first paint (and for re-rendering #page after a rebuild)."""
    config = run.config
    dataset = run.dataset
    sizes, _ = net_names(run)
    features = list(config.features)
    extent = [float(v) for v in dataset.extent]
    maps = feature_maps(extent, [*FEATURES])
    enabled = set(features)
    test_rows = set(int(i) for i in dataset.test_index)
    regression = dataset.task == "regression"
    labels = dataset.labels.tolist()
    points = [
        [round(float(x), 3), round(float(y), 3), float(label) if regression else int(label),
         1 if i in test_rows else 0]
        for i, ((x, y), label) in enumerate(zip(dataset.points.tolist(), labels, strict=True))
    ]
    event = run.current_event
    measured = run.current_metrics()  # the same numbers as the frame's loss and acc
    accuracy = (None if measured.accuracy is None else
                f"{printed.percent(r4(measured.accuracy))} / "
                f"{printed.percent(r4(measured.test_accuracy or 0.0))}")
    classes = getattr(dataset, "class_names", ()) or ()
    context = {
        "sid": sid,
        "layout": network_layout(sizes, features, config.output_unit),
        "out_map_node": output_map_node(sizes, config.output_unit),
        "input_maps": {f"n0_{i}": maps[f] for i, f in enumerate(features) if f in maps},
        "input_map_res": FEATURE_MAP_RES,
        "max_layers": PAGE_MAX_LAYERS,
        "counters": {"epoch": run.epoch, "batch": run.batch, "sample": run.sample,
                     "phase": event.kind if event is not None else None},
        "playing": playing, "speeds": SPEEDS, "view": dict(VIEW_DEFAULTS),  # the route sets the URL's
        "view_defaults": VIEW_DEFAULTS,
        "share_url": f"/?{share_query}",
        "cfg": setup_values(config),
        "learning_rates": with_value(config.optimizer.learning_rate, LEARNING_RATES),
        "reg_rates": with_value(config.regularization.rate, REG_RATES),
        "output_units": output_choices(dataset),
        "activations": list(vocabulary.ACTIVATIONS.values()),
        # a batch is at most the training set (the engine refuses more): 250 of circle's 500 points at 50 %
        "max_batch": int(dataset.train_index.shape[0]),
        "datasets": list(vocabulary.DATASETS.values()), "step_units": list(vocabulary.STEP_UNITS.values()),
        "schedules": list(vocabulary.SCHEDULES.values()), "optimizers": list(vocabulary.OPTIMIZERS.values()),
        "regularizations": list(vocabulary.REGULARIZATIONS.values()),
        "probabilities": vocabulary.OUTPUT_UNITS[config.output_unit].probabilities,
        "features": [{"name": name, "label": FEATURE_LABELS[name], "on": name in enabled, "map": maps[name]}
                     for name in FEATURES],
        "feature_map_res": FEATURE_MAP_RES,
        "point_classes": [{"value": i, "text": gettext("class %(name)s") % {"name": name}}
                          for i, name in enumerate(classes)]
        or [{"value": 0, "text": gettext("value −1")}, {"value": 1, "text": gettext("value +1")}],
        "plot_size": 276,
        "extent": extent,
        "points_json": json.dumps(points, separators=(",", ":")),
        "n_classes": max(2, len(classes)),
        "task": dataset.task,
        "output_unit": config.output_unit,
        "losses": {"train": printed.loss(r4(measured.train_loss)),
                   "test": printed.loss(r4(measured.test_loss)),
                   "reg": printed.loss(r4(measured.reg)), "acc": "—" if accuracy is None else accuracy},
        "eta_now": printed.rate(scheduled_rate(run)),
        "diverged": said(run.diverged) if run.diverged is not None else None,
        "setup_error": None,
        "unit_layers": unit_interval_layers(run),
        "can_back": run.can_back,
    }
    context.update(inspector_context(run))
    context.update(charts_view(run))
    return context

