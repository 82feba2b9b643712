"""The JSON API's documentation at /docs: Swagger UI served from our own origin, with no inline script.

FastAPI's own /docs page loads Swagger UI from a CDN and starts it with an inline script; offline (a
classroom, a container) it stays blank, and our CSP (script-src 'self') refuses the inline script anyway.
Swagger UI's release files come from the fastapi-offline package; the page that starts them is ours.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_FILES = Path(fastapi_offline.__file__).parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The interactive API reference, drawn by Swagger UI from /openapi.json."""
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, "api_docs.html", {"openapi_url": request.app.openapi_url}
    )
    return response


def mount_swagger_files(app: FastAPI) -> None:
    """Serve Swagger UI's script and stylesheet under /api-docs/."""
    app.mount("/api-docs", StaticFiles(directory=SWAGGER_FILES), name="api-docs")
