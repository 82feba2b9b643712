"""Who may change a run: its owner, proven by a secret key that never appears in a URL.

Knowing a run's id (it is in the page's address) lets anyone watch it; changing it needs the owner's
key. A browser gets one key, in the HttpOnly, SameSite=Lax cookie OWNER_COOKIE, the first time it makes
a run, and every run it makes afterwards belongs to that key. An API client gets the key as `token` in
the answer to POST /api/sessions (or .../import, .../fork) and sends it back as `Authorization: Bearer
<token>` or `X-Stepwise-Token: <token>`; a client that sends a token when it creates a run makes that run
its own too. The server keeps only sha256(key) per run (a record of kind "owner" in the store), and
compares digests in constant time.

Every write route (API and /ui) depends on `owner_only`, which answers 403 (NotOwnerError) to anyone else:
JSON for the API, a short HTML message for the page's fragments. SameSite=Lax keeps the cookie off
cross-site POSTs, so another site cannot make a visitor's browser write to their runs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from html import escape
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from app.i18n import N_, gettext
from app.leases import RUN_HEADER
from app.refusals import detail_said
from app.sessions import SessionError
from app.store import RecordStore

OWNER_COOKIE = "stepwise_owner"
TOKEN_HEADER = "x-stepwise-token"
KIND = "owner"
# secrets.token_urlsafe(32): 32 random bytes (256 bits) -> 43 URL-safe characters
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
COOKIE_MAX_AGE = 400 * 86_400  # the longest a browser keeps a cookie (Chromium caps at 400 days)

READ_ONLY = N_("This run belongs to someone else: you can watch it but not change it. "
             "Make your own copy to change it.")
API_READ_ONLY = N_("this run belongs to someone else: send its owner's token as 'Authorization: Bearer "
                 "<token>' or 'X-Stepwise-Token: <token>' (POST /api/sessions answers it as 'token'), "
                 "or fork it (POST /api/sessions/{id}/fork) to get a run of your own")


class NotOwnerError(SessionError):
    """A write by someone who is not the run's owner (403)."""

    def __init__(self) -> None:
        super().__init__(403, {"field": "token", "message": API_READ_ONLY})


def new_key() -> str:
    return secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def presented_key(request: Request) -> str | None:
    """The key this request carries: the Authorization / X-Stepwise-Token header first (an API client),
    else the page's cookie. A malformed one counts as none."""
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    bearer = credentials.strip() if scheme.lower() == "bearer" else ""
    for key in (bearer, request.headers.get(TOKEN_HEADER, ""), request.cookies.get(OWNER_COOKIE, "")):
        if key and KEY_RE.match(key):
            return key
    return None


class Owners:
    """sha256(owner key) per run id: cached in memory, kept in the store's records (survives restarts)."""

    MAX_CACHED = 20_000

    def __init__(self, records: RecordStore) -> None:
        self.records = records
        self._cache: dict[str, str | None] = {}

    async def claim(self, session_id: str, key: str) -> None:
        """Make `key` the owner of a run just created (nobody else can know its id yet)."""
        hashed = digest(key)
        await anyio.to_thread.run_sync(lambda: self.records.put_record(KIND, session_id, hashed))
        self._remember(session_id, hashed)

    async def owner_digest(self, session_id: str) -> str | None:
        if session_id in self._cache:
            return self._cache[session_id]
        hashed = await anyio.to_thread.run_sync(self.records.get_record, KIND, session_id)
        self._remember(session_id, hashed)
        return hashed

    async def owns(self, session_id: str, key: str | None) -> bool:
        """Whether `key` is the run's owner key; a run with no owner record (made before owners existed)
        belongs to nobody: it can be watched and copied, not changed."""
        hashed = await self.owner_digest(session_id)
        if hashed is None or key is None:
            return False
        return hmac.compare_digest(digest(key), hashed)

    def _remember(self, session_id: str, hashed: str | None) -> None:
        if len(self._cache) >= self.MAX_CACHED:
            self._cache.clear()
        self._cache[session_id] = hashed


def owners(request: Request) -> Owners:
    table: Owners = request.app.state.owners
    return table


async def is_owner(request: Request, session_id: str) -> bool:
    return await owners(request).owns(session_id, presented_key(request))


async def owner_only(request: Request) -> None:
    """Dependency of every write route: 403 unless the request carries the run's owner key. The run id
    is the route's `session_id` (API) or `sid` (/ui) path parameter."""
    session_id = str(request.path_params.get("session_id") or request.path_params.get("sid") or "")
    await request.app.state.sessions.get(session_id)  # an unknown run is a 404, as for a read
    if not await is_owner(request, session_id):
        raise NotOwnerError()


OwnerOnly = Depends(owner_only)


async def key_for_new_run(request: Request) -> str:
    """The key a run made by this request will belong to: the one it carries, or a fresh one."""
    return presented_key(request) or new_key()


Key = Annotated[str, Depends(key_for_new_run)]


def remember_key(request: Request, response: Response, key: str) -> None:
    """Give the browser its key as a cookie unless it already has exactly this one."""
    if request.cookies.get(OWNER_COOKIE) == key:
        return
    response.set_cookie(OWNER_COOKIE, key, max_age=COOKIE_MAX_AGE, path="/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")


async def not_owner(request: Request, exc: Exception) -> Response:
    """403: JSON for the API, a message the page swaps next to the control for a /ui fragment."""
    assert isinstance(exc, NotOwnerError)
    if request.url.path.startswith("/ui/"):
        words = escape(gettext(READ_ONLY))
        return HTMLResponse(f'<span class="error-text" data-field="token">{words}</span>', status_code=403)
    return JSONResponse({"detail": detail_said(exc)}, status_code=403)


def add_owner_checks(app: Any, records: RecordStore) -> None:
    app.state.owners = Owners(records)
    app.add_exception_handler(NotOwnerError, not_owner)


async def create_owned(request: Request, response: Response, build: Any, key: str) -> Any:
    """A new session (SessionManager.create) that belongs to `key`; the browser gets `key` as its
    cookie on `response`."""
    client = request.client.host if request.client else "unknown"
    session = await request.app.state.sessions.create(build, client)
    await owners(request).claim(session.id, key)
    remember_key(request, response, key)
    response.headers[RUN_HEADER] = session.id  # a proxy in front learns the run's process (deploy/)
    return session
