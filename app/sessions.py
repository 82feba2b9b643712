"""SessionManager: the server's training runs in memory, their locks, caps, play tasks and persistence."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread

from app import frames
from app.broadcast import Broadcaster
from app.limits import FrameRate, LoadMonitor, Priority, StreamSlots, advance_within
from app.settings import Settings
from app.store import SessionStore
from engine import serialize
from engine.stepper import Run

INLINE_TICK_SECONDS = 0.002
INLINE_CALL_SECONDS = 0.005
INLINE_READ_SECONDS = 0.002

T = TypeVar("T")


def finite_tree(tree: Any) -> Any:
    """A JSON tree with every non-finite float replaced by None (a diverged loss may be NaN or inf;
    JSON has no such numbers and the server never sends them)."""
    if isinstance(tree, float):
        return tree if math.isfinite(tree) else None
    if isinstance(tree, dict):
        return {key: finite_tree(value) for key, value in tree.items()}
    if isinstance(tree, list | tuple):
        return [finite_tree(value) for value in tree]
    return tree


def _document(run: Run) -> str:
    """The run's export document as compact JSON text (what the store keeps). A document without NaN or
    inf (nearly always) is written as it is: walking the tree for them cost ~30 % of a save."""
    document = serialize.export_run(run)
    try:
        return json.dumps(document, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a diverged loss: JSON has no NaN or inf, the store keeps null
        return json.dumps(finite_tree(document), separators=(",", ":"), allow_nan=False)

# secrets.token_urlsafe(24) is 24 random bytes (192 bits) -> exactly 32 URL-safe characters.
SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")


PLAY_WHILE_DIVERGED = ("Play refused: training has diverged (see the red box under the output plot). Go back "
                       "or reset first, or choose a smaller learning rate.")


class SessionError(Exception):
    """A request the manager refuses; routes turn it into JSON {"detail": ...} with this status."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@dataclass
class Session:
    id: str
    run: Run
    broadcaster: Broadcaster = field(default_factory=Broadcaster)
    # asyncio.Lock (not threading.Lock): waiting for a busy session never parks a worker thread.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = field(default_factory=time.monotonic)
    last_saved: float = 0.0
    saved_step_id: int = -1  # run.step_id when last written to the store (equal: nothing new to save)
    play_task: asyncio.Task[None] | None = None
    play_unit: str = "batch"
    play_speed: float = 0.0
    subscribers: int = 0
    # CPU time of the last play tick / small manual call; unknown (inf) until one has run in a worker
    # thread, so a first tick or call never blocks the event loop however large it turns out
    tick_seconds: float = math.inf
    call_seconds: float = math.inf
    # the same for each kind of read (keyed by the look function's code: a route's lambda is one kind)
    read_seconds: dict[Any, float] = field(default_factory=dict)

    @property
    def playing(self) -> bool:
        return self.play_task is not None and not self.play_task.done()


async def _timed(run: Run, work: Callable[[Run], T], inline: bool) -> tuple[T, float]:
    """`work(run)` and the CPU seconds it took, on the event loop (`inline`) or in a worker thread."""
    def timed(run: Run) -> tuple[T, float]:
        started = time.thread_time()
        value = work(run)
        return value, time.thread_time() - started

    return timed(run) if inline else await anyio.to_thread.run_sync(timed, run)


async def _to_the_end(work: Awaitable[T]) -> T:
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


class SessionManager:
    """Owns every in-memory Session; every engine call goes through `call` (worker thread + lock)."""

    def __init__(self, settings: Settings, store: SessionStore) -> None:
        self.settings = settings
        self.store = store
        self.sessions: dict[str, Session] = {}
        self._created: dict[str, deque[float]] = {}
        self._janitor: asyncio.Task[None] | None = None
        # streaming adapts to the load (limits.FrameRate); requests go before play ticks (Priority)
        self.rate = FrameRate(
            max_fps=settings.stream_max_fps, min_fps=settings.stream_min_fps,
            cpu_high=settings.load_cpu_high, cpu_low=settings.load_cpu_low,
            lag_high=settings.load_lag_high_seconds, min_ticks_per_second=settings.load_min_ticks_per_second,
        )
        self.monitor = LoadMonitor(self.rate, settings.load_window_seconds)
        self._monitor: asyncio.Task[None] | None = None
        self.priority = Priority()
        self.streams = StreamSlots(settings.stream_max_per_client, settings.stream_max_total)

    # ---- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._janitor = asyncio.create_task(self._evict_idle_forever())
        self._monitor = asyncio.create_task(self.monitor.run_forever())

    async def shutdown(self) -> None:
        """Stop every play task and save every session; called from the app's lifespan on exit."""
        for task in (self._janitor, self._monitor):
            if task is not None:
                task.cancel()
        for session in list(self.sessions.values()):
            await self._stop_play(session)
            session.broadcaster.close()
            await self._save(session)
        self.store.close()

    # ---- lookup and creation ---------------------------------------------------------------------
    async def get(self, session_id: str) -> Session:
        """The session with this id, loaded from the store if it was evicted or the server restarted."""
        if not SESSION_ID_RE.match(session_id):
            raise SessionError(404, "unknown session")
        session = self.sessions.get(session_id)
        if session is None:
            document = await anyio.to_thread.run_sync(self.store.load, session_id)
            if document is None:
                raise SessionError(404, "unknown session")
            session = self.sessions.get(session_id)  # another request may have loaded it meanwhile
            if session is None:
                await self._make_room()
                run = await anyio.to_thread.run_sync(serialize.import_run, json.loads(document))
                loaded = Session(session_id, run, last_saved=time.monotonic(), saved_step_id=run.step_id)
                # two requests may have loaded it at once: the first one in wins, both use it
                session = self.sessions.setdefault(session_id, loaded)
                if session is loaded:
                    await self._publish(session, arch=True)
        session.last_used = time.monotonic()
        return session

    async def create(self, build: Callable[[], Run], client: str) -> Session:
        """Add a new session whose Run `build` makes (in a worker thread; its ValueErrors become 422)."""
        self._check_rate(client)
        await self._make_room()
        run = await anyio.to_thread.run_sync(build)
        session = Session(secrets.token_urlsafe(24), run)
        self.sessions[session.id] = session
        await self._publish(session, arch=True)
        await self._save(session)
        return session

    async def delete(self, session_id: str) -> None:
        session = await self.get(session_id)
        await self._stop_play(session)
        session.broadcaster.close()
        self.sessions.pop(session_id, None)
        await anyio.to_thread.run_sync(self.store.delete, session_id)

    def _check_rate(self, client: str) -> None:
        now = time.monotonic()
        stamps = self._created.setdefault(client, deque())
        while stamps and now - stamps[0] > 60.0:
            stamps.popleft()
        if len(stamps) >= self.settings.sessions_per_client_per_minute:
            raise SessionError(429, "too many sessions created from this address; wait a minute")
        stamps.append(now)
        if len(self._created) > 10_000:  # forget quiet clients so the table cannot grow without bound
            self._created = {k: v for k, v in self._created.items() if v and now - v[-1] <= 60.0}

    async def _make_room(self) -> None:
        """Evict the least recently used idle session when memory is full; 429 when none is idle."""
        if len(self.sessions) < self.settings.max_sessions_in_memory:
            return
        idle = [s for s in self.sessions.values() if not s.playing and s.subscribers == 0]
        if not idle:
            raise SessionError(429, "the server is full; try again in a few minutes")
        await self._evict(min(idle, key=lambda s: s.last_used))

    async def _evict(self, session: Session) -> None:
        await self._stop_play(session)
        await self._save(session)
        self.sessions.pop(session.id, None)

    async def _evict_idle_forever(self) -> None:
        period = min(30.0, self.settings.idle_ttl_seconds / 2)
        while True:
            await asyncio.sleep(period)
            await self.evict_idle()

    async def evict_idle(self) -> None:
        now = time.monotonic()
        for session in list(self.sessions.values()):
            idle_for = now - session.last_used
            if idle_for > self.settings.idle_ttl_seconds and not session.playing and session.subscribers == 0:
                await self._evict(session)

    # ---- engine calls ----------------------------------------------------------------------------
    async def call(
        self, session: Session, change: Callable[[Run], T], *, arch: bool = False, save: bool = True,
        small: bool = False,
    ) -> T:
        """Run `change(run)` in a worker thread under the session's lock, then publish and persist.

        One thread hop does the change, the frame, the heat maps and the save, so a click costs one
        trip off the event loop. `change` must validate before it mutates (the engine raises ValueError
        before touching state), so a refused request leaves the session exactly as it was. `small`
        (one step of at most a batch) runs it inline on the event loop instead while the session's
        last such call took under INLINE_CALL_SECONDS of CPU, like a play tick (see `_tick`).
        """

        def work(run: Run) -> tuple[T, dict[str, Any], dict[str, Any]]:
            result = change(run)
            frame, maps = frames.build_frame(run), frames.build_maps(run)
            if save:
                self.store.save(session.id, _document(run))
                session.saved_step_id = run.step_id
            return result, frame, maps

        async with session.lock:
            if small:
                result, frame, maps = await self._small_call(session, work)
            else:
                result, frame, maps = await anyio.to_thread.run_sync(work, session.run)
            session.broadcaster.publish(frame, maps, arch=arch)
        if save:
            session.last_saved = time.monotonic()
        session.last_used = time.monotonic()
        return result

    async def replace(self, session: Session, build: Callable[[Run], Run]) -> None:
        """Swap in a new Run built from the old one (new network or data). On error the old run stays
        and keeps playing; on success play stops (the new run starts at epoch 0). Play is stopped under
        the lock so no step of the old run can land after the new run's step_id was taken."""
        async with session.lock:
            new_run = await anyio.to_thread.run_sync(build, session.run)
            await self._stop_play(session)
            session.run = new_run
            session.tick_seconds = session.call_seconds = math.inf  # another network: measure again
            session.read_seconds.clear()
        await self.call(session, lambda run: None, arch=True)

    async def read(self, session: Session, look: Callable[[Run], T]) -> T:
        """Read from the run under the lock (play may be mid-step in another thread): inline on the event
        loop while this kind of read last took under INLINE_READ_SECONDS of CPU (a request's state after
        its step is ~0.1 ms; a thread hop under load costs far more), else in a worker thread."""
        key = getattr(look, "__code__", look)
        async with session.lock:
            if session.read_seconds.get(key, math.inf) < INLINE_READ_SECONDS:
                started = time.thread_time()
                value = look(session.run)
                session.read_seconds[key] = time.thread_time() - started
                return value

            def timed(run: Run) -> T:
                started = time.thread_time()
                result = look(run)
                session.read_seconds[key] = time.thread_time() - started
                return result

            return await anyio.to_thread.run_sync(timed, session.run)

    async def _publish(self, session: Session, *, arch: bool = False) -> None:
        await self.call(session, lambda run: None, arch=arch, save=False)

    async def _save(self, session: Session) -> None:
        """Write the run to the store unless it is unchanged since the last write (no frame is built:
        shutdown saves every session and must stay quick)."""

        def work(run: Run) -> None:
            if run.step_id != session.saved_step_id:
                self.store.save(session.id, _document(run))
                session.saved_step_id = run.step_id

        async with session.lock:
            await anyio.to_thread.run_sync(work, session.run)
        session.last_saved = time.monotonic()

    async def snapshot(self, session: Session) -> None:
        """Make sure the broadcaster holds a frame with current maps (a new subscriber starts from it)."""
        if session.broadcaster.frame is None or session.broadcaster.maps is None:
            await self._publish(session)

    # ---- play ------------------------------------------------------------------------------------
    async def play(self, session: Session, unit: str, speed: float) -> None:
        """Start play; refused (409) while the run is diverged: it could not advance, so it would only
        look as if it ran."""
        if session.run.diverged is not None:
            raise SessionError(409, {"field": "play", "message": PLAY_WHILE_DIVERGED})
        await self._stop_play(session)
        session.play_unit, session.play_speed = unit, speed
        session.tick_seconds = math.inf  # another unit or speed: measure a tick again before inlining
        session.play_task = asyncio.create_task(self._play_loop(session))

    async def pause(self, session: Session) -> None:
        await self._stop_play(session)
        await self._publish(session)
        await self._save(session)

    async def _stop_play(self, session: Session) -> None:
        task, session.play_task = session.play_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _tick(self, session: Session, advance: Callable[[Run], T]) -> T:
        """One play tick's work: inline on the event loop when the last tick took under INLINE_TICK_SECONDS
        of CPU, else in a worker thread. A thread hop costs more than a small tick, and with a hundred
        sessions playing, worker threads fight the event loop for the GIL (measured in bench/load_bench.py:
        100 sessions got 10 frames/s each through threads and 18 inline); a big tick must still not
        stall every other session, hence the threshold."""
        inline = session.tick_seconds < INLINE_TICK_SECONDS
        result, session.tick_seconds = await _timed(session.run, advance, inline)
        return result

    async def _small_call(self, session: Session, work: Callable[[Run], T]) -> T:
        """A manual step's work (step, frame, maps, save): inline while the session's last one took under
        INLINE_CALL_SECONDS of CPU (it includes the save, so its limit is higher than a tick's)."""
        inline = session.call_seconds < INLINE_CALL_SECONDS
        result, session.call_seconds = await _timed(session.run, work, inline)
        return result

    async def _play_loop(self, session: Session) -> None:
        """Advance `speed` units per second in ticks of at most the current frame rate per second.

        The rate is `self.rate.fps`: stream_max_fps on a quiet server, lower under load (limits.FrameRate);
        a lower rate means more steps per tick, so play keeps its speed while frames get fewer. Fractions
        of a step accumulate across ticks; the work per tick is capped (max_step_count) so one tick never
        holds the session lock for long, and a slow machine simply plays slower. Before each tick,
        interactive requests in flight go first (limits.Priority) while the server is busy (the rate is
        lowered), for at most priority_wait_seconds or a quarter of a tick.
        """
        loop = asyncio.get_running_loop()
        settings = self.settings
        cap = settings.max_step_count
        pending = 0.0
        last_maps = 0.0
        ticks_since_maps = 1 << 30
        unit = session.play_unit

        while True:
            started = loop.time()
            tick = 1.0 / min(session.play_speed, self.rate.fps)
            if self.rate.fps < self.rate.max_fps:  # only a busy server has requests queued behind ticks
                await self.priority.wait_turn(min(settings.priority_wait_seconds, tick / 4))
            pending = min(pending + session.play_speed * tick, float(cap))
            count = int(pending)
            if count >= 1:
                pending -= count
                # heat maps cost more than the rest of a tick: only for someone watching, at a lower rate,
                # and every `maps_every` ticks at most as well as per second: an overloaded server ticks
                # less often, and its maps then slow down with its frames instead of filling every tick
                # (maps_fps falls with the frame rate: at ~0.45 ms each, 200 sessions' maps at 4 per second
                # are ~0.36 s of CPU a second)
                maps_fps = settings.stream_maps_fps * self.rate.fps / self.rate.max_fps
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
                    frame, maps = await _to_the_end(self._tick(session, advance))
                self.monitor.count_tick()
                if maps is not None:
                    last_maps, ticks_since_maps = started, 0
                session.broadcaster.publish(frame, maps)
                session.last_used = time.monotonic()
                if frame["diverged"] is not None:
                    session.play_task = None
                    await self._save(session)
                    return
                if time.monotonic() - session.last_saved >= settings.save_interval_seconds:
                    await self._save(session)
            await asyncio.sleep(max(0.0, tick - (loop.time() - started)))
