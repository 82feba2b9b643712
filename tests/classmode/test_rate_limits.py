"""Request limits per client (its owner key) with the address only as a larger backstop (app/security.py)."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

SLOW = 0.001  # tokens per second: a bucket refills one token in 1,000 s, so no test here races the clock


def test_one_busy_browser_does_not_throttle_its_classmates_behind_the_same_address(tmp_path: Path) -> None:
    # refills of a token per 1,000 s: however slowly a busy machine sends the requests below, the buckets
    # hold what their bursts say
    settings = Settings(data_dir=tmp_path, requests_per_client_per_second=SLOW, requests_burst=20,
                        requests_per_address_per_second=SLOW, requests_address_burst=200)
    app = create_app(settings)
    with TestClient(app) as busy, TestClient(app) as calm:
        busy_run = busy.post("/api/sessions", json={}).json()["id"]
        calm_run = calm.post("/api/sessions", json={}).json()["id"]
        statuses = [busy.get(f"/api/sessions/{busy_run}").status_code for _ in range(40)]
        assert statuses[:19] == [200] * 19 and statuses[-20:] == [429] * 20  # its 20th was the create
        # the same address, another browser (another owner key): its own bucket is still full
        assert [calm.get(f"/api/sessions/{calm_run}").status_code for _ in range(10)] == [200] * 10


def test_inventing_a_key_per_request_runs_into_the_address_backstop(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, requests_per_client_per_second=SLOW, requests_burst=5,
                        requests_per_address_per_second=SLOW, requests_address_burst=30)
    with TestClient(create_app(settings)) as client:
        statuses = [client.get("/api/sessions/none", headers={"X-Stepwise-Token": secrets.token_urlsafe(32)})
                    .status_code for _ in range(60)]
        assert statuses[:25].count(429) == 0 and statuses[-10:] == [429] * 10
        assert "slow down" in client.get("/api/sessions/none").json()["detail"]["message"]


def test_a_crowd_at_one_run_is_refused_by_that_runs_bucket_and_other_runs_go_on(tmp_path: Path) -> None:
    """Per run as well as per client: many browsers (each well within its own limit) at one run's link
    use up that run's bucket; the run's state is unchanged and another run still answers."""
    settings = Settings(data_dir=tmp_path, requests_per_client_per_second=SLOW, requests_burst=100,
                        requests_per_run_per_second=SLOW, requests_run_burst=30)
    app = create_app(settings)
    with TestClient(app) as owner, TestClient(app) as other:
        crowded = owner.post("/api/sessions", json={}).json()["id"]
        calm = other.post("/api/sessions", json={}).json()["id"]
        step_id = owner.get(f"/api/sessions/{crowded}").json()["step_id"]
        viewers = [TestClient(app) for _ in range(6)]
        statuses = [viewer.get(f"/api/sessions/{crowded}").status_code
                    for _ in range(10) for viewer in viewers]  # 10 each: no browser is past its own 100
        assert statuses[:25].count(429) == 0 and statuses[-10:] == [429] * 10
        refused = viewers[0].get(f"/ui/{crowded}/inspector")  # the page's paths name the run too
        assert refused.status_code == 429 and "this run" in refused.json()["detail"]["message"]
        assert int(refused.headers["retry-after"]) >= 1
        assert other.get(f"/api/sessions/{calm}").status_code == 200  # another run goes on
        for viewer in viewers:
            viewer.close()
        fresh = Settings(data_dir=tmp_path)  # the crowded run was not changed by the refusals
        with TestClient(create_app(fresh)) as later:
            assert later.get(f"/api/sessions/{crowded}").json()["step_id"] == step_id
