"""Copies of runs: "make my own copy" of a run one may only watch (a fork at its exact state).

A fork is the run's export document (engine/serialize.py) imported into a new session that belongs to
whoever asked (app/ownership.py): data (generated, clicked or uploaded), weights, optimiser state and
the position inside the batch continue bit for bit; only the rewind history stays behind.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from app import convert
from app.ownership import Key, create_owned
from app.routes.api import Current, Manager, created
from app.schemas import ERROR_RESPONSES, CreatedSession
from app.sessions import Session, SessionManager

router = APIRouter()


async def fork(request: Request, response: Response, sessions: SessionManager, source: Session,
               key: str) -> Session:
    """A new session of `key`'s at `source`'s current state."""
    document: dict[str, Any] = await sessions.read(source, convert.export_document)
    return await create_owned(request, response, lambda: convert.import_checked(document, sessions.settings),
                              key)


@router.post("/api/sessions/{session_id}/fork", status_code=201, response_model=CreatedSession,
             tags=["sessions"], responses=ERROR_RESPONSES)
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
    answer.headers["location"] = f"/?{urlencode({'session': copy.id})}"
    return answer
