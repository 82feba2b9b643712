"""Messages between the processes of one school: PostgreSQL LISTEN/NOTIFY on a thread of their own.

`Bus` listens on its own connection in a daemon thread (so a busy event loop never delays a lease's
renewal) and calls, on that thread, each channel's subscriber with the payload, and every `every`
seconds the periodic callbacks (app/leases.py renews its leases there). `notify` sends on a second
connection. Payloads are text of at most NOTIFY_MAX bytes (PostgreSQL's limit is 8000).

Who uses it: leases (channel "stepwise_leases": "please hand run X over") and the class dashboard
(app/dashboard_fanout.py: "who holds these runs, send me their tiles"). A presented run needs no message:
every follower's request carries the run's id, so the proxy sends it to the run's own process and the
frame is built once there (docs/scaling.md).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections.abc import Callable
from typing import Any

import psycopg

NOTIFY_MAX = 7900
RECONNECT_SECONDS = 1.0

log = logging.getLogger("stepwise.fanout")


class Bus:
    """LISTEN on every subscribed channel in one thread; NOTIFY from any thread (see the module)."""

    def __init__(self, url: str, every: float) -> None:
        self.url = url
        self.every = every
        self._subscribers: dict[str, list[Callable[[str], None]]] = {}
        self._periodic: list[Callable[[], None]] = []
        self._send_lock = threading.Lock()
        self._send: psycopg.Connection[Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # a channel of this bus alone: `close` sends on it so the listening thread stops at once
        self._wake = f"stepwise_bus_{secrets.token_hex(6)}"

    def subscribe(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call `callback(payload)` on the bus thread for every message on `channel` (before `start`)."""
        self._subscribers.setdefault(channel, []).append(callback)

    def periodically(self, callback: Callable[[], None]) -> None:
        """Call `callback()` on the bus thread every `every` seconds (before `start`)."""
        self._periodic.append(callback)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._listen_forever, name="stepwise-bus", daemon=True)
        self._thread.start()

    def notify(self, channel: str, payload: str) -> None:
        """Send one message (at most NOTIFY_MAX bytes); raises psycopg.Error if the database is away."""
        if len(payload.encode()) > NOTIFY_MAX:
            raise ValueError(f"a message on {channel} is at most {NOTIFY_MAX} bytes")
        with self._send_lock:
            if self._send is None or self._send.closed or self._send.broken:
                self._send = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
            self._send.execute("SELECT pg_notify(%s, %s)", (channel, payload))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            with contextlib.suppress(psycopg.Error):  # the database away: it stops at its next timeout
                self.notify(self._wake, "")
            self._thread.join(timeout=self.every + 5)
        with self._send_lock:
            if self._send is not None:
                self._send.close()

    def _listen_forever(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as db:
                    for channel in [*self._subscribers, self._wake]:
                        db.execute(f"LISTEN {channel}")
                    self._run_periodic()
                    while not self._stop.is_set():
                        for message in db.notifies(timeout=self.every):
                            for callback in self._subscribers.get(message.channel, []):
                                self._safely(callback, message.payload)
                            if self._stop.is_set():
                                break
                        if not self._stop.is_set():  # closing: a renewal now would find no lease
                            self._run_periodic()
            except psycopg.Error as error:
                log.warning("lost the database connection for messages (%s); reconnecting", error)
                self._stop.wait(RECONNECT_SECONDS)

    def _run_periodic(self) -> None:
        for callback in self._periodic:
            self._safely(callback)

    @staticmethod
    def _safely(callback: Callable[..., None], *args: Any) -> None:
        try:
            callback(*args)
        except psycopg.Error:
            raise  # the connection: reconnect
        except Exception:
            log.exception("a message handler failed; the bus goes on")
