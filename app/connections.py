"""Connection limits the `stepwise` command gives uvicorn: a request head and a request body each have a
deadline, so a client that connects and sends nothing, or half a request, or a body it never finishes,
cannot hold a socket for ever (uvicorn's own keep-alive timeout covers only the wait between requests).

`GuardedH11Protocol` is uvicorn's h11 protocol with those deadlines. The header size cap is h11's own
(`h11_max_incomplete_event_size`, passed by app/cli.py): a head past it is a 400 and the socket closes.
The deadlines come from Settings (STEPWISE_REQUEST_HEAD_TIMEOUT_SECONDS, ..._BODY_...), read when the
first connection is made, so a reloading server's worker process reads the same environment.
"""

from __future__ import annotations

import asyncio
from functools import cache

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.settings import get_settings


@cache
def deadlines() -> tuple[float, float]:
    """(seconds to send a request head, seconds to send a request body)."""
    settings = get_settings()
    return settings.request_head_timeout_seconds, settings.request_body_timeout_seconds


class GuardedH11Protocol(H11Protocol):
    """h11 plus a deadline per phase: the head (from the first byte of a request, or from the connection
    when it sends nothing) and the body (from the end of the head). Past it the socket is closed; a
    route waiting for the body then sees a disconnect."""

    _guard: asyncio.TimerHandle | None = None
    _guarding: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._arm(None)
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Keep the timer of the phase the client is in (none while we answer or keep-alive waits)."""
        state = self.conn.their_state
        if state is h11.IDLE and self.timeout_keep_alive_task is None:
            self._arm("head")
        elif state is h11.SEND_BODY:
            self._arm("body")
        else:
            self._arm(None)

    def _arm(self, phase: str | None) -> None:
        if phase == self._guarding:
            return  # the deadline runs from the start of the phase, not from the latest byte
        if self._guard is not None:
            self._guard.cancel()
        self._guard, self._guarding = None, phase
        if phase is not None:
            head, body = deadlines()
            self._guard = self.loop.call_later(head if phase == "head" else body, self._expired)

    def _expired(self) -> None:
        self._guard = None
        if not self.transport.is_closing():
            self.transport.close()
