"""HTML pages and htmx fragments of the playground: thin handlers that call the session manager and render.

The first paint and every fragment come from the same templates (index.html's `page` block and the
partials), so they cannot drift apart. Errors are answered 4xx with a short message that htmx 4 swaps
next to the control that caused it.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app import __version__, views
from app.limits import advance_within
from app.setupform import setup_patch
from app.urlstate import setup_from_query, setup_query

# HTML for the browser, not an API: kept out of the OpenAPI schema (/docs documents the JSON API only).
router = APIRouter(tags=["pages"], include_in_schema=False)

Unit = Annotated[str, Form()]
UNITS = ("micro", "sample", "batch", "epoch")


def _unit_error(unit: str) -> HTMLResponse | None:
    """A step unit outside the four answers a fragment naming the field (not FastAPI's JSON)."""
    if unit in UNITS:
        return None
    return _error(f"unit: must be one of {', '.join(UNITS)}, got {unit[:20]!r}")


def _templates(request: Request) -> Any:
    return request.app.state.templates


def _sessions(request: Request) -> Any:
    return getattr(request.app.state, "sessions", None)


def _message(error: Exception) -> str:
    """A refused request's message in words (SessionError detail, ValueError text or pydantic's)."""
    detail = getattr(error, "detail", None)
    if isinstance(detail, dict):
        return str(detail.get("message") or detail)
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" for d in detail[:3])
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(map(str, first.get('loc', ())))}: {first.get('msg')}"
    return str(detail if detail is not None else error)


def _error(text: str, status: int = 422) -> HTMLResponse:
    from html import escape

    return HTMLResponse(f'<span class="error-text">{escape(text)}</span>', status_code=status)


async def _page_context(request: Request, session: Any) -> dict[str, Any]:
    from app.convert import config_dict
    from app.schemas import SessionCreate

    sessions = _sessions(request)

    def build(run: Any) -> dict[str, Any]:
        query = setup_query(SessionCreate.model_validate(config_dict(run)))
        return views.page_context(run, session.id, playing=session.playing, share_query=query)

    context: dict[str, Any] = await sessions.read(session, build)
    return context


def _page_url(context: dict[str, Any]) -> str:
    return f"{context['share_url']}&{urlencode({'session': context['sid']})}"


async def _render_page(request: Request, session: Any, *, block: bool = True,
                       extra: dict[str, Any] | None = None) -> HTMLResponse:
    context = {**await _page_context(request, session), **(extra or {})}
    templates = _templates(request)
    if block:
        response: HTMLResponse = templates.TemplateResponse(request, "index.html", context, block_name="page")
    else:
        response = templates.TemplateResponse(request, "index.html", context)
    response.headers["HX-Replace-Url"] = _page_url(context)
    return response


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> Response:
    """`?session=ID` continues that run (after a reload or a server restart); otherwise a new session is
    made from the setup in the query string and the browser is sent to its own URL."""
    sessions = _sessions(request)
    if sessions is None:  # the server part is not wired into the app (yet)
        placeholder: HTMLResponse = _templates(request).TemplateResponse(
            request, "index.html", {"version": __version__, "unwired": True})
        return placeholder
    from app.convert import built, check_caps
    from app.sessions import SessionError

    session_id = request.query_params.get("session")
    if session_id:
        try:
            session = await sessions.get(session_id)
            return await _render_page(request, session, block=False)
        except SessionError:
            pass  # unknown (or expired and unsaved) session: start a new one with the same setup
    config, _problem = setup_from_query(request.query_params)
    try:
        check_caps(config, sessions.settings)
    except SessionError:
        config, _problem = setup_from_query({})
    client = request.client.host if request.client else "unknown"
    try:
        session = await sessions.create(lambda: built(config), client)
    except (SessionError, ValueError) as error:  # the engine's ValueErrors name their field in words
        if isinstance(error, SessionError) and error.status_code != 422:
            raise
        return _refused_setup(request, config, error)
    query = setup_query(config)
    return RedirectResponse(f"/?{query}&{urlencode({'session': session.id})}", status_code=303)


def _refused_setup(request: Request, config: Any, error: Exception) -> HTMLResponse:
    """A link whose setup the engine refuses (say tanh_mse on regression data, or a batch larger than
    the training set): a 422 page saying why, with a link to the same setup on an output unit that fits
    the data when that was the problem, and one to the defaults."""
    from app.setupform import fitting_output_unit

    detail = getattr(error, "detail", None)
    if isinstance(detail, dict):
        field, message = detail.get("field"), f"{detail.get('field')}: {_message(error)}"
    else:  # the engine's ValueError: "output_unit: tanh_mse needs class labels; ..."
        message = str(error)
        field = message.partition(": ")[0]
    fitted = fitting_output_unit(config.output_unit, "", config.dataset.name)
    retry = (f"/?{setup_query(config.model_copy(update={'output_unit': fitted}))}"
             if field == "output_unit" and fitted != config.output_unit else None)
    titles = dict(views.OUTPUT_UNITS)
    response: HTMLResponse = _templates(request).TemplateResponse(
        request, "index.html",
        {"version": __version__, "refused": message, "retry_url": retry, "retry_title": titles.get(fitted)},
        status_code=422)
    return response


async def _session(request: Request, sid: str) -> Any:
    return await _sessions(request).get(sid)


async def _inspector(request: Request, session: Any, *, error: str | None = None,
                     paused: bool = False) -> HTMLResponse:
    """The inspector fragment; `paused`: a step stopped play, so the play button comes along out of band."""
    context = await _sessions(request).read(session, views.inspector_context)
    context["error"] = error
    response: HTMLResponse = _templates(request).TemplateResponse(request, "partials/inspector.html", context)
    if paused:
        button = _templates(request).get_template("partials/play_button.html").render(
            {"sid": session.id, "playing": False, "oob": True})
        return HTMLResponse(bytes(response.body).decode() + button)
    return response


async def _paused_session(request: Request, sid: str) -> tuple[Any, bool]:
    """The session, paused first if it was playing (a step or back by hand stops play); and whether it was."""
    session = await _session(request, sid)
    was_playing = session.playing
    if was_playing:
        await _sessions(request).pause(session)
    return session, was_playing


@router.post("/ui/{sid}/step", response_class=HTMLResponse)
async def step(request: Request, sid: str, unit: Unit = "micro") -> HTMLResponse:
    if (refused := _unit_error(unit)) is not None:
        return refused
    session, was_playing = await _paused_session(request, sid)
    sessions = _sessions(request)
    budget = sessions.settings.step_budget_seconds
    # As the API's step: one stop of at most a batch is cheap enough to run inline on the event loop;
    # an epoch goes under the step budget (a huge one stops at a batch boundary).
    await sessions.call(session, lambda run: advance_within(run, unit, 1, budget), small=unit != "epoch")
    return await _inspector(request, session, paused=was_playing)


@router.post("/ui/{sid}/back", response_class=HTMLResponse)
async def back(request: Request, sid: str, unit: Unit = "micro") -> HTMLResponse:
    if (refused := _unit_error(unit)) is not None:
        return refused
    session, was_playing = await _paused_session(request, sid)
    stops = await _sessions(request).call(session, lambda run: run.back(unit, 1))
    nothing = ("Nothing to go back to: this is the start of the run, or the oldest point the history "
               "keeps." if stops == 0 else None)
    return await _inspector(request, session, paused=was_playing, error=nothing)


def _play_button(request: Request, sid: str, playing: bool) -> HTMLResponse:
    response: HTMLResponse = _templates(request).TemplateResponse(
        request, "partials/play_button.html", {"sid": sid, "playing": playing})
    return response


@router.post("/ui/{sid}/play", response_class=HTMLResponse)
async def play(
    request: Request, sid: str, unit: Unit = "batch", speed: Annotated[str, Form()] = "10"
) -> HTMLResponse:
    if (refused := _unit_error(unit)) is not None:
        return refused
    try:
        steps_per_second = float(speed)
    except ValueError:
        steps_per_second = math.nan
    if not 0 < steps_per_second <= 1000:
        return _error(f"speed: must be a number of steps per second in (0, 1000], got {speed[:20]!r}")
    from app.sessions import SessionError

    session = await _session(request, sid)
    try:
        await _sessions(request).play(session, unit, steps_per_second)
    except SessionError as error:  # diverged: the button stays a play button, the message says why
        return _error(_message(error), error.status_code)
    return await _with_inspector(request, session, _play_button(request, sid, True))


LIVE_UNITS = ("micro", "sample")  # playing by these, the inspector follows each event's formula


async def _inspector_while(request: Request, session: Any) -> dict[str, Any]:
    """The inspector's context for the session as it is now: playing by micro-step or sample, the
    current event's formula marked `live` (the page fetches the next one as frames arrive); playing by
    batch or epoch, the words for play (a formula would be stale before it was read)."""
    from app.inspector import PLAYING

    context: dict[str, Any] = await _sessions(request).read(session, views.inspector_context)
    if session.playing and getattr(session, "play_unit", None) in LIVE_UNITS:
        context["live"] = True
    elif session.playing:
        context["inspector"] = PLAYING
    return context


@router.get("/ui/{sid}/inspector", response_class=HTMLResponse)
async def inspector(request: Request, sid: str) -> HTMLResponse:
    """The inspector now (stepwise.js follows play by micro-step with it)."""
    session = await _session(request, sid)
    context = await _inspector_while(request, session)
    response: HTMLResponse = _templates(request).TemplateResponse(request, "partials/inspector.html", context)
    return response


async def _with_inspector(request: Request, session: Any, response: HTMLResponse) -> HTMLResponse:
    """`response` plus the inspector out of band, so it never describes a state the run has left."""
    context = await _inspector_while(request, session)
    context["oob"] = True
    inspector = _templates(request).get_template("partials/inspector.html").render(context)
    return HTMLResponse(bytes(response.body).decode() + inspector)


@router.post("/ui/{sid}/pause", response_class=HTMLResponse)
async def pause(request: Request, sid: str) -> HTMLResponse:
    """The play button, and the inspector out of band: it says where the run stopped."""
    session = await _session(request, sid)
    await _sessions(request).pause(session)
    return await _with_inspector(request, session, _play_button(request, sid, False))


@router.post("/ui/{sid}/reset", response_class=HTMLResponse)
async def reset(request: Request, sid: str) -> HTMLResponse:
    session = await _session(request, sid)
    sessions = _sessions(request)
    await sessions.pause(session)
    await sessions.call(session, lambda run: run.reset(None), arch=True)
    return await _render_page(request, session)


async def _apply(request: Request, session: Any, patch_data: dict[str, Any]) -> HTMLResponse:
    """Apply a config change (live or rebuilding, as the API decides) and re-render the page."""
    from app import convert
    from app.schemas import ConfigPatch
    from app.sessions import SessionError

    sessions = _sessions(request)
    try:
        patch = ConfigPatch.model_validate(patch_data)
        if convert.patch_rebuilds(patch):
            await sessions.replace(session, lambda run: convert.rebuilt(run, patch, sessions.settings))
        else:
            await sessions.call(session, lambda run: convert.apply_live(run, patch))
    except (ValidationError, SessionError, ValueError) as error:
        return _error(f"Not changed: {_message(error)}")
    return await _render_page(request, session)


@router.post("/ui/{sid}/config", response_class=HTMLResponse)
async def config(request: Request, sid: str) -> HTMLResponse:
    """The whole setup form; only what differs from the run's config is patched."""
    from app.convert import config_dict

    session = await _session(request, sid)
    form = await request.form()
    current = await _sessions(request).read(session, config_dict)
    lists = {name: form.getlist(name) for name in ("units", "activation", "features")}
    try:
        patch = setup_patch(form, lists, current)
    except ValueError as error:
        return _error(f"Not changed: {error}")
    if not patch:
        return await _render_page(request, session)
    return await _apply(request, session, patch)


async def _hidden_patch(request: Request, sid: str, change: Any) -> HTMLResponse:
    from app.convert import config_dict

    session = await _session(request, sid)
    # asdict keeps the RunConfig's tuple: a list so the change can append/pop.
    hidden = list((await _sessions(request).read(session, config_dict))["hidden"])
    change(hidden)
    if len(hidden) > views.PAGE_MAX_LAYERS or any(not 1 <= layer["units"] <= views.PAGE_MAX_UNITS
                                                   for layer in hidden):
        return _error(f"The page offers up to {views.PAGE_MAX_LAYERS} hidden layers of "
                      f"{views.PAGE_MAX_UNITS} units.")
    return await _apply(request, session, {"hidden": hidden})


@router.post("/ui/{sid}/layers/add", response_class=HTMLResponse)
async def add_layer(request: Request, sid: str) -> HTMLResponse:
    def add(hidden: list[dict[str, Any]]) -> None:
        hidden.append(dict(hidden[-1]) if hidden else {"units": 4, "activation": "tanh"})
    return await _hidden_patch(request, sid, add)


@router.post("/ui/{sid}/layers/remove", response_class=HTMLResponse)
async def remove_layer(request: Request, sid: str) -> HTMLResponse:
    return await _hidden_patch(request, sid, lambda hidden: hidden.pop() if hidden else None)


@router.post("/ui/{sid}/layers/{layer}/units/{change}", response_class=HTMLResponse)
async def change_units(request: Request, sid: str, layer: int, change: str) -> HTMLResponse:
    step = {"add": 1, "remove": -1}.get(change)
    if step is None:
        return _error("change must be add or remove", 404)

    def apply(hidden: list[dict[str, Any]]) -> None:
        if 1 <= layer <= len(hidden):
            hidden[layer - 1]["units"] += step
    return await _hidden_patch(request, sid, apply)


@router.put("/ui/{sid}/weight", response_class=HTMLResponse)
async def edit_weight(request: Request, sid: str) -> HTMLResponse:
    """Click-to-edit on a link (input = its source unit) or a bias (input empty)."""
    from app.schemas import WeightEdit
    from app.sessions import SessionError

    session = await _session(request, sid)
    form = await request.form()
    raw_input = str(form.get("input", "")).strip()
    try:
        edit = WeightEdit.model_validate({
            "layer": form.get("layer"), "unit": form.get("unit"),
            "input": int(raw_input) if raw_input else None, "value": form.get("value")})
        await _sessions(request).call(
            session, lambda run: run.set_parameter(edit.layer, edit.unit, edit.input, edit.value))
    except (ValidationError, SessionError, ValueError) as error:
        return await _inspector(request, session, error=f"Weight not changed: {_message(error)}")
    return await _inspector(request, session)


@router.post("/ui/{sid}/regenerate", response_class=HTMLResponse)
async def regenerate(request: Request, sid: str) -> HTMLResponse:
    from app import convert

    session = await _session(request, sid)
    # the next seed, read under the same lock as the change; the network and play go on
    await _sessions(request).call(session, lambda run: convert.regenerate(run, None), arch=True)
    return await _render_page(request, session)


@router.post("/ui/{sid}/points", response_class=HTMLResponse)
async def add_point(request: Request, sid: str) -> HTMLResponse:
    from app import convert
    from app.schemas import PointAdd
    from app.sessions import SessionError

    session = await _session(request, sid)
    form = await request.form()
    sessions = _sessions(request)
    try:
        point = PointAdd.model_validate({"x1": form.get("x1"), "x2": form.get("x2"),
                                         "label": form.get("label"), "split": form.get("split", "train")})
        await sessions.replace(session, lambda run: convert.add_point(run, point, sessions.settings))
    except (ValidationError, SessionError, ValueError) as error:
        return _error(f"Point not added: {_message(error)}")
    return await _render_page(request, session)


@router.post("/ui/{sid}/points/remove", response_class=HTMLResponse)
async def remove_point(request: Request, sid: str) -> HTMLResponse:
    """Form `index` = the point's index in the data (the API's DELETE .../data/points/{index}); the page
    comes back still in remove mode, so several points can be clicked away in a row."""
    from app import convert
    from app.sessions import SessionError

    session = await _session(request, sid)
    text = str((await request.form()).get("index", ""))
    if not text.isdigit():
        return _error("Point not removed: index: must be a whole number 0 or more")
    index = int(text)
    try:
        await _sessions(request).replace(session, lambda run: convert.remove_point(run, index))
    except (SessionError, ValueError) as error:
        return _error(f"Point not removed: {_message(error)}")
    return await _render_page(request, session, extra={"point_mode": "remove"})


@router.post("/ui/{sid}/csv", response_class=HTMLResponse)
async def upload_csv(request: Request, sid: str, file: UploadFile) -> HTMLResponse:
    """A bad file answers 422 with the parser's message (swapped next to the control); a good one
    re-renders the whole page (retargeted to #page)."""
    from app import convert
    from app.sessions import SessionError

    session = await _session(request, sid)
    sessions = _sessions(request)
    cap = sessions.settings.max_upload_bytes
    data = await file.read(cap + 1)
    if len(data) > cap:
        return _error(f"The file is larger than {cap} bytes.", 413)
    try:
        await sessions.replace(session, lambda run: convert.load_csv(run, data, sessions.settings))
    except (SessionError, ValueError) as error:
        return _error(_message(error))
    response = await _render_page(request, session)
    response.headers["HX-Retarget"] = "#page"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


@router.post("/ui/import", response_class=HTMLResponse)
async def import_run(request: Request, file: UploadFile) -> Response:
    """An exported run becomes a new session; the browser goes to it."""
    from app import convert
    from app.sessions import SessionError

    sessions = _sessions(request)
    data = await file.read(sessions.settings.max_upload_bytes + 1)
    try:
        document = json.loads(data)
        if not isinstance(document, dict):
            raise ValueError("the file is not an exported Stepwise run (expected a JSON object)")
        client = request.client.host if request.client else "unknown"
        session = await sessions.create(lambda: convert.import_checked(document, sessions.settings), client)
    except json.JSONDecodeError as error:
        return _error(f"Not JSON: {error.msg} at line {error.lineno}")
    except (SessionError, ValueError) as error:
        return _error(f"Not imported: {_message(error)}")
    return Response(status_code=204, headers={"HX-Redirect": f"/?{urlencode({'session': session.id})}"})
