"""Present a run live (/p/CODE) and run a class (/class/..., /c/CODE): the pages and their forms.

Present: the owner presses "present" (POST /ui/{id}/present); the answer is a code and a link that
shows the run live, read-only, to everyone else (GET /p/CODE -> the run's page; followers' tabs share the
run's one broadcaster, so each frame is built once however many follow). A teacher's browser that holds
a class's teacher key presents into that class too: its students' "watch" link follows.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask

from app import convert
from app.classes import (
    CLASS_NAME_MAX,
    MAX_MEMBERS,
    NICKNAME_MAX,
    NOTE_MAX,
    Attempts,
    ClassRecords,
    HandIn,
    clean_text,
    student_of,
)
from app.dashboard import hand_in_row, results_csv, tile
from app.dashboard import tiles as all_tiles
from app.i18n import N_, gettext, said
from app.jsonbody import StrictJSONRoute
from app.ownership import OwnerOnly, create_owned, is_owner, key_for_new_run, presented_key
from app.routes.api import Current
from app.schemas import ERROR_RESPONSES
from app.sessions import SessionError
from app.snapshots import View, normalize, spelled
from app.urlstate import setup_from_query
from engine.errors import SetupError

router = APIRouter(responses=ERROR_RESPONSES, route_class=StrictJSONRoute)
# no max_length here: a too long nickname or note gets the page's own message (clean_text), not JSON
FormText = Annotated[str, Form()]
TEACHER_COOKIE = "stepwise_class_"  # + the class code; value: the teacher key


def records(request: Request) -> ClassRecords:
    table: ClassRecords = request.app.state.classes
    return table


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status)
    return response


def missing(request: Request, typed: str, what: str) -> HTMLResponse:
    why = (N_("Codes are 8 letters and digits, like K7Q2-9FXA (there is no 0, O, 1, I, L, U or V in them).")
           if normalize(typed) is None else
           N_("Check the code on the board, or ask for the link again: this server has no such code."))
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
        return missing(request, code, N_("presented run"))
    return RedirectResponse(f"/?{urlencode({'session': session_id, 'live': spelled(canonical or '')})}",
                            status_code=303)


async def present_target(request: Request, typed: str) -> str | None:
    code = normalize(typed)
    return f"/p/{spelled(code)}" if code and await records(request).presented(code) else None


def add_classes(app: Any, store: Any) -> None:
    app.state.classes = ClassRecords(store)
    app.state.code_resolvers.extend([present_target, class_target])
    app.state.joins = Attempts(JOINS_PER_MINUTE)
    app.state.wrong_codes = Attempts(WRONG_PER_MINUTE)


# ---- classes -----------------------------------------------------------------------------------------

DASHBOARD_SECONDS = 1.0  # one update of every tile a second
JOINS_PER_MINUTE = 180  # per address: 60 students behind one school address, each retrying twice
WRONG_PER_MINUTE = 20  # unknown codes and wrong teacher keys per address


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _class_or_page(request: Request, code: str) -> tuple[Any, HTMLResponse | None]:
    canonical = normalize(code)
    room = await records(request).get_class(canonical) if canonical else None
    if room is None:
        if not request.app.state.wrong_codes.allow(_client(request)):
            return None, render(request, "code_missing.html", {
                "typed": code[:20], "what": N_("class"),
                "why": N_("Too many wrong codes from this address: wait a minute, then try again.")}, 429)
        return None, missing(request, code, N_("class"))
    return room, None


async def _teacher_room(request: Request, code: str) -> Any:
    """The class if this browser holds its teacher key, else a SessionError (404 unknown, 403 not teacher)."""
    canonical = normalize(code)
    room = await records(request).get_class(canonical) if canonical else None
    if room is None:
        raise SessionError(404, {"field": "code", "message": N_("no class has this code")})
    if not ClassRecords.is_teacher(room, request.cookies.get(TEACHER_COOKIE + room.code)):
        raise SessionError(403, {"field": "teacher_key", "message": N_(
            "only the class's teacher sees this; open the class with its teacher key first")})
    return room


def _remember_teacher(request: Request, response: Response, room: Any, key: str) -> None:
    response.set_cookie(TEACHER_COOKIE + room.code, key, max_age=400 * 86_400, path="/", httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")


@router.get("/class", response_class=HTMLResponse, include_in_schema=False)
async def new_class_page(request: Request) -> HTMLResponse:
    return render(request, "class_new.html", {})


@router.post("/class", response_class=HTMLResponse, include_in_schema=False)
async def create_class(request: Request, name: FormText = "") -> HTMLResponse:
    if not request.app.state.joins.allow(_client(request)):
        return render(request, "class_new.html", {"error": gettext(
            "Too many classes made from this address in a minute: wait a moment.")}, 429)
    try:
        title = clean_text(name, "name", CLASS_NAME_MAX, required=False) or gettext("My class")
    except SetupError as error:
        return render(request, "class_new.html", {"error": f"{error.field}: {said(error)}"}, 422)
    room, key = await records(request).create_class(title)
    response = render(request, "class_created.html", {"room": room, "code": spelled(room.code), "key": key,
                                                      "base": str(request.base_url).rstrip("/")}, 201)
    _remember_teacher(request, response, room, key)
    return response


@router.get("/class/{code}", response_class=HTMLResponse, include_in_schema=False)
async def dashboard(code: str, request: Request) -> HTMLResponse:
    room, refused = await _class_or_page(request, code)
    if refused is not None:
        return refused
    if not ClassRecords.is_teacher(room, request.cookies.get(TEACHER_COOKIE + room.code)):
        return render(request, "class_key.html", {"code": spelled(room.code), "room": room})
    hand_ins = [hand_in_row(item) for item in await records(request).hand_ins(room)]
    return render(request, "dashboard.html", {"room": room, "code": spelled(room.code), "hand_ins": hand_ins,
                                               "base": str(request.base_url).rstrip("/")})


@router.post("/class/{code}/key", include_in_schema=False)
async def teacher_key(code: str, request: Request, key: FormText = "") -> Response:
    """The teacher key typed on another computer: this browser becomes the class's teacher too."""
    room, refused = await _class_or_page(request, code)
    if refused is not None:
        return refused
    allowed = request.app.state.wrong_codes.allow(_client(request))
    if not allowed or not ClassRecords.is_teacher(room, key.strip()):
        error = gettext("That is not this class's teacher key (or too many tries from this address: wait a "
                        "minute).")
        context = {"code": spelled(room.code), "room": room, "error": error}
        return render(request, "class_key.html", context, 403)
    response = RedirectResponse(f"/class/{spelled(room.code)}", status_code=303)
    _remember_teacher(request, response, room, key.strip())
    return response


@router.post("/class/{code}/present/{student}", response_class=HTMLResponse, include_in_schema=False)
async def present_student(code: str, student: str, request: Request) -> HTMLResponse:
    """A tile clicked: that student's run is what the class's "watch" link shows now."""
    room = await _teacher_room(request, code)
    member = await records(request).member(room, student[:40])
    if member is None:
        raise SessionError(404, {"field": "student", "message": N_("no such student in this class")})
    room.presenting = member.session
    await records(request).save_class(room)
    words = gettext("presenting %(nickname)s's run") % {"nickname": member.nickname}
    return HTMLResponse(f'<span id="presenting-now">{escape(words)}</span>')


@router.get("/class/{code}/results.csv", include_in_schema=False)
async def results(code: str, request: Request) -> Response:
    room = await _teacher_room(request, code)
    text = await results_csv(request.app.state.sessions, records(request), room,
                             request.app.state.remote_tiles, request.app.state.lesson_summaries)
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="stepwise-class-{spelled(room.code)}.csv"'})


@router.get("/class/{code}/stream", include_in_schema=False)
async def dashboard_stream(code: str, request: Request) -> EventSourceResponse:
    """One stream for every tile (browsers allow 6 connections per origin): a "tiles" event about once a
    second with every student's figures, and "handins" when one arrived."""
    room = await _teacher_room(request, code)
    sessions = request.app.state.sessions
    release, refusal = sessions.streams.take(_client(request))
    if release is None:
        assert refusal is not None  # take() names the cap it refused at
        raise SessionError(429, refusal, limit=refusal["limit"])

    async def events() -> AsyncIterator[ServerSentEvent]:
        sent_maps: dict[str, int] = {}
        handed = -1
        try:
            while not await request.is_disconnected():
                members = await records(request).members(room)
                tiles = await all_tiles(sessions, members[:MAX_MEMBERS], sent_maps,
                                        request.app.state.remote_tiles,
                                        lessons=request.app.state.lesson_summaries)
                yield ServerSentEvent(json.dumps({"tiles": tiles}, allow_nan=False), event="tiles")
                hand_ins = await records(request).hand_ins(room)
                if len(hand_ins) != handed:
                    handed = len(hand_ins)
                    rows = [hand_in_row(item) for item in hand_ins]
                    yield ServerSentEvent(json.dumps({"handins": rows}, allow_nan=False), event="handins")
                await asyncio.sleep(DASHBOARD_SECONDS)
        finally:
            release()

    return EventSourceResponse(events(), background=BackgroundTask(release), ping=15,
                               headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


# ---- students ----------------------------------------------------------------------------------------

@router.get("/c/{code}", response_class=HTMLResponse, include_in_schema=False)
async def join_page(code: str, request: Request) -> Response:
    room, refused = await _class_or_page(request, code)
    if refused is not None:
        return refused
    key = presented_key(request)
    member = await records(request).member(room, student_of(key)) if key else None
    if member is not None:
        await records(request).back_in(room, member.student)  # a student of several classes: this one now
        return RedirectResponse(f"/?{urlencode({'session': member.session})}", status_code=303)
    return render(request, "class_join.html", {"room": room, "code": spelled(room.code),
                                               "nickname_max": NICKNAME_MAX})


@router.post("/c/{code}/join", include_in_schema=False)
async def join(code: str, request: Request, nickname: FormText = "") -> Response:
    room, refused = await _class_or_page(request, code)
    if refused is not None:
        return refused
    context = {"room": room, "code": spelled(room.code), "nickname_max": NICKNAME_MAX, "typed": nickname[:40]}
    if not request.app.state.joins.allow(_client(request)):
        return render(request, "class_join.html", {**context, "error": gettext(
            "Too many joins from this address in a minute: wait a moment and press join again.")}, 429)
    try:
        name = clean_text(nickname, "nickname", NICKNAME_MAX, required=True)
    except SetupError as error:
        reason = f"{error.field}: {said(error)}"
        said_here = gettext("Nickname not taken: %(reason)s") % {"reason": reason}
        return render(request, "class_join.html", {**context, "error": said_here}, 422)
    members = await records(request).members(room)
    if len(members) >= MAX_MEMBERS:
        return render(request, "class_join.html", {**context, "error": gettext("This class is full.")}, 409)
    key = await key_for_new_run(request)
    student = student_of(key)
    existing = await records(request).member(room, student)
    answer = RedirectResponse("/", status_code=303)
    if existing is None:
        config, _ = setup_from_query({})  # everyone starts from the default setup
        session = await create_owned(request, answer, lambda: convert.built(config), key)
        await records(request).join(room, student, name, session.id)
        session_id = session.id
    else:
        session_id = existing.session
        await records(request).back_in(room, student)
    answer.headers["location"] = f"/?{urlencode({'session': session_id})}"
    return answer


@router.get("/c/{code}/watch", response_class=HTMLResponse, include_in_schema=False)
async def watch(code: str, request: Request) -> Response:
    """The run the teacher presents to the class now (read-only, live), or a page saying there is none."""
    room, refused = await _class_or_page(request, code)
    if refused is not None:
        return refused
    if room.presenting is None:
        return render(request, "class_join.html", {"room": room, "code": spelled(room.code),
                                                   "nickname_max": NICKNAME_MAX, "not_presenting": True})
    return RedirectResponse(f"/?{urlencode({'session': room.presenting, 'live': spelled(room.code)})}",
                            status_code=303)


@router.get("/ui/{session_id}/classbar", response_class=HTMLResponse, include_in_schema=False)
async def class_bar(session_id: str, request: Request) -> HTMLResponse:
    """The student's class strip above the playground (hand in, watch the teacher); empty for a run that
    is not a class member's own or for someone else's."""
    found = await records(request).member_of_run(session_id)
    if found is None or not await is_owner(request, session_id):
        return HTMLResponse("")
    room, member = found
    return render(request, "partials/classbar.html", {"room": room, "code": spelled(room.code),
                                                      "member": member, "sid": session_id,
                                                      "note_max": NOTE_MAX})


@router.post("/ui/{session_id}/handin", response_class=HTMLResponse, include_in_schema=False,
             dependencies=[OwnerOnly])
async def hand_in(s: Current, request: Request, note: FormText = "") -> HTMLResponse:
    found = await records(request).member_of_run(s.id)
    if found is None:
        words = escape(gettext("This run is not part of a class."))
        return HTMLResponse(f'<span class="error-text">{words}</span>', status_code=409)
    room, member = found
    try:
        text = clean_text(note, "note", NOTE_MAX, required=False)
    except SetupError as error:
        words = gettext("Not handed in: %(reason)s") % {"reason": f"{error.field}: {said(error)}"}
        return HTMLResponse(f'<span class="error-text">{escape(words)}</span>', status_code=422)
    sessions = request.app.state.sessions
    document = await sessions.read(s, convert.export_document)
    snapshot = await request.app.state.snapshots.store(document, View())
    figures = {key: value for key, value in (await tile(sessions, member, {"": 0})).items()
               if key in ("epoch", "train_loss", "test_loss", "train_accuracy", "test_accuracy", "setup")}
    item = HandIn(member.student, member.nickname, text, spelled(snapshot), time.time(), figures)
    await records(request).hand_in(room, item)
    words = gettext("Handed in at %(time)s (snapshot %(code)s).") % {
        "time": time.strftime("%H:%M", time.localtime(item.at)), "code": spelled(snapshot)}
    return HTMLResponse(f'<span id="handed-in">{escape(words)}</span>')


async def class_target(request: Request, typed: str) -> str | None:
    code = normalize(typed)
    return f"/c/{spelled(code)}" if code and await records(request).get_class(code) else None
