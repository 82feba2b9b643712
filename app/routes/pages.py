"""HTML pages and htmx fragments of the playground: thin handlers that call the session manager and render.

The routes take the JSON API's dependencies (app/routes/api.py: `Manager`, `Current`) and FastAPI form
models. The first paint and every fragment come from the same templates (index.html's `page` block and
the partials), so they cannot drift apart. A refusal is raised, never answered here: `refused`, the one
handler for /ui paths, answers it as a 4xx fragment that htmx 4 swaps next to the control that sent it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2_fragments.fastapi import Jinja2Blocks
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException

from app import convert, views
from app.i18n import N_, gettext
from app.inspector import PLAYING
from app.limits import advance_within
from app.ownership import OwnerOnly, create_owned, is_owner, key_for_new_run
from app.presentation import Presentation
from app.refusals import refusal
from app.routes.api import Current, Manager
from app.schemas import ConfigPatch, PlayRequest, PointAdd, SessionCreate, StepUnit, WeightEdit
from app.sessions import Session, SessionError, SessionManager
from app.setupform import SetupForm, fitting_output_unit, setup_patch
from app.urlstate import setup_from_query, setup_query, view_from_query, view_query
from engine import vocabulary
from engine.stepper import Run

# HTML for the browser, not an API: kept out of the OpenAPI schema (/docs documents the JSON API only).
router = APIRouter(tags=["pages"], include_in_schema=False)

LIVE_UNITS = ("micro", "sample")  # playing by these, the inspector follows each event's formula
NOTHING_BEFORE = N_("Nothing to go back to: this is the start of the run, or the oldest point the history "
                    "keeps.")
# How a refusal of each route begins; the rest names the field and says why (app/refusals.py).
REFUSED_PREFIX = {
    "config": N_("Not changed"), "add_layer": N_("Not changed"), "remove_layer": N_("Not changed"),
    "change_units": N_("Not changed"), "add_point": N_("Point not added"),
    "remove_point": N_("Point not removed"),
    "import_run": N_("Not imported"), "edit_weight": N_("Weight not changed"),
}


async def templates(request: Request) -> Jinja2Blocks:
    jinja: Jinja2Blocks = request.app.state.templates
    return jinja


Templates = Annotated[Jinja2Blocks, Depends(templates)]


class StepForm(BaseModel):
    """The step and back buttons post the step unit (#step-unit): one stop of it."""

    unit: StepUnit = "micro"


class PointRemoveForm(BaseModel):
    """The index of the clicked point in the data (= the API's DELETE .../data/points/{index})."""

    index: int = Field(ge=0)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _error(text: str, status: int, field: str | None = None) -> Response:
    named = f' data-field="{escape(field)}"' if field else ""
    return HTMLResponse(f'<span class="error-text"{named}>{escape(text)}</span>', status_code=status)


def _view(request: Request, session: Session) -> dict[str, str]:
    """The view settings to render: the page's URL holds them (stepwise.js writes each change there;
    htmx sends it as HX-Current-URL with every fragment request), a full load has them in its own query.
    While the run plays, the step unit and speed are the play's own: the page shows what the server does."""
    current = request.headers.get("hx-current-url")
    query = dict(parse_qsl(urlsplit(current).query)) if current else dict(request.query_params)
    view = view_from_query(query)
    if session.playing:
        view["step"] = session.play_unit or view["step"]
        if float(session.play_speed).is_integer():
            view["speed"] = str(int(session.play_speed))
    return view


async def render_page(request: Request, sessions: SessionManager, session: Session, *, block: bool = True,
                       extra: dict[str, Any] | None = None, view: dict[str, str] | None = None) -> Response:
    """The whole page (`block=False`) or its #page block, and the page's own URL for the address bar
    (the setup, the view settings that are not the defaults, the session)."""
    def build(run: Run) -> dict[str, Any]:
        query = setup_query(SessionCreate.model_validate(convert.config_dict(run)))
        return views.page_context(run, session.id, playing=session.playing, share_query=query)

    # a page re-drawn while playing (a live η change) shows the inspector play shows, not a formula or
    # "3 epochs done" of the moment it was drawn while the counters run on
    context = {**_while_playing(await sessions.read(session, build), session), **(extra or {})}
    context["view"] = {**_view(request, session), **(view or {})}
    presentation = Presentation.of_request(request)  # projector view and hidden controls
    context.update(presentation.context())
    shown = view_query(context["view"])
    here = (f"{context['share_url']}{'&' + shown if shown else ''}"
            f"&{urlencode({'session': context['sid']})}")
    context["view_toggle_url"] = here + presentation.toggled().suffix()
    context["share_url"] += presentation.suffix()  # "link to setup" opens the students' copies the same way
    jinja: Jinja2Blocks = request.app.state.templates
    response = jinja.TemplateResponse(request, "index.html", context, block_name="page" if block else None)
    response.headers["HX-Replace-Url"] = here + presentation.suffix()
    return response


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, sessions: Manager, session: str | None = None) -> Response:
    """`?session=ID` continues that run (after a reload or a server restart); otherwise a new session is
    made from the setup in the query string and the browser is sent to its own URL."""
    if session:
        try:
            found = await sessions.get(session)
            # someone else's run (a shared address): watch it, read-only, with "make my own copy"; a
            # shared run opens in the view it was shared with
            extra = {"readonly": not await is_owner(request, found.id)}
            return await render_page(request, sessions, found, block=False, extra=extra)
        except SessionError:
            pass  # unknown (or expired and unsaved) session: start a new one with the same setup
    config, problem = setup_from_query(request.query_params)
    if problem is not None:  # say what the link asked for; never build something else silently
        return _refused_link(request, problem)
    try:
        convert.check_caps(config, sessions.settings)
    except SessionError as error:
        said = refusal(error)
        return _refused_link(request, f"This link's setup cannot be built: {said.text}.")
    redirect = RedirectResponse("/", status_code=303)
    try:
        key = await key_for_new_run(request)
        made = await create_owned(request, redirect, lambda: convert.built(config), key)
    except (SessionError, ValueError) as error:  # the engine's refusals name their field
        if isinstance(error, SessionError) and error.status_code != 422:
            raise
        return _refused_setup(request, config, error)
    shown = view_query(view_from_query(request.query_params))
    redirect.headers["location"] = (f"/?{setup_query(config)}{'&' + shown if shown else ''}"
                                    f"&{urlencode({'session': made.id})}"
                                    f"{Presentation.of_request(request).suffix()}")
    return redirect


def _refused_link(request: Request, message: str) -> Response:
    """A link with a value the setup cannot take: a 422 page saying which and why, and a way on."""
    jinja: Jinja2Blocks = request.app.state.templates
    return jinja.TemplateResponse(request, "index.html", {"refused": message}, status_code=422)


def _refused_setup(request: Request, config: SessionCreate, error: SessionError | ValueError) -> Response:
    """A link whose setup the engine refuses (say tanh_mse on regression data, or a batch larger than
    the training set): a 422 page saying why, with a link to the same setup on an output unit that fits
    the data when that was the problem, and one to the defaults."""
    said = refusal(error)
    message = said.text
    fitted = fitting_output_unit(config.output_unit, "", config.dataset.name)
    retry = (f"/?{setup_query(config.model_copy(update={'output_unit': fitted}))}"
             if said.field == "output_unit" and fitted != config.output_unit else None)
    jinja: Jinja2Blocks = request.app.state.templates
    return jinja.TemplateResponse(
        request, "index.html",
        {"refused": message, "retry_url": retry,
         "retry_title": vocabulary.OUTPUT_UNITS[fitted].title if fitted in vocabulary.OUTPUT_UNITS else None},
        status_code=422)


async def _inspector(jinja: Jinja2Blocks, sessions: SessionManager, session: Session, *,
                     error: str | None = None, paused: bool = False, status: int = 200) -> Response:
    """The inspector fragment; `paused`: a step stopped play, so the play button comes along out of band."""
    # a full disk: the step is shown and "not saved" said
    context = {**await sessions.read(session, views.inspector_context), "sid": session.id,
               "error": error or (gettext(session.save_error) if session.save_error else None)}
    html = jinja.get_template("partials/inspector.html").render(context)
    if paused:
        html += jinja.get_template("partials/play_button.html").render(
            {"sid": session.id, "playing": False, "oob": True})
    return HTMLResponse(html, status_code=status)


async def _paused(sessions: SessionManager, session: Session) -> bool:
    """Pause the session if it was playing (a step or back by hand stops play); whether it was."""
    was_playing = session.playing
    if was_playing:
        await sessions.pause(session)
    return was_playing


@router.post("/ui/{session_id}/step", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def step(form: Annotated[StepForm, Form()], s: Current, sessions: Manager,
               jinja: Templates) -> Response:
    was_playing = await _paused(sessions, s)
    budget = sessions.settings.step_budget_seconds
    # As the API's step: one stop of at most a batch is cheap enough to run inline on the event loop;
    # an epoch goes under the step budget (a huge one stops at a batch boundary).
    await sessions.call(s, lambda run: advance_within(run, form.unit, 1, budget), small=form.unit != "epoch")
    return await _inspector(jinja, sessions, s, paused=was_playing)


@router.post("/ui/{session_id}/back", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def back(form: Annotated[StepForm, Form()], s: Current, sessions: Manager,
               jinja: Templates) -> Response:
    was_playing = await _paused(sessions, s)
    stops = await sessions.call(s, lambda run: run.back(form.unit, 1))
    nothing = NOTHING_BEFORE if stops == 0 else None
    return await _inspector(jinja, sessions, s, paused=was_playing, error=nothing)


def _play_button(jinja: Jinja2Blocks, sid: str, playing: bool, since: int | None = None) -> str:
    """`since`: the step id play began after (its frames are newer), for the page's end-of-play check."""
    return str(jinja.get_template("partials/play_button.html").render(
        {"sid": sid, "playing": playing, "since": since}))


async def _inspector_while(sessions: SessionManager, s: Session) -> dict[str, Any]:
    """The inspector's context for the session as it is now: playing by micro-step or sample, the
    current event's formula marked `live` (the page fetches the next one as frames arrive); playing by
    batch or epoch, the words for play (a formula would be stale before it was read)."""
    return _while_playing({**await sessions.read(s, views.inspector_context), "sid": s.id}, s)


def _while_playing(context: dict[str, Any], s: Session) -> dict[str, Any]:
    """An inspector context as play shows it (see _inspector_while); unchanged while paused."""
    if s.playing and s.play_unit in LIVE_UNITS:
        context["live"] = True
    elif s.playing:
        context["inspector"], context["playing_words"] = PLAYING, True
    return context


async def _with_inspector(jinja: Jinja2Blocks, sessions: SessionManager, s: Session,
                          html: str) -> Response:
    """`html` plus the inspector out of band, so it never describes a state the run has left."""
    context = await _inspector_while(sessions, s)
    return HTMLResponse(html + jinja.get_template("partials/inspector.html").render({**context, "oob": True}))


@router.post("/ui/{session_id}/play", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def play(form: Annotated[PlayRequest, Form()], s: Current, sessions: Manager,
               jinja: Templates) -> Response:
    """While diverged the manager refuses (409): the button stays a play button, the message says why."""
    since = await sessions.play(s, form.unit, form.speed)
    return await _with_inspector(jinja, sessions, s, _play_button(jinja, s.id, True, since))


@router.get("/ui/{session_id}/charts", response_class=HTMLResponse)
async def charts(s: Current, sessions: Manager, jinja: Templates) -> Response:
    """The loss chart and the η plot now (stepwise.js fetches them as the run moves)."""
    context = await sessions.read(s, views.charts_view)
    return HTMLResponse(jinja.get_template("partials/charts.html").render(context))


@router.get("/ui/{session_id}/inspector", response_class=HTMLResponse)
async def inspector(s: Current, sessions: Manager, jinja: Templates) -> Response:
    """The inspector now (a live inspector fetches it after each newer frame: partials/inspector.html)."""
    context = await _inspector_while(sessions, s)
    return HTMLResponse(jinja.get_template("partials/inspector.html").render(context))


@router.post("/ui/{session_id}/pause", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def pause(s: Current, sessions: Manager, jinja: Templates) -> Response:
    """The play button, and the inspector out of band: it says where the run stopped."""
    await sessions.pause(s)
    return await _with_inspector(jinja, sessions, s, _play_button(jinja, s.id, False))


@router.post("/ui/{session_id}/reset", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def reset(request: Request, s: Current, sessions: Manager) -> Response:
    await sessions.pause(s)
    await sessions.call(s, lambda run: run.reset(None), arch=True)
    return await render_page(request, sessions, s)


async def _apply(request: Request, sessions: Manager, s: Session, patch_data: dict[str, Any]) -> Response:
    """Apply a config change (live or rebuilding, as the API decides) and re-render the page."""
    if patch_data:
        patch = ConfigPatch.model_validate(patch_data)
        if convert.patch_rebuilds(patch):
            await sessions.replace(s, lambda run: convert.rebuilt(run, patch, sessions.settings))
        else:
            await sessions.call(s, lambda run: convert.apply_live(run, patch))
    return await render_page(request, sessions, s)


@router.post("/ui/{session_id}/config", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def config(request: Request, form: Annotated[SetupForm, Form()], s: Current,
                 sessions: Manager) -> Response:
    """The whole setup form; only what differs from the run's config is patched."""
    current = await sessions.read(s, convert.config_dict)
    return await _apply(request, sessions, s, setup_patch(form, current))


async def _hidden_patch(request: Request, sessions: SessionManager, s: Session,
                        change: Callable[[list[dict[str, Any]]], object]) -> Response:
    # asdict keeps the RunConfig's tuple: a list so the change can append/pop.
    hidden = list((await sessions.read(s, convert.config_dict))["hidden"])
    change(hidden)
    if len(hidden) > views.PAGE_MAX_LAYERS or any(not 1 <= layer["units"] <= views.PAGE_MAX_UNITS
                                                   for layer in hidden):
        raise SessionError(422, {"field": "hidden", "message": N_(
            "The page offers up to {layers} hidden layers of {units} units.")},
            layers=views.PAGE_MAX_LAYERS, units=views.PAGE_MAX_UNITS)
    return await _apply(request, sessions, s, {"hidden": hidden})


@router.post("/ui/{session_id}/layers/add", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def add_layer(request: Request, s: Current, sessions: Manager) -> Response:
    def add(hidden: list[dict[str, Any]]) -> None:
        hidden.append(dict(hidden[-1]) if hidden else {"units": 4, "activation": "tanh"})
    return await _hidden_patch(request, sessions, s, add)


@router.post("/ui/{session_id}/layers/remove", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def remove_layer(request: Request, s: Current, sessions: Manager) -> Response:
    return await _hidden_patch(request, sessions, s, lambda hidden: hidden.pop() if hidden else None)


UNIT_CHANGES = {"add": 1, "remove": -1}


@router.post("/ui/{session_id}/layers/{layer}/units/{change}", response_class=HTMLResponse,
             dependencies=[OwnerOnly])
async def change_units(request: Request, layer: int, change: str, s: Current,
                       sessions: Manager) -> Response:
    if change not in UNIT_CHANGES:
        raise HTTPException(404, gettext("change must be add or remove"))

    def apply(hidden: list[dict[str, Any]]) -> None:
        if 1 <= layer <= len(hidden):
            hidden[layer - 1]["units"] += UNIT_CHANGES[change]
    return await _hidden_patch(request, sessions, s, apply)


@router.put("/ui/{session_id}/weight", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def edit_weight(edit: Annotated[WeightEdit, Form()], s: Current, sessions: Manager,
                      jinja: Templates) -> Response:
    """Click-to-edit on a link (input = its source unit) or a bias (input empty). A refusal answers the
    inspector with the reason in it (see `refused`)."""
    await sessions.call(s, lambda run: run.set_parameter(edit.layer, edit.unit, edit.input, edit.value))
    return await _inspector(jinja, sessions, s)


@router.post("/ui/{session_id}/regenerate", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def regenerate(request: Request, s: Current, sessions: Manager) -> Response:
    # the next seed, read under the same lock as the change; the network and play go on
    await sessions.call(s, lambda run: convert.regenerate(run, None), arch=True)
    return await render_page(request, sessions, s)


@router.post("/ui/{session_id}/points", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def add_point(request: Request, point: Annotated[PointAdd, Form()], s: Current,
                    sessions: Manager) -> Response:
    await sessions.replace(s, lambda run: convert.add_point(run, point, sessions.settings))
    return await render_page(request, sessions, s)


@router.post("/ui/{session_id}/points/remove", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def remove_point(request: Request, form: Annotated[PointRemoveForm, Form()], s: Current,
                       sessions: Manager) -> Response:
    """The page comes back still in remove mode, so several points can be clicked away in a row."""
    await sessions.replace(s, lambda run: convert.remove_point(run, form.index))
    # a removal was clicked in remove mode: the answer stays in it whatever the URL said
    return await render_page(request, sessions, s, view={"click": "remove"})


# ---- refusals ---------------------------------------------------------------------------------------------


async def refused(request: Request, error: Exception) -> Response:
    """The one answer to a refused /ui request: a 4xx fragment naming the field, which the control's
    `hx-status:4xx` swaps next to it. The weight editor's answer is the inspector with the reason in it."""
    said = refusal(error)
    endpoint = getattr(request.scope.get("endpoint"), "__name__", "")
    text = f"{gettext(REFUSED_PREFIX[endpoint])}: {said.text}" if endpoint in REFUSED_PREFIX else said.text
    if endpoint == "edit_weight" and said.status == 422:
        sessions: SessionManager = request.app.state.sessions
        session = await sessions.get(request.path_params["session_id"])
        return await _inspector(request.app.state.templates, sessions, session, error=text, status=422)
    return _error(text, said.status, said.field)


Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def _by_path(elsewhere: Handler | None) -> Handler:
    async def handle(request: Request, error: Exception) -> Response:
        if request.url.path.startswith("/ui/"):
            return await refused(request, error)
        if elsewhere is None:
            raise error
        answer = elsewhere(request, error)
        return await answer if isinstance(answer, Awaitable) else answer
    return handle


def add_error_handlers(app: FastAPI) -> None:
    """Refusals under /ui are HTML fragments (`refused`); every other path keeps the handler the app has
    for that kind (the API's JSON, FastAPI's defaults). Call after api.add_error_handlers."""
    for kind in (SessionError, RequestValidationError, ValidationError, ValueError, HTTPException):
        app.add_exception_handler(kind, _by_path(app.exception_handlers.get(kind)))

