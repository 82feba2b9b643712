"""One run, one process: a lease row per run in PostgreSQL, so two processes never train the same run.

    leases(run_id, holder, expires_at, play)

A process (holder = a random id drawn at start) takes a run's lease before it loads the run from the
store or saves a new one, and renews all its leases in one statement every `seconds / 4` from the bus
thread (app/fanout.py), whatever its event loop is doing. Saves are fenced by the lease
(app/store_postgres.py), so a process that lost a run never writes it again; the renewal also tells the
session manager which runs it lost, and it lets them go.

- A request for a run whose lease a live process holds (the proxy sends each run to one process, so this
  happens when a process comes back and its runs are routed to it again, or after a proxy restart):
  this process asks the holder to hand it over (NOTIFY stepwise_leases "HOLDER RUN"); the holder saves the
  run and lets its lease go, and this process takes it and loads the run from the store. Requests wait
  for that, up to `seconds` plus a little, then get a 503 saying to retry.
- A process that died (kill -9, a crashed container) renews nothing: its leases expire after at most
  `seconds` and the next request for each run takes it over, restored from the store (what was saved: a
  manual step is saved before it is answered; play every save interval).
- `play` is the run's play state ({"unit", "speed"} while playing, else null), kept in the lease row, so
  the process that takes over a run that was playing plays it on. A lease let go on shutdown or handover
  keeps it for the next holder; pause clears it.
- SIGTERM: the session manager stops play, saves every run and lets every lease go (expired at once)
  before the process exits.

`LocalLeases` is the one-process case (SQLite): every run is this process's, nothing to renew;
`PostgresLeases` (app/store_postgres.py, beside the store whose saves it fences) is the shared one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

# on the answer that creates a run: HAProxy's stick table learns from it which process holds the run
# (deploy/haproxy.cfg `stick store-response`) and strips it
RUN_HEADER = "X-Stepwise-Run"
POLL_SECONDS = 0.1  # how often a waiting request looks whether the lease came free

Play = dict[str, Any]


class RunHeldElsewhereError(Exception):
    """The run's lease is another live process's and it did not hand it over in time."""


class Leases(Protocol):
    holder: str

    def take(self, run_id: str) -> tuple[bool, Play | None]: ...
    def ask_release(self, run_id: str) -> None: ...
    def note_play(self, run_id: str, play: Play | None) -> None: ...
    def release(self, run_id: str) -> None: ...
    def held_elsewhere(self, run_ids: list[str]) -> set[str]: ...
    def start(self, on_release: Callable[[str], None], on_lost: Callable[[set[str]], None]) -> None: ...
    def close(self) -> None: ...


class LocalLeases:
    """One process alone: every run is its own (see the module docstring)."""

    holder = "local"
    seconds = 0.0

    def take(self, run_id: str) -> tuple[bool, Play | None]:
        return True, None

    def ask_release(self, run_id: str) -> None:
        return None

    def note_play(self, run_id: str, play: Play | None) -> None:
        return None

    def release(self, run_id: str) -> None:
        return None

    def held_elsewhere(self, run_ids: list[str]) -> set[str]:
        return set()

    def start(self, on_release: Callable[[str], None], on_lost: Callable[[set[str]], None]) -> None:
        return None

    def close(self) -> None:
        return None


async def acquire(leases: Leases, run_id: str, to_thread: Callable[..., Any]) -> Play | None:
    """Take the run's lease for this process, asking its live holder to hand it over and waiting up to
    `seconds` + 5 s (the holder saves it, or its lease expires because it died); RunHeldElsewhereError after.
    Returns the run's play state to resume (None: paused)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + getattr(leases, "seconds", 0.0) + 5.0
    asked = False
    while True:
        granted, play = await to_thread(leases.take, run_id)
        if granted:
            return play
        if not asked:
            await to_thread(leases.ask_release, run_id)
            asked = True
        if loop.time() >= deadline:
            raise RunHeldElsewhereError(run_id)
        await asyncio.sleep(POLL_SECONDS)


def on_this_loop(hand_over: Callable[..., Awaitable[None]], tasks: set[asyncio.Future[None]]
                 ) -> tuple[Callable[[str], None], Callable[[set[str]], None]]:
    """The two callbacks of `Leases.start` (called on the bus thread) as `hand_over(run_id, save=...)`
    tasks on the running event loop: asked for a run, save it first; lost one, drop it unsaved.
    `tasks` keeps a reference to each until it is done (asyncio keeps only weak ones)."""
    loop = asyncio.get_running_loop()

    def spawn(run_id: str, save: bool) -> None:
        task = asyncio.ensure_future(hand_over(run_id, save=save))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def on_release(run_id: str) -> None:
        loop.call_soon_threadsafe(spawn, run_id, True)

    def on_lost(run_ids: set[str]) -> None:
        for run_id in run_ids:
            loop.call_soon_threadsafe(spawn, run_id, False)

    return on_release, on_lost
