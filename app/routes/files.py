"""Files into the playground: a CSV of points for the open run, an exported run as a new one.

An upload streams into a spooled temporary file as it arrives (Starlette's multipart parser: the first
MiB in memory, the rest on disk), counted against its cap on the way in (app/limits.py BodySizeLimit);
the route then reads it, at most the cap. Refusals are raised, answered by pages.refused as fragments.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from app import convert
from app.i18n import N_
from app.jsonbody import NotJSONError, parse_off_loop
from app.ownership import OwnerOnly, create_owned, key_for_new_run
from app.routes.api import Current, Manager
from app.routes.pages import render_page
from app.sessions import SessionError
from engine.errors import SetupError

router = APIRouter(tags=["pages"], include_in_schema=False)

IMPORTS_AT_ONCE = anyio.CapacityLimiter(2)  # page imports read, parsed and built at once (import_run)


async def _upload(file: UploadFile, cap: int) -> bytes:
    data = await file.read(cap + 1)
    if len(data) > cap:
        raise SessionError(413, {"field": "file", "message": N_("The file is larger than {cap} bytes.")},
                           cap=cap)
    return data


@router.post("/ui/{session_id}/csv", response_class=HTMLResponse, dependencies=[OwnerOnly])
async def upload_csv(request: Request, file: UploadFile, s: Current, sessions: Manager) -> Response:
    """A bad file answers 422 with the parser's message (swapped next to the control); a good one
    re-renders the whole page (retargeted to #page)."""
    data = await _upload(file, sessions.settings.max_upload_bytes)
    await sessions.replace(s, lambda run: convert.load_csv(run, data, sessions.settings))
    response = await render_page(request, sessions, s)
    response.headers["HX-Retarget"] = "#page"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


async def _document(data: bytes) -> dict[str, Any]:
    """An uploaded export document: a JSON object, or a refusal saying what the file is instead (parsed
    like an API body: off the event loop when big, never nested past jsonbody.MAX_DEPTH)."""
    try:
        document = await parse_off_loop(data)
    except NotJSONError as error:
        raise SetupError("file", error.template, **error.values) from None
    if not isinstance(document, dict):
        raise SetupError("file", "not an exported Stepwise run (expected a JSON object)")
    return document


@router.post("/ui/import", response_class=HTMLResponse)
async def import_run(request: Request, file: UploadFile, sessions: Manager) -> Response:
    """An exported run becomes a new session; the browser goes to it."""
    settings = sessions.settings
    answer = Response(status_code=204)
    key = await key_for_new_run(request)
    # read, parse and build two imports at a time: each parsed document holds several times its size in
    # Python objects until its run is built (forty at once: +550 MB, bench/import_bench.py)
    async with IMPORTS_AT_ONCE:
        document = await _document(await _upload(file, settings.max_import_bytes))
        made = await create_owned(request, answer, lambda: convert.import_checked(document, settings), key)
    answer.headers["HX-Redirect"] = f"/?{urlencode({'session': made.id})}"
    return answer
