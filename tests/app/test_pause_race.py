"""Pause cancels play: the engine call of the tick in flight still ends under the session's lock."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import anyio.to_thread

from app.play import to_the_end


def test_a_cancelled_tick_holds_on_until_its_worker_thread_is_done() -> None:
    release, finished = threading.Event(), threading.Event()

    def step() -> int:  # a tick's engine work: it cannot be stopped once started
        release.wait(30)
        finished.set()
        return 1

    async def main() -> tuple[bool, bool]:
        lock = asyncio.Lock()

        async def tick() -> None:
            async with lock:
                await to_the_end(anyio.to_thread.run_sync(step))

        task = asyncio.create_task(tick())
        while not lock.locked():
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.sleep(0.05)  # let the cancel be delivered
        held = lock.locked() and not finished.is_set()  # the lock is not given up mid-step
        release.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return held, finished.is_set() and not lock.locked()

    held, done = asyncio.run(main())
    assert held and done
