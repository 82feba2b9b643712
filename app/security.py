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

import hashlib
import json
import math
import re
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.i18n import gettext
from app.limits import TokenBuckets

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


# the run a request is about: /ui/<id>/... or /api/sessions/<id>[/...] (ids: app/sessions.py SESSION_ID_RE)
RUN_IN_PATH = re.compile(r"^/(?:ui|api/sessions)/([A-Za-z0-9_-]{32})(?:/|$)")


def _client_key(scope: Scope) -> str | None:
    """The owner key the request carries (app/ownership.py: bearer / X-Stepwise-Token / cookie), hashed
    to a short bucket name, or None. Read from the raw headers: this runs before any routing."""
    for name, value in scope.get("headers", ()):
        if name in (b"authorization", b"x-stepwise-token"):
            token = value.rsplit(b" ", 1)[-1].strip()
        elif name == b"cookie" and b"stepwise_owner=" in value:
            token = value.split(b"stepwise_owner=", 1)[1].split(b";", 1)[0].strip()
        else:
            continue
        if len(token) == 43:
            return hashlib.sha256(token).hexdigest()[:24]
    return None


class RateLimit:
    """Token buckets (limits.TokenBuckets) for every HTTP request but static files (pages, /graph, the
    API, the stream, /healthz): one per client, one per address as a backstop. Static files are the
    page's own few assets, cached by the browser, and cost no CPU worth limiting.

    A client is the owner key its requests carry (a browser's cookie, an API client's token), else its
    address. Each client may send `burst` requests at once and `per_second` on average; past that it
    gets a 429 with Retry-After, and the bucket refills while the client is quiet, so the limit
    recovers by itself. A whole address (a school behind one NAT) shares the larger backstop,
    `address_per_second` / `address_burst`, which also catches a client inventing a key per request.
    A run named in the path (/ui/<id>/..., /api/sessions/<id>/...) has a bucket of its own too,
    `run_per_second` / `run_burst`: many clients at one run (its followers reloading, a shared link
    passed round a class) are refused before they slow its owner down, and other runs go on.
    The SSE stream is one long request and counts once.
    """

    EXEMPT = ("/static/",)

    def __init__(self, app: ASGIApp, per_second: float = 50.0, burst: int = 200,
                 address_per_second: float | None = None, address_burst: int | None = None,
                 run_per_second: float | None = None, run_burst: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.clients = TokenBuckets(per_second, burst, clock)
        self.addresses = TokenBuckets(address_per_second or per_second * 10, address_burst or burst * 10,
                                      clock)
        self.runs = TokenBuckets(run_per_second or per_second * 2, run_burst or burst * 2, clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.EXEMPT):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        key = _client_key(scope)
        run = RUN_IN_PATH.match(str(scope.get("path", "")))
        if run is not None and (wait := self.runs.take(run[1])) > 0.0:
            message = gettext("too many requests to this run from all its viewers; slow down")
        else:
            wait = self.clients.take(f"k:{key}" if key else f"a:{address}")
            if wait <= 0.0:
                wait = self.addresses.take(address)
            if wait <= 0.0:
                await self.app(scope, receive, send)
                return
            message = gettext("too many requests from this browser or address; slow down")
        body = json.dumps({"detail": {"field": None, "message": message}}).encode()
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
