"""HTTP methods: HEAD answers like GET without the body on every route, and a 405 lists every method the
path allows (Starlette's lists only the first route that matched the path, e.g. GET without DELETE)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """A HEAD request runs as GET and the answer's body is dropped (its headers, Content-Length included,
    are GET's). A streaming answer (SSE) ends after its headers: the route then sees a disconnect."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def headers_only(message: Message) -> None:
            nonlocal finished
            if finished:
                return
            if message["type"] == "http.response.body":
                finished = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        async def until_finished() -> Message:
            if finished:
                return {"type": "http.disconnect"}
            message = await receive()
            return {"type": "http.disconnect"} if finished else message

        await self.app({**scope, "method": "GET"}, until_finished, headers_only)


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route fully matches at this path (HEAD wherever GET is), in METHODS order.
    Asked of the router itself, so routers included at any depth count."""
    allowed = [method for method in METHODS
               if any(route.matches({**scope, "type": "http", "method": method})[0] == Match.FULL
                      for route in app.router.routes)]
    return [*allowed, "HEAD"] if "GET" in allowed else allowed


def add_method_handlers(app: FastAPI) -> None:
    """405 answers carry `Allow` with every method of the path."""

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            allow = ", ".join(allowed_methods(app, request.scope))
            exc = HTTPException(405, exc.detail, headers={**(exc.headers or {}), "Allow": allow})
        return await http_exception_handler(request, exc)

    app.add_exception_handler(HTTPException, http_error)
