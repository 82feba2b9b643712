"""The server's rewind-history caps (Hardening II item 3) come from its settings and bound the issue's
case: 8 x 64 units, Adam, 10 points, batch 1, stepped as far as one request goes."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from engine import history
from tests.hardening.conftest import OPEN_LIMITS

BIG = {"hidden": [{"units": 64}] * 8, "optimizer": {"kind": "adam"}, "batch_size": 1,
       "dataset": {"name": "circle", "n_samples": 10}}


def test_sessions_of_a_big_network_hold_history_within_the_per_session_and_total_bytes(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, history_bytes_per_session=4 * 2**20,
                        history_bytes_total=10 * 2**20, **OPEN_LIMITS)
    with TestClient(create_app(settings)) as client:
        manager = client.app.state.sessions  # type: ignore[attr-defined]
        used_before = history.SHARED_BUDGET.used
        ids = []
        for _ in range(3):
            sid = client.post("/api/sessions", json=BIG).json()["id"]
            stepped = client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 60})
            assert stepped.status_code == 200 and stepped.json()["epoch"] == 12  # 5 batches an epoch
            ids.append(sid)
        runs = [manager.sessions[sid].run for sid in ids]
        snapshot = runs[0].history.top.nbytes
        assert all(run.history.nbytes <= 4 * 2**20 for run in runs)
        assert all(len(run.history) >= 2 for run in runs)
        assert history.SHARED_BUDGET.used - used_before <= 10 * 2**20 + 3 * 2 * snapshot
        # Back goes as far as the history holds and stops there
        for sid, run in zip(ids, runs, strict=True):
            oldest = run.history[0].updates
            back = client.post(f"/api/sessions/{sid}/back", json={"unit": "batch", "count": 1000})
            assert back.status_code == 200
            assert run.updates == oldest > 0
