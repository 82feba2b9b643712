"""Work caps: request bodies (refused up front or counted as they stream) and training time per call."""

from __future__ import annotations

import json
import time

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.stepper import Run


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the streamed body passes the cap; FastAPI re-raises HTTPExceptions from
    body parsing, so the route never sees a truncated body."""

    def __init__(self, cap: int) -> None:
        # starlette types detail as str, but its handler sends any JSON-able value: keep the field shape
        super().__init__(413)
        self.detail = {"field": "body", "message": f"the request body is larger than {cap} bytes"}  # type: ignore[assignment]


class BodySizeLimit:
    """Every HTTP request body is at most `cap` bytes, whether or not the client sends Content-Length
    (chunked uploads are counted as they arrive, so nothing unbounded is ever buffered)."""

    def __init__(self, app: ASGIApp, cap: int) -> None:
        self.app = app
        self.cap = cap

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.cap:
            await _refuse(send, self.cap)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.cap:
                    raise BodyTooLarge(self.cap)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(send, self.cap)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, cap: int) -> None:
    body = json.dumps({"detail": BodyTooLarge(cap).detail}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def advance_within(run: Run, unit: str, count: int, seconds: float) -> int:
    """`run.step(unit, count)`, cut short at the first stop after about `seconds` of work.

    Without it, 1000 epochs of the biggest network the API allows (8 × 64, 2000 points, batch 1) is
    about an hour of CPU in one request, holding the session's lock (pause waits for it). Epochs go as
    batches, so even one epoch that alone outlasts the budget stops at a batch boundary; the same batches
    run either way, so the result is bit for bit the uncut call's when the budget is not reached. Work
    goes in chunks sized from the previous chunk's time, so a cheap run is still one or two engine calls.
    Returns the stops of `unit` done (epochs completed for "epoch").
    """
    deadline = time.monotonic() + seconds
    if unit == "epoch":
        epoch_before = run.epoch
        advance_within(run, "batch", count * run.batches_per_epoch - run.batch, seconds)
        return run.epoch - epoch_before
    done, chunk = 0, 1
    while done < count:
        started = time.monotonic()
        want = min(chunk, count - done)
        got = run.step(unit, want)
        done += got
        now = time.monotonic()
        if got < want or now >= deadline:
            break  # diverged, or out of time
        per_stop = (now - started) / got
        # a clock too coarse to time the chunk (per_stop ~ 0) lets the rest go in one call
        fits = (deadline - now) / 2 / per_stop if per_stop > 1e-9 else float(count)
        chunk = max(1, int(min(fits, count - done)))
    return done
