"""The API is what its OpenAPI says (Hardening II item 7): strict JSON types where the schema says
integer/number, every refusal a documented 422, 405 listing every method, null accepted where the schema
says nullable, HEAD wherever GET is."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


def new_session(client: TestClient) -> str:
    response = client.post("/api/sessions", json={})
    assert response.status_code == 201
    return str(response.json()["id"])


def refused_fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    return [".".join(str(part) for part in error["loc"]) for error in response.json()["detail"]]


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/sessions", {"seed": False}, "body.seed"),
    ("/api/sessions", {"seed": "3"}, "body.seed"),
    ("/api/sessions", {"batch_size": True}, "body.batch_size"),
    ("/api/sessions", {"hidden": [{"units": "4"}]}, "body.hidden.0.units"),
    ("/api/sessions", {"optimizer": {"learning_rate": "0.1"}}, "body.optimizer.learning_rate"),
    ("{sid}/step", {"unit": "batch", "count": "3"}, "body.count"),
    ("{sid}/play", {"speed": True}, "body.speed"),
    ("{sid}/reset", {"seed": False}, "body.seed"),
])
def test_booleans_and_strings_are_refused_where_the_schema_says_integer_or_number(
    open_client: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    url = path.format(sid=f"/api/sessions/{new_session(open_client)}")
    assert refused_fields(open_client.post(url, json=body)) == [field]


def test_json_numbers_are_still_accepted_including_an_integer_for_a_number(open_client: TestClient) -> None:
    sid = new_session(open_client)
    created = open_client.post("/api/sessions", json={"seed": 3, "optimizer": {"learning_rate": 1}})
    assert created.status_code == 201
    stepped = open_client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 3})
    assert stepped.json()["batch"] == 3
    assert open_client.post(f"/api/sessions/{sid}/play", json={"speed": 5}).status_code == 200


@pytest.mark.parametrize("body", [b"\xff\xfe{not utf-8", b"[" * 1000 + b"]" * 1000,
                                  b'{"a":' * 1000 + b"1" + b"}" * 1000, b"{\"seed\": 1"])
@pytest.mark.parametrize(
    "path", ["/api/sessions", "/api/sessions/import", "{sid}/step", "{sid}/share", "/api/graph"]
)
def test_bodies_that_are_not_utf8_json_or_nest_too_deep_are_a_documented_422(
    open_client: TestClient, path: str, body: bytes
) -> None:
    url = path.format(sid=f"/api/sessions/{new_session(open_client)}")
    response = open_client.post(url, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] == "body"


def test_a_405_lists_every_method_the_path_allows(open_client: TestClient) -> None:
    sid = new_session(open_client)
    response = open_client.put(f"/api/sessions/{sid}")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "HEAD", "DELETE"}
    on_points = open_client.get(f"/api/sessions/{sid}/data/points")
    assert on_points.status_code == 405 and on_points.headers["allow"] == "POST"


def test_patch_config_accepts_null_for_its_nullable_fields_as_unchanged(open_client: TestClient) -> None:
    sid = new_session(open_client)
    open_client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 2})
    before = open_client.get(f"/api/sessions/{sid}").json()
    nothing = {"hidden": None, "dataset": None, "features": None, "output_unit": None, "optimizer": None,
               "regularization": None, "batch_size": None, "seed": None}
    response = open_client.patch(f"/api/sessions/{sid}/config", json=nothing)
    assert response.status_code == 200, response.text
    assert response.json()["reset"] is False
    assert response.json()["config"] == before["config"]
    # init: null is a value (the activation's usual initialisation): it rebuilds
    assert open_client.patch(f"/api/sessions/{sid}/config", json={"init": None}).status_code == 200


def test_head_answers_like_get_without_a_body_on_every_get_route(open_client: TestClient) -> None:
    sid = new_session(open_client)
    paths = ["/", "/healthz", "/docs", "/openapi.json", "/graph", f"/api/sessions/{sid}",
             f"/api/sessions/{sid}/export", "/static/js/stepwise.js"]
    for path in paths:
        head, get = open_client.head(path), open_client.get(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"], path
    head = open_client.head(f"/api/sessions/{sid}/stream")  # a stream: headers, then it ends
    assert head.status_code == 200 and head.headers["content-type"].startswith("text/event-stream")


def test_a_broken_file_upload_is_the_documented_422_not_a_400(open_client: TestClient) -> None:
    sid = new_session(open_client)
    broken = open_client.post(f"/api/sessions/{sid}/data/csv", content=b"--b\r\n766--b--\r\n",
                              headers={"content-type": "multipart/form-data; boundary=b"})
    assert broken.status_code == 422 and broken.json()["detail"][0]["loc"] == ["body"]


def test_the_import_path_is_not_read_as_a_session_id(open_client: TestClient) -> None:
    response = open_client.get("/api/sessions/import")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
