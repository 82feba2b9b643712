"""ManualClock: a Clock (app/clock.py) that moves only when a test advances it, so a play loop's ticks,
saves and idle timers happen exactly when the test says, however busy the machine is."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from app.sessions import SessionManager
from app.settings import Settings
from app.store import SQLiteStore

T = TypeVar("T")

Tasks = Callable[[], Iterable['asyncio.Task[object] | None']]


class ManualClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None], object]] = []
        self._order = itertools.count()
        self.sleeping: set[asyncio.Task[object]] = set()

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = asyncio.current_task()
        assert task is not None
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), future, task))
        self.sleeping.add(task)  # type: ignore[arg-type]
        try:
            await future
        finally:
            self.sleeping.discard(task)  # type: ignore[arg-type]

    async def advance(self, seconds: float, tasks: Tasks) -> None:
        """Move time forward by `seconds`, waking each sleeper at its deadline in order, and after each
        wake-up wait (polling, 30 s at most) until every task of `tasks()` sleeps on this clock again or
        has ended: a tick that runs in a worker thread is waited for, not raced."""
        target = self.now + seconds
        await self.settle(tasks)  # a task started just now (a play loop) runs up to its first sleep
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future, task = heapq.heappop(self._sleepers)
            self.now = max(self.now, deadline)
            self.sleeping.discard(task)  # type: ignore[arg-type]  # awake until it sleeps again
            if not future.done():
                future.set_result(None)
            await self.settle(tasks)
        self.now = target
        await self.settle(tasks)

    async def settle(self, tasks: Tasks) -> None:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + 30.0
        await asyncio.sleep(0)
        while loop.time() < give_up:
            live = [t for t in tasks() if t is not None and not t.done()]
            if all(t in self.sleeping for t in live):
                return
            await asyncio.sleep(0.001)
        raise AssertionError("a task neither slept on the clock nor ended within 30 s")


def other_tasks() -> list[asyncio.Task[Any]]:
    """Every task but the test's own: the play loops, saves and timers a clock advance waits for."""
    return [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]


def run_on_clock(tmp_path: Path, scenario: Callable[[SessionManager, ManualClock], Awaitable[T]],
                 **settings: Any) -> T:
    """Run `scenario` on a fresh SessionManager (its own event loop and store) whose clock is a
    ManualClock: play ticks, saves and idle timers happen only when the scenario advances it. Shut down
    after."""
    async def main() -> T:
        clock = ManualClock()
        manager = SessionManager(Settings(data_dir=tmp_path, **settings),
                                 SQLiteStore(tmp_path / "sessions.sqlite3"), clock=clock)
        try:
            return await scenario(manager, clock)
        finally:
            await manager.shutdown()

    return asyncio.run(main())
