"""Hostile values for every field a student can send: a 422 naming the field, and nothing changes."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.hardening.conftest import OPEN_LIMITS, strict_json

NAN, INF = float("nan"), float("inf")

# Values no number field accepts, whatever its bounds (JSON text built with allow_nan, as a hostile
# client would send it: Python's json module writes NaN / Infinity literally). A numeric string such as
# "1" is not here: pydantic's lax mode reads it as the number, which is harmless.
NON_NUMBERS: list[Any] = [NAN, INF, -INF, "one", "", None, [], {}]


def _layers(n: int, units: int = 4, activation: str = "tanh") -> list[dict[str, Any]]:
    return [{"units": units, "activation": activation}] * n


# (field path as it appears in "loc" / "field", body fragment). The fragment is nested into a full
# SessionCreate or ConfigPatch body by `_nest`.
CONFIG_CASES: list[tuple[str, Any]] = [
    *[("hidden.0.units", v) for v in (0, -1, 10**6, 1.5, *NON_NUMBERS)],
    ("hidden", _layers(10**4)),
    ("hidden", "4,2"),
    *[("hidden.0.activation", v) for v in ("gelu", "", "TANH", 3, None)],
    *[("hidden.0.alpha", v) for v in (NAN, INF, -1.0, 1e300, "x")],
    *[("hidden.0.pieces", v) for v in (0, 1, 5, 10**9, NAN)],
    *[("dataset.name", v) for v in ("mnist", "", "../../etc/passwd", 0)],
    *[("dataset.noise", v) for v in (-0.1, 0.51, 1e300, *NON_NUMBERS)],
    *[("dataset.n_samples", v) for v in (0, 3, -5, 10**9, 1.5, NAN, "many")],
    *[("dataset.train_fraction", v) for v in (0, 1, -0.5, 1e300, NAN, INF)],
    *[("dataset.seed", v) for v in (-1, 2**64, 1.5, NAN, "zero")],
    *[("dataset.classes", v) for v in (0, 2, 7, 10**6, NAN)],
    *[("features", v) for v in ([], ["x3"], ["x1", "x1"], "x1", [None], ["x1"] * 100)],
    *[("output_unit", v) for v in ("softmax", "", None, 1)],
    *[("init", v) for v in ("zeros", 0)],
    *[("optimizer.kind", v) for v in ("lbfgs", "", None)],
    *[("optimizer.learning_rate", v) for v in (0, -0.03, 10.0001, 1e300, -1e300, *NON_NUMBERS)],
    *[("optimizer.momentum", v) for v in (-0.1, 1.0, 1e300, NAN)],
    *[("optimizer.beta1", v) for v in (1.0, -1, INF)],
    *[("optimizer.beta2", v) for v in (1.0, -1, NAN)],
    *[("optimizer.eps", v) for v in (0, -1e-8, 2.0, NAN)],
    *[("optimizer.schedule.kind", v) for v in ("cosine", 1)],
    *[("optimizer.schedule.gamma", v) for v in (0, -0.5, 1.5, NAN, INF)],
    *[("optimizer.schedule.step_size", v) for v in (0, -1, 10**12, NAN)],
    *[("optimizer.schedule.warmup", v) for v in (-1, 10**12)],
    *[("optimizer.schedule.total", v) for v in (0, 10**12)],
    *[("regularization.kind", v) for v in ("l3", "")],
    *[("regularization.rate", v) for v in (-0.1, 1.5, 1e300, NAN, INF)],
    *[("batch_size", v) for v in (0, -1, 10**9, 2.5, *NON_NUMBERS)],
    *[("seed", v) for v in (-1, 2**64, NAN, "zero")],
    ("unknown_field", 1),
]

STEP_CASES: list[tuple[str, Any]] = [
    *[("unit", v) for v in ("year", "", None, 1, "EPOCH")],
    *[("count", v) for v in (0, -1, 10**6, 10**30, 1.5, *NON_NUMBERS)],
    ("extra", True),
]

PLAY_CASES: list[tuple[str, Any]] = [
    *[("speed", v) for v in (0, -1, 1e300, 1000.5, *NON_NUMBERS)],
    *[("unit", v) for v in ("year", None)],
]

WEIGHT_CASES: list[tuple[str, Any]] = [
    *[("layer", v) for v in (0, -1, 4, 10**6, NAN, "first")],
    *[("unit", v) for v in (-1, 4, 10**6, NAN)],
    *[("input", v) for v in (-1, 2, 10**6, INF)],
    *[("piece", v) for v in (-1, 4, NAN)],
    *[("value", v) for v in (1e300, -1e300, 1000.5, *NON_NUMBERS)],
]

POINT_CASES: list[tuple[str, Any]] = [
    *[("x1", v) for v in (1e300, -11, *NON_NUMBERS)],
    *[("x2", v) for v in (1e300, 11, NAN, INF)],
    *[("label", v) for v in (2, -2, 99, 0.5, 1e300, NAN, INF, "+1 or so", None)],
    *[("split", v) for v in ("validation", "", None)],
]

SEED_CASES: list[tuple[str, Any]] = [("seed", v) for v in (-1, 2**64, NAN, INF, "x", 1.5)]

VALID_WEIGHT = {"layer": 1, "unit": 0, "input": 0, "value": 0.5}
VALID_POINT = {"x1": 1.0, "x2": 1.0, "label": 1}


def _nest(path: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """{"a.0.b": v} -> {"a": [{"b": v}]}, over a copy of `base` (a numeric part is a list index)."""
    body: dict[str, Any] = json.loads(json.dumps(base or {}))
    parts = path.split(".")
    node: Any = body
    for part, following in itertools.pairwise(parts):
        key: Any = int(part) if part.isdigit() else part
        if isinstance(node, list):
            while len(node) <= key:
                node.append({})
        elif key not in node:
            node[key] = [] if following.isdigit() else {}
        node = node[key]
    last: Any = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
    node[last] = value
    return body


def _names_field(detail: Any, path: str) -> bool:
    """A pydantic list whose first error's loc ends with the path, or an engine {"field": ...}."""
    wanted = path.split(".")
    if isinstance(detail, list):
        return any([str(part) for part in error["loc"]][-len(wanted):] == wanted
                   or [str(part) for part in error["loc"]][1:1 + len(wanted)] == wanted
                   for error in detail)
    if isinstance(detail, dict):
        return str(detail.get("field", "")).replace("[", ".").replace("]", "") in (path, wanted[0])
    return False


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("hostile"), **OPEN_LIMITS)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def session_id(client: TestClient) -> str:
    """A session some way into training (mid-batch), so "unchanged" covers counters and cursor."""
    created = client.post("/api/sessions", json={"dataset": {"n_samples": 100}})
    assert created.status_code == 201, created.text
    sid: str = created.json()["id"]
    assert client.post(f"/api/sessions/{sid}/step", json={"unit": "epoch", "count": 2}).status_code == 200
    assert client.post(f"/api/sessions/{sid}/step", json={"unit": "micro", "count": 5}).status_code == 200
    return sid


def _send(client: TestClient, method: str, url: str, body: dict[str, Any]) -> Any:
    return client.request(method, url, content=json.dumps(body, allow_nan=True),
                          headers={"content-type": "application/json"})


def _assert_refused_unchanged(client: TestClient, sid: str, method: str, url: str, path: str,
                              body: dict[str, Any]) -> None:
    before = client.get(f"/api/sessions/{sid}/export").content
    response = _send(client, method, url, body)
    answer = f"{response.status_code} {response.text[:300]}"
    assert response.status_code == 422, f"{method} {url} {path}={body!r}: {answer}"
    detail = strict_json(response.content)["detail"]
    assert _names_field(detail, path), f"{path}: the 422 does not name the field: {detail}"
    after = client.get(f"/api/sessions/{sid}/export").content
    assert after == before, f"{method} {url} with {path}={body!r} changed the session"


def _case_id(case: tuple[str, Any]) -> str:
    return f"{case[0]}={str(case[1])[:24]}"


@pytest.mark.parametrize("case", CONFIG_CASES, ids=_case_id)
def test_session_create_refuses_hostile_value_naming_the_field_and_creates_nothing(
    client: TestClient, case: tuple[str, Any]
) -> None:
    path, value = case
    sessions = client.app.state.sessions  # type: ignore[attr-defined]
    held, stored = len(sessions.sessions), len(sessions.store.ids())
    response = _send(client, "POST", "/api/sessions", _nest(path, value))
    assert response.status_code == 422, f"{path}={value!r}: {response.status_code} {response.text[:300]}"
    assert _names_field(strict_json(response.content)["detail"], path), response.text[:300]
    assert (len(sessions.sessions), len(sessions.store.ids())) == (held, stored)


# A top-level null in a patch means "unchanged" (ConfigPatch marks every field nullable): not hostile there.
PATCH_CASES = [case for case in CONFIG_CASES if not (case[1] is None and "." not in case[0])]


@pytest.mark.parametrize("case", PATCH_CASES, ids=_case_id)
def test_config_patch_refuses_hostile_value_and_leaves_the_session_byte_identical(
    client: TestClient, session_id: str, case: tuple[str, Any]
) -> None:
    path, value = case
    _assert_refused_unchanged(client, session_id, "PATCH", f"/api/sessions/{session_id}/config", path,
                              _nest(path, value))


def test_batch_size_larger_than_the_training_set_is_refused_naming_batch_size(
    client: TestClient, session_id: str
) -> None:
    # 100 points, half for training: a batch of 51 would be a batch that can never fill.
    body = {"dataset": {"n_samples": 100}, "batch_size": 51}
    response = _send(client, "POST", "/api/sessions", body)
    assert response.status_code == 422, response.text[:300]
    assert _names_field(response.json()["detail"], "batch_size")
    _assert_refused_unchanged(client, session_id, "PATCH", f"/api/sessions/{session_id}/config", "batch_size",
                              {"batch_size": 51})


@pytest.mark.parametrize("action", ["step", "back"])
@pytest.mark.parametrize("case", STEP_CASES, ids=_case_id)
def test_step_and_back_refuse_hostile_value_and_change_nothing(
    client: TestClient, session_id: str, action: str, case: tuple[str, Any]
) -> None:
    path, value = case
    _assert_refused_unchanged(client, session_id, "POST", f"/api/sessions/{session_id}/{action}", path,
                              _nest(path, value, {"unit": "micro", "count": 1}))


@pytest.mark.parametrize("case", PLAY_CASES, ids=_case_id)
def test_play_refuses_hostile_speed_and_does_not_start(
    client: TestClient, session_id: str, case: tuple[str, Any]
) -> None:
    path, value = case
    _assert_refused_unchanged(client, session_id, "POST", f"/api/sessions/{session_id}/play", path,
                              _nest(path, value, {"unit": "batch", "speed": 5}))
    assert client.get(f"/api/sessions/{session_id}").json()["playing"] is False


@pytest.mark.parametrize("case", WEIGHT_CASES, ids=_case_id)
def test_weight_edit_refuses_hostile_value_and_keeps_every_parameter(
    client: TestClient, session_id: str, case: tuple[str, Any]
) -> None:
    path, value = case
    _assert_refused_unchanged(client, session_id, "PUT", f"/api/sessions/{session_id}/network/weight", path,
                              _nest(path, value, VALID_WEIGHT))


@pytest.mark.parametrize("case", POINT_CASES, ids=_case_id)
def test_point_add_refuses_hostile_value_and_keeps_the_data(
    client: TestClient, session_id: str, case: tuple[str, Any]
) -> None:
    path, value = case
    _assert_refused_unchanged(client, session_id, "POST", f"/api/sessions/{session_id}/data/points", path,
                              _nest(path, value, VALID_POINT))


@pytest.mark.parametrize("action", ["reset", "data/regenerate"])
@pytest.mark.parametrize("case", SEED_CASES, ids=_case_id)
def test_reset_and_regenerate_refuse_hostile_seed(
    client: TestClient, session_id: str, action: str, case: tuple[str, Any]
) -> None:
    path, value = case
    _assert_refused_unchanged(client, session_id, "POST", f"/api/sessions/{session_id}/{action}", path,
                              _nest(path, value))


@pytest.mark.parametrize("index", ["-1", "10000000", "1e3", "NaN", "x"])
def test_point_removal_with_a_hostile_index_is_refused_and_keeps_the_data(
    client: TestClient, session_id: str, index: str
) -> None:
    before = client.get(f"/api/sessions/{session_id}/export").content
    response = client.delete(f"/api/sessions/{session_id}/data/points/{index}")
    assert response.status_code == 422, response.text[:300]
    assert _names_field(response.json()["detail"], "index"), response.text
    assert client.get(f"/api/sessions/{session_id}/export").content == before



FORM_VALUES = ["nan", "inf", "-inf", "1e999", "1e300", "abc", "", "-1", "0", "9" * 30, "<b>x</b>"]
SETUP_FIELDS = ["learning_rate", "batch_size", "noise", "train_fraction", "regularization_rate", "units",
                "activation", "features", "dataset", "output_unit", "optimizer", "schedule", "regularization",
                "n_samples", "seed", "classes"]


def test_page_forms_answer_every_hostile_value_without_a_server_error(client: TestClient) -> None:
    # The htmx routes read their forms by hand (not through a pydantic body), so they get their own sweep.
    sid = client.post("/api/sessions", json={"dataset": {"n_samples": 100}}).json()["id"]
    posts: list[tuple[str, str, dict[str, str]]] = []
    for value in FORM_VALUES:
        posts += [("POST", "config", {name: value}) for name in SETUP_FIELDS]
        posts += [("PUT", "weight", {"layer": "1", "unit": "0", "input": "0", "value": "0.5", name: value})
                  for name in ("layer", "unit", "input", "value")]
        posts += [("POST", "points", {"x1": "1", "x2": "1", "label": "1", name: value})
                  for name in ("x1", "x2", "label", "split")]
        posts += [("POST", "play", {"unit": "batch", "speed": value}), ("POST", "pause", {})]
    statuses: dict[int, int] = {}
    for method, action, form in posts:
        response = client.request(method, f"/ui/{sid}/{action}", data=form)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, f"{action} {form}: {response.status_code}"
        assert "<b>x</b>" not in response.text  # a value echoed back is escaped
    client.post(f"/ui/{sid}/pause")
    state = client.get(f"/api/sessions/{sid}")
    assert state.status_code == 200
    network = strict_json(client.get(f"/api/sessions/{sid}/network").content)
    assert all(abs(value) <= 1e3 for layer in network["layers"] for row in layer["weights"] for value in row)
    print(f"\npage forms: {len(posts)} hostile posts -> {statuses}")
