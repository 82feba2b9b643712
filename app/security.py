"""Security headers on every response and a per-client request-rate limit (pure ASGI middleware).

Content-Security-Policy choices:
- `script-src 'self'`: the page loads only /static/vendor/htmx/htmx.min.js and /static/js/stepwise.js;
  no inline <script>, no inline on*= handlers, no eval.
- `style-src 'self'` (no 'unsafe-inline'): the templates carry no <style> element and no style=""
  attribute. stepwise.js colours SVG nodes through `element.style.fill = ...` (the CSSOM, which CSP does
  not govern) and htmx 4 puts its indicator rule in a constructed stylesheet (adoptedStyleSheets), also
  outside style-src. A template that adds a style="" attribute will show up as a violation in
  tests/hardening/test_headers.py.
- `img-src 'self' data:`: the favicon is `data:,` and heat maps are drawn on canvases.
- `connect-src 'self'`: fetch/htmx requests and the EventSource stream go to this origin only.
- `frame-ancestors 'none'`, `base-uri 'none'`, `form-action 'self'`, `object-src 'none'`.
"""

from __future__ import annotations

import json
import math
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response (pages, static files, API, SSE, errors) unless the
    route already set that header itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in SECURITY_HEADERS if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RateLimit:
    """A token bucket per client address for every request under /api and /ui.

    Each client may send `burst` requests at once and `per_second` on average; past that it gets a
    429 with Retry-After, and the bucket refills while the client is quiet, so the limit recovers by
    itself. The SSE stream is one long request and counts once. The table forgets idle clients so it
    cannot grow without bound.
    """

    PREFIXES = ("/api/", "/ui/")
    MAX_CLIENTS = 10_000

    def __init__(self, app: ASGIApp, per_second: float = 50.0, burst: int = 200) -> None:
        self.app = app
        self.per_second = per_second
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last refill time)

    def _take(self, client: str) -> float:
        """Take one token; return 0 when granted, else the seconds until one is available."""
        now = time.monotonic()
        tokens, last = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.per_second)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[client] = (tokens, now)
            wait = (1.0 - tokens) / self.per_second
        if len(self._buckets) > self.MAX_CLIENTS:
            full_after = self.burst / self.per_second
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}
        return wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.PREFIXES):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self._take(client[0] if client else "unknown")
        if wait <= 0.0:
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {"detail": {"field": None, "message": "too many requests from this address; slow down"}}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(max(1, math.ceil(wait))).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
