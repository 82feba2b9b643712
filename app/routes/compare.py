"""Compare runs (app/compare.py): pin a run and start a copy from the same data and initial weights, then
/compare/{id} shows every run of the comparison: loss curves overlaid, boundaries side by side, a table.

Which runs a comparison holds is kept in the store (app/comparisons.py), so any process serves its page;
each run is read where it is (app/compare.py `StoredRuns`: live here, else the store's copy), never pulled
over from the process that holds it."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app import compare
from app.classes import ClassRecords
from app.comparisons import Comparisons
from app.i18n import N_, ngettext
from app.ownership import OwnerOnly, create_owned, key_for_new_run
from app.progress import ProgressBook
from app.refusals import detail_said
from app.routes.api import Current, Manager
from app.sessions import SessionError, SessionManager

router = APIRouter(tags=["compare"], include_in_schema=False)


def comparisons(request: Request) -> Comparisons:
    found: Comparisons = request.app.state.comparisons
    return found


@router.post("/ui/{session_id}/compare/pin", dependencies=[OwnerOnly])
async def pin(request: Request, s: Current, sessions: Manager) -> Response:
    """Pin this run (run 1 of a new comparison, or its place in the one it is in) and start a copy of it
    from epoch 0: same setup, data and initial weights. The browser goes to the copy, where the student
    changes one thing; a lesson followed here carries on there. 409 when the comparison holds 4 runs."""
    found = await comparisons(request).pin(s.id)
    if len(found.sessions) >= compare.MAX_RUNS:
        raise SessionError(409, {"field": "compare", "message": N_(
            "a comparison holds up to {runs} runs; open it and compare these")}, runs=compare.MAX_RUNS)
    copy = await sessions.read(s, compare.copy_from_start)
    answer = Response(status_code=204)
    made = await create_owned(request, answer, lambda: copy, await key_for_new_run(request))
    await comparisons(request).add(found, made.id)
    progress_book: ProgressBook = request.app.state.lesson_progress
    followed = await progress_book.get(s.id)
    if followed is not None:
        await progress_book.start(made.id, followed.slug, like=followed)
    classes: ClassRecords = request.app.state.classes
    await classes.carry_on(s.id, made.id)  # a class member's tile follows them to the copy
    answer.headers["HX-Redirect"] = f"/?{urlencode({'session': made.id})}"
    return answer


@router.get("/ui/{session_id}/compare", response_class=HTMLResponse)
async def link(request: Request, session_id: str) -> HTMLResponse:
    """A link to this run's comparison, or nothing when it is in none."""
    found = await comparisons(request).of(session_id)
    if found is None:
        return HTMLResponse("")
    words = ngettext("compare %(num)d run", "compare %(num)d runs", len(found.sessions)) % {
        "num": len(found.sessions)}
    return HTMLResponse(f'<a class="button small" id="compare-link" href="/compare/{found.id}">'
                        f'{escape(words)}</a>')


async def _context(request: Request, comparison_id: str) -> dict[str, Any]:
    found = await comparisons(request).get(comparison_id[:40])
    if found is None:
        raise SessionError(404, {"field": "comparison", "message": N_("no such comparison")})
    sessions: SessionManager = request.app.state.sessions
    reader: compare.StoredRuns = request.app.state.compared_runs
    measured = []
    for session_id in found.sessions[:compare.MAX_RUNS]:
        seen = await reader.measured(sessions, session_id)
        if seen is not None:  # None: a run that was deleted or pruned; the others are still compared
            measured.append((session_id, seen))
    if not measured:
        raise SessionError(404, {"field": "comparison",
                                 "message": N_("the runs of this comparison have expired")})
    return {"cid": found.id, "gone": len(found.sessions[:compare.MAX_RUNS]) - len(measured),
            "max_runs": compare.MAX_RUNS, **compare.view(measured)}


@router.get("/compare/{comparison_id}", response_class=HTMLResponse)
async def page(request: Request, comparison_id: str) -> HTMLResponse:
    """The comparison's page; a link to one that is gone (never made, or its runs expired) is a page
    saying so in the reader's words, not the API's JSON."""
    templates = request.app.state.templates
    try:
        context = {**await _context(request, comparison_id), "active_page": "compare"}
    except SessionError as error:
        reason = detail_said(error)
        missing: HTMLResponse = templates.TemplateResponse(
            request, "compare_missing.html", {"reason": reason["message"], "active_page": "compare"},
            status_code=error.status_code)
        return missing
    response: HTMLResponse = templates.TemplateResponse(request, "compare.html", context)
    return response


@router.get("/compare/{comparison_id}/body", response_class=HTMLResponse)
async def body(request: Request, comparison_id: str) -> HTMLResponse:
    """The comparison now (the page fetches it every 2 s while runs train)."""
    context = await _context(request, comparison_id)
    html = request.app.state.templates.get_template("partials/compare_body.html").render(context)
    return HTMLResponse(html)
