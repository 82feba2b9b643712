"""SSE under /api/sessions/{id}/stream: a snapshot, then the newest frame at the current frame rate."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Request
from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import SendTimeoutError
from starlette.background import BackgroundTask
from starlette.types import Receive, Scope, Send

from app.routes.api import Current, Manager
from app.schemas import ERROR_RESPONSES
from app.sessions import Session, SessionError, SessionManager

router = APIRouter(prefix="/api", tags=["stream"],
                   responses={404: ERROR_RESPONSES[404], 429: ERROR_RESPONSES[429]})

# share of the frame interval the rate cap forgives (see frames_for): a stream sends at most
# stream_max_fps / (1 - CAP_SLACK) frames in a burst, and on average never more than its session publishes
CAP_SLACK = 0.2

log = logging.getLogger("stepwise.stream")


class Stream(EventSourceResponse):
    """An SSE response whose client stopped reading (a send waited `send_timeout`) ends with one log
    line, not a traceback: it is the client's doing and the server's answer (close, give the slot back)
    is the normal one."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            client = scope.get("client")
            log.warning("closed a stream to %s: it read nothing for %.0f s", client[0] if client else "?",
                        self.send_timeout or 0)


async def frames_for(
    sessions: SessionManager, s: Session, request: Request, release: Callable[[], None] = lambda: None
) -> AsyncIterator[ServerSentEvent | bytes]:
    """Every frame is the full visible state, so a snapshot after a reconnect loses nothing and a
    skipped frame is never needed: conflation is just "send the latest version you have not sent".
    `release` gives back the stream's slot (StreamSlots) when the stream ends."""
    settings = sessions.settings
    b = s.broadcaster
    live = request.app.state.live_inspector
    loop = asyncio.get_running_loop()
    ends_at = loop.time() + settings.stream_max_seconds  # then the page reconnects (see Settings)
    s.subscribers += 1
    try:
        await sessions.snapshot(s)
        sent_version, sent_maps, sent_arch = -1, -1, b.arch_version
        seen_inspector = (-1, "")  # the step id and mode of the last inspector this stream sent
        event = "snapshot"
        while not b.closed:
            assert b.frame is not None
            with_maps = event == "snapshot" or b.maps_version != sent_maps
            sent_version, sent_maps = b.version, b.maps_version
            # bytes, encoded once per frame for every subscriber; with the run's inspector when this
            # subscriber has not had the current one yet (app/live_inspector.py)
            carry, seen_inspector = await live.inspector_for(
                sessions, s, (b.version, with_maps), seen_inspector)
            yield live.event(s.id, b, with_maps, event) if carry else b.event(with_maps, event)
            sent_at = loop.time()
            while not await b.wait_newer(sent_version, min(settings.stream_ping_seconds,
                                                           max(0.0, ends_at - loop.time()))):
                if await request.is_disconnected() or loop.time() >= ends_at:
                    return
            # the rate cap (the current frame rate, stream_max_fps when the server is not busy) waits only
            # for what is left of the interval, so a frame after a pause (a click) goes out at once. It
            # leaves CAP_SLACK of the interval: play ticks come at exactly that rate, and a cap of exactly
            # one interval since the (later) send made each frame wait for the previous one's lateness,
            # drifting to 0..50 ms of lag (measured: p50 20 ms on an idle server, ~1 ms with the slack)
            await asyncio.sleep(max(0.0, sent_at + (1 - CAP_SLACK) * sessions.rate.interval - loop.time()))
            if b.arch_version != sent_arch:
                sent_arch, event = b.arch_version, "snapshot"
            else:
                event = "frame"
            if loop.time() >= ends_at:
                return  # no "closed" event: the EventSource reconnects and starts from a snapshot
        if not b.moved:  # moved: the EventSource reconnects to wherever the run is now
            yield ServerSentEvent("{}", event="closed")
    finally:
        s.subscribers -= 1
        release()


@router.get("/sessions/{session_id:sid}/stream", response_class=Stream)
async def stream(
    s: Current,
    sessions: Manager,
    request: Request,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> Stream:
    """Server-Sent Events; event id = the run's step_id. Whether or not `Last-Event-ID` is sent, the
    first event is a full "snapshot" (frame + heat maps), then "frame" events; "closed" if deleted.
    429 past `stream_max_per_client` streams open from this address or `stream_max_total` in all (the
    detail's `field` names the cap)."""
    settings = sessions.settings
    release, refusal = sessions.streams.take(request.client.host if request.client else "unknown")
    if release is None:
        assert refusal is not None  # take() names the cap it refused at
        raise SessionError(429, refusal, limit=refusal["limit"])
    return Stream(
        frames_for(sessions, s, request, release),
        # the slot is also given back if the stream ends before its generator ever ran
        background=BackgroundTask(release),
        ping=max(1, round(settings.stream_ping_seconds)),  # sse-starlette takes whole seconds
        send_timeout=settings.stream_send_timeout_seconds,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
