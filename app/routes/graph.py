"""Computation-graph page (htmx fragments per step) and its JSON API `POST /api/graph`."""

from __future__ import annotations

import math
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from app.graph_view import PRESETS, kind_of, label_of, page_context
from app.i18n import said
from app.jsonbody import StrictJSONRoute
from app.presentation import PROJECTOR, Presentation
from app.routes.api import Current, Manager
from app.schemas import ERROR_RESPONSES
from app.views import current_graph_url
from engine.expression import MAX_LENGTH, ExpressionError, build_graph

router = APIRouter(tags=["graph"], route_class=StrictJSONRoute)


# The engine refuses more than MAX_LENGTH characters itself, naming the field and the column (501), so
# the schema only caps what it will read at all; past this, pydantic's string_too_long list answers.
HARD_CAP = 10_000


class GraphRequest(BaseModel):
    expression: str = Field(max_length=HARD_CAP,
                            description=f"at most {MAX_LENGTH} characters (longer is a 422 with its column)")
    # NaN/inf pass pydantic on purpose: the route refuses them itself, so the 422 never echoes a NaN
    # (which is not JSON) whatever validation handler the app has.
    values: dict[Annotated[str, Field(max_length=64)], float] = Field(default_factory=dict, max_length=64)


class GraphNode(BaseModel):
    id: int
    kind: Literal["variable", "constant", "operation"]
    label: str
    op: str | None
    exponent: float | None
    data: float
    grad: float
    inputs: list[int]


class GraphEdge(BaseModel):
    source: int
    target: int
    slot: int


class InputGradient(BaseModel):
    node: int
    local_grad: float
    product: float


class GraphStep(BaseModel):
    index: int  # 1-based, in order: forward steps, then backward (the first is the seed ∂f/∂f = 1)
    phase: Literal["forward", "backward"]
    node: int
    data: float | None  # forward: the value computed
    upstream: float | None  # backward: ∂f/∂node (None on the seed step)
    inputs: list[InputGradient]


class GraphResponse(BaseModel):
    expression: str
    output: float
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    steps: list[GraphStep]
    gradients: dict[str, float]


def expression_error(error: ExpressionError) -> HTTPException:
    field = f"values.{error.variable}" if error.variable else "expression"
    detail = {"field": field, "message": said(error), "column": error.column, "variable": error.variable}
    return HTTPException(status_code=422, detail=detail)


@router.post("/api/graph", response_model=GraphResponse, responses=ERROR_RESPONSES)
def api_graph(body: GraphRequest) -> GraphResponse:
    for name, value in body.values.items():
        if not math.isfinite(value):
            raise expression_error(ExpressionError("the value of {name} must be a finite number",
                                                   variable=name, name=repr(name)))
    try:
        graph = build_graph(body.expression, body.values)
    except ExpressionError as error:
        raise expression_error(error) from None
    index = graph.index
    nodes = [
        GraphNode(id=i, kind=kind_of(node), label=label_of(node), op=node.op or None, exponent=node.exponent,
                  data=node.data, grad=node.grad, inputs=[index[id(c)] for c in node.inputs])
        for i, node in enumerate(graph.nodes)
    ]
    steps = [
        GraphStep(
            index=k, phase=step.phase, node=step.node,
            data=graph.nodes[step.node].data if step.phase == "forward" else None, upstream=step.upstream,
            inputs=[InputGradient(node=index[id(child)], local_grad=local, product=product)
                    for child, local, product in zip(graph.nodes[step.node].inputs, step.local_grads,
                                                     step.products, strict=False)],
        )
        for k, step in enumerate(graph.steps, 1)
    ]
    return GraphResponse(
        expression=body.expression, output=graph.output.data, nodes=nodes,
        edges=[GraphEdge(source=s, target=t, slot=k) for s, t, k in graph.edges], steps=steps,
        gradients={name: leaf.grad for name, leaf in graph.variables().items()},
    )


TextParam = Annotated[str, Query(max_length=2000)]


def _resolve(expression: str | None, values: str | None, preset: str | None) -> tuple[str, str]:
    if preset in PRESETS:
        return PRESETS[preset][1], PRESETS[preset][2]
    if expression is None:
        return PRESETS["lecture"][1], PRESETS["lecture"][2]
    return expression, values or ""


@router.get("/graph", response_class=HTMLResponse, include_in_schema=False)
def graph_page(request: Request, expression: TextParam | None = None, values: TextParam | None = None,
               preset: str | None = None, step: int = 0, note: TextParam | None = None) -> HTMLResponse:
    """The page; `?expression=...&values=x = 1, y = 2` opens it preloaded (see app.graph_view.graph_url);
    `note` is the inspector's word on how far a neuron's graph goes."""
    expression, values = _resolve(expression, values, preset)
    context = {**page_context(expression, values, step), "note": note,
               **Presentation.of_request(request).context()}  # ?view=projector: the larger drawing
    response: HTMLResponse = request.app.state.templates.TemplateResponse(request, "graph.html", context)
    return response


@router.get("/ui/{session_id}/graph", include_in_schema=False)
async def neuron_graph(s: Current, sessions: Manager, view: str | None = None) -> RedirectResponse:
    """The inspector's "show this neuron as a computation graph": the run's current forward step's neuron,
    built now rather than on every step, on the graph page (the plain page when there is none to draw,
    e.g. the run moved on to a backward step since). `view=projector` (stepwise.js adds the page's own)
    opens the graph in the projector's view too."""
    url = await sessions.read(s, current_graph_url) or "/graph"
    if view == PROJECTOR:
        url += ("&" if "?" in url else "?") + urlencode({"view": PROJECTOR})
    return RedirectResponse(url, status_code=303)


@router.get("/graph/view", response_class=HTMLResponse, include_in_schema=False)
def graph_view(request: Request, expression: TextParam = "", values: TextParam = "",
               step: int = 0) -> HTMLResponse:
    """The graph panel at one step (htmx swaps it in); 422 with the message when the input is refused."""
    context = page_context(expression, values, step)
    status = 422 if context["error"] else 200
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, "partials/graph_svg.html", context, status_code=status)
    return response
