"""Play ticks: heat maps only for someone watching and at most every fifth frame, and ticks and small calls
measured for the choice to run them inline. Counts of events, never time: speed is in bench/."""

from __future__ import annotations

import asyncio
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

from app.sessions import SessionManager
from app.settings import Settings
from app.store import SQLiteStore
from engine.stepper import Run, RunConfig

POLL_SECONDS = 60.0


def _manager(data_dir: Path) -> SessionManager:
    settings = Settings(data_dir=data_dir, stream_max_fps=20, stream_maps_fps=4)
    return SessionManager(settings, SQLiteStore(data_dir / "s.sqlite3"))


async def _until(holds: Callable[[], bool], what: str, timeout: float = POLL_SECONDS) -> None:
    """Wait until `holds()` (polling the event loop), however slowly a busy machine plays; fail naming
    `what` only after a generous timeout."""
    for _ in range(int(timeout / 0.01)):
        if holds():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what}: not within {timeout} s")


def test_play_builds_heat_maps_only_while_a_stream_is_subscribed_and_at_most_every_fifth_frame() -> None:
    """Counts events, not time: unwatched play publishes frames without maps; watched, maps come with at
    most one frame in five (stream_maps_fps 4 of stream_max_fps 20). How often per second and at what CPU
    cost: bench/tick_bench.py and bench/play_bench.py."""
    async def scenario(data_dir: Path) -> tuple[int, int, int, int]:
        manager = _manager(data_dir)
        session = await manager.create(lambda: Run(RunConfig()), "test")
        broadcaster = session.broadcaster
        frames0, maps0 = broadcaster.version, broadcaster.maps_version
        await manager.play(session, "batch", 20)
        await _until(lambda: broadcaster.version >= frames0 + 5, "5 frames unwatched")
        frames1, maps1 = broadcaster.version, broadcaster.maps_version
        session.subscribers += 1  # what routes/stream.py does for each open stream
        await _until(lambda: broadcaster.maps_version >= maps1 + 2, "2 map builds watched")
        frames2, maps2 = broadcaster.version, broadcaster.maps_version
        session.subscribers -= 1
        await manager.shutdown()
        return frames1 - frames0, maps1 - maps0, frames2 - frames1, maps2 - maps1

    with tempfile.TemporaryDirectory() as directory:
        counts = asyncio.run(scenario(Path(directory)))
    unwatched_frames, unwatched_maps, watched_frames, watched_maps = counts
    assert unwatched_frames >= 5 and unwatched_maps == 0
    # the first watched tick builds maps, then every 5th tick at most
    assert 2 <= watched_maps <= 1 + (watched_frames - 1) // 5, (watched_frames, watched_maps)


def test_a_play_tick_is_measured_for_the_inline_choice() -> None:
    """The tick's CPU time is measured (the next tick runs inline when it is under INLINE_TICK_SECONDS);
    how long a default tick takes is bench/tick_bench.py's figure, not a test's."""
    async def scenario(data_dir: Path) -> tuple[float, float, int]:
        manager = _manager(data_dir)
        session = await manager.create(lambda: Run(RunConfig()), "test")
        before = session.tick_seconds
        await manager.play(session, "batch", 20)
        await _until(lambda: session.run.updates >= 2, "2 batches played")
        updates = session.run.updates
        await manager.shutdown()
        return before, session.tick_seconds, updates

    with tempfile.TemporaryDirectory() as directory:
        before, tick_seconds, updates = asyncio.run(scenario(Path(directory)))
    assert updates >= 2
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
