"""No session reaches another: unknown ids are 404s, exports give new ids, caps answer 429 and recover."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.store import SQLiteStore
from tests.clock import ManualClock
from tests.hardening.conftest import OPEN_LIMITS

RANDOM_IDS = 10_000


class CountingStore(SQLiteStore):
    """The real SQLite store, counting lookups (to prove a malformed id never reaches it)."""

    loads = 0

    def load(self, session_id: str) -> str | None:
        CountingStore.loads += 1
        return super().load(session_id)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path, **OPEN_LIMITS))
    app.state.sessions.store = CountingStore(tmp_path / "counted.sqlite3")
    with TestClient(app) as test_client:
        yield test_client


def _create(client: TestClient, body: dict[str, Any] | None = None) -> str:
    response = client.post("/api/sessions", json=body or {})
    assert response.status_code == 201, response.text
    sid: str = response.json()["id"]
    return sid


def _export(client: TestClient, sid: str) -> bytes:
    response = client.get(f"/api/sessions/{sid}/export")
    assert response.status_code == 200
    return response.content


def test_ten_thousand_random_well_formed_ids_are_all_404(client: TestClient) -> None:
    real = {_create(client) for _ in range(3)}
    guesses = [secrets.token_urlsafe(24) for _ in range(RANDOM_IDS)]
    assert real.isdisjoint(guesses)

    async def probe_all() -> dict[int, int]:
        # One event loop and the ASGI transport: ~10x faster than TestClient's thread hop per request.
        transport = httpx.ASGITransport(app=client.app)
        statuses: dict[int, int] = {}
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            for start in range(0, RANDOM_IDS, 100):
                answers = await asyncio.gather(
                    *(http.get(f"/api/sessions/{guess}") for guess in guesses[start:start + 100]))
                for answer in answers:
                    statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        return statuses

    started = time.monotonic()
    # Its own thread: Playwright's sync API may already run an event loop in this one.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        statuses = pool.submit(asyncio.run, probe_all()).result()
    print(f"\n{RANDOM_IDS} random ids in {time.monotonic() - started:.1f} s: {statuses}")
    assert statuses == {404: RANDOM_IDS}


MALFORMED = ["0", "a" * 31, "a" * 33, "A" * 31 + "!", "%2e%2e", "..", "null", "' OR 1=1 --", "a" * 2000,
             "\u00e9" * 32, "%00" * 11, "*", "__proto__", "%20" + "a" * 31]


@pytest.mark.parametrize("bad_id", MALFORMED)
def test_malformed_id_is_404_without_a_store_lookup(client: TestClient, bad_id: str) -> None:
    CountingStore.loads = 0
    for method, suffix in [("GET", ""), ("DELETE", ""), ("POST", "/step"), ("GET", "/export"),
                           ("PUT", "/network/weight"), ("GET", "/stream")]:
        response = client.request(method, f"/api/sessions/{bad_id}{suffix}", json={"layer": 1, "unit": 0,
                                                                                    "value": 1.0})
        assert response.status_code in (404, 405, 422), f"{method} {suffix}: {response.status_code}"
    assert CountingStore.loads == 0


def test_near_miss_ids_of_a_real_session_reach_nothing(client: TestClient) -> None:
    victim = _create(client)
    client.post(f"/api/sessions/{victim}/step", json={"unit": "epoch", "count": 1})
    before = _export(client, victim)
    flipped = victim[:-1] + ("A" if victim[-1] != "A" else "B")
    for near in (flipped, victim.swapcase(), victim[1:] + victim[0], victim + "x", victim[:-1]):
        assert client.post(f"/api/sessions/{near}/step", json={"unit": "epoch"}).status_code == 404
        assert client.delete(f"/api/sessions/{near}").status_code == 404
    assert _export(client, victim) == before


def test_writes_and_deletes_through_one_session_never_touch_another(client: TestClient) -> None:
    a, b = _create(client), _create(client)
    a_before = _export(client, a)
    assert client.post(f"/api/sessions/{b}/step", json={"unit": "epoch", "count": 2}).status_code == 200
    assert client.put(f"/api/sessions/{b}/network/weight",
                      json={"layer": 1, "unit": 0, "input": 0, "value": 3.0}).status_code == 200
    assert client.patch(f"/api/sessions/{b}/config", json={"hidden": [{"units": 3}]}).status_code == 200
    assert client.delete(f"/api/sessions/{b}").status_code == 204
    assert client.get(f"/api/sessions/{b}").status_code == 404
    assert _export(client, a) == a_before


def test_an_imported_export_is_a_new_session_that_cannot_write_to_the_original(client: TestClient) -> None:
    original = _create(client)
    client.post(f"/api/sessions/{original}/step", json={"unit": "batch", "count": 7})
    document = client.get(f"/api/sessions/{original}/export")
    assert original not in document.text, "an export must not carry its session's id"
    before = document.content
    imported = client.post("/api/sessions/import", json=document.json())
    assert imported.status_code == 201, imported.text
    copy = imported.json()["id"]
    assert copy != original
    assert client.post(f"/api/sessions/{copy}/step", json={"unit": "epoch", "count": 3}).status_code == 200
    assert client.delete(f"/api/sessions/{copy}").status_code == 204
    assert _export(client, original) == before
    # Importing the same document again gives yet another id.
    again = client.post("/api/sessions/import", json=document.json()).json()["id"]
    assert again not in (original, copy)


def test_session_creation_cap_answers_429_then_recovers_as_the_bucket_refills(tmp_path: Path) -> None:
    limits = {**OPEN_LIMITS, "sessions_per_client_per_minute": 5}
    app = create_app(Settings(data_dir=tmp_path, **limits))
    clock = ManualClock()  # the manager's clock: advancing it stands in for waiting
    app.state.sessions.clock = clock
    with TestClient(app) as client:
        created = [client.post("/api/sessions", json={}).status_code for _ in range(5)]
        refused = client.post("/api/sessions", json={})
        assert created == [201] * 5
        assert refused.status_code == 429
        assert "minute" in str(refused.json()["detail"])
        clock.now += 6  # 5 a minute is one every 12 s: half a session's worth
        assert client.post("/api/sessions", json={}).status_code == 429
        clock.now += 7
        assert client.post("/api/sessions", json={}).status_code == 201
        assert client.post("/api/sessions", json={}).status_code == 429


def test_request_rate_cap_answers_429_with_retry_after_and_recovers(tmp_path: Path) -> None:
    # a token every 2 s, on the app's clock: it stands still while the 100 requests below are sent (however
    # slow the machine), and moving it stands in for waiting
    settings = Settings(data_dir=tmp_path, requests_per_client_per_second=0.5, requests_burst=30)
    app = create_app(settings)
    clock = ManualClock()
    app.state.sessions.clock = clock
    with TestClient(app) as client:
        sid = client.post("/api/sessions", json={}).json()["id"]
        before = _export(client, sid)
        statuses = [client.post(f"/api/sessions/{sid}/step", json={"unit": "micro"}).status_code
                    for _ in range(100)]
        assert statuses[:5] == [200] * 5
        assert 429 in statuses
        refused = client.post(f"/api/sessions/{sid}/step", json={"unit": "micro"})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert refused.headers["x-content-type-options"] == "nosniff"
        # Work done before the cap is kept; a refused request changed nothing.
        steps_done = statuses.count(200)
        # the burst less the export before (the create came before the owner cookie: another client's bucket)
        assert steps_done == 30 - 1
        assert client.get(f"/api/sessions/{sid}").status_code == 429  # no time passed: still refused
        clock.now += 2.0  # one token comes back while the client is quiet
        state = client.get(f"/api/sessions/{sid}")
        assert state.status_code == 200
        assert state.json()["step_id"] == _export_step_id(before) + steps_done
        # the limiter recovers by itself for every route, /healthz included (test_connections.py: every
        # route is behind it)
        assert client.get("/healthz").status_code == 429
        clock.now += 2.0
        assert client.get("/healthz").status_code == 200


def _export_step_id(document: bytes) -> int:
    step_id: int = json.loads(document)["step_id"]
    return step_id


def test_memory_cap_answers_429_while_every_session_plays_and_recovers_on_pause(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, **{**OPEN_LIMITS, "max_sessions_in_memory": 2})
    with TestClient(create_app(settings)) as client:
        a, b = _create(client), _create(client)
        for sid in (a, b):
            played = client.post(f"/api/sessions/{sid}/play", json={"unit": "batch", "speed": 2})
            assert played.status_code == 200
        full = client.post("/api/sessions", json={})
        assert full.status_code == 429
        assert client.post(f"/api/sessions/{a}/pause").status_code == 200
        a_saved = _export(client, a)
        c = _create(client)  # evicts the paused session to the store
        assert c not in (a, b)
        client.post(f"/api/sessions/{b}/pause")
        assert _export(client, a) == a_saved  # reloaded from the store, unchanged
