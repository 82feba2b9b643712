"""POST /api/graph and the graph page's fragments: numbers, steps, refusals that never break the server."""

from __future__ import annotations

import math

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
