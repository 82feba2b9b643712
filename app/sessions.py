"""SessionManager: the server's training runs in memory, their locks, caps, play tasks and persistence."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import secrets
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread

from app import frames
from app.broadcast import Broadcaster
from app.clock import Clock, MonotonicClock
from app.i18n import N_
from app.leases import Leases, LocalLeases, Play, RunHeldElsewhereError, acquire, on_this_loop
from app.limits import FrameRate, LoadMonitor, StreamSlots, TokenBuckets
from app.play import play_loop
from app.settings import Settings
from app.store import SessionStore, run_document
from engine import serialize
from engine.stepper import Run

INLINE_TICK_SECONDS = 0.002
INLINE_CALL_SECONDS = 0.005
INLINE_READ_SECONDS = 0.002
# ids of deleted sessions remembered so a request that was loading one from the store cannot bring it
# back (ids are 192 random bits, never reused); the oldest are forgotten past this many
DELETED_REMEMBERED = 100_000
BUILDS_AT_ONCE = 2
NOT_SAVED = N_("not saved: the server could not write to its disk; the change is kept in memory and saving "
             "is retried")

log = logging.getLogger("stepwise.sessions")

T = TypeVar("T")


# secrets.token_urlsafe(24) is 24 random bytes (192 bits) -> exactly 32 URL-safe characters.
SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")


UNKNOWN = N_("unknown session")  # no run has this id (never made, deleted, or its id mistyped)
PLAY_WHILE_DIVERGED = N_("Play refused: training has diverged (see the red box under the output plot). "
                         "Go back or reset first, or choose a smaller learning rate.")


class SessionError(Exception):
    """A request the app refuses; routes turn it into JSON {"detail": ...} with this status.

    `detail` is the English words, a template marked N_ (app/i18n.py), or a dict with the `field` to
    blame and such a template as its `message`; `values` fill the template's {names}. `detail` as kept
    here is those words in English (logs, str()); where the refusal is answered it is said in the
    request's language (app/refusals.py `detail_said`: the template translated, then the same values
    filled in, so the numbers are the same in every language)."""

    def __init__(self, status_code: int, detail: str | dict[str, Any], **values: object) -> None:
        self.status_code = status_code
        self.template: str = str(detail.get("message") or "") if isinstance(detail, dict) else detail
        self.values = values
        words = self.template.format_map(values) if values else self.template
        self.detail: Any = {**detail, "message": words} if isinstance(detail, dict) else words
        super().__init__(self.detail)


@dataclass
class Session:
    id: str
    run: Run
    broadcaster: Broadcaster = field(default_factory=Broadcaster)
    # asyncio.Lock (not threading.Lock): waiting for a busy session never parks a worker thread.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = 0.0  # the manager's clock
    last_saved: float = 0.0
    saved_step_id: int = -1  # run.step_id when last written to the store (equal: nothing new to save)
    # the play state machine, changed only under `lock`: at most one task; None or done = paused
    play_task: asyncio.Task[None] | None = None
    # "deleted" or "evicted" once the manager let go of this object: it never plays or saves again
    gone: str | None = None
    save_error: str | None = None  # why the last write to the store failed; None once one succeeds
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

    @property
    def saved(self) -> bool:
        return self.save_error is None


async def _timed(run: Run, work: Callable[[Run], T], inline: bool) -> tuple[T, float]:
    """`work(run)` and the CPU seconds it took, on the event loop (`inline`) or in a worker thread."""
    def timed(run: Run) -> tuple[T, float]:
        started = time.thread_time()
        value = work(run)
        return value, time.thread_time() - started

    return timed(run) if inline else await anyio.to_thread.run_sync(timed, run)


class SessionManager:
    """Owns every in-memory Session; every engine call goes through `call` (worker thread + lock)."""

    def __init__(self, settings: Settings, store: SessionStore, clock: Clock | None = None,
                 leases: Leases | None = None) -> None:
        self.settings = settings
        self.store = store
        # one process per run when several share a PostgreSQL store (app/leases.py)
        self.leases: Leases = leases or LocalLeases()
        self._handovers: set[asyncio.Future[None]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None  # once started (other threads call onto it)
        self.clock: Clock = clock or MonotonicClock()
        self.sessions: dict[str, Session] = {}
        per_minute = settings.sessions_per_client_per_minute
        self._created = TokenBuckets(per_minute / 60.0, per_minute, lambda: self.clock.time())
        self._deleted: OrderedDict[str, None] = OrderedDict()
        self._janitor: asyncio.Task[None] | None = None
        # why the newest write to the store failed (None: the last one succeeded); /healthz shows it
        self.store_error: str | None = None
        # streaming adapts to the load (limits.FrameRate)
        self.rate = FrameRate(
            max_fps=settings.stream_max_fps, min_fps=settings.stream_min_fps,
            cpu_high=settings.load_cpu_high, cpu_low=settings.load_cpu_low,
            lag_high=settings.load_lag_high_seconds, min_ticks_per_second=settings.load_min_ticks_per_second,
            min_play_share=settings.load_min_play_share, lateness_high=settings.load_tick_lateness_high,
        )
        self.monitor = LoadMonitor(self.rate, settings.load_window_seconds)
        self._monitor: asyncio.Task[None] | None = None
        self.streams = StreamSlots(settings.stream_max_per_client, settings.stream_max_total)
        # at most two runs built at once (a big import takes ~0.1 s of CPU): forty imports at once in forty
        # worker threads fought the event loop for the GIL, and another user's GET waited seconds
        self._building = anyio.CapacityLimiter(BUILDS_AT_ONCE)

    # ---- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._janitor = asyncio.create_task(self._evict_idle_forever())
        self._monitor = asyncio.create_task(self.monitor.run_forever())
        self.loop = asyncio.get_running_loop()
        # another process asks for a run of ours, or took one: hand it over on this loop
        self.leases.start(*on_this_loop(self.hand_over, self._handovers))

    async def shutdown(self) -> None:
        """Stop every play task, save every session and let its lease go (another process plays it on);
        called from the app's lifespan on exit."""
        for task in (self._janitor, self._monitor):
            if task is not None:
                task.cancel()
        for session in list(self.sessions.values()):
            async with session.lock:
                await self._stop_play(session)
                session.broadcaster.close(moved=True)
                await anyio.to_thread.run_sync(self._write, session, session.run)
                session.gone = "evicted"
        await anyio.to_thread.run_sync(self.leases.close)
        self.store.close()

    async def hand_over(self, session_id: str, *, save: bool) -> None:
        """Let a run go to another process (it asked: `save` first; or it already took the lease: this
        copy is stale and is dropped unsaved). Its streams end without "closed", so pages reconnect and
        the proxy brings them to the new holder; the lease keeps the play state for it."""
        session = self.sessions.get(session_id)
        if session is not None:
            async with session.lock:
                if session.gone is not None:
                    return
                await self._stop_play(session)
                if save:
                    await anyio.to_thread.run_sync(self._write, session, session.run)
                session.gone = "evicted"
                session.broadcaster.close(moved=True)
                if self.sessions.get(session_id) is session:
                    del self.sessions[session_id]
        if save:
            await anyio.to_thread.run_sync(self.leases.release, session_id)

    async def _lease(self, session_id: str) -> Play | None:
        """This process's lease on the run (app/leases.py), or a 503 when its holder keeps it."""
        try:
            return await acquire(self.leases, session_id, anyio.to_thread.run_sync)
        except RunHeldElsewhereError as error:
            raise SessionError(503, {"field": None, "message": N_(
                "this run is busy on another server process; try again in a few seconds")}) from error

    # ---- lookup and creation ---------------------------------------------------------------------
    async def get(self, session_id: str) -> Session:
        """The session with this id, loaded from the store if it was evicted or the server restarted."""
        if not SESSION_ID_RE.match(session_id) or session_id in self._deleted:
            raise SessionError(404, UNKNOWN)
        session = self.sessions.get(session_id)
        if session is None:
            play = await self._lease(session_id)
            document = await anyio.to_thread.run_sync(self.store.load, session_id)
            if document is None:
                await anyio.to_thread.run_sync(self.leases.release, session_id)
                raise SessionError(404, UNKNOWN)
            if session_id in self._deleted:  # deleted while this request read the store
                raise SessionError(404, UNKNOWN)
            session = self.sessions.get(session_id)  # another request may have loaded it meanwhile
            if session is None:
                await self._make_room()
                run = await anyio.to_thread.run_sync(serialize.import_run, json.loads(document))
                if session_id in self._deleted:
                    raise SessionError(404, UNKNOWN)
                now = self.clock.time()
                loaded = Session(session_id, run, last_used=now, last_saved=now, saved_step_id=run.step_id)
                # two requests may have loaded it at once: the first one in wins, both use it
                session = self.sessions.setdefault(session_id, loaded)
                if session is loaded:
                    await self._publish(session, arch=True)
                    if play is not None:  # it was playing in a process that stopped or died
                        with contextlib.suppress(SessionError):
                            await self.play(session, str(play["unit"]), float(play["speed"]))
        session.last_used = self.clock.time()
        return session

    async def create(self, build: Callable[[], Run], client: str) -> Session:
        """Add a new session whose Run `build` makes (in a worker thread; its ValueErrors become 422)."""
        if self._created.take(client) > 0:
            raise SessionError(429, N_("too many sessions created from this address; wait a minute"))
        await self._make_room()
        run = await anyio.to_thread.run_sync(build, limiter=self._building)
        session = Session(secrets.token_urlsafe(24), run, last_used=self.clock.time())
        await anyio.to_thread.run_sync(self.leases.take, session.id)  # a new id: nobody else holds it
        self.sessions[session.id] = session
        await self._publish(session, arch=True)
        await self.save(session)
        return session

    async def delete(self, session_id: str) -> None:
        """Delete for good, under the session's lock: a step running when DELETE arrives finishes first
        (its save lands before the row is deleted), and one waiting for the lock then finds the session
        gone (404). A store that cannot delete refuses (503) and the session stays as it was."""
        session = await self.get(session_id)
        async with session.lock:
            if session.gone == "deleted":
                raise SessionError(404, UNKNOWN)
            try:
                await anyio.to_thread.run_sync(self.store.delete, session_id)
            except (sqlite3.Error, OSError) as error:
                self._store_failed(f"delete: {error}")
                raise SessionError(503, {"field": None, "message": N_(
                    "the server cannot write to its disk now, so the session was not deleted; try again "
                    "later")}) from error
            await self._stop_play(session)
            session.gone = "deleted"
            self._deleted[session_id] = None
            while len(self._deleted) > DELETED_REMEMBERED:
                self._deleted.popitem(last=False)
            session.broadcaster.close()
            if self.sessions.get(session_id) is session:
                del self.sessions[session_id]
            await anyio.to_thread.run_sync(self.leases.release, session_id)

    async def _make_room(self) -> None:
        """Evict the least recently used idle session when memory is full; 429 when none can go."""
        while len(self.sessions) >= self.settings.max_sessions_in_memory:
            idle = sorted((s for s in self.sessions.values() if not s.playing and s.subscribers == 0),
                          key=lambda s: s.last_used)
            for candidate in idle:
                if await self._evict(candidate, candidate.last_used):
                    break
            else:
                raise SessionError(429, N_("the server is full; try again in a few minutes"))

    async def _evict(self, session: Session, seen_last_used: float) -> bool:
        """Save and drop an idle session; True if it went. It stays when it could not be saved (a full
        disk: retried later) or when a request used it meanwhile (last_used moved on: that request holds
        this object and must find it still managed)."""
        async with session.lock:
            if session.gone is not None or session.playing or session.subscribers:
                return False
            saved = await anyio.to_thread.run_sync(self._write, session, session.run)
            if not saved or session.last_used != seen_last_used or session.playing:
                return False
            session.gone = "evicted"
            if self.sessions.get(session.id) is session:
                del self.sessions[session.id]
            await anyio.to_thread.run_sync(self.leases.release, session.id)
            return True

    async def _evict_idle_forever(self) -> None:
        """Evict idle sessions and retry failed saves, for ever: one failure (a full disk, a bug in one
        session) is logged and the next round tries again."""
        period = min(30.0, self.settings.idle_ttl_seconds / 2, self.settings.save_interval_seconds)
        while True:
            await self.clock.sleep(period)
            try:
                await self.housekeeping()
            except Exception:
                log.exception("housekeeping failed; retrying in %.0f s", period)

    async def housekeeping(self) -> None:
        """One round: save every session whose last save failed, then evict the idle ones."""
        for session in list(self.sessions.values()):
            if session.save_error is not None and not session.playing:
                await self.save(session)
        await self.evict_idle()

    async def evict_idle(self) -> None:
        now = self.clock.time()
        for session in list(self.sessions.values()):
            idle_for = now - session.last_used
            if idle_for > self.settings.idle_ttl_seconds and not session.playing and session.subscribers == 0:
                await self._evict(session, session.last_used)

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
                self._write(session, run)
            return result, frame, maps

        async with session.lock:
            self._check_present(session)
            if small:
                result, frame, maps = await self._small_call(session, work)
            else:
                result, frame, maps = await anyio.to_thread.run_sync(work, session.run)
            session.broadcaster.publish(frame, maps, arch=arch)
        if save:
            session.last_saved = self.clock.time()
        session.last_used = self.clock.time()
        return result

    def _check_present(self, session: Session) -> None:
        """Under the lock: a change to a deleted session is a 404 (DELETE won the race)."""
        if session.gone == "deleted":
            raise SessionError(404, UNKNOWN)

    def _write(self, session: Session, run: Run) -> bool:
        """Save the run (worker thread or inline, under the session's lock); False if the store refused.
        A refusal is kept on the session (the API's `saved`, the page's notice) and on the manager
        (/healthz degraded); the change stays in memory and housekeeping retries the save."""
        if session.gone is not None:
            return True  # deleted or let go: its row is not this object's to write any more
        try:
            self.store.save(session.id, run_document(run))
        except (sqlite3.Error, OSError) as error:
            session.save_error = NOT_SAVED
            self._store_failed(f"save: {error}")
            return False
        session.saved_step_id = run.step_id
        session.save_error = None
        self.store_error = None
        return True

    def _store_failed(self, what: str) -> None:
        if self.store_error is None:
            log.error("the session store failed (%s); retrying", what)
        self.store_error = what

    async def replace(self, session: Session, build: Callable[[Run], Run]) -> None:
        """Swap in a new Run built from the old one (new network or data). On error the old run stays
        and keeps playing; on success play stops (the new run starts at epoch 0). Play is stopped under
        the lock so no step of the old run can land after the new run's step_id was taken."""
        async with session.lock:
            self._check_present(session)
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

    async def save(self, session: Session) -> None:
        """Write the run to the store unless it is unchanged since the last write (no frame is built:
        shutdown saves every session and must stay quick)."""

        def work(run: Run) -> None:
            if run.step_id != session.saved_step_id or session.save_error is not None:
                self._write(session, run)

        async with session.lock:
            await anyio.to_thread.run_sync(work, session.run)
        session.last_saved = self.clock.time()

    async def snapshot(self, session: Session) -> None:
        """Make sure the broadcaster holds a frame with current maps (a new subscriber starts from it)."""
        if session.broadcaster.frame is None or session.broadcaster.maps is None:
            await self._publish(session)

    # ---- play ------------------------------------------------------------------------------------
    async def play(self, session: Session, unit: str, speed: float) -> int:
        """Start play, replacing any loop already running: under the session's lock, so two play
        requests at once (two tabs) leave exactly one loop, and pause/delete/eviction (same lock) always
        find the one to stop. Refused (409) while the run is diverged: it could not advance.
        Returns the step id play began after: every frame of this play is newer."""
        async with session.lock:
            self._check_present(session)
            if session.gone is not None:
                raise SessionError(409, {"field": "play", "message": N_("the session was just saved away; "
                                                               "try again")})
            if session.run.diverged is not None:
                raise SessionError(409, {"field": "play", "message": PLAY_WHILE_DIVERGED})
            await self._stop_play(session)
            session.play_unit, session.play_speed = unit, speed
            session.tick_seconds = math.inf  # another unit or speed: measure a tick again before inlining
            session.play_task = asyncio.create_task(play_loop(session, self))
            play = {"unit": unit, "speed": speed}
            await anyio.to_thread.run_sync(self.leases.note_play, session.id, play)
            return session.run.step_id

    async def pause(self, session: Session) -> None:
        async with session.lock:
            self._check_present(session)
            await self._stop_play(session)
            await anyio.to_thread.run_sync(self.leases.note_play, session.id, None)
        await self._publish(session)
        await self.save(session)

    async def _stop_play(self, session: Session) -> None:
        """Cancel the play task and wait for it to end. Called with the session's lock held: the task is
        then never mid-tick (a tick holds the lock), only asleep or waiting for the lock."""
        task, session.play_task = session.play_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def tick(self, session: Session, advance: Callable[[Run], T]) -> T:
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
