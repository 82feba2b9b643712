"""JSON request bodies the way the OpenAPI says: parsed off the event loop when big, never nested past
MAX_DEPTH, UTF-8 only, and integer/number/boolean fields taking only JSON numbers/booleans.

FastAPI parses a JSON body on the event loop (a 2 MB import stalls every other request for its parse) and
answers an undocumented 400 when the parse raises anything but a JSONDecodeError (invalid UTF-8, a
RecursionError from deep nesting). Pydantic's lax mode turns `false` into 0 and `"3"` into 3 where the
schema says integer. `StrictJSONRoute` does the parse itself first (the request caches it, so FastAPI
does not parse again) and refuses all of these as the documented 422 naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import anyio.to_thread
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from engine.errors import N_, Phrase, SetupError, WordedError

# Bodies over this many bytes are parsed in a worker thread: measured, json.loads of 2 MB of numbers
# takes ~20 ms, a turn of the event loop every other request waits for; 64 KB is ~0.5 ms.
OFF_LOOP_BYTES = 64 * 1024
# Deeper than any body the API takes (an export document is 6 levels deep).
MAX_DEPTH = 32

Schema = dict[str, Any]


# at most this many big bodies are parsed at once (each holds its text and its tree in memory)
PARSING = anyio.CapacityLimiter(2)


# What json.loads says is wrong, as its words (CPython's json.decoder), marked so the catalogue says them
# in Chinese too; a reason not listed here is shown as json wrote it.
JSON_REASONS = frozenset((
    N_("Expecting value"), N_("Expecting property name enclosed in double quotes"),
    N_("Expecting ',' delimiter"), N_("Expecting ':' delimiter"), N_("Extra data"),
    N_("Unterminated string starting at"), N_("Invalid control character at"), N_("Invalid \\escape"),
    N_("Invalid \\uXXXX escape"), N_("Illegal trailing comma before end of object"),
    N_("Illegal trailing comma before end of array")))


class NotJSONError(WordedError):
    """Why bytes are not the JSON the API takes: a template and values (engine/errors.py), so the page's
    import says it in the page's language; json's own reason ("Expecting value") in the words of
    JSON_REASONS, or as json wrote it."""

    def __init__(self, template: str, **values: object) -> None:
        self.message = self._word(template, values)
        super().__init__(self.message)


def _refused(loc: tuple[str | int, ...], kind: str, words: WordedError) -> RequestValidationError:
    """A 422 as pydantic words one; `words` rides in ctx, so the API says it in the request's language
    (app/refusals.py plain), and is `msg` in English."""
    return RequestValidationError([{"type": kind, "loc": ("body", *loc), "msg": str(words), "input": None,
                                    "ctx": {"error": words}}])


def parse(body: bytes) -> Any:
    """JSON text -> a value; NotJSONError for anything that is not UTF-8 JSON of at most MAX_DEPTH
    levels (a RecursionError or a decode error is never let through)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise NotJSONError("not UTF-8 text (JSON is UTF-8)") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise NotJSONError("JSON nested deeper than {depth} levels", depth=MAX_DEPTH) from None
    except json.JSONDecodeError as error:
        raise NotJSONError("not JSON ({reason} at line {line})", line=error.lineno,
                           reason=Phrase(error.msg) if error.msg in JSON_REASONS else error.msg) from None
    if _depth(value) > MAX_DEPTH:
        raise NotJSONError("JSON nested deeper than {depth} levels", depth=MAX_DEPTH)
    return value


async def parse_off_loop(body: bytes) -> Any:
    """`parse`, in a worker thread (at most PARSING at once) when the body is over OFF_LOOP_BYTES."""
    if len(body) <= OFF_LOOP_BYTES:
        return parse(body)
    return await anyio.to_thread.run_sync(parse, body, limiter=PARSING)


def _depth(value: Any) -> int:
    """Nesting depth without recursion (a scalar is 0, [] is 1)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def strict_types(value: Any, schema: Schema, defs: dict[str, Schema],
                 loc: tuple[str | int, ...] = ()) -> None:
    """Refuse what pydantic's lax mode would coerce against the JSON schema: a boolean or a string where
    the schema says integer or number, anything but true/false where it says boolean. Everything else
    (ranges, enums, missing fields) is pydantic's to check."""
    if "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        errors = []
        for branch in branches:
            try:
                strict_types(value, branch, defs, loc)
                return
            except RequestValidationError as error:
                errors.append(error)
        raise errors[0]
    kind = schema.get("type")
    if kind in ("integer", "number") and isinstance(value, bool | str):
        if kind == "integer":
            whole = SetupError(None, "must be a whole number (a JSON number, not text or true/false)")
            raise _refused(loc, "int_type", whole)
        number = SetupError(None, "must be a number (a JSON number, not text or true/false)")
        raise _refused(loc, "float_type", number)
    if kind == "boolean" and not isinstance(value, bool):
        raise _refused(loc, "bool_type", SetupError(None, "must be true or false"))
    if kind == "null" and value is not None:
        raise _refused(loc, "none_required", SetupError(None, "must be null"))
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                strict_types(item, properties[key], defs, (*loc, key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            strict_types(item, schema["items"], defs, (*loc, index))


class StrictJSONRoute(APIRoute):
    """An APIRoute whose JSON body is parsed and type-checked by this module before FastAPI sees it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        schema: Schema | None = None
        if self.body_field is not None and self.body_field.field_info.annotation is not None:
            schema = TypeAdapter(self.body_field.field_info.annotation).json_schema(ref_template="{model}")
        defs: dict[str, Schema] = (schema or {}).get("$defs", {})

        async def checked(request: Request) -> Response:
            content_type = request.headers.get("content-type", "")
            if self.body_field is not None and content_type.startswith("multipart/form-data"):
                try:
                    await request.form()  # cached on the request: FastAPI reads this one
                except HTTPException as error:  # Starlette's undocumented 400 for a broken upload
                    if error.status_code != 400:
                        raise  # a 413 from the body cap stays a 413
                    broken = SetupError(None, "not a valid file upload (multipart form data): {detail}",
                                        detail=error.detail)  # (Starlette's own words)
                    raise _refused((), "value_error", broken) from None
            if self.body_field is not None and "json" in content_type.split(";")[0]:
                body = await request.body()
                if body:
                    try:
                        value = await parse_off_loop(body)
                    except NotJSONError as error:
                        raise _refused((), "json_invalid", error) from None
                    if schema is not None:
                        strict_types(value, schema, defs)
                    request._json = value  # Request.json() returns it: FastAPI does not parse again
            return await handler(request)

        return checked
