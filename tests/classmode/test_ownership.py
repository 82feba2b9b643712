"""A run belongs to whoever made it: reads are open, every change needs the owner's key (app/ownership.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.access_log import RedactPaths
from app.main import create_app
from app.settings import Settings

WRITES = [
    ("post", "step", {"unit": "batch", "count": 3}),
    ("post", "back", {"unit": "batch", "count": 1}),
    ("post", "play", {"unit": "batch", "speed": 10}),
    ("post", "pause", None),
    ("post", "reset", None),
    ("patch", "config", {"optimizer": {"kind": "sgd", "learning_rate": 0.3}}),
    ("put", "network/weight", {"layer": 1, "unit": 0, "input": 0, "value": 2.5}),
    ("post", "data/points", {"x1": 1.0, "x2": 1.0, "label": 1}),
    ("delete", "data/points/0", None),
    ("post", "data/regenerate", None),
    ("delete", "", None),
]


@pytest.fixture
def app_settings(tmp_path: object) -> Settings:
    return Settings(data_dir=tmp_path)  # type: ignore[arg-type]


@pytest.fixture
def two(app_settings: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    """The teacher and a student: two clients (two cookie jars) of one app."""
    app = create_app(app_settings)
    with TestClient(app) as teacher, TestClient(app) as student:
        yield teacher, student


def _send(client: TestClient, method: str, path: str, body: object, **kw: object) -> object:
    return client.request(method.upper(), path, json=body, **kw)  # type: ignore[arg-type]


def test_every_write_without_the_owner_key_is_a_403_naming_the_token_and_leaves_the_run_alone(
        two: tuple[TestClient, TestClient]) -> None:
    teacher, student = two
    created = teacher.post("/api/sessions", json={}).json()
    sid = created["id"]
    teacher.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 2})
    before = teacher.get(f"/api/sessions/{sid}/export").json()
    wrong = {"Authorization": "Bearer " + "x" * 43}
    for method, tail, body in WRITES:
        path = f"/api/sessions/{sid}/{tail}".rstrip("/")
        for headers in ({}, wrong, {"X-Stepwise-Token": "y" * 43}):
            answer = _send(student, method, path, body, headers=headers)
            assert answer.status_code == 403, (method, tail, headers, answer.text)  # type: ignore[attr-defined]
            detail = answer.json()["detail"]  # type: ignore[attr-defined]
            assert detail["field"] == "token" and "belongs to someone else" in detail["message"]
    assert teacher.get(f"/api/sessions/{sid}/export").json() == before
    assert teacher.get(f"/api/sessions/{sid}").json()["playing"] is False


def test_reads_stay_open_to_anyone_who_knows_the_id(two: tuple[TestClient, TestClient]) -> None:
    teacher, student = two
    sid = teacher.post("/api/sessions", json={}).json()["id"]
    for tail in ("", "/trace", "/network", "/export", "/metrics"):
        assert student.get(f"/api/sessions/{sid}{tail}").status_code == 200, tail


def test_the_creation_token_changes_the_run_from_a_client_without_cookies(app_settings: Settings) -> None:
    app = create_app(app_settings)
    with TestClient(app) as maker, TestClient(app) as api_client:
        created = maker.post("/api/sessions", json={}).json()
        sid, token = created["id"], created["token"]
        assert token and token not in sid
        for headers in ({"Authorization": f"Bearer {token}"}, {"X-Stepwise-Token": token}):
            stepped = api_client.post(f"/api/sessions/{sid}/step", json={"unit": "batch"}, headers=headers)
            assert stepped.status_code == 200, stepped.text
        assert api_client.get(f"/api/sessions/{sid}").json()["batch"] == 2


def test_a_client_that_sends_its_token_at_creation_owns_all_its_runs(
        two: tuple[TestClient, TestClient]) -> None:
    teacher, student = two
    token = teacher.post("/api/sessions", json={}).json()["token"]
    again = student.post("/api/sessions", json={}, headers={"X-Stepwise-Token": token}).json()
    assert again["token"] == token
    assert teacher.post(f"/api/sessions/{again['id']}/step", json={"unit": "batch"}).status_code == 200


def test_the_browser_gets_its_key_as_an_httponly_samesite_cookie_and_not_in_the_url(
        app_settings: Settings) -> None:
    with TestClient(create_app(app_settings)) as browser:
        first = browser.get("/", follow_redirects=False)
        assert first.status_code == 303
        cookie = first.headers["set-cookie"]
        key = browser.cookies.get("stepwise_owner")
        assert key and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert key not in first.headers["location"]
        page = browser.get(first.headers["location"])
        assert key not in page.text and 'id="readonly"' not in page.text
        # a second run of the same browser: same key, no new cookie
        second = browser.get("/", follow_redirects=False)
        assert "set-cookie" not in second.headers


def test_someone_elses_page_is_read_only_with_a_copy_button_and_its_fragments_refuse(
        two: tuple[TestClient, TestClient]) -> None:
    teacher, student = two
    location = teacher.get("/", follow_redirects=False).headers["location"]
    sid = location.rsplit("session=", 1)[1]
    page = student.get(location)
    assert page.status_code == 200
    assert 'id="readonly"' in page.text and f'action="/ui/{sid}/fork"' in page.text
    assert '<fieldset class="run-view" disabled>' in page.text
    for tail, form in (("step", {"unit": "micro"}), ("reset", {}), ("play", {"unit": "batch", "speed": "10"}),
                       ("pause", {}), ("back", {"unit": "micro"}), ("regenerate", {}),
                       ("points", {"x1": "1", "x2": "1", "label": "1"}), ("layers/add", {})):
        refused = student.post(f"/ui/{sid}/{tail}", data=form)
        assert refused.status_code == 403 and "belongs to someone else" in refused.text, tail
    assert student.put(f"/ui/{sid}/weight", data={"layer": "1", "unit": "0", "input": "0",
                                                  "value": "2"}).status_code == 403
    state = teacher.get(f"/api/sessions/{sid}").json()
    assert state["step_id"] == 0 and state["playing"] is False


def test_make_my_own_copy_forks_the_exact_state_into_a_run_of_ones_own(
        two: tuple[TestClient, TestClient]) -> None:
    teacher, student = two
    adam = {"optimizer": {"kind": "adam", "learning_rate": 0.03}}
    sid = teacher.post("/api/sessions", json=adam).json()["id"]
    teacher.post(f"/api/sessions/{sid}/data/points", json={"x1": 2.5, "x2": -1.25, "label": 1})
    edit = {"layer": 1, "unit": 0, "input": 0, "value": 2.52}
    teacher.put(f"/api/sessions/{sid}/network/weight", json=edit)
    teacher.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 3})
    teacher.post(f"/api/sessions/{sid}/step", json={"unit": "micro", "count": 5})
    original = teacher.get(f"/api/sessions/{sid}/export").json()

    forked = student.post(f"/ui/{sid}/fork", follow_redirects=False)
    assert forked.status_code == 303
    copy = forked.headers["location"].rsplit("session=", 1)[1]
    assert copy != sid
    assert student.get(f"/api/sessions/{copy}/export").json() == original
    assert 'id="readonly"' not in student.get(forked.headers["location"]).text
    # the copy is the student's; both go on identically, and the original stays the teacher's
    for who, run in ((student, copy), (teacher, sid)):
        assert who.post(f"/api/sessions/{run}/step", json={"unit": "batch", "count": 2}).status_code == 200
    assert (student.get(f"/api/sessions/{copy}/export").json()["state"]
            == teacher.get(f"/api/sessions/{sid}/export").json()["state"])
    assert teacher.post(f"/api/sessions/{copy}/step", json={"unit": "batch"}).status_code == 403
    api_fork = student.post(f"/api/sessions/{sid}/fork")
    assert api_fork.status_code == 201 and api_fork.json()["token"]


def test_an_unknown_run_is_still_a_404_for_writes(two: tuple[TestClient, TestClient]) -> None:
    _teacher, student = two
    assert student.post("/api/sessions/" + "A" * 32 + "/step", json={"unit": "batch"}).status_code == 404


def test_the_access_log_shows_neither_run_ids_nor_codes() -> None:
    sid = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "POST", f"/ui/{sid}/step?session={sid}", "1.1", 200), None)
    RedactPaths().filter(record)
    line = record.getMessage()
    assert sid not in line and "/ui/…/step" in line
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/s/K7Q2-9FXA", "1.1", 200), None)
    RedactPaths().filter(record)
    assert "K7Q2" not in record.getMessage()
