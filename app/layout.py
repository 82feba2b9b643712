"""The network drawing's SVG layout: where each node, link and bias sits, under the frames' stable ids
(node n{l}_{j}, link w{l}_{j}_{i}, bias b{l}_{j}; docs/architecture.md "Frames").

Geometry only: the numbers a student reads come from the Run's trace, formatted in app/inspector.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.i18n import gettext
from app.inspector_text import neuron_labels

NODE_SIZE = 30
BIAS_SIZE = 7
MARGIN_X = 46
MARGIN_Y = 26
MAX_PITCH = 52
COLUMN_GAP = 118
MIN_HEIGHT = 240


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
        title = (gettext("input") if layer == 0 else gettext("output") if layer == last
                 else gettext("layer %(layer)s") % {"layer": layer})
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
                                   ty + half - BIAS_SIZE, gettext("bias of %(neuron)s") % {"neuron": target}))
    return NetworkLayout(width, height, NODE_SIZE, BIAS_SIZE, columns, nodes, links, biases, labels)


def output_map_node(sizes: Sequence[int], output_unit: str) -> str | None:
    """The output node that shows the frames' `out` map inside it: the single output, or a Gaussian's
    mean μ (the map is μ); None when several outputs share the plot (classes)."""
    last = len(sizes) - 1
    if sizes[last] == 1 or (output_unit == "gaussian_nll" and sizes[last] == 2):
        return f"n{last}_0"
    return None
