"""Saved sessions are pruned: never-trained ones after a day, any one untouched for keep_days; at startup
and from saves at most every prune interval."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.store import DAY_SECONDS, SQLiteStore
from engine import serialize
from engine.data import DataConfig
from engine.network import LayerConfig
from engine.stepper import Run, RunConfig


class Clock:
    """A settable time.time for the store."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _documents() -> tuple[str, str]:
    """A real run's export document at its initial point, and the same run after one micro-step."""
    run = Run(RunConfig(dataset=DataConfig(n_samples=40), hidden=(LayerConfig(2),), batch_size=4))
    fresh = json.dumps(serialize.export_run(run))
    run.step("micro", 1)
    return fresh, json.dumps(serialize.export_run(run))


def test_a_never_stepped_session_goes_after_a_day_and_a_stepped_one_stays(tmp_path: Path) -> None:
    fresh, stepped = _documents()
    clock = Clock()
    store = SQLiteStore(tmp_path / "s.sqlite3", clock=clock, keep_days=30)
    store.save("fresh", fresh)
    store.save("stepped", stepped)
    clock.now += DAY_SECONDS - 60
    assert store.prune() == 0  # not a day yet
    clock.now += 120
    assert store.prune() == 1
    assert store.ids() == ["stepped"]
    store.close()


def test_any_session_untouched_for_keep_days_goes_and_a_resave_keeps_it(tmp_path: Path) -> None:
    _, stepped = _documents()
    clock = Clock()
    store = SQLiteStore(tmp_path / "s.sqlite3", clock=clock, keep_days=3)
    store.save("old", stepped)
    store.save("touched", stepped)
    clock.now += 2 * DAY_SECONDS
    store.save("touched", stepped)  # saved again: its clock starts over
    clock.now += 1.5 * DAY_SECONDS
    assert store.prune() == 1
    assert store.ids() == ["touched"]
    store.close()


def test_without_keep_days_only_never_stepped_sessions_are_pruned(tmp_path: Path) -> None:
    fresh, stepped = _documents()
    clock = Clock()
    store = SQLiteStore(tmp_path / "s.sqlite3", clock=clock)
    store.save("fresh", fresh)
    store.save("stepped", stepped)
    clock.now += 400 * DAY_SECONDS
    store.prune()
    assert store.ids() == ["stepped"]
    store.close()


def test_saves_prune_at_most_once_per_interval(tmp_path: Path) -> None:
    fresh, _ = _documents()
    clock = Clock()
    store = SQLiteStore(tmp_path / "s.sqlite3", clock=clock, unstepped_seconds=100, prune_every_seconds=3600)
    store.save("a", fresh)
    clock.now += 1000
    store.save("b", fresh)  # "a" is past its 100 s, but the last prune (opening) was only 1000 s ago
    assert store.ids() == ["a", "b"]
    clock.now += 2700
    store.save("c", fresh)  # an interval since the opening: this save prunes both
    assert store.ids() == ["c"]
    store.close()


def test_a_store_from_before_pruning_is_migrated_and_pruned_when_opened(tmp_path: Path) -> None:
    fresh, stepped = _documents()
    db = tmp_path / "s.sqlite3"
    old = sqlite3.connect(db)
    old.execute("CREATE TABLE sessions (id TEXT PRIMARY KEY, updated_at REAL NOT NULL,"
                " document TEXT NOT NULL)")
    old.executemany("INSERT INTO sessions VALUES (?, ?, ?)",
                    [("fresh", 0.0, fresh), ("stepped", 0.0, stepped), ("text", 0.0, "not json")])
    old.commit()
    old.close()
    store = SQLiteStore(db, clock=Clock(2 * DAY_SECONDS))
    assert sorted(store.ids()) == ["stepped", "text"]
    store.close()


def test_the_server_prunes_its_store_at_startup(tmp_path: Path) -> None:
    fresh, stepped = _documents()
    store = SQLiteStore(tmp_path / "sessions.sqlite3", clock=Clock(0.0))  # saved at the epoch: long ago
    for name, document in (("fresh", fresh), ("stepped", stepped)):
        store.save(name, document)
    store.close()
    settings = Settings(data_dir=tmp_path, keep_sessions_days=10_000_000)  # keep every trained one
    with TestClient(create_app(settings)):
        pass
    assert SQLiteStore(tmp_path / "sessions.sqlite3", keep_days=10_000_000).ids() == ["stepped"]
