"""One play loop per session whatever the concurrency, and DELETE wins over everything in flight
(Hardening II items 1 and 2). The play loop runs on a ManualClock: ticks happen when the test advances
time, never because the machine happened to be fast or slow."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, TypeVar

import pytest

from app.sessions import SessionError, SessionManager
from engine.stepper import Run, RunConfig
from tests.clock import ManualClock, other_tasks, run_on_clock

T = TypeVar("T")


async def two_tabs_press_play(manager: SessionManager, clock: ManualClock) -> Any:
    session = await manager.create(lambda: Run(RunConfig()), "a")
    await manager.play(session, "batch", 20)
    await clock.advance(0.5, other_tasks)
    assert session.run.step_id > 0  # the clock drives the loop
    await asyncio.gather(manager.play(session, "batch", 20), manager.play(session, "batch", 20))
    await clock.advance(0.5, other_tasks)
    return session


def test_two_play_requests_at_once_leave_one_loop_and_pause_stops_it(tmp_path: Path) -> None:
    async def scenario(manager: SessionManager, clock: ManualClock) -> tuple[int, int, int, bool]:
        session = await two_tabs_press_play(manager, clock)
        loops = sum(1 for task in other_tasks() if "play_loop" in repr(task.get_coro()))
        await manager.pause(session)
        paused_at = session.run.step_id
        await clock.advance(3.0, other_tasks)
        return loops, paused_at, session.run.step_id, session.playing

    loops, paused_at, later, playing = run_on_clock(tmp_path, scenario)
    assert loops == 1
    assert later == paused_at and not playing


def test_a_deleted_session_never_comes_back_even_after_two_plays_at_once(tmp_path: Path) -> None:
    async def scenario(manager: SessionManager, clock: ManualClock) -> tuple[bool, int]:
        session = await two_tabs_press_play(manager, clock)
        await manager.delete(session.id)
        await clock.advance(12.0, other_tasks)  # past two save intervals: an orphan loop would save
        with pytest.raises(SessionError) as gone:
            await manager.get(session.id)
        return session.id in manager.store.ids(), gone.value.status_code

    in_store, status = run_on_clock(tmp_path, scenario, save_interval_seconds=5.0)
    assert not in_store and status == 404


def test_delete_during_a_running_step_is_not_undone_by_the_steps_save(tmp_path: Path) -> None:
    started, release = threading.Event(), threading.Event()

    def slow_step(run: Run) -> int:
        started.set()
        assert release.wait(30.0)
        return run.step("batch", 1)

    async def scenario(manager: SessionManager, clock: ManualClock) -> tuple[int, bool, int, int]:
        session = await manager.create(lambda: Run(RunConfig()), "a")
        stepping = asyncio.create_task(manager.call(session, slow_step))
        await asyncio.to_thread(started.wait, 30.0)
        deleting = asyncio.create_task(manager.delete(session.id))
        await asyncio.sleep(0)  # DELETE is in flight (waiting for the lock) while the step runs
        late = asyncio.create_task(manager.call(session, lambda run: run.step("batch", 1)))
        await asyncio.sleep(0)
        release.set()
        steps = await stepping  # the step that was running finishes (its answer is a 200)
        await deleting
        with pytest.raises(SessionError) as refused:  # a change queued behind DELETE finds it gone
            await late
        with pytest.raises(SessionError) as gone:
            await manager.get(session.id)
        return steps, session.id in manager.store.ids(), refused.value.status_code, gone.value.status_code

    steps, in_store, late_status, get_status = run_on_clock(tmp_path, scenario)
    assert steps == 1
    assert not in_store
    assert (late_status, get_status) == (404, 404)


def test_eviction_and_shutdown_stop_the_play_loop(tmp_path: Path) -> None:
    async def scenario(manager: SessionManager, clock: ManualClock) -> tuple[int, int]:
        idle = await manager.create(lambda: Run(RunConfig()), "a")
        clock.now += 10.0
        busy = await manager.create(lambda: Run(RunConfig()), "a")  # memory full: `idle` goes
        await manager.play(busy, "batch", 20)
        await clock.advance(0.5, other_tasks)
        assert list(manager.sessions) == [busy.id] and idle.gone == "evicted"
        await manager.shutdown()
        stopped_at = busy.run.step_id
        await clock.advance(2.0, other_tasks)
        loops = sum(1 for task in other_tasks() if "play_loop" in repr(task.get_coro()))
        return loops, busy.run.step_id - stopped_at

    loops, moved = run_on_clock(tmp_path, scenario, max_sessions_in_memory=1)
    assert (loops, moved) == (0, 0)
