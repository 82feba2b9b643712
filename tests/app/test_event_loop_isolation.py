"""Plain tests start with no running event loop, also after browser tests in the same pytest process."""

from __future__ import annotations

import asyncio


def test_a_plain_test_sees_no_running_event_loop_and_can_run_a_coroutine() -> None:
    # after tests/e2e, Playwright's sync API leaves its loop marked running on this thread;
    # tests/conftest.py's no_leaked_event_loop hides it for tests that do not drive a browser
    assert asyncio._get_running_loop() is None

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert asyncio.run(answer()) == 42
