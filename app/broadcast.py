"""Conflating broadcaster: one session's newest frame, read by any number of stream subscribers."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any


class Broadcaster:
    """Holds only the latest frame and a version counter; a slow subscriber skips, never queues.

    `publish` runs on the event loop. Subscribers remember the version they last sent and wait on an
    event that is swapped at every publish, so memory stays constant however many frames are missed.
    Heat maps travel separately with their own version because they are produced at a lower rate.
    `arch_version` changes when the network's shape changes; a subscriber then sends a snapshot.
    The sent JSON carries `"t"`, the server's wall clock (epoch seconds, ms precision) when the frame was
    published, so a client can measure its real lag (bench/load_bench.py does).
    """

    def __init__(self) -> None:
        self.frame: dict[str, Any] | None = None
        self.version = 0
        self.published_at = 0.0  # time.time() of the latest publish
        self.maps: dict[str, Any] | None = None
        self.maps_version = 0
        self.arch_version = 0
        self.closed = False
        self.moved = False
        self._changed = asyncio.Event()
        self._texts: dict[tuple[int, int], str] = {}
        self._events: dict[tuple[int, int, str], bytes] = {}

    def publish(
        self, frame: dict[str, Any], maps: dict[str, Any] | None = None, *, arch: bool = False
    ) -> None:
        self.frame = frame
        self.version += 1
        self.published_at = time.time()
        if maps is not None:
            self.maps = maps
            self.maps_version += 1
        if arch:
            self.arch_version += 1
        self._wake()

    def close(self, *, moved: bool = False) -> None:
        """The session is gone: every subscriber wakes up and ends its stream. Deleted: with a "closed"
        event (the page stops listening). `moved` (to another process, or this one is stopping): without
        it, so the page's EventSource reconnects and finds the run where it is now."""
        self.closed = True
        self.moved = moved
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_newer(self, seen_version: int, timeout: float) -> bool:
        """Wait until a frame newer than `seen_version` exists (or closed); False on timeout."""
        while self.version == seen_version and not self.closed:
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                return False
        return True

    def text(self, with_maps: bool) -> str:
        """The latest frame as JSON, serialised once per version however many subscribers read it."""
        assert self.frame is not None
        key = (self.version, self.maps_version if with_maps else -1)
        text = self._texts.get(key)
        if text is None:
            if len(self._texts) > 4:
                self._texts.clear()
            frame = dict(self.frame, maps=self.maps if with_maps else None, t=round(self.published_at, 3))
            text = self._texts[key] = json.dumps(frame, separators=(",", ":"), allow_nan=False)
        return text

    def event(self, with_maps: bool, name: str) -> bytes:
        """The latest frame as one Server-Sent Event (`id:` the step id, `event:` name, one `data:` line),
        encoded once per version and name for every subscriber. Built here rather than by sse-starlette's
        ServerSentEvent, which splits the data on line breaks and re-encodes it for each send: ~0.23 ms
        for a 44 kB frame with maps on [2,8x6,1]. Compact JSON has no line breaks (they are escaped in
        strings), so the one `data:` line is the whole frame."""
        assert self.frame is not None
        key = (self.version, self.maps_version if with_maps else -1, name)
        encoded = self._events.get(key)
        if encoded is None:
            if len(self._events) > 4:
                self._events.clear()
            encoded = self._events[key] = (f"id: {self.frame['id']}\r\nevent: {name}\r\n"
                                           f"data: {self.text(with_maps)}\r\n\r\n").encode()
        return encoded
