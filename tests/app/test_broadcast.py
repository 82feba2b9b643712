"""The broadcaster conflates: subscribers see only the newest frame, memory never grows with backlog."""

from __future__ import annotations

import asyncio
import json

from app.broadcast import Broadcaster


def test_slow_subscriber_skips_to_the_newest_frame_instead_of_queueing() -> None:
    async def scenario() -> list[int]:
        b = Broadcaster()
        b.publish({"id": 0})
        seen = b.version
        for step_id in range(1, 1001):
            b.publish({"id": step_id})
        assert await b.wait_newer(seen, timeout=0.1)
        return [json.loads(b.text(with_maps=False))["id"], len(b._texts)]

    newest, cached_texts = asyncio.run(scenario())
    assert newest == 1000
    assert cached_texts == 1


def test_waiting_subscribers_all_wake_on_one_publish() -> None:
    async def scenario() -> list[bool]:
        b = Broadcaster()
        b.publish({"id": 1})
        waiters = [asyncio.create_task(b.wait_newer(b.version, timeout=2.0)) for _ in range(5)]
        await asyncio.sleep(0.01)
        b.publish({"id": 2})
        return list(await asyncio.gather(*waiters))

    assert asyncio.run(scenario()) == [True] * 5


def test_wait_times_out_without_a_new_frame_and_close_wakes_everyone() -> None:
    async def scenario() -> tuple[bool, bool]:
        b = Broadcaster()
        b.publish({"id": 1})
        timed_out = await b.wait_newer(b.version, timeout=0.02)
        waiter = asyncio.create_task(b.wait_newer(b.version, timeout=2.0))
        await asyncio.sleep(0.01)
        b.close()
        return timed_out, await waiter

    assert asyncio.run(scenario()) == (False, True)


def test_maps_are_sent_only_to_who_asks_and_nan_is_refused() -> None:
    b = Broadcaster()
    b.publish({"id": 1, "maps": None}, {"out": "AAEC"})
    assert json.loads(b.text(with_maps=True))["maps"] == {"out": "AAEC"}
    assert json.loads(b.text(with_maps=False))["maps"] is None
    b.publish({"id": 2, "loss": float("nan")})
    try:
        b.text(with_maps=False)
    except ValueError:
        pass
    else:
        raise AssertionError("a NaN reached the JSON of a frame")


def test_the_sent_frame_carries_the_server_time_it_was_published() -> None:
    import time

    b = Broadcaster()
    before = time.time()
    b.publish({"id": 1})
    after = time.time()
    stamp = json.loads(b.text(with_maps=False))["t"]
    assert before - 0.001 <= stamp <= after + 0.001
    assert b.frame is not None and "t" not in b.frame  # the frame contract's dict itself is untouched


def test_a_frame_event_is_one_sse_record_encoded_once_for_every_subscriber() -> None:
    b = Broadcaster()
    b.publish({"id": 7, "note": "two\nlines"}, {"out": "AAEC"})
    event = b.event(with_maps=True, name="snapshot")
    assert b.event(with_maps=True, name="snapshot") is event  # the second subscriber reuses the bytes
    lines = event.decode().split("\r\n")
    assert lines[:2] == ["id: 7", "event: snapshot"] and lines[-2:] == ["", ""]
    (data,) = [line for line in lines if line.startswith("data: ")]  # one data line: no raw line break
    assert json.loads(data[len("data: "):]) == json.loads(b.text(with_maps=True))
    assert json.loads(b.event(with_maps=False, name="frame").decode().split("data: ")[1])["maps"] is None
