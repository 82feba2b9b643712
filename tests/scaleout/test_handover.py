"""Two apps on one PostgreSQL (in this process, each on its own event loop): a run asked for on the other
app is handed over — saved, let go, taken, loaded — with nothing lost, and a playing run plays on there;
a SIGTERM'd app (its lifespan ends) lets its runs go the same way."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.scaleout.test_leases import wait_until


@pytest.fixture
def settings(postgres_server: Any, tmp_path: Any) -> Settings:
    return Settings(data_dir=tmp_path, database_url=postgres_server.database(), lease_seconds=30)


def _state(client: TestClient, sid: str) -> dict[str, Any]:
    answer = client.get(f"/api/sessions/{sid}")
    assert answer.status_code == 200, answer.text
    state: dict[str, Any] = answer.json()
    return state


def test_a_run_asked_for_on_another_process_is_handed_over_with_every_manual_step(settings: Settings) -> None:
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        created = a.post("/api/sessions", json={"hidden": [{"units": 4}]}).json()
        sid, owner = created["id"], {"X-Stepwise-Token": created["token"]}
        for count in (3, 1, 2):
            assert a.post(f"/api/sessions/{sid}/step", json={"unit": "micro", "count": count},
                          headers=owner).status_code == 200
        exported = a.get(f"/api/sessions/{sid}/export").json()
        step_id = _state(a, sid)["step_id"]
        names: list[str] = []

        def follow() -> None:  # a page's stream on A while the run moves to B
            with a.stream("GET", f"/api/sessions/{sid}/stream") as response:
                names.extend(line[6:].strip() for line in response.iter_lines() if line.startswith("event:"))

        reader = threading.Thread(target=follow)
        reader.start()
        manager = a.app.state.sessions  # type: ignore[attr-defined]
        wait_until(lambda: manager.sessions[sid].subscribers == 1, "the stream to open")
        # B is asked for the run A holds: A saves it and lets go, B takes it over
        assert b.get(f"/api/sessions/{sid}/export").json() == exported
        reader.join(timeout=30)
        assert not reader.is_alive()  # A's stream ended ...
        assert names == ["snapshot"]  # ... without "closed": the page's EventSource reconnects
        assert sid not in a.app.state.sessions.sessions  # type: ignore[attr-defined]
        assert sid in b.app.state.sessions.sessions  # type: ignore[attr-defined]
        # ... and back: the owner's token still steps it wherever it is
        assert a.post(f"/api/sessions/{sid}/step", json={"unit": "micro", "count": 1},
                      headers=owner).status_code == 200
        assert _state(a, sid)["step_id"] > step_id
        assert sid not in b.app.state.sessions.sessions  # type: ignore[attr-defined]


def test_a_playing_run_plays_on_in_the_process_that_takes_it_over(settings: Settings) -> None:
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        created = a.post("/api/sessions", json={}).json()
        sid, owner = created["id"], {"X-Stepwise-Token": created["token"]}
        assert a.post(f"/api/sessions/{sid}/play", json={"unit": "batch", "speed": 50},
                      headers=owner).status_code == 200
        wait_until(lambda: _state(a, sid)["epoch"] >= 1, "A to play an epoch")
        taken = _state(b, sid)
        assert taken["playing"] is True
        wait_until(lambda: _state(b, sid)["step_id"] > taken["step_id"], "B to play the run on")
        assert a.app.state.sessions.sessions.get(sid) is None  # type: ignore[attr-defined]
        b.post(f"/api/sessions/{sid}/pause", headers=owner)


def test_an_app_that_stops_saves_its_runs_and_lets_them_go_to_the_next(settings: Settings) -> None:
    with TestClient(create_app(settings)) as b:
        with TestClient(create_app(settings)) as a:
            created = a.post("/api/sessions", json={}).json()
            sid, owner = created["id"], {"X-Stepwise-Token": created["token"]}
            a.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 4}, headers=owner)
            a.post(f"/api/sessions/{sid}/play", json={"unit": "batch", "speed": 20}, headers=owner)
            wait_until(lambda: _state(a, sid)["step_id"] > 4, "A to play")
        # A stopped (its lifespan saved the run and let the lease go): B takes it at once, playing
        after = _state(b, sid)
        assert after["playing"] is True and after["step_id"] > 4
        b.post(f"/api/sessions/{sid}/pause", headers=owner)
