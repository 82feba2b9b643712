"""JSON API under /api: thin handlers that validate, call the session's Run, and answer its state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.convertors import Convertor, register_url_convertor

from app import convert
from app.i18n import N_, said
from app.jsonbody import StrictJSONRoute
from app.limits import advance_within
from app.ownership import Key, OwnerOnly, create_owned
from app.refusals import detail_said, plain
from app.schemas import (
    ERROR_RESPONSES,
    ConfigPatch,
    CreatedSession,
    PlayRequest,
    PointAdd,
    RegenerateRequest,
    ResetRequest,
    SessionCreate,
    SessionState,
    StepRequest,
    WeightEdit,
)
from app.sessions import SESSION_ID_RE, Session, SessionError, SessionManager
from engine.errors import SetupError


class SessionId(Convertor[str]):
    """A session id in a path: exactly SESSION_ID_RE's 32 URL-safe characters, so `/api/sessions/import`
    is never read as the session "import" (and its 405 lists only POST)."""

    regex = SESSION_ID_RE.pattern.strip("^$")

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("sid", SessionId())

router = APIRouter(prefix="/api", tags=["sessions"], responses=ERROR_RESPONSES, route_class=StrictJSONRoute)

MAX_IMPORT_KEYS = 64


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the idle-eviction task; on shutdown stop every play task and save every session."""
    sessions: SessionManager = app.state.sessions
    await sessions.start()
    try:
        yield
    finally:
        await sessions.shutdown()


async def manager(request: Request) -> SessionManager:  # async: a sync dependency is a thread hop
    sessions: SessionManager = request.app.state.sessions
    return sessions


Manager = Annotated[SessionManager, Depends(manager)]


async def session(session_id: str, sessions: Manager) -> Session:
    """A malformed or unknown id is a 404 before any engine call; knowing the id lets one read the run,
    changing it needs its owner's token (app/ownership.py, `OwnerOnly` on every write route)."""
    return await sessions.get(session_id)


Current = Annotated[Session, Depends(session)]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _state(sessions: SessionManager, s: Session, *, reset: bool = False) -> SessionState:
    fields = await sessions.read(s, lambda run: {**convert.state_fields(run), "can_back": run.can_back})
    return SessionState(id=s.id, playing=s.playing, reset=reset, saved=s.saved, **fields)


async def created(sessions: SessionManager, s: Session, key: str) -> CreatedSession:
    """A new session's state with its owner token (send it back to change the run)."""
    return CreatedSession(token=key, **(await _state(sessions, s)).model_dump())


@router.post("/sessions", status_code=201, response_model=CreatedSession)
async def create_session(
    config: SessionCreate, request: Request, response: Response, sessions: Manager, key: Key
) -> CreatedSession:
    convert.check_caps(config, sessions.settings)
    s = await create_owned(request, response, lambda: convert.built(config), key)
    return await created(sessions, s, key)


@router.post("/sessions/import", status_code=201, response_model=CreatedSession)
async def import_session(
    document: Annotated[dict[str, Any], Body(max_length=MAX_IMPORT_KEYS)], request: Request,
    response: Response, sessions: Manager, key: Key,
) -> CreatedSession:
    """A new session from an export document; a malformed or tampered one is a 422 naming the field."""
    build = lambda: convert.import_checked(document, sessions.settings)  # noqa: E731
    s = await create_owned(request, response, build, key)
    return await created(sessions, s, key)


@router.get("/sessions/{session_id:sid}", response_model=SessionState)
async def get_session(s: Current, sessions: Manager) -> SessionState:
    return await _state(sessions, s)


@router.delete("/sessions/{session_id:sid}", status_code=204, dependencies=[OwnerOnly])
async def delete_session(s: Current, sessions: Manager) -> Response:
    await sessions.delete(s.id)
    return Response(status_code=204)


@router.patch("/sessions/{session_id:sid}/config", response_model=SessionState, dependencies=[OwnerOnly])
async def patch_config(patch: ConfigPatch, s: Current, sessions: Manager) -> SessionState:
    """Optimizer and regularization change live; anything else rebuilds the run (`reset: true`)."""
    rebuild = convert.patch_rebuilds(patch)
    if rebuild:
        await sessions.replace(s, lambda run: convert.rebuilt(run, patch, sessions.settings))
    else:
        await sessions.call(s, lambda run: convert.apply_live(run, patch))
    return await _state(sessions, s, reset=rebuild)


@router.post("/sessions/{session_id:sid}/step", response_model=SessionState, dependencies=[OwnerOnly])
async def step(body: StepRequest, s: Current, sessions: Manager) -> SessionState:
    small = body.count == 1 and body.unit != "epoch"  # one stop of at most a batch: cheap enough inline
    budget = sessions.settings.step_budget_seconds
    await sessions.call(s, lambda run: advance_within(run, body.unit, body.count, budget), small=small)
    return await _state(sessions, s)


@router.post("/sessions/{session_id:sid}/back", response_model=SessionState, dependencies=[OwnerOnly])
async def back(body: StepRequest, s: Current, sessions: Manager) -> SessionState:
    await sessions.call(s, lambda run: run.back(body.unit, body.count))
    return await _state(sessions, s)


@router.post("/sessions/{session_id:sid}/play", response_model=SessionState, dependencies=[OwnerOnly])
async def play(body: PlayRequest, s: Current, sessions: Manager) -> SessionState:
    await sessions.play(s, body.unit, body.speed)
    return await _state(sessions, s)


@router.post("/sessions/{session_id:sid}/pause", response_model=SessionState, dependencies=[OwnerOnly])
async def pause(s: Current, sessions: Manager) -> SessionState:
    await sessions.pause(s)
    return await _state(sessions, s)


@router.post("/sessions/{session_id:sid}/reset", response_model=SessionState, dependencies=[OwnerOnly])
async def reset(s: Current, sessions: Manager, body: ResetRequest | None = None) -> SessionState:
    seed = body.seed if body is not None else None
    await sessions.pause(s)
    await sessions.call(s, lambda run: run.reset(seed), arch=True)
    return await _state(sessions, s, reset=True)


@router.get("/sessions/{session_id:sid}/trace")
async def trace(s: Current, sessions: Manager) -> dict[str, Any]:
    """The last step's trace with the engine's field names; arrays as nested lists."""
    return await sessions.read(s, convert.trace_dict)


@router.get("/sessions/{session_id:sid}/network")
async def network(s: Current, sessions: Manager) -> dict[str, Any]:
    return await sessions.read(s, convert.network_dict)


@router.put("/sessions/{session_id:sid}/network/weight", response_model=SessionState,
            dependencies=[OwnerOnly])
async def put_weight(edit: WeightEdit, s: Current, sessions: Manager) -> SessionState:
    await sessions.call(
        s, lambda run: run.set_parameter(edit.layer, edit.unit, edit.input, edit.value, piece=edit.piece)
    )
    return await _state(sessions, s)


@router.get("/sessions/{session_id:sid}/export")
async def export(s: Current, sessions: Manager) -> dict[str, Any]:
    return await sessions.read(s, convert.export_document)


@router.get("/sessions/{session_id:sid}/metrics")
async def metrics(s: Current, sessions: Manager) -> dict[str, Any]:
    return await sessions.read(s, convert.metrics_dict)


@router.post("/sessions/{session_id:sid}/data/points", response_model=SessionState, dependencies=[OwnerOnly])
async def add_point(point: PointAdd, s: Current, sessions: Manager) -> SessionState:
    await sessions.replace(s, lambda run: convert.add_point(run, point, sessions.settings))
    return await _state(sessions, s, reset=True)


@router.delete("/sessions/{session_id:sid}/data/points/{index}", response_model=SessionState,
                dependencies=[OwnerOnly])
async def remove_point(index: int, s: Current, sessions: Manager) -> SessionState:
    await sessions.replace(s, lambda run: convert.remove_point(run, index))
    return await _state(sessions, s, reset=True)


@router.post("/sessions/{session_id:sid}/data/csv", response_model=SessionState, dependencies=[OwnerOnly])
async def upload_csv(file: UploadFile, s: Current, sessions: Manager) -> SessionState:
    """Read at most max_upload_bytes (in chunks, so a huge upload is refused without being held)."""
    cap = sessions.settings.max_upload_bytes
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(64 * 1024):
        size += len(chunk)
        if size > cap:
            raise SessionError(413, {"field": "file", "message": N_("the file is larger than {cap} bytes")},
                               cap=cap)
        chunks.append(chunk)
    data = b"".join(chunks)
    await sessions.replace(s, lambda run: convert.load_csv(run, data, sessions.settings))
    return await _state(sessions, s, reset=True)


@router.post("/sessions/{session_id:sid}/data/regenerate", response_model=SessionState,
             dependencies=[OwnerOnly])
async def regenerate(s: Current, sessions: Manager, body: RegenerateRequest | None = None) -> SessionState:
    seed = body.seed if body is not None else None
    # the same run on new points: play goes on, the network is untouched (not a reset)
    await sessions.call(s, lambda run: convert.regenerate(run, seed), arch=True)
    return await _state(sessions, s)


async def session_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SessionError)
    return JSONResponse({"detail": detail_said(exc)}, status_code=exc.status_code)


async def request_invalid(request: Request, exc: Exception) -> JSONResponse:
    """Pydantic's 422 without the echoed input (it may hold NaN, not JSON, or a megabyte of junk), each
    `msg` in words (app/refusals.py plain: 'must be a whole number 1 or more')."""
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": [str(part) for part in error.get("loc", ())], "msg": plain(error),
         "type": str(error.get("type", ""))}
        for error in exc.errors()[:20]
    ]
    return JSONResponse({"detail": detail}, status_code=422)


async def value_error(request: Request, exc: Exception) -> JSONResponse:
    """The engine validates before it mutates and raises ValueError whose message starts with the field
    (`index: no point 9; ...`): a 422 with that field split out when it is there. A SetupError carries
    its field; other ValueErrors (the serializer's, the setup form's) are split at the first ": "."""
    if isinstance(exc, SetupError):
        return JSONResponse({"detail": {"field": exc.field, "message": said(exc)}}, status_code=422)
    message = str(exc)
    field, sep, rest = message.partition(": ")
    if sep and field and " " not in field.strip(".[]") and len(field) <= 60:
        return JSONResponse({"detail": {"field": field, "message": rest}}, status_code=422)
    return JSONResponse({"detail": {"field": None, "message": message}}, status_code=422)


def add_error_handlers(app: FastAPI) -> None:
    """Every refusal is JSON {"detail": ...}: the manager's, pydantic's (input not echoed), the engine's."""
    app.add_exception_handler(SessionError, session_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(ValueError, value_error)
