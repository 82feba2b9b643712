"""Present a run live (/p/CODE) and run a class (/class/..., /c/CODE): the pages and their forms.

Present: the owner presses "present" (POST /ui/{id}/present); the answer is a code and a link that
shows the run live, read-only, to everyone else (GET /p/CODE -> the run's page; followers' tabs share the
run's one broadcaster, so each frame is built once however many follow). A teacher's browser that holds
a class's teacher key presents into that class too: its students' "watch" link follows.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from app.classes import ClassRecords
from app.ownership import OwnerOnly
from app.routes.api import Current
from app.schemas import ERROR_RESPONSES
from app.snapshots import normalize, spelled

router = APIRouter(responses=ERROR_RESPONSES)
TEACHER_COOKIE = "stepwise_class_"  # + the class code; value: the teacher key


def records(request: Request) -> ClassRecords:
    table: ClassRecords = request.app.state.classes
    return table


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status)
    return response


def missing(request: Request, typed: str, what: str) -> HTMLResponse:
    why = ("Codes are 8 letters and digits, like K7Q2-9FXA (there is no 0, O, 1, I, L, U or V in them)."
           if normalize(typed) is None else
           "Check the code on the board, or ask for the link again: this server has no such code.")
    return render(request, "code_missing.html", {"typed": typed[:20], "what": what, "why": why}, 404)


async def taught_classes(request: Request) -> list[Any]:
    """The classes whose teacher key this browser holds (a cookie per class)."""
    rooms = []
    for name, key in request.cookies.items():
        if name.startswith(TEACHER_COOKIE):
            code = normalize(name.removeprefix(TEACHER_COOKIE))
            room = await records(request).get_class(code) if code else None
            if room is not None and ClassRecords.is_teacher(room, key):
                rooms.append(room)
    return rooms


async def present(request: Request, session_id: str) -> dict[str, Any]:
    code = spelled(await records(request).present(session_id))
    rooms = await taught_classes(request)
    for room in rooms:
        room.presenting = session_id
        await records(request).save_class(room)
    path = f"/p/{code}"
    return {"code": code, "path": path, "url": f"{str(request.base_url).rstrip('/')}{path}",
            "classes": [spelled(room.code) for room in rooms]}


@router.post("/api/sessions/{session_id}/present", status_code=201, tags=["sharing"],
             dependencies=[OwnerOnly])
async def present_session(s: Current, request: Request) -> dict[str, Any]:
    """Show this run live to anyone with the code: `{"code", "path": "/p/CODE", "url"}` (the same code
    each time). Followers watch read-only; only the owner's token may present."""
    return await present(request, s.id)


@router.post("/ui/{session_id}/present", response_class=HTMLResponse, include_in_schema=False,
             dependencies=[OwnerOnly])
async def present_page(s: Current, request: Request) -> HTMLResponse:
    return render(request, "partials/present.html", await present(request, s.id))


@router.get("/p/{code}", include_in_schema=False)
async def follow(code: str, request: Request) -> Response:
    """A presented run's page (read-only for everyone but its owner), live."""
    canonical = normalize(code)
    session_id = await records(request).presented(canonical) if canonical else None
    if session_id is None:
        return missing(request, code, "presented run")
    return RedirectResponse(f"/?{urlencode({'session': session_id, 'live': spelled(canonical or '')})}",
                            status_code=303)


async def present_target(request: Request, typed: str) -> str | None:
    code = normalize(typed)
    return f"/p/{spelled(code)}" if code and await records(request).presented(code) else None


def add_classes(app: Any, store: Any) -> None:
    app.state.classes = ClassRecords(store)
    app.state.code_resolvers.append(present_target)
