"""Computation-graph view: left-to-right SVG layout, step texts and numbers for the graph page and its API."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from app.i18n import N_, gettext
from engine.autodiff import Graph, Value
from engine.expression import ExpressionError, build_graph
from engine.printed import agreeing, significant

PRESETS: dict[str, tuple[str, str, str]] = {
    # key: (button text, expression, values)
    "lecture": (N_("Lecture: (x + y)·z"), "(x + y)*z", "x = -2, y = 5, z = -4"),
    "sigmoid": (N_("CS231n: sigmoid neuron"), "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))",
                "w0 = 2, x0 = -1, w1 = -3, x1 = -2, w2 = -3"),
    "max": (N_("max routes"), "max(x, y) * z + abs(x)", "x = 1, y = 3, z = 2"),
}
# One line per gate: what it does with the gradient coming from above.
GATE_RULES = {
    "+": N_("add distributes: every input gets the upstream gradient unchanged (local gradient 1)."),
    "−": N_("subtract: the left input gets the upstream gradient, the right one its negative."),
    "×": N_("multiply swaps: each input gets upstream × the other input's value."),
    "÷": N_("divide a/b: a gets upstream × 1/b, b gets upstream × (−a/b²)."),
    "neg": N_("negate flips the sign of the gradient (local gradient −1)."),
    "**": N_("power xᵖ: local gradient p·xᵖ⁻¹."),
    "exp": N_("exp: the local gradient is its own output eˣ."),
    "log": N_("log: local gradient 1/x."),
    "tanh": N_("tanh: local gradient 1 − tanh²."),
    "σ": N_("sigmoid: local gradient σ·(1 − σ)."),
    "relu": N_("relu is a gate: it passes the gradient if its input was > 0 and blocks it otherwise."),
    "max": N_("max routes: the largest input gets the whole gradient (the first one on ties), the others 0."),
    "abs": N_("abs passes the gradient with the sign of its input (0 at 0)."),
}
SYMBOLS = {"neg": "−", "exp": "exp", "log": "log", "tanh": "tanh", "relu": "relu", "max": "max", "abs": "|·|"}
CARET_SPACES = str.maketrans({"\t": " ", "\n": " ", "\r": " "})
VALUE_ITEM = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^=]+?)\s*\Z")

# Geometry of the drawing (SVG user units).
BOX_W, BOX_H, OP_R = 132, 34, 15
VALUE_COL_W, OP_COL_W, ROW_H, MARGIN, LABEL_H = 150, 200, 78, 16, 16  # an edge fits its 12-px label


def fmt(x: float | None, digits: int = 4) -> str:
    """A number as the page prints it: 4 significant digits (or `digits`), a real minus sign."""
    return significant(x, digits)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


# Each gate's forward rule on plain numbers, to redo a printed step with its printed inputs.
GATES: dict[str, Callable[[list[float], float], float]] = {
    "+": lambda a, p: a[0] + a[1], "−": lambda a, p: a[0] - a[1], "×": lambda a, p: a[0] * a[1],
    "÷": lambda a, p: a[0] / a[1], "neg": lambda a, p: -a[0], "**": lambda a, p: a[0] ** p,
    "exp": lambda a, p: math.exp(a[0]), "log": lambda a, p: math.log(a[0]),
    "tanh": lambda a, p: math.tanh(a[0]), "σ": lambda a, p: _sigmoid(a[0]),
    "relu": lambda a, p: max(a[0], 0.0), "max": lambda a, p: max(a), "abs": lambda a, p: abs(a[0]),
}


def _redone(function: Callable[[int], float], result: float) -> int:
    """The fewest significant digits (4 or more) for a step's inputs at which `function(digits)` (the step
    redone with its inputs as printed) prints as its printed 4-digit result."""
    def holds(digits: int) -> bool:
        try:
            return fmt(function(digits)) == fmt(result)
        except (ArithmeticError, ValueError):  # a printed input at the edge of log's or ÷'s domain
            return False

    return agreeing(holds, start=4, limit=17)


def _as_printed(value: float, digits: int) -> float:
    return float(fmt(value, digits).replace("−", "-"))


def parse_values(text: str) -> dict[str, float]:
    """"x = -2, y = 5" (commas, semicolons or new lines between items) -> {"x": -2.0, "y": 5.0}."""
    values: dict[str, float] = {}
    for item in re.split(r"[,;\n]", text.replace("−", "-")):
        if not item.strip():
            continue
        match = VALUE_ITEM.match(item)
        if not match:
            raise ExpressionError(gettext("cannot read %(item)s: write values as name = number")
                                  % {"item": repr(item.strip())})
        name, number = match.groups()
        try:
            value = float(number)
        except ValueError:
            raise ExpressionError(gettext("%(text)s is not a number") % {"text": repr(number)},
                                  variable=name) from None
        if not math.isfinite(value):
            message = gettext("the value of %(name)s must be a finite number") % {"name": repr(name)}
            raise ExpressionError(message, variable=name)
        values[name] = value
    return values


def format_values(values: dict[str, float]) -> str:
    return ", ".join(f"{name} = {value!r}" for name, value in values.items())


def graph_url(expression: str, values: dict[str, float], step: int | None = None) -> str:
    """Link that opens the graph page preloaded, e.g. from the network page's "show as graph"."""
    query: dict[str, str | int] = {"expression": expression, "values": format_values(values)}
    if step is not None:
        query["step"] = step
    return "/graph?" + urlencode(query)


NodeKind = Literal["variable", "constant", "operation"]


def kind_of(node: Value) -> NodeKind:
    return "operation" if node.op else "variable" if node.name else "constant"


def label_of(node: Value) -> str:
    if node.op:
        return node.name if len(node.name) <= 20 else node.name[:19] + "…"
    return node.name or fmt(node.data)


def symbol_of(node: Value) -> str:
    if node.op == "**":
        return f"^{node.exponent:g}"
    return SYMBOLS.get(node.op, node.op)


def layout(graph: Graph) -> tuple[list[tuple[float, float]], int, int]:
    """Centre (x, y) of every value box, and the drawing's width and height.

    Columns by depth from the inputs: variables in column 0, a node of depth d in value column 2d with
    its operation circle in column 2d − 1; a constant sits just left of the operation that uses it.
    Within a column a node wants the mean height of its inputs; overlaps are pushed apart downwards.
    """
    n = len(graph.nodes)
    depth = [0] * n
    consumer: dict[int, int] = {}
    for source, target, _ in graph.edges:
        consumer.setdefault(source, target)
    for i, node in enumerate(graph.nodes):  # topological order: inputs already have their depth
        if node.op:
            depth[i] = 1 + max(depth[graph.index[id(child)]] for child in node.inputs)
    column = [2 * depth[i] for i in range(n)]
    for i, node in enumerate(graph.nodes):
        if not node.op and not node.name and i in consumer:
            column[i] = max(0, 2 * depth[consumer[i]] - 2)
    y = [0.0] * n
    placed = [False] * n
    for col in range(0, max(column) + 1, 2):
        members = [i for i in range(n) if column[i] == col]
        wanted: dict[int, float] = {}
        for rank, i in enumerate(members):
            node = graph.nodes[i]
            inputs = [graph.index[id(child)] for child in node.inputs if placed[graph.index[id(child)]]]
            wanted[i] = sum(y[j] for j in inputs) / len(inputs) if inputs else rank * ROW_H
        for i in members:  # constants: next to the first placed sibling input of their consumer
            if not graph.nodes[i].op and not graph.nodes[i].name and i in consumer:
                siblings = [graph.index[id(c)] for c in graph.nodes[consumer[i]].inputs]
                others = [wanted[j] for j in siblings if j != i and j in wanted and graph.nodes[j].op]
                if others:
                    wanted[i] = others[0] - ROW_H / 2
        previous = -math.inf
        for i in sorted(members, key=lambda j: (wanted[j], j)):
            y[i] = max(wanted[i], previous + ROW_H)
            previous = y[i]
            placed[i] = True
    top = min(y)
    xs = [MARGIN + BOX_W / 2 + (column[i] // 2) * (VALUE_COL_W + OP_COL_W) for i in range(n)]
    ys = [y[i] - top + MARGIN + LABEL_H + BOX_H / 2 for i in range(n)]
    width = int(max(xs) + BOX_W / 2 + MARGIN)
    height = int(max(ys) + BOX_H / 2 + MARGIN + 8)
    return list(zip(xs, ys, strict=True)), width, height


def op_centre(centre: tuple[float, float]) -> tuple[float, float]:
    """The operation circle sits in the op column just left of its result's box."""
    return centre[0] - BOX_W / 2 - 42, centre[1]


def forward_text(node: Value) -> str:
    """'a + b = out', the inputs with the digits that make the printed result hold."""
    gate = GATES[node.op]
    exponent = node.exponent if node.exponent is not None else 1.0
    digits = _redone(lambda d: gate([_as_printed(c.data, d) for c in node.inputs], exponent), node.data)
    args = [fmt(child.data, digits) for child in node.inputs]
    out = fmt(node.data)
    if node.op in ("+", "−", "×", "÷"):
        return f"{args[0]} {node.op} {args[1]} = {out}"
    if node.op == "neg":
        return f"−({args[0]}) = {out}"
    if node.op == "**":
        return f"({args[0]})^{node.exponent:g} = {out}"
    name = "sigmoid" if node.op == "σ" else node.op
    return f"{name}({', '.join(args)}) = {out}"


@dataclass
class StepView:
    """What the page prints for one step (index is 1-based; 0 means "nothing computed yet")."""

    index: int
    phase: str
    node: int
    title: str
    rule: str = ""
    upstream: float | None = None
    rows: list[dict[str, str]] = field(default_factory=list)


def _product_digits(step: Any) -> list[int]:
    """Per input of a backward step: the digits at which the printed upstream × local gives the printed
    product."""
    upstream = float(step.upstream)

    def redo(local: float) -> Callable[[int], float]:
        return lambda d: _as_printed(upstream, d) * _as_printed(local, d)

    return [_redone(redo(local), product) for local, product in zip(step.local_grads, step.products,
                                                                     strict=True)]


def step_views(graph: Graph) -> list[StepView]:
    views: list[StepView] = []
    for index, step in enumerate(graph.steps, 1):
        node = graph.nodes[step.node]
        label = label_of(node)
        if step.phase == "forward":
            views.append(StepView(index, "forward", step.node,
                                  gettext("forward: %(step)s") % {"step": f"{label} = {forward_text(node)}"}))
        elif step.upstream is None:
            views.append(StepView(index, "backward", step.node,
                                  gettext("backward starts: ∂f/∂f = 1 at %(node)s") % {"node": label}))
        else:
            rows = [
                {"input": label_of(child), "upstream": fmt(step.upstream, digits),
                 "local": fmt(local, digits), "product": fmt(product)}
                for child, local, product, digits in zip(node.inputs, step.local_grads, step.products,
                                                         _product_digits(step), strict=True)
            ]
            title = (gettext("backward through %(op)s: upstream ∂f/∂(%(node)s) = %(value)s")
                     % {"op": symbol_of(node), "node": label, "value": fmt(step.upstream)})
            rule = GATE_RULES.get(node.op)
            views.append(StepView(index, "backward", step.node, title, gettext(rule) if rule else "",
                                  step.upstream, rows))
    return views


def page_context(expression: str, values_text: str, step: int) -> dict[str, object]:
    """Everything graph_svg.html needs for `step` (clamped to 0..number of steps), or an error."""
    context: dict[str, object] = {"expression": expression, "values_text": values_text,
                                  "presets": PRESETS, "error": None, "graph": None}
    try:
        graph = build_graph(expression, parse_values(values_text))
    except ExpressionError as error:
        context["error"] = error
        # the caret line sits under this copy: a tab or new line would shift it, so they print as spaces
        context["caret_text"] = expression.translate(CARET_SPACES)
        return context
    total = len(graph.steps)
    step = max(0, min(step, total))
    known, grads = graph.state_after(step)
    centres, width, height = layout(graph)
    views = step_views(graph)
    current = views[step - 1] if step else None
    receiving: set[int] = set()
    if current and current.rows:
        receiving = {graph.index[id(child)] for child in graph.nodes[current.node].inputs}
    nodes = []
    for i, node in enumerate(graph.nodes):
        x, y = centres[i]
        nodes.append({
            "id": i, "kind": kind_of(node), "label": label_of(node), "x": x, "y": y,
            "data": fmt(node.data) if known[i] else "?", "grad": fmt(grads[i]),
            "symbol": symbol_of(node) if node.op else "", "op": op_centre(centres[i]) if node.op else None,
            "current": current is not None and current.node == i, "receiving": i in receiving,
        })
    edges = []
    edge_labels: dict[tuple[int, int], str] = {}
    blocked: set[tuple[int, int]] = set()  # a gate sent 0 this way (max not chosen, relu closed)
    if current and current.rows:
        step_data = graph.steps[step - 1]
        for slot, digits in enumerate(_product_digits(step_data)):
            local, product = step_data.local_grads[slot], step_data.products[slot]
            upstream = fmt(step_data.upstream, digits)
            edge_labels[(current.node, slot)] = f"{upstream} × {fmt(local, digits)} = {fmt(product)}"
            if local == 0:
                blocked.add((current.node, slot))
    for source, target, slot in graph.edges:
        sx, sy = centres[source]
        ox, oy = op_centre(centres[target])
        spread = (slot - (len(graph.nodes[target].inputs) - 1) / 2) * 6  # inputs meet the circle apart
        edges.append({"x1": sx + BOX_W / 2, "y1": sy, "x2": ox - OP_R, "y2": oy + spread,
                      "label": edge_labels.get((target, slot), ""),
                      "active": (target, slot) in edge_labels, "blocked": (target, slot) in blocked})
    variables = [(name, fmt(leaf.grad)) for name, leaf in graph.variables().items()]
    context.update(graph=graph, nodes=nodes, edges=edges, width=width, height=height, step=step,
                   total=total, current=current, forward_total=sum(s.phase == "forward" for s in graph.steps),
                   done=step == total, output=fmt(graph.output.data), gradients=variables,
                   query=lambda k: urlencode({"expression": expression, "values": values_text, "step": k}))
    return context
