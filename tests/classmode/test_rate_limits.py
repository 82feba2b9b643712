"""Request limits per client (its owner key) with the address only as a larger backstop (app/security.py)."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


def test_one_busy_browser_does_not_throttle_its_classmates_behind_the_same_address(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, requests_per_client_per_second=1.0, requests_burst=20,
                        requests_per_address_per_second=1.0, requests_address_burst=200)
    app = create_app(settings)
    with TestClient(app) as busy, TestClient(app) as calm:
        busy_run = busy.post("/api/sessions", json={}).json()["id"]
        calm_run = calm.post("/api/sessions", json={}).json()["id"]
        statuses = [busy.get(f"/api/sessions/{busy_run}").status_code for _ in range(40)]
        assert 429 in statuses and statuses.count(200) <= 21
        # the same address, another browser (another owner key): its own bucket is still full
        assert [calm.get(f"/api/sessions/{calm_run}").status_code for _ in range(10)] == [200] * 10


def test_inventing_a_key_per_request_runs_into_the_address_backstop(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, requests_per_client_per_second=1.0, requests_burst=5,
                        requests_per_address_per_second=1.0, requests_address_burst=30)
    with TestClient(create_app(settings)) as client:
        statuses = [client.get("/api/sessions/none", headers={"X-Stepwise-Token": secrets.token_urlsafe(32)})
                    .status_code for _ in range(60)]
        assert statuses[:25].count(429) == 0 and statuses[-10:] == [429] * 10
        assert "slow down" in client.get("/api/sessions/none").json()["detail"]["message"]
