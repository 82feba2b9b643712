"""Play ticks: heat maps only for someone watching and at most every fifth frame, and ticks and small calls
measured for the choice to run them inline. Counts of events on an injected clock (tests/clock.py), never
time: speed is in bench/."""

from __future__ import annotations

import asyncio
import math
import tempfile
from pathlib import Path

from app.sessions import SessionManager
from app.settings import Settings
from app.store import SQLiteStore
from engine.stepper import Run, RunConfig
from tests.clock import ManualClock, other_tasks, run_on_clock

SETTINGS = {"stream_max_fps": 20, "stream_maps_fps": 4}


def _manager(data_dir: Path) -> SessionManager:
    return SessionManager(Settings(data_dir=data_dir, **SETTINGS), SQLiteStore(data_dir / "s.sqlite3"))


def test_play_builds_heat_maps_only_while_a_stream_is_subscribed_and_at_most_every_fifth_frame(
    tmp_path: Path,
) -> None:
    """Counts events on the manager's clock, not time: unwatched, a second of play at 20 frames/s
    publishes a frame per tick and no maps; watched, maps come with the first tick and then one tick in
    five (stream_maps_fps 4 of stream_max_fps 20). How often per real second and at what CPU cost:
    bench/tick_bench.py and bench/play_bench.py."""
    async def scenario(manager: SessionManager, clock: ManualClock) -> tuple[int, int, int, int, int]:
        session = await manager.create(lambda: Run(RunConfig()), "test")
        broadcaster = session.broadcaster
        frames0, maps0 = broadcaster.version, broadcaster.maps_version
        await manager.play(session, "batch", 20)
        await clock.advance(0.999, other_tasks)  # ticks at 0, 0.05, ..., 0.95: 20 ticks
        frames1, maps1 = broadcaster.version, broadcaster.maps_version
        session.subscribers += 1  # what routes/stream.py does for each open stream
        await clock.advance(1.0, other_tasks)
        frames2, maps2 = broadcaster.version, broadcaster.maps_version
        session.subscribers -= 1
        return frames1 - frames0, maps1 - maps0, frames2 - frames1, maps2 - maps1, session.run.updates

    unwatched_frames, unwatched_maps, watched_frames, watched_maps, updates = run_on_clock(
        tmp_path, scenario, **SETTINGS)
    assert (unwatched_frames, unwatched_maps) == (20, 0)
    assert watched_frames == 20 and updates == 40  # 20 batches/s: one batch a tick
    assert watched_maps == 1 + (watched_frames - 1) // 5  # the first watched tick, then every 5th


def test_a_play_tick_is_measured_for_the_inline_choice(tmp_path: Path) -> None:
    """The tick's CPU time is measured (the next tick runs inline when it is under INLINE_TICK_SECONDS);
    how long a default tick takes is bench/tick_bench.py's figure, not a test's."""
    async def scenario(manager: SessionManager, clock: ManualClock) -> tuple[float, float, int]:
        session = await manager.create(lambda: Run(RunConfig()), "test")
        before = session.tick_seconds
        await manager.play(session, "batch", 20)
        await clock.advance(0.06, other_tasks)  # two ticks: at 0 and at 0.05
        return before, session.tick_seconds, session.run.updates

    before, tick_seconds, updates = run_on_clock(tmp_path, scenario, **SETTINGS)
    assert updates == 2
    assert before == math.inf  # unknown until a tick ran: the first tick goes to a worker thread
    assert 0.0 < tick_seconds < math.inf


def test_a_small_manual_step_is_measured_for_the_inline_choice_and_a_large_one_is_not() -> None:
    async def scenario(data_dir: Path) -> tuple[float, float, int]:
        manager = _manager(data_dir)
        session = await manager.create(lambda: Run(RunConfig()), "test")
        await manager.call(session, lambda run: run.step("batch", 1), small=True)
        after_small = session.call_seconds
        session.call_seconds = 0.0
        await manager.call(session, lambda run: run.step("epoch", 3))
        after_large, updates = session.call_seconds, session.run.updates
        await manager.shutdown()
        return after_small, after_large, updates

    with tempfile.TemporaryDirectory() as directory:
        after_small, after_large, updates = asyncio.run(scenario(Path(directory)))
    assert 0.0 < after_small < math.inf  # a small call is measured (its CPU decides the next one's place)
    assert after_large == 0.0  # a large call goes to a worker thread and never enters the estimate
    assert updates == 3 * 25  # both happened: 1 batch, then to the end of 3 epochs of 25 batches
