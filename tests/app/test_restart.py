"""A session saved by one app and loaded by a new app on the same data dir continues bit-exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("engine.stepper")
pytest.importorskip("engine.serialize")

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


def test_next_step_after_restart_matches_a_never_restarted_reference(tmp_path: Path) -> None:
    config = {"hidden": [{"units": 5}, {"units": 3}], "optimizer": {"kind": "adam", "learning_rate": 0.05}}
    with TestClient(create_app(Settings(data_dir=tmp_path / "reference"))) as ref:
        rid = ref.post("/api/sessions", json=config).json()["id"]
        ref.post(f"/api/sessions/{rid}/step", json={"unit": "batch", "count": 7})
        ref.post(f"/api/sessions/{rid}/step", json={"unit": "micro", "count": 3})
        ref.post(f"/api/sessions/{rid}/step", json={"unit": "batch", "count": 2})
        expected = ref.get(f"/api/sessions/{rid}/export").json()

    restarted_dir = tmp_path / "restarted"
    with TestClient(create_app(Settings(data_dir=restarted_dir))) as before:
        created = before.post("/api/sessions", json=config).json()
        sid, owner = created["id"], {"X-Stepwise-Token": created["token"]}
        before.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 7})
        before.post(f"/api/sessions/{sid}/step", json={"unit": "micro", "count": 3})
    with TestClient(create_app(Settings(data_dir=restarted_dir))) as after:
        assert after.get(f"/api/sessions/{sid}").status_code == 200
        # a new client (no cookie): the owner token still changes the run after the restart
        assert after.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 2},
                          headers=owner).status_code == 200
        continued = after.get(f"/api/sessions/{sid}/export").json()

    # The export holds parameters as exact floats (serialize's job), so == here means bit-exact.
    assert continued["state"] == expected["state"]
    assert continued["cursor"] == expected["cursor"]


def test_an_evicted_idle_session_is_loaded_back_on_demand(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, max_sessions_in_memory=1))) as client:
        first = client.post("/api/sessions", json={}).json()["id"]
        client.post(f"/api/sessions/{first}/step", json={"unit": "batch", "count": 3})
        step_id = client.get(f"/api/sessions/{first}").json()["step_id"]
        second = client.post("/api/sessions", json={}).json()["id"]  # evicts the first to the store
        manager = client.app.state.sessions  # type: ignore[attr-defined]
        assert first not in manager.sessions and second in manager.sessions
        assert client.get(f"/api/sessions/{first}").json()["step_id"] == step_id
