"""Play: the loop that advances a playing run tick by tick, publishes its frames and saves it.

SessionManager.play starts it as the session's one play task and pause/delete/eviction cancel it, all
under the session's lock (app/sessions.py); this module is the loop itself and what it needs of them."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from app import frames
from app.broadcast import Broadcaster
from app.clock import Clock
from app.limits import FrameRate, LoadMonitor, advance_within
from app.settings import Settings
from engine.run import Run

T = TypeVar("T")


class Playing(Protocol):
    """What the loop reads and writes of a Session (app/sessions.py)."""

    lock: asyncio.Lock
    broadcaster: Broadcaster
    gone: str | None
    play_unit: str
    play_speed: float
    subscribers: int
    last_used: float
    last_saved: float


class Host(Protocol):
    """What the loop needs of the SessionManager: its clock, settings and load control, one tick's work
    (inline or in a worker thread) and a save."""

    clock: Clock
    settings: Settings
    rate: FrameRate
    monitor: LoadMonitor

    async def tick(self, session: Any, advance: Callable[[Run], T]) -> T: ...

    async def save(self, session: Any) -> None: ...


async def to_the_end(work: Awaitable[T]) -> T:
    """Await `work` to its end even if this task is cancelled meanwhile, then let the cancel through.

    A worker thread cannot be stopped: a cancelled await returns at once while the thread goes on
    stepping the run (measured: cancelled 0.07 s into a 0.5 s thread). A play tick cancelled by pause
    would leave the session's lock with its engine call still running, and pause's frame was built from
    a run in the middle of a step (the page kept "9 epochs, 6 batches" of a tick that went on to 10
    epochs, the API said 10): the lock is held until the step is done."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)
        if not task.cancelled():
            task.exception()  # retrieved: the cancel is what this task reports
        raise


async def play_loop(session: Playing, host: Host) -> None:
    """Advance `speed` units per second in ticks of at most the current frame rate per second.

    The rate is `host.rate.fps`: stream_max_fps on a quiet server, lower under load (limits.FrameRate);
    a lower rate means more steps per tick, so play keeps its speed while frames get fewer (and past the
    rate's floor every run plays at `host.rate.play_share` of its speed: FrameRate). Fractions
    of a step accumulate across ticks; the work per tick is capped (max_step_count) so one tick never
    holds the session lock for long, and a slow machine simply plays slower. Time is `host.clock`'s
    (a test drives it by hand). The loop never changes `session.play_task`: only
    SessionManager.play/pause/delete, under the lock, do.
    """
    clock = host.clock
    settings = host.settings
    cap = settings.max_step_count
    pending = 0.0
    last_maps = 0.0
    ticks_since_maps = 1 << 30
    unit = session.play_unit
    previous: tuple[float, float] | None = None  # the last tick's start and the interval it was meant for

    while True:
        started = clock.time()
        if previous is not None:  # how far behind its own schedule this run falls: load control's cue
            host.monitor.count_interval(started - previous[0], previous[1])
        # an overloaded server plays every run a little slower (FrameRate.play_share)
        speed = session.play_speed * host.rate.play_share
        tick = 1.0 / min(speed, host.rate.fps)
        previous = (started, tick)
        pending = min(pending + speed * tick, float(cap))
        count = int(pending)
        if count >= 1:
            pending -= count
            # heat maps cost more than the rest of a tick: only for someone watching, at a lower rate,
            # and every `maps_every` ticks at most as well as per second: an overloaded server ticks
            # less often, and its maps then slow down with its frames instead of filling every tick
            # (maps_fps falls with the frame rate: at ~0.45 ms each, 200 sessions' maps at 4 per second
            # are ~0.36 s of CPU a second)
            maps_fps = settings.stream_maps_fps * host.rate.fps / host.rate.max_fps
            maps_every = max(1, math.ceil(1.0 / (tick * maps_fps)))
            ticks_since_maps += 1
            want_maps = (session.subscribers > 0 and ticks_since_maps >= maps_every
                         and started - last_maps >= 1.0 / maps_fps)
            # a tick that cannot finish its steps in time plays slower rather than holding the lock
            budget = max(tick, 0.25)

            def advance(run: Run, count: int = count, want_maps: bool = want_maps,
                        budget: float = budget) -> Any:
                advance_within(run, unit, count, budget)
                return frames.build_frame(run), frames.build_maps(run) if want_maps else None

            async with session.lock:
                if session.gone is not None:
                    return
                frame, maps = await to_the_end(host.tick(session, advance))
            host.monitor.count_tick()
            if maps is not None:
                last_maps, ticks_since_maps = started, 0
            session.broadcaster.publish(frame, maps)
            session.last_used = clock.time()
            if frame["diverged"] is not None:
                await host.save(session)
                return
            if clock.time() - session.last_saved >= settings.save_interval_seconds:
                await host.save(session)
        await clock.sleep(max(0.0, tick - (clock.time() - started)))
