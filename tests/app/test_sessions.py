"""SessionManager: memory cap, idle eviction to the store and back, one change at a time, play stops on
divergence with the message published."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from app.sessions import SessionError, SessionManager
from app.settings import Settings
from app.store import SQLiteStore
from engine.network import LayerConfig
from engine.optim import OptimizerConfig
from engine.stepper import Run, RunConfig
from tests.clock import ManualClock, other_tasks, run_on_clock

T = TypeVar("T")


def run_with_manager(
    tmp_path: Path, scenario: Callable[[SessionManager], Awaitable[T]], **settings: Any
) -> T:
    """Run `scenario` on a fresh manager (its own event loop and store), shutting it down after."""

    async def main() -> T:
        manager = SessionManager(Settings(data_dir=tmp_path, **settings),
                                 SQLiteStore(tmp_path / "sessions.sqlite3"))
        try:
            return await scenario(manager)
        finally:
            await manager.shutdown()

    return asyncio.run(main())


def params(run: Run) -> list[np.ndarray]:
    return [array for w, b in run.network.get_params() for array in (w, b)]


def test_full_memory_evicts_an_idle_session_but_refuses_when_every_session_is_busy(tmp_path: Path) -> None:
    async def scenario(manager: SessionManager) -> None:
        first = await manager.create(lambda: Run(RunConfig()), "a")
        await manager.play(first, "batch", 5)
        with pytest.raises(SessionError) as refused:  # the only session is playing: nothing to evict
            await manager.create(lambda: Run(RunConfig()), "a")
        assert refused.value.status_code == 429
        await manager.pause(first)
        second = await manager.create(lambda: Run(RunConfig()), "a")
        assert list(manager.sessions) == [second.id]  # the paused one went to the store, not away
        again = await manager.get(first.id)
        assert again.run.step_id == first.run.step_id

    run_with_manager(tmp_path, scenario, max_sessions_in_memory=1)


def test_idle_session_is_evicted_to_the_store_and_reloads_with_the_same_state(tmp_path: Path) -> None:
    async def scenario(manager: SessionManager, clock: ManualClock) -> None:
        session = await manager.create(lambda: Run(RunConfig()), "a")
        await manager.call(session, lambda run: run.step("batch", 3))
        await manager.call(session, lambda run: run.step("micro", 4))
        before = (session.run.step_id, session.run.cursor, params(session.run))
        busy = await manager.create(lambda: Run(RunConfig()), "a")
        busy.subscribers = 1  # a page is watching this one: never evicted however idle
        await clock.advance(0.15, other_tasks)  # past idle_ttl_seconds on the manager's clock
        await manager.evict_idle()
        assert session.id not in manager.sessions and busy.id in manager.sessions
        assert manager.store.load(session.id) is not None
        loaded = await manager.get(session.id)
        assert loaded is not session
        assert (loaded.run.step_id, loaded.run.cursor) == before[:2]
        for a, b in zip(params(loaded.run), before[2], strict=True):
            np.testing.assert_array_equal(a, b)
        busy.subscribers = 0

    run_on_clock(tmp_path, scenario, idle_ttl_seconds=0.1)


def test_recently_used_sessions_are_not_evicted(tmp_path: Path) -> None:
    async def scenario(manager: SessionManager) -> None:
        session = await manager.create(lambda: Run(RunConfig()), "a")
        await manager.evict_idle()
        assert session.id in manager.sessions

    run_with_manager(tmp_path, scenario, idle_ttl_seconds=60)


def test_the_session_lock_serialises_concurrent_changes(tmp_path: Path) -> None:
    active, most = 0, 0
    guard = threading.Lock()

    def one_micro_step(run: Run) -> int:
        nonlocal active, most
        with guard:
            active += 1
            most = max(most, active)
        time.sleep(0.005)  # long enough for a second worker thread to enter if nothing stopped it
        done = run.step("micro")
        with guard:
            active -= 1
        return done

    async def scenario(manager: SessionManager) -> tuple[int, list[np.ndarray]]:
        session = await manager.create(lambda: Run(RunConfig()), "a")
        calls = (manager.call(session, one_micro_step, save=False) for _ in range(25))
        results = await asyncio.gather(*calls)
        assert results == [1] * 25
        return session.run.step_id, params(session.run)

    step_id, got = run_with_manager(tmp_path, scenario)
    assert most == 1
    reference = Run(RunConfig())
    for _ in range(25):
        reference.step("micro")
    assert step_id == reference.step_id == 25
    for a, b in zip(got, params(reference), strict=True):
        np.testing.assert_array_equal(a, b)


def test_play_stops_on_divergence_and_publishes_the_message(tmp_path: Path) -> None:
    config = RunConfig(output_unit="linear_mse", hidden=(LayerConfig(8, "relu"), LayerConfig(8, "relu")),
                       optimizer=OptimizerConfig(learning_rate=10.0))

    async def scenario(manager: SessionManager, clock: ManualClock) -> None:
        session = await manager.create(lambda: Run(config), "a")
        await manager.play(session, "batch", 100)
        for _ in range(100):  # 100 s of play on the manager's clock at most; it diverges within seconds
            if not session.playing:
                break
            await clock.advance(1.0, other_tasks)
        assert not session.playing
        frame = session.broadcaster.frame
        assert frame is not None and session.run.diverged is not None
        assert frame["diverged"] == session.run.diverged.message
        assert "learning rate" in frame["diverged"]
        assert frame["id"] == session.run.step_id
        # the store holds the diverged run, and a reload still says so
        manager.sessions.pop(session.id)
        loaded = await manager.get(session.id)
        assert loaded.run.diverged is not None

    run_on_clock(tmp_path, scenario)


def test_shutdown_saves_every_changed_session(tmp_path: Path) -> None:
    """Every change is in the store after shutdown (how long 30 saves take: bench/play_bench.py)."""
    store_path = tmp_path / "sessions.sqlite3"

    async def scenario() -> dict[str, int]:
        manager = SessionManager(Settings(data_dir=tmp_path), SQLiteStore(store_path))
        step_ids = {}
        for k in range(30):
            session = await manager.create(lambda: Run(RunConfig()), f"client{k}")
            # a change that is not saved by itself (save=False): only shutdown can persist it
            await manager.call(session, lambda run: run.step("batch", 2), save=False)
            step_ids[session.id] = session.run.step_id
        await manager.shutdown()
        return step_ids

    step_ids = asyncio.run(scenario())
    store = SQLiteStore(store_path)
    saved = {sid: json.loads(store.load(sid) or "{}").get("step_id") for sid in step_ids}
    store.close()
    assert saved == step_ids


def test_concurrent_requests_for_an_evicted_session_share_one_reloaded_session(tmp_path: Path) -> None:
    async def scenario(manager: SessionManager) -> None:
        session = await manager.create(lambda: Run(RunConfig()), "a")
        await manager.call(session, lambda run: run.step("batch", 2))
        manager.sessions.pop(session.id)  # as eviction does, after the save above
        loaded = await asyncio.gather(*(manager.get(session.id) for _ in range(8)))
        assert len({id(s) for s in loaded}) == 1
        assert manager.sessions[session.id] is loaded[0]
        assert loaded[0].run.step_id == session.run.step_id

    run_with_manager(tmp_path, scenario)
