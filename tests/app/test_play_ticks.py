"""Play ticks: heat maps only for someone watching, cheap ticks inline on the event loop, and a stream
that sends a frame after a pause at once instead of waiting out the rate cap."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from app.sessions import INLINE_TICK_SECONDS, SessionManager
from app.settings import Settings
from app.store import SQLiteStore
from engine.stepper import Run, RunConfig


def _manager(data_dir: Path) -> SessionManager:
    settings = Settings(data_dir=data_dir, stream_max_fps=20, stream_maps_fps=4)
    return SessionManager(settings, SQLiteStore(data_dir / "s.sqlite3"))


def test_play_builds_heat_maps_only_while_a_stream_is_subscribed() -> None:
    async def scenario(data_dir: Path) -> tuple[int, int, int, int]:
        manager = _manager(data_dir)
        session = await manager.create(lambda: Run(RunConfig()), "test")
        broadcaster = session.broadcaster
        frames0, maps0 = broadcaster.version, broadcaster.maps_version
        await manager.play(session, "batch", 20)
        await asyncio.sleep(1.0)
        frames1, maps1 = broadcaster.version, broadcaster.maps_version
        session.subscribers += 1  # what routes/stream.py does for each open stream
        await asyncio.sleep(1.0)
        frames2, maps2 = broadcaster.version, broadcaster.maps_version
        session.subscribers -= 1
        await manager.shutdown()
        return frames1 - frames0, maps1 - maps0, frames2 - frames1, maps2 - maps1

    with tempfile.TemporaryDirectory() as directory:
        counts = asyncio.run(scenario(Path(directory)))
    unwatched_frames, unwatched_maps, watched_frames, watched_maps = counts
    assert unwatched_frames >= 5 and unwatched_maps == 0
    assert watched_frames >= 5 and 2 <= watched_maps <= 6  # ~4 per second


def test_a_default_play_tick_is_timed_and_cheap_enough_to_run_inline() -> None:
    async def scenario(data_dir: Path) -> tuple[float, int]:
        manager = _manager(data_dir)
        session = await manager.create(lambda: Run(RunConfig()), "test")
        await manager.play(session, "batch", 20)
        await asyncio.sleep(0.5)
        epoch_batches = session.run.updates
        await manager.shutdown()
        return session.tick_seconds, epoch_batches

    with tempfile.TemporaryDirectory() as directory:
        tick_seconds, updates = asyncio.run(scenario(Path(directory)))
    assert updates >= 2
    assert 0.0 < tick_seconds < INLINE_TICK_SECONDS


def test_a_small_manual_step_is_timed_for_the_inline_choice_and_a_large_one_is_not() -> None:
    from app.sessions import INLINE_CALL_SECONDS

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
    assert 0.0 < after_small < INLINE_CALL_SECONDS  # a default batch step is cheap enough to stay inline
    assert after_large == 0.0  # a large call goes to a worker thread and never enters the estimate
    assert updates == 3 * 25  # both happened: 1 batch, then to the end of 3 epochs of 25 batches
