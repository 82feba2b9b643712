"""POST /api/graph and the graph page's fragments: numbers, steps, refusals that never break the server."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from fastapi.testclient import TestClient

from app.graph_view import graph_url, parse_values
from engine.expression import neuron_expression

LECTURE = {"expression": "(x + y)*z", "values": {"x": -2, "y": 5, "z": -4}}


def test_lecture_example_returns_values_gradients_and_steps(client: TestClient) -> None:
    response = client.post("/api/graph", json=LECTURE)
    assert response.status_code == 200
    body = response.json()
    assert body["output"] == -12.0 and body["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}
    by_label = {node["label"]: node for node in body["nodes"]}
    assert by_label["x + y"]["data"] == 3.0 and by_label["x + y"]["grad"] == -4.0
    expected_edges = {(source, node["id"]) for node in body["nodes"] for source in node["inputs"]}
    assert {(e["source"], e["target"]) for e in body["edges"]} == expected_edges
    phases = [step["phase"] for step in body["steps"]]
    assert phases == ["forward", "forward", "backward", "backward", "backward"]
    forward_data = [step["data"] for step in body["steps"][:2]]
    assert forward_data == [3.0, -12.0]
    multiply = body["steps"][3]
    assert multiply["upstream"] == 1.0
    assert [(i["local_grad"], i["product"]) for i in multiply["inputs"]] == [(-4.0, -4.0), (3.0, 3.0)]


def test_cs231n_sigmoid_neuron_gradients(client: TestClient) -> None:
    values = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
    body = client.post("/api/graph", json={"expression": "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))",
                                           "values": values}).json()
    rounded = [round(body["gradients"][k], 2) for k in ("w0", "x0", "w1", "x1", "w2")]
    assert rounded == [-0.20, 0.39, -0.39, -0.59, 0.20]


@pytest.mark.parametrize(
    "expression",
    ["__import__('os')", "().__class__", "9**9**9", "10**10**10", "x.__class__", "[x for x in y]",
     "lambda: 1", "ｘ + 1", "x\u200b + 1", "１ + x",
     "\u1d62 + 1", "exp(1000 * x)", "x / (x - x)", "log(x - x)",
     "+".join(["x"] * 101), "(" * 40 + "x" + ")" * 40],
)
def test_hostile_expressions_get_422_with_message_and_column(client: TestClient, expression: str) -> None:
    response = client.post("/api/graph", json={"expression": expression, "values": {"x": 1.0, "y": 2.0}})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail["field"] == "expression" and detail["message"] and isinstance(detail["column"], int)
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("expression", ["x" * 501, "(" * 4_000 + "x" + ")" * 4_000, "x +" * 3_000])
def test_too_long_expressions_name_the_field_and_column_501(client: TestClient, expression: str) -> None:
    response = client.post("/api/graph", json={"expression": expression, "values": {"x": 1.0}})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail["field"] == "expression" and detail["column"] == 501
    assert f"{len(expression)} characters long; at most 500" in detail["message"]
    assert client.post("/api/graph", json=LECTURE).status_code == 200


def test_past_the_hard_cap_pydantic_refuses_naming_the_field(client: TestClient) -> None:
    response = client.post("/api/graph", json={"expression": "(" * 10_000 + "x" + ")" * 10_000})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "expression"] and error["type"] == "string_too_long"
    assert "10000" in error["msg"] and "((((" not in response.text  # the input is not echoed


def test_the_page_form_gives_the_same_message_for_a_long_expression(client: TestClient) -> None:
    expression = "x + " * 130 + "x"  # 521 characters: the form accepts up to 2000, the engine 500
    response = client.get("/graph/view", params={"expression": expression, "values": "x = 1"})
    assert response.status_code == 422
    assert "column 501: the expression is 521 characters long; at most 500" in response.text
    caret = response.text.split('class="graph-caret" aria-hidden="true">', 1)[1].split("</pre>", 1)[0]
    assert caret.splitlines()[1] == " " * 500 + "^"


def test_missing_variable_is_named(client: TestClient) -> None:
    response = client.post("/api/graph", json={"expression": "x*y + z", "values": {"x": 1, "y": 2}})
    assert response.status_code == 422
    assert response.json()["detail"]["variable"] == "z" and response.json()["detail"]["field"] == "values.z"


@pytest.mark.parametrize("raw", ['{"expression": "x", "values": {"x": NaN}}',
                                 '{"expression": "x", "values": {"x": Infinity}}'])
def test_non_finite_values_are_refused(client: TestClient, raw: str) -> None:
    response = client.post("/api/graph", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"]["variable"] == "x"


def test_responses_never_contain_nan_or_infinity(client: TestClient) -> None:
    body = client.post("/api/graph", json={"expression": "sigmoid(x) * exp(y) + max(x, y)**2",
                                           "values": {"x": -700.0, "y": 5.0}}).json()
    numbers = [n["data"] for n in body["nodes"]] + [n["grad"] for n in body["nodes"]]
    assert all(math.isfinite(v) for v in numbers)


def test_graph_page_opens_preloaded_from_a_link(client: TestClient) -> None:
    text, values = neuron_expression([0.5, -1.0], [1.0, 2.0], 0.25, "tanh", 1.0)
    response = client.get(graph_url(text, values, step=999))
    assert response.status_code == 200
    assert 'id="graph-result"' in response.text  # step clamped to the end: gradients shown
    assert "∂f/∂w1" in response.text and "∂f/∂b" in response.text


def test_graph_view_fragment_shows_the_step_numbers(client: TestClient) -> None:
    query = {"expression": "(x + y)*z", "values": "x = -2, y = 5, z = -4"}
    first = client.get("/graph/view", params={**query, "step": 1}).text
    assert 'data-label="x + y" data-data="3"' in first and "forward: x + y = −2 + 5 = 3" in first
    multiply = client.get("/graph/view", params={**query, "step": 4}).text
    multiply = re.sub(r"</tspan>\s*<tspan[^>]*>", " ", multiply)  # an edge label's two lines, read as one
    assert "−4 × 1 = −4" not in multiply and "1 × −4 = −4" in multiply and "1 × 3 = 3" in multiply
    assert "multiply swaps" in multiply


def test_graph_view_refusal_is_a_422_fragment_with_a_caret(client: TestClient) -> None:
    response = client.get("/graph/view", params={"expression": "x + y.__class__", "values": "x = 1, y = 2"})
    assert response.status_code == 422
    assert "column 6: attribute access" in response.text and 'id="graph-view"' in response.text
    assert "x + y.__class__\n     ^</pre>" in response.text  # the caret under the dot


@pytest.mark.parametrize(("expression", "caret_line"), [
    ("x × y @ z", "      ^"),  # a typographic operator is one character: the caret stays under the @
    ("\tx % y", "   ^"),  # a tab prints as one space so the caret line lines up with it
])
def test_graph_view_caret_lines_up_with_unicode_and_tabs(client: TestClient, expression: str,
                                                         caret_line: str) -> None:
    response = client.get("/graph/view", params={"expression": expression, "values": "x = 1, y = 2, z = 3"})
    assert response.status_code == 422
    caret = response.text.split('class="graph-caret" aria-hidden="true">', 1)[1].split("</pre>", 1)[0]
    shown, pointer = caret.splitlines()
    assert pointer == caret_line and shown[len(pointer) - 1] in "@%"


def test_values_text_round_trips_through_the_link_format() -> None:
    values = {"w1": 0.1234567891, "x1": -2.0, "b": 1e-7}
    assert parse_values(", ".join(f"{k} = {v!r}" for k, v in values.items())) == values
    assert parse_values("x = −2; y=5\nz = -4") == {"x": -2.0, "y": 5.0, "z": -4.0}


def _output_forward_link(output_unit: str, dataset: str) -> tuple[Any, str, Any, int, int]:
    """Micro-step a batch of one to its first output neuron's forward step; return (view, url, run, unit,
    sample) with the run finished to the end of that batch, so its trace holds grad_weights; url is where
    the inspector's link led at that step."""
    from app.views import current_graph_url, inspector_context
    from engine.data import DataConfig
    from engine.network import LayerConfig
    from engine.stepper import Run, RunConfig

    run = Run(RunConfig(dataset=DataConfig(name=dataset), hidden=(LayerConfig(3),), output_unit=output_unit,
                        batch_size=1))
    run.step("micro")
    while run.current_event is not None and not (run.current_event.kind == "forward"
                                                 and run.current_event.layer == 2):
        run.step("micro")
    event = run.current_event
    assert event is not None
    view = inspector_context(run)["inspector"]
    url = current_graph_url(run)  # the link followed while the run is at that step
    assert view.graph_link and url is not None
    while run.cursor is not None:
        run.step("micro")
    return view, url, run, event.unit, event.sample


@pytest.mark.parametrize(("output_unit", "dataset", "loss_words"), [
    ("tanh_mse", "circle", "0.5*(tanh("), ("linear_mse", "plane", "0.5*("),
    ("linear_l1", "plane", "abs("), ("sigmoid_bce", "xor", "-(t*log(sigmoid("),
])
def test_an_output_neurons_graph_reaches_the_loss_and_its_gradients_are_the_traces(
    client: TestClient, output_unit: str, dataset: str, loss_words: str,
) -> None:
    from app.graph_view import fmt
    from engine.expression import build_graph

    view, url, run, unit, sample = _output_forward_link(output_unit, dataset)
    assert "→ this sample's loss" in (view.graph_note or "")
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["note"] == view.graph_note  # the graph page says how far the graph goes
    assert query["expression"].startswith(loss_words)
    values = parse_values(query["values"])
    trace = run.last_trace
    assert values["t"] == float(trace.targets[sample, unit])
    graph = build_graph(query["expression"], values)
    assert graph.output.data == pytest.approx(float(trace.loss_per_sample[sample]), rel=1e-9)
    out = trace.layers[-1]
    gradients = graph.variables()
    page = client.get(url + "&step=999").text
    for i, grad in enumerate(out.grad_weights[unit], 1):  # batch of one: the sample's own gradient
        assert gradients[f"w{i}"].grad == pytest.approx(float(grad), rel=1e-9, abs=1e-15)
        assert f'data-variable="w{i}">∂f/∂w{i} = <span class="graph-gradient">{fmt(float(grad))}<' in page
    assert gradients["b"].grad == pytest.approx(float(out.grad_bias[unit]), rel=1e-9, abs=1e-15)


def test_hidden_and_gaussian_neurons_stop_at_f_of_e_and_say_why() -> None:
    from app.inspector import graph_link

    hidden = {"activation_name": "tanh", "weights": [0.5], "bias": 0.1, "inputs": [1.0]}
    url, note = graph_link(hidden)
    assert url is not None and "t =" not in unquote(url)
    assert "layers after it" in (note or "") and "δ" in (note or "")
    gaussian = {**hidden, "activation_name": "gaussian_nll", "target": 0.3}
    url, note = graph_link(gaussian, log_variance=True)
    assert url is not None and "exp(" in unquote(url) and "both" in (note or "")
    assert graph_link({**hidden, "activation_name": "softmax_ce", "target": 1.0})[0] is None


def test_a_saturated_cross_entropy_neuron_falls_back_to_f_of_e_with_the_reason() -> None:
    from app.inspector import graph_link

    saturated = {"activation_name": "sigmoid_bce", "weights": [100.0], "bias": 0.0, "inputs": [1.0]}
    url, note = graph_link({**saturated, "target": 0.0})
    assert url is not None and "log" not in dict(parse_qsl(urlsplit(url).query))["expression"]
    assert "log of 0" in (note or "")


def test_the_link_carries_full_precision_numbers() -> None:
    from app.inspector import graph_link

    weight = 0.123456789012345
    url, _ = graph_link({"activation_name": "tanh", "weights": [weight], "bias": -1e-9, "inputs": [2.0 / 3]})
    values = parse_values(dict(parse_qsl(urlsplit(url or "").query))["values"])
    assert values == {"w1": weight, "x1": 2.0 / 3, "b": -1e-9}


def test_the_inspectors_link_opens_the_current_neuron_on_the_graph_page_with_its_note(
    client: TestClient,
) -> None:
    page = client.get("/?hidden=2&batch=1&data=xor")
    sid = re.search(r'data-session="([^"]+)"', page.text)
    assert sid is not None
    step = client.post(f"/ui/{sid[1]}/step", data={"unit": "micro"}).text
    assert f'href="/ui/{sid[1]}/graph"' in step  # the link names the run, not a graph built per step
    note = re.search(r'id="show-graph-note">([^<]+)<', step)
    assert note is not None and "hidden neuron" in note[1]
    followed = client.get(f"/ui/{sid[1]}/graph", follow_redirects=False)
    assert followed.status_code == 303
    query = dict(parse_qsl(urlsplit(followed.headers["location"]).query))
    values = parse_values(query["values"])
    weight = re.search(r'data-role="weight" data-value="([^"]+)"', step)
    assert weight is not None and values["w1"] == pytest.approx(float(weight[1]), abs=5e-5)
    graph_page = client.get(followed.headers["location"]).text
    assert "hidden neuron" in graph_page and 'id="graph-note"' in graph_page
    # from the projector's view (stepwise.js adds the page's view): the graph opens in it too, same neuron
    projected = client.get(f"/ui/{sid[1]}/graph?view=projector", follow_redirects=False).headers["location"]
    assert dict(parse_qsl(urlsplit(projected).query)) == {**query, "view": "projector"}
    assert "projector" in client.get(projected).text.split("<body", 1)[1].split(">", 1)[0]
    while 'data-phase="forward"' in client.post(f"/ui/{sid[1]}/step", data={"unit": "micro"}).text:
        pass  # on to the error step: no neuron to draw
    assert client.get(f"/ui/{sid[1]}/graph", follow_redirects=False).headers["location"] == "/graph"
    assert client.get("/ui/not-a-session/graph", follow_redirects=False).status_code == 404
