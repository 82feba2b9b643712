"""The clock the play loop and the idle/save timers read: the real one, or a test's (tests/clock.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Seconds on a monotonic scale and a sleep on that scale (a test advances both by hand)."""

    def time(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """time.monotonic and asyncio.sleep: what the server runs on."""

    def time(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
