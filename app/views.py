"""Run -> template context: the network's SVG layout (stable ids) and the page's counters and controls.

Geometry only: where each node, link and bias sits. The numbers a student reads come from the Run's
trace, formatted in app/inspector.py; nothing here computes a value of the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# Feature names as the API spells them -> how the page writes them.
FEATURE_LABELS: dict[str, str] = {
    "x1": "x₁", "x2": "x₂", "x1_sq": "x₁²", "x2_sq": "x₂²", "x1_x2": "x₁x₂", "sin_x1": "sin x₁",
    "sin_x2": "sin x₂",
}
ALL_FEATURES: tuple[str, ...] = tuple(FEATURE_LABELS)

NODE_SIZE = 30
BIAS_SIZE = 7
MARGIN_X = 46
MARGIN_Y = 26
MAX_PITCH = 52
COLUMN_GAP = 118
MIN_HEIGHT = 240

SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def subscript(number: int) -> str:
    """12 -> '₁₂' (the lecture numbers neurons with subscripts)."""
    return str(number).translate(SUBSCRIPT)


@dataclass(frozen=True)
class NodeView:
    """One square node; `number` is the lecture's global neuron number (inputs are x₁, x₂, …)."""

    id: str
    layer: int
    unit: int
    x: float
    y: float
    label: str
    kind: str  # input | hidden | output


@dataclass(frozen=True)
class LinkView:
    """The link from `input` of layer `layer - 1` to `unit` of `layer`; `d` is its SVG path."""

    id: str
    layer: int
    unit: int
    input: int
    d: str
    label: str


@dataclass(frozen=True)
class BiasView:
    id: str
    layer: int
    unit: int
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class ColumnView:
    """One layer's column: its x, how many units, and whether the page offers +/- here."""

    layer: int
    x: float
    units: int
    title: str
    editable: bool


@dataclass(frozen=True)
class NetworkLayout:
    width: float
    height: float
    node_size: int
    bias_size: int
    columns: list[ColumnView]
    nodes: list[NodeView]
    links: list[LinkView]
    biases: list[BiasView]
    labels: dict[str, str] = field(default_factory=dict)  # node id -> lecture name (x₁, y₃, ŷ)


def output_names(n_outputs: int, output_unit: str | None = None) -> list[str]:
    """The output units' names: ŷ for one, ŷ₁, ŷ₂, … for several; a Gaussian output's 2d units are the
    means then the variances (μ, σ² for one target; μ₁…μ_d, σ₁²…σ_d² for d)."""
    if output_unit == "gaussian_nll" and n_outputs % 2 == 0:
        d = n_outputs // 2
        if d == 1:
            return ["μ", "σ²"]
        return [f"μ{subscript(k + 1)}" for k in range(d)] + [f"σ{subscript(k + 1)}²" for k in range(d)]
    return ["ŷ"] if n_outputs == 1 else [f"ŷ{subscript(unit + 1)}" for unit in range(n_outputs)]


def neuron_labels(sizes: Sequence[int], features: Sequence[str] = (),
                  output_unit: str | None = None) -> dict[str, str]:
    """Lecture names per node id: inputs by feature, neurons numbered 1, 2, … through the layers.

    The output is called ŷ when there is one output unit, ŷ₁, ŷ₂, … otherwise (μ and σ² for a
    Gaussian output, see output_names).
    """
    labels: dict[str, str] = {}
    for i in range(sizes[0]):
        name = features[i] if i < len(features) else f"x{i + 1}"
        labels[f"n0_{i}"] = FEATURE_LABELS.get(name, name)
    number = 0
    last = len(sizes) - 1
    outputs = output_names(sizes[last], output_unit)
    for layer in range(1, len(sizes)):
        for unit in range(sizes[layer]):
            number += 1
            if layer == last:
                labels[f"n{layer}_{unit}"] = outputs[unit]
            else:
                labels[f"n{layer}_{unit}"] = f"y{subscript(number)}"
    return labels


def neuron_numbers(sizes: Sequence[int]) -> dict[str, int]:
    """node id -> the lecture's global neuron number (1-based, inputs excluded)."""
    numbers: dict[str, int] = {}
    number = 0
    for layer in range(1, len(sizes)):
        for unit in range(sizes[layer]):
            number += 1
            numbers[f"n{layer}_{unit}"] = number
    return numbers


def network_layout(sizes: Sequence[int], features: Sequence[str] = (),
                   output_unit: str | None = None) -> NetworkLayout:
    """Place every node, link and bias of a network with `sizes` = [inputs, hidden..., outputs].

    Columns are evenly spaced; each column's nodes are centred vertically with at most MAX_PITCH between
    them, so a 16-unit layer still fits. Links are cubic curves from the right edge of the source node
    to the left edge of the target, as in TF Playground.
    """
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise ValueError(f"a network needs an input and an output layer with units, got {list(sizes)}")
    tallest = max(sizes)
    height = max(MIN_HEIGHT, 2 * MARGIN_Y + (tallest - 1) * MAX_PITCH + NODE_SIZE)
    pitch = min(MAX_PITCH, (height - 2 * MARGIN_Y - NODE_SIZE) / max(1, tallest - 1))
    width = 2 * MARGIN_X + (len(sizes) - 1) * COLUMN_GAP + NODE_SIZE
    labels = neuron_labels(sizes, features, output_unit)
    last = len(sizes) - 1

    centres: list[list[tuple[float, float]]] = []
    columns: list[ColumnView] = []
    nodes: list[NodeView] = []
    for layer, units in enumerate(sizes):
        x = MARGIN_X + layer * COLUMN_GAP + NODE_SIZE / 2
        top = height / 2 - (units - 1) * pitch / 2
        column = [(x, top + unit * pitch) for unit in range(units)]
        centres.append(column)
        kind = "input" if layer == 0 else "output" if layer == last else "hidden"
        title = "input" if layer == 0 else "output" if layer == last else f"layer {layer}"
        columns.append(ColumnView(layer, x, units, title, editable=kind == "hidden"))
        for unit, (cx, cy) in enumerate(column):
            node_id = f"n{layer}_{unit}"
            nodes.append(NodeView(node_id, layer, unit, cx, cy, labels[node_id], kind))

    half = NODE_SIZE / 2
    links: list[LinkView] = []
    biases: list[BiasView] = []
    for layer in range(1, len(sizes)):
        for unit, (tx, ty) in enumerate(centres[layer]):
            target = labels[f"n{layer}_{unit}"]
            for source, (sx, sy) in enumerate(centres[layer - 1]):
                x0, x1 = sx + half, tx - half
                mid = (x0 + x1) / 2
                d = f"M{x0:.1f},{sy:.1f} C{mid:.1f},{sy:.1f} {mid:.1f},{ty:.1f} {x1:.1f},{ty:.1f}"
                links.append(LinkView(f"w{layer}_{unit}_{source}", layer, unit, source, d,
                                      f"{labels[f'n{layer - 1}_{source}']} → {target}"))
            # The bias sits at the node's lower left corner, as a small square of its own colour.
            biases.append(BiasView(f"b{layer}_{unit}", layer, unit, tx - half - BIAS_SIZE - 2,
                                   ty + half - BIAS_SIZE, f"bias of {target}"))
    return NetworkLayout(width, height, NODE_SIZE, BIAS_SIZE, columns, nodes, links, biases, labels)


def layer_sizes(config: Any, n_outputs: int) -> list[int]:
    """[inputs, hidden..., outputs] from a RunConfig (features, hidden) and the network's output count."""
    return [len(config.features), *(layer.units for layer in config.hidden), n_outputs]


# ---- page context (the first paint and every fragment render from this) ---------------------------------


LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REG_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
OUTPUT_UNITS = (
    ("tanh_mse", "tanh + squared error (TF)"), ("sigmoid_bce", "sigmoid + cross-entropy"),
    ("softmax_ce", "softmax + cross-entropy"), ("linear_mse", "linear + squared error"),
    ("linear_l1", "linear + absolute error"),
    ("gaussian_nll", "Gaussian: mean μ and variance σ² (NLL)"),
)
ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear", "leaky_relu", "elu", "abs", "softplus", "swish", "maxout")
PAGE_MAX_LAYERS = 6
PAGE_MAX_UNITS = 16
FEATURE_MAP_RES = 24


@dataclass(frozen=True)
class DatasetChoice:
    name: str
    title: str
    icon: str
    hint: str


DATASET_CHOICES = (
    DatasetChoice("circle", "circle", "circle", "a blob of one class inside a ring of the other"),
    DatasetChoice("xor", "xor", "xor", "opposite quadrants share a class"),
    DatasetChoice("gauss", "gauss", "gauss", "two clouds"),
    DatasetChoice("spiral", "spiral", "spiral", "two interleaved spiral arms (hard)"),
    DatasetChoice("blobs", "3 blobs", "blobs", "several classes in clouds (softmax output)"),
    DatasetChoice("spiral_k", "3 spirals", "spiral_k", "several spiral arms (softmax output)"),
    DatasetChoice("plane", "plane", "plane", "regression: the value grows along x₁ + x₂"),
    DatasetChoice("multi_gauss", "bumps", "multi_gauss", "regression: six bumps of alternating sign"),
)


def _encode_map(values: Any) -> str:
    """(res, res) feature values -> base64 uint8 on the frames' scale, divided by the largest |value| so
    every feature's map spans the colour range (a display choice: the map shows the shape, not the size)."""
    import base64

    import numpy as np

    grid = np.asarray(values, dtype=np.float64)
    peak = float(np.max(np.abs(grid))) or 1.0
    scaled = np.rint((np.clip(grid / peak, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    return base64.b64encode(scaled.tobytes()).decode("ascii")


def feature_maps(extent: Sequence[float], names: Sequence[str], res: int = FEATURE_MAP_RES) -> dict[str, str]:
    """Each feature's thumbnail: the engine's values over the input plane (row 0 = ymin), as bytes."""
    from engine import features as engine_features

    ordered = engine_features.ordered(names)
    grids = engine_features.grid_values(extent, res, ordered)
    return {name: _encode_map(grid) for name, grid in zip(ordered, grids, strict=True)}


@dataclass(frozen=True)
class OutputChoice:
    """One option of the output-unit select; `refused` says why the engine cannot fit it to this data."""

    name: str
    title: str
    refused: str | None


def output_choices(dataset: Any) -> list[OutputChoice]:
    """Every output unit, each with the engine's reason when it cannot learn `dataset`'s labels (the
    page disables those options, so a student never picks one only to see it refused)."""
    from engine.data import n_targets_for

    choices = []
    for name, title in OUTPUT_UNITS:
        try:
            n_targets_for(dataset, name)
            refused = None
        except ValueError as error:
            refused = str(error)
        choices.append(OutputChoice(name, title, refused))
    return choices


def output_map_node(sizes: Sequence[int], output_unit: str) -> str | None:
    """The output node that shows the frames' `out` map inside it: the single output, or a Gaussian's
    mean μ (the map is μ); None when several outputs share the plot (classes)."""
    last = len(sizes) - 1
    if sizes[last] == 1 or (output_unit == "gaussian_nll" and sizes[last] == 2):
        return f"n{last}_0"
    return None


def _choice(value: float, choices: Sequence[float]) -> float:
    """The offered value nearest to `value` (so a select shows something sensible for any run)."""
    return min(choices, key=lambda c: abs(c - value))


def setup_values(config: Any) -> dict[str, Any]:
    """RunConfig -> the values the setup controls show."""
    optimizer, regularization = config.optimizer, config.regularization
    return {
        "learning_rate": _choice(optimizer.learning_rate, LEARNING_RATES),
        "schedule": optimizer.schedule.kind,
        "optimizer": optimizer.kind,
        "regularization": regularization.kind,
        "regularization_rate": _choice(regularization.rate, REG_RATES),
        "batch_size": config.batch_size,
        "output_unit": config.output_unit,
        "activations": [layer.activation for layer in config.hidden],
        "hidden_units": [layer.units for layer in config.hidden],
        "dataset": config.dataset.name,
        "noise": config.dataset.noise,
        "train_fraction": config.dataset.train_fraction,
    }


def net_names(run: Any) -> tuple[list[int], Any]:
    """Layer sizes and the inspector's names for a Run."""
    from app.inspector import NetNames

    config = run.config
    sizes = layer_sizes(config, int(run.network.layers[-1].bias.shape[0]))
    features = list(config.features)
    activations = [layer.activation for layer in config.hidden] + [config.output_unit]
    names = NetNames(neuron_labels(sizes, features, config.output_unit), neuron_numbers(sizes), sizes,
                     activations)
    return sizes, names


def inspector_context(run: Any) -> dict[str, Any]:
    """The inspector partial's context: the current micro-step's formula with the trace's numbers."""
    from app.inspector import inspector_view

    _, names = net_names(run)
    view = inspector_view(run.current_event, names, optimizer=run.config.optimizer.kind,
                          position=(run.epoch, run.batch))
    return {"inspector": view, "step_id": run.step_id}


def page_context(run: Any, sid: str, *, playing: bool, share_query: str) -> dict[str, Any]:
    """Everything index.html needs for the first paint (and for re-rendering #page after a rebuild)."""
    import json

    from app.frames import r4

    config = run.config
    dataset = run.dataset
    sizes, _ = net_names(run)
    features = list(config.features)
    extent = [float(v) for v in dataset.extent]
    maps = feature_maps(extent, [*ALL_FEATURES])
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
    train, test = run.losses()
    history = run.history_metrics
    last = history[-1] if history else None
    last_acc = (None if last is None or last.accuracy is None
                else f"{100 * last.accuracy:.1f} % / {100 * (last.test_accuracy or 0.0):.1f} %")
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
        "playing": playing, "step_unit": "micro", "speed": 10,
        "share_url": f"/?{share_query}",
        "cfg": setup_values(config),
        "learning_rates": LEARNING_RATES, "reg_rates": REG_RATES, "output_units": output_choices(dataset),
        "activations": ACTIVATIONS, "max_batch": 500,
        "datasets": DATASET_CHOICES,
        "features": [{"name": name, "label": FEATURE_LABELS[name], "on": name in enabled, "map": maps[name]}
                     for name in ALL_FEATURES],
        "feature_map_res": FEATURE_MAP_RES,
        "point_classes": [{"value": i, "text": f"class {name}"} for i, name in enumerate(classes)]
        or [{"value": 0, "text": "value −1"}, {"value": 1, "text": "value +1"}],
        "plot_size": 276,
        "extent": extent,
        "points_json": json.dumps(points, separators=(",", ":")),
        "n_classes": max(2, len(classes)),
        "task": dataset.task,
        "output_unit": config.output_unit,
        "losses": {"train": _three(r4(train)), "test": _three(r4(test)),
                   "reg": _three(r4(run.last_trace.loss_reg) if run.last_trace is not None else 0.0),
                   "acc": "—" if last_acc is None else last_acc},
        "history_json": json.dumps(_history(history), separators=(",", ":")),
        "diverged": run.diverged.message if run.diverged is not None else None,
        "setup_error": None,
    }
    context.update(inspector_context(run))
    return context


def _three(value: float | None) -> str:
    """A loss as the page shows it: 3 decimals, or 7.23·10⁴⁷ once it no longer fits (a run about to
    diverge); the same rule as stepwise.js's num()."""
    if value is None:
        return "—"
    if abs(value) >= 1000:
        mantissa, exponent = f"{value:.2e}".split("e")
        power = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
        return f"{mantissa.replace('-', '−')}·10{power}"
    text = f"{value:.3f}"  # a Gaussian NLL can be negative: a real minus, as everywhere on the page
    return "0.000" if text == "-0.000" else text.replace("-", "−")


def _history(history: Sequence[Any]) -> dict[str, list[float | None]]:
    """Loss history for the chart's first paint; the stream appends from there."""
    from app.frames import r4

    return {
        "train": [r4(m.train_loss) for m in history],
        "test": [r4(m.test_loss) for m in history],
        "reg": [r4(m.reg) for m in history],
    }
