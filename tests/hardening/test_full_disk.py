"""A full or read-only disk (Hardening II item 5). The store really fails: SQLite's max_page_count caps
the database file at the pages it has, so a save that needs one more page gets SQLITE_FULL ("database or
disk is full") exactly as on a full disk; the read-only directory is a read-only mount (or mode 555 when
not root)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.sessions import SessionManager
from app.settings import Settings
from app.store import SQLiteStore, StoreUnavailableError
from engine.stepper import Run, RunConfig
from tests.clock import ManualClock
from tests.conftest import ROOT, server_env
from tests.hardening.conftest import OPEN_LIMITS


def fill(store: SQLiteStore) -> None:
    """Cap the file at its current size, then fill what is left of its pages with filler rows."""
    database = store._db
    pages = database.execute("PRAGMA page_count").fetchone()[0]
    database.execute(f"PRAGMA max_page_count = {pages}")
    for size in (4000, 500, 60, 8):
        for number in range(10_000):
            try:
                store.save(f"filler-{size}-{number}", "z" * size)
            except Exception:
                break


def make_room(store: SQLiteStore) -> None:
    store._db.execute("PRAGMA max_page_count = 1073741823")


def stored_step_id(store: SQLiteStore, session_id: str) -> int:
    document = store.load(session_id)
    assert document is not None
    return int(json.loads(document)["step_id"])


def test_a_step_on_a_full_disk_is_applied_reported_not_saved_and_saved_once_there_is_room(
    tmp_path: Path,
) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, **OPEN_LIMITS))) as client:
        sessions: SessionManager = client.app.state.sessions  # type: ignore[attr-defined]
        sid = client.post("/api/sessions", json={}).json()["id"]
        assert client.get("/healthz").status_code == 200
        fill(sessions.store)  # type: ignore[arg-type]
        before = stored_step_id(sessions.store, sid)  # type: ignore[arg-type]

        stepped = client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 7})
        assert stepped.status_code == 200
        assert stepped.json()["saved"] is False
        assert stepped.json()["batch"] == 7  # applied in memory, and the answer says so
        assert stored_step_id(sessions.store, sid) == before  # store unchanged, consistent with "not saved"
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        page = client.post(f"/ui/{sid}/step", data={"unit": "batch"})
        assert page.status_code == 200 and "not saved" in page.text  # the student sees it

        make_room(sessions.store)  # type: ignore[arg-type]
        client.portal.call(sessions.housekeeping)  # type: ignore[union-attr]  # what the janitor runs
        state = client.get(f"/api/sessions/{sid}").json()
        assert state["saved"] is True
        assert stored_step_id(sessions.store, sid) == state["step_id"]
        assert client.get("/healthz").status_code == 200


def test_eviction_on_a_full_disk_keeps_the_session_and_the_janitor_retries_until_it_goes(
    tmp_path: Path,
) -> None:
    async def scenario() -> tuple[bool, bool, bool, int, int]:
        clock = ManualClock()
        store = SQLiteStore(tmp_path / "sessions.sqlite3")
        manager = SessionManager(Settings(data_dir=tmp_path, idle_ttl_seconds=60, save_interval_seconds=5),
                                 store, clock=clock)
        await manager.start()
        try:
            session = await manager.create(lambda: Run(RunConfig()), "a")
            await manager.call(session, lambda run: run.step("batch", 40), save=False)  # unsaved work
            fill(store)
            janitor = manager._janitor
            await clock.advance(120.0, lambda: [janitor])  # past the idle time: eviction's save fails
            kept = session.id in manager.sessions and not session.saved
            janitor_alive = janitor is not None and not janitor.done()
            degraded = manager.store_error is not None
            make_room(store)
            await clock.advance(10.0, lambda: [janitor])  # the next round saves it and lets it go
            return kept, janitor_alive, degraded, stored_step_id(store, session.id), session.run.step_id
        finally:
            await manager.shutdown()

    kept, janitor_alive, degraded, stored, current = asyncio.run(scenario())
    assert kept and janitor_alive and degraded
    assert stored == current


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory nothing can be written to: a read-only tmpfs mount as root (root ignores modes),
    mode 555 otherwise."""
    directory = tmp_path / "read-only"
    directory.mkdir()
    if os.geteuid() != 0:
        directory.chmod(0o555)
        yield directory
        directory.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(directory)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", str(directory)], check=False)


def test_a_read_only_data_directory_stops_the_command_with_a_message_naming_it(read_only_dir: Path) -> None:
    with pytest.raises(StoreUnavailableError) as refused:
        SQLiteStore(read_only_dir / "sessions.sqlite3")
    assert str(read_only_dir) in str(refused.value)
    command = subprocess.run([sys.executable, "-m", "app", "--port", "1"], cwd=ROOT,
                             env=server_env(read_only_dir), capture_output=True, timeout=120, check=False)
    error: Any = command.stderr.decode()
    assert command.returncode == 2
    assert str(read_only_dir) in error and "STEPWISE_DATA_DIR" in error
    assert "Traceback" not in error
