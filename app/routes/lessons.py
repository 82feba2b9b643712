"""Lessons in the page: the list (/lessons), uploading a lesson file, opening one as a run, and the player
panel beside the network (/ui/{sid}/lesson...): step list, "Set up for me", the current task and its check.

The lessons come from app/lesson_shelf.py (lessons/ loaded at startup, uploaded ones read from the store on
every request, so every process behind the proxy has them); checks from app/tasks.py,
always on the server, from the run as it is when the student presses Check. Progress is kept with the
run (app/progress.py). The playground around the panel is the normal one and stays fully live.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app import convert, curve_view, lessons, tasks
from app.classes import ClassRecords
from app.i18n import N_, gettext, said
from app.lesson_shelf import MAX_UPLOADED, LessonShelf
from app.lessons import Lesson, LessonError, Library
from app.ownership import OwnerOnly, create_owned, is_owner, key_for_new_run, presented_key
from app.progress import Progress, ProgressBook
from app.routes.api import Current, Manager
from app.routes.pages import render_page
from app.schemas import ConfigPatch
from app.sessions import Session, SessionError, SessionManager
from app.settings import Settings
from app.store import RecordStore
from app.urlstate import setup_query
from engine.errors import SetupError
from engine.stepper import Run

router = APIRouter(tags=["lessons"], include_in_schema=False)

OLD_UPLOADS = "lessons"  # under the data dir: where an older version kept uploaded lessons as files


def add_lessons(app: Any, settings: Settings, store: RecordStore) -> None:
    """The lessons: lessons/ (a refused file is listed on /lessons with its line) and the uploaded ones in
    the store (app/lesson_shelf.py); progress kept with each run in the store's records, and the class
    dashboard's view of that progress."""
    shelf = LessonShelf(lessons.load_dir(settings.lessons_dir), store)
    shelf.adopt_folder(settings.data_dir / OLD_UPLOADS)
    app.state.lesson_shelf = shelf
    app.state.lesson_progress = book = ProgressBook(store)

    async def summaries(session_ids: list[str]) -> dict[str, dict[str, Any]]:
        return await book.summaries(session_ids, shelf.lesson)

    app.state.lesson_summaries = summaries


def shelf(request: Request) -> LessonShelf:
    found: LessonShelf = request.app.state.lesson_shelf
    return found


async def library(request: Request) -> Library:
    """Every lesson now, the uploaded ones read from the store (whichever process uploaded them)."""
    return await shelf(request).library()


def book(request: Request) -> ProgressBook:
    found: ProgressBook = request.app.state.lesson_progress
    return found


def _fragment(text: str, status: int, css: str = "error-text") -> HTMLResponse:
    return HTMLResponse(f'<span class="{css}" role="status">{escape(text)}</span>', status_code=status)


def file_refusal(error: LessonError) -> str:
    """A refused lesson file in the reader's language: "file, line 8: reason" (the reason's template
    translated, then its own values: the field path as the author wrote it, the same numbers)."""
    if error.line is None:
        return gettext("{file}: {reason}").format(file=error.file, reason=said(error))
    return gettext("{file}, line {line}: {reason}").format(file=error.file, line=error.line,
                                                           reason=said(error))


def _render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.TemplateResponse(request, template, context,
                                                                          status_code=status)
    return response


@router.get("/lessons", response_class=HTMLResponse)
async def lesson_list(request: Request) -> HTMLResponse:
    """Every lesson in order, the files refused at startup (file, line, reason) and the upload form."""
    found = await library(request)
    return _render(request, "lessons.html", {"lessons": found.ordered(), "refused": found.refused,
                                             "max_kb": lessons.MAX_LESSON_BYTES // 1024,
                                             "active_page": "lessons"})


@router.post("/lessons/upload", response_class=HTMLResponse)
async def upload(request: Request, file: UploadFile) -> Response:
    """A teacher's lesson file, checked as the ones loaded at startup: 413 when too large, 422 with the
    file's name, line and reason when invalid, 409 when the name is taken; 201 with a link when added."""
    name = file.filename or "lesson.yaml"
    data = await file.read(lessons.MAX_LESSON_BYTES + 1)
    if len(data) > lessons.MAX_LESSON_BYTES:
        too_big = gettext("Not added: {name} is larger than {kb} kB.")
        return _fragment(too_big.format(name=name, kb=lessons.MAX_LESSON_BYTES // 1024), 413)
    try:
        slug = lessons.slug_for(name)
        lesson = lessons.parse(data, name)
    except LessonError as error:
        return _fragment(gettext("Not added: {reason}").format(reason=file_refusal(error)), 422)
    except SetupError as error:  # the file's name
        return _fragment(gettext("Not added: {name}: {reason}").format(name=name, reason=said(error)), 422)
    taken = _fragment(gettext("Not added: a lesson named {slug} exists already; rename the file.")
                      .format(slug=slug), 409)
    if await shelf(request).lesson(slug) is not None:
        return taken
    if await shelf(request).count_uploaded() >= MAX_UPLOADED:
        full = gettext("Not added: this server holds at most {n} uploaded lessons.")
        return _fragment(full.format(n=MAX_UPLOADED), 409)
    if not await shelf(request).add(slug, data.decode("utf-8")):  # parse() has checked it is UTF-8
        return taken  # taken meanwhile (another process), or a refused file of that name is kept
    added = escape(gettext("Added:"))  # the title as the teacher wrote it
    return HTMLResponse(f'<span class="ok-text" role="status">{added} <a href="/lessons/{escape(slug)}">'
                        f'{escape(lesson.title)}</a></span>', status_code=201)


@router.get("/lessons/{slug}")
async def open_lesson(request: Request, slug: str, sessions: Manager) -> Response:
    """A new run set up as the lesson's first step, with the lesson's panel; the browser goes to it.
    An unknown lesson: the list, 404, saying so."""
    lesson = await shelf(request).lesson(slug)
    if lesson is None:
        found = await library(request)
        return _render(request, "lessons.html", {"lessons": found.ordered(), "refused": found.refused,
                                                 "max_kb": lessons.MAX_LESSON_BYTES // 1024,
                                                 "missing": gettext("There is no lesson named “{name}”.")
                                                 .format(name=slug[:60]),
                                                 "active_page": "lessons"}, status=404)
    setup = lessons.step_setup(lesson, 0)
    convert.check_caps(setup, sessions.settings)
    redirect = RedirectResponse("/", status_code=303)
    made = await create_owned(request, redirect, lambda: convert.built(setup), await key_for_new_run(request))
    await book(request).start(made.id, slug)
    # a student in a class does the lesson as a class member: the teacher's dashboard follows this run
    classes: ClassRecords = request.app.state.classes
    await classes.follow_student(presented_key(request), made.id)
    redirect.headers["location"] = f"/?{setup_query(setup)}&{urlencode({'session': made.id})}"
    return redirect


async def _progress(request: Request, session_id: str) -> tuple[Lesson, Progress] | None:
    progress = await book(request).get(session_id)
    if progress is None:
        return None
    lesson = await shelf(request).lesson(progress.slug)
    return (lesson, progress) if lesson is not None else None


async def _panel(request: Request, session: Session, lesson: Lesson, progress: Progress, *, oob: bool = False,
                 verdict: tasks.Verdict | None = None) -> HTMLResponse:
    """The panel for the lesson's current step; with the 1-D view when the run's data is a curve."""
    step = lesson.steps[progress.step]
    task = step.task
    sessions: SessionManager = request.app.state.sessions
    sid = session.id
    context = {"sid": sid, "curve": await sessions.read(session, curve_view.shows_curve), "lesson": lesson,
               "panels": lessons.PANELS, "progress": progress, "step": step,
               "task": task,
               "index": progress.step, "count": len(lesson.steps), "verdict": verdict, "oob": oob,
               "tasks_total": sum(1 for s in lesson.steps if s.task is not None),
               "kind": task.kind if task is not None else None}
    return _render(request, "partials/lesson.html", context)


@router.get("/ui/{session_id}/lesson", response_class=HTMLResponse)
async def panel(request: Request, session_id: str) -> HTMLResponse:
    """The lesson panel of this run, or nothing (a run without a lesson, or someone else's)."""
    found = await _progress(request, session_id)
    if found is None or not await is_owner(request, session_id):
        return HTMLResponse("")
    sessions: SessionManager = request.app.state.sessions
    return await _panel(request, await sessions.get(session_id), *found)


async def _owned_progress(request: Request, session_id: str) -> tuple[Lesson, Progress]:
    found = await _progress(request, session_id)
    if found is None:
        raise SessionError(409, {"field": "lesson", "message": N_("this run is not following a lesson")})
    return found


@router.post("/ui/{session_id}/lesson/step", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def go_to_step(request: Request, s: Current, step: Annotated[int, Form(ge=1, le=lessons.MAX_STEPS)]
                     ) -> HTMLResponse:
    """Show step `step` (counted from 1) of the lesson; the run is not touched."""
    lesson, progress = await _owned_progress(request, s.id)
    if step > len(lesson.steps):
        raise SessionError(422, {"field": "step", "message": N_("this lesson has {steps} steps")},
                           steps=len(lesson.steps))
    progress.step = step - 1
    await book(request).save(s.id, progress)
    return await _panel(request, s, lesson, progress)


@router.post("/ui/{session_id}/lesson/setup", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def set_up(request: Request, s: Current, sessions: Manager) -> Response:
    """"Set up for me": the current step's whole setup (the lesson's, with the step's own over it) becomes
    the run's, from a fresh start; answered with the page (the panel stays, it is outside #page)."""
    lesson, progress = await _owned_progress(request, s.id)
    setup = lessons.step_setup(lesson, progress.step)
    patch = ConfigPatch.model_validate(setup.model_dump())
    await sessions.pause(s)
    await sessions.replace(s, lambda run: convert.rebuilt(run, patch, sessions.settings))
    page = await render_page(request, sessions, s)
    # the panel comes along out of band: a curve dataset brings the 1-D view into it, another takes it away
    panel_html = (await _panel(request, s, lesson, progress, oob=True)).body
    response = HTMLResponse(bytes(page.body) + bytes(panel_html))
    response.headers["HX-Replace-Url"] = page.headers["HX-Replace-Url"]
    response.headers["HX-Retarget"] = "#page"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


@router.post("/ui/{session_id}/lesson/check", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def check(request: Request, s: Current, sessions: Manager,
                answer: Annotated[str, Form(max_length=200)] = "") -> HTMLResponse:
    """Check the current step's task against the run as it is now; the whole panel comes back with the
    verdict (a solved step is ticked in the step list). 422 when the answer cannot be read."""
    lesson, progress = await _owned_progress(request, s.id)
    task = lesson.steps[progress.step].task
    if task is None:
        raise SessionError(409, {"field": "answer", "message": N_("this step has no task to check")})
    try:
        verdict = await sessions.read(s, lambda run: tasks.check(task, run, answer))
    except tasks.AnswerError as error:
        return _fragment(gettext("Not checked: {reason}").format(reason=said(error)), 422)
    progress.attempt(progress.step, verdict.solved)
    await book(request).save(s.id, progress)
    return await _panel(request, s, lesson, progress, verdict=verdict)


@router.get("/ui/{session_id}/curve", response_class=HTMLResponse)
async def curve(request: Request, s: Current, sessions: Manager) -> HTMLResponse:
    """The 1-D regression view of the run (engine/curve.py), or nothing when its data is not a curve."""
    def look(run: Run) -> dict[str, Any] | None:
        return curve_view.curve_context(run) if curve_view.shows_curve(run) else None
    shown = await sessions.read(s, look)
    return _render(request, "partials/lesson_curve.html", {"sid": s.id, "curve": shown})
