"""Copies of runs: "make my own copy" (a fork now) and "share" (an immutable snapshot behind a code).

A fork is the run's export document (engine/serialize.py) imported into a new session that belongs to
whoever asked (app/ownership.py): data (generated, clicked or uploaded), weights, optimiser state and
the position inside the batch continue bit for bit; only the rewind history stays behind. A share
stores that document once (app/snapshots.py); every opening of its code forks it again. Anyone who can
watch a run may fork or share it: both only read it.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from app import convert
from app.classes import Attempts
from app.i18n import N_, gettext
from app.jsonbody import StrictJSONRoute
from app.ownership import Key, create_owned
from app.routes.api import Current, Manager, created
from app.schemas import ERROR_RESPONSES, CreatedSession
from app.sessions import Session, SessionError, SessionManager
from app.snapshots import Snapshot, Snapshots, View, normalize, spelled

router = APIRouter(responses=ERROR_RESPONSES, route_class=StrictJSONRoute)
SHARES_PER_MINUTE = 120  # per address: two each for a class of 60
TAGS: list[str | Any] = ["sharing"]


def snapshots(request: Request) -> Snapshots:
    table: Snapshots = request.app.state.snapshots
    return table


async def fork_document(request: Request, response: Response, document: dict[str, Any], key: str) -> Session:
    settings = request.app.state.sessions.settings
    return await create_owned(request, response, lambda: convert.import_checked(document, settings), key)


async def fork(request: Request, response: Response, sessions: SessionManager, source: Session,
               key: str) -> Session:
    """A new session of `key`'s at `source`'s current state."""
    document: dict[str, Any] = await sessions.read(source, convert.export_document)
    return await fork_document(request, response, document, key)


def page_address(session: Session, view: View | None = None) -> str:
    return f"/?{urlencode({'session': session.id, **(view.query() if view else {})})}"


@router.post("/api/sessions/{session_id}/fork", status_code=201, response_model=CreatedSession, tags=TAGS)
async def fork_session(s: Current, request: Request, response: Response, sessions: Manager,
                       key: Key) -> CreatedSession:
    """A copy of this run at its current state that belongs to the caller (anyone may fork a run they
    can read); the answer's `token` changes the copy."""
    copy = await fork(request, response, sessions, s, key)
    return await created(sessions, copy, key)


@router.post("/ui/{session_id}/fork", include_in_schema=False)
async def fork_page(s: Current, request: Request, sessions: Manager, key: Key) -> Response:
    """The page's "make my own copy" (a plain form post): the browser goes to its own copy."""
    answer = RedirectResponse("/", status_code=303)
    copy = await fork(request, answer, sessions, s, key)
    answer.headers["location"] = page_address(copy)
    return answer


# ---- share: snapshot codes ---------------------------------------------------------------------------

async def share(request: Request, sessions: SessionManager, s: Session, view: View) -> dict[str, str]:
    """Store the snapshot; at most SHARES_PER_MINUTE per address (each one is kept on disk)."""
    client = request.client.host if request.client else "unknown"
    if not request.app.state.shares.allow(client):
        raise SessionError(429, {"field": "share", "message": N_(
            "at most {shares} shares a minute from one address; wait a moment and share again")},
            shares=SHARES_PER_MINUTE)
    document: dict[str, Any] = await sessions.read(s, convert.export_document)
    code = spelled(await snapshots(request).store(document, view))
    path = f"/s/{code}"
    return {"code": code, "path": path, "url": f"{str(request.base_url).rstrip('/')}{path}"}


@router.post("/api/sessions/{session_id}/share", status_code=201, tags=TAGS)
async def share_session(s: Current, request: Request, sessions: Manager,
                        view: Annotated[dict[str, Any] | None, Body(max_length=8)] = None) -> dict[str, str]:
    """Store this run as it is now under a short code: `{"code": "K7Q2-9FXA", "path": "/s/K7Q2-9FXA",
    "url": ...}`. The optional body is the page view to restore (`unit`, `speed`, `show_test`,
    `discretize`). The snapshot never changes; each POST .../snapshots/{code}/fork or GET /s/{code}
    makes a new run from it."""
    return await share(request, sessions, s, View.parse(view or {}))


@router.post("/ui/{session_id}/share", response_class=HTMLResponse, include_in_schema=False)
async def share_page(s: Current, request: Request, sessions: Manager) -> HTMLResponse:
    shared = await share(request, sessions, s, View.parse(await request.form()))
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(request, "partials/share.html", shared)
    return response


def _missing(request: Request, typed: str, what: str = N_("shared run")) -> HTMLResponse:
    why = (N_("Codes are 8 letters and digits, like K7Q2-9FXA (there is no 0, O, 1, I, L, U or V in them).")
           if normalize(typed) is None else
           N_("Check the code on the board, or ask for the link again: this server has no such code."))
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, "code_missing.html", {"typed": typed[:20], "what": what, "why": why}, status_code=404)
    return response


async def _snapshot(request: Request, typed: str) -> Snapshot | None:
    code = normalize(typed)
    return None if code is None else await snapshots(request).get(code)


@router.get("/s/{code}", include_in_schema=False)
async def open_snapshot(code: str, request: Request, key: Key) -> Response:
    """A run of the opener's own at the snapshot's state, in the view it was shared with."""
    snapshot = await _snapshot(request, code)
    if snapshot is None:
        return _missing(request, code)
    answer = RedirectResponse("/", status_code=303)
    copy = await fork_document(request, answer, snapshot.document, key)
    answer.headers["location"] = page_address(copy, snapshot.view)
    return answer


@router.get("/api/snapshots/{code}", tags=TAGS)
async def get_snapshot(code: str, request: Request) -> dict[str, Any]:
    """The snapshot: its export document (as GET .../export answers it) and view."""
    snapshot = await _snapshot(request, code)
    if snapshot is None:
        raise SessionError(404, {"field": "code", "message": N_("no shared run has this code")})
    return {"code": spelled(snapshot.code), "view": snapshot.view.__dict__, "document": snapshot.document}


@router.post("/api/snapshots/{code}/fork", status_code=201, response_model=CreatedSession, tags=TAGS)
async def fork_snapshot(code: str, request: Request, response: Response, sessions: Manager,
                        key: Key) -> CreatedSession:
    snapshot = await _snapshot(request, code)
    if snapshot is None:
        raise SessionError(404, {"field": "code", "message": N_("no shared run has this code")})
    copy = await fork_document(request, response, snapshot.document, key)
    return await created(sessions, copy, key)


@router.get("/go", include_in_schema=False)
async def open_code(request: Request, code: str = "") -> Response:
    """"Open a code" (the box at the top of every page): wherever the code leads."""
    typed = code.strip()[:20]
    for resolve in request.app.state.code_resolvers:
        target = await resolve(request, typed)
        if target is not None:
            return RedirectResponse(target, status_code=303)
    return _missing(request, typed or gettext("(empty)"), N_("run or class"))


async def snapshot_target(request: Request, typed: str) -> str | None:
    snapshot = await _snapshot(request, typed)
    return None if snapshot is None else f"/s/{spelled(snapshot.code)}"


def add_sharing(app: Any, records: Any) -> None:
    app.state.snapshots = Snapshots(records)
    app.state.shares = Attempts(SHARES_PER_MINUTE)
    app.state.code_resolvers = [snapshot_target]
