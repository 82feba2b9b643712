"""A refused request in a student's words: its status, the field to blame and what is allowed.

The page shows these next to the control that sent the request (app/routes/pages.py `refused`); the
JSON API answers the same refusals as `{"detail": ...}` (app/routes/api.py). Pydantic's own messages
("Input should be a valid integer, unable to parse string as an integer") are put in plainer words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from app.i18n import N_, gettext, said
from app.sessions import SessionError
from engine.csvdata import CSVError
from engine.errors import SetupError, WordedError

# starlette's words for the statuses a page's fragment can get (a mistyped /ui path, a wrong method)
STATUS_WORDS = (N_("Not Found"), N_("Method Not Allowed"))
SHOWN_INPUT = 20  # characters of a refused value quoted back ("'ten' is not a whole number")


@dataclass(frozen=True)
class Refusal:
    status: int
    field: str | None  # as the form and the API spell it (batch_size, unit); None: no one field
    text: str  # what the page shows: "batch_size: 'ten' is not a whole number"


def _words(error: Any) -> str:
    """One pydantic error (a dict of loc, type, msg, ctx, input) as 'field: what is wrong'."""
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    words = plain(error)
    return f"{where}: {words}" if where else words


def plain(error: Any) -> str:
    """What is wrong with one pydantic error's value, in words ('must be a whole number 1 or more');
    the JSON API's 422 says this as each error's `msg` (pydantic's own: 'Input should be greater than
    or equal to 1'). A refusal of ours inside (a validator's SetupError, app/jsonbody.py's) is said as
    itself, in the page's language."""
    ctx = error.get("ctx") or {}
    if isinstance(ctx.get("error"), WordedError):
        return said(ctx["error"])
    shown = repr(str(error.get("input", ""))[:SHOWN_INPUT])
    kind = error.get("type")
    whole = "a whole number " if isinstance(ctx.get("ge", ctx.get("le")), int) else ""
    whole_ge, whole_le = isinstance(ctx.get("ge"), int), isinstance(ctx.get("le"), int)
    words = {  # in the page's language (app/i18n.py); the numbers and names as they are
        "int_parsing": gettext("%(value)s is not a whole number") % {"value": shown},
        "int_from_float": gettext("%(value)s is not a whole number") % {"value": shown},
        "float_parsing": gettext("%(value)s is not a number") % {"value": shown},
        "finite_number": gettext("must be a finite number"),
        "greater_than_equal": (gettext("must be a whole number %(n)s or more") if whole and whole_ge
                               else gettext("must be %(n)s or more")) % {"n": ctx.get("ge")},
        "greater_than": gettext("must be more than %(n)s") % {"n": ctx.get("gt")},
        "less_than_equal": (gettext("must be a whole number %(n)s or less") if whole and whole_le
                            else gettext("must be %(n)s or less")) % {"n": ctx.get("le")},
        "less_than": gettext("must be less than %(n)s") % {"n": ctx.get("lt")},
        "literal_error": gettext("must be one of %(choices)s") % {"choices": ctx.get("expected")},
        "missing": gettext("is required"),
        "extra_forbidden": gettext("is not a field of this form"),
        # what a lesson file (app/lessons.py) meets beside these
        "string_type": gettext("must be text"),
        "string_too_short": gettext("must be at least %(n)s characters long") % {"n": ctx.get("min_length")},
        "string_too_long": gettext("must be at most %(n)s characters long") % {"n": ctx.get("max_length")},
        "too_short": gettext("must have at least %(n)s items") % {"n": ctx.get("min_length")},
        "too_long": gettext("must have at most %(n)s items") % {"n": ctx.get("max_length")},
        "list_type": gettext("must be a list"),
        "int_type": gettext("must be a whole number"),  # (app/jsonbody.py's say more: a refusal inside)
        "float_type": gettext("must be a number"),
        "bool_parsing": gettext("must be true or false"),
        "union_tag_invalid": gettext("must be one of %(choices)s") % {"choices": ctx.get("expected_tags")},
    }.get(str(kind), str(error.get("msg", "is not valid")))
    return words


class Invalid:
    """One pydantic error kept as a value of a refusal's template (a lesson file's, app/lessons.py, whose
    parse is shared by readers of every language): said where it is shown, in the reader's words
    (`plain`); str() is pydantic's own message."""

    def __init__(self, error: Mapping[str, Any]) -> None:
        self.error = dict(error)

    def __str__(self) -> str:
        return str(self.error.get("msg", "is not valid")).removeprefix("Value error, ")

    def said(self) -> str:
        return plain(self.error)


def _field(errors: Sequence[Any]) -> str | None:
    parts = [str(part) for part in (errors[0].get("loc", ()) if errors else ()) if part != "body"]
    return ".".join(parts) or None


def refusal(error: Exception) -> Refusal:
    """What a refused page request says. Engine refusals (SetupError) carry their field; the session
    manager's (SessionError) a detail dict with field and message, or a plain message."""
    if isinstance(error, SessionError):
        detail = detail_said(error)
        if isinstance(detail, dict):  # said as the engine's and pydantic's are: 'field: what is wrong'
            field, message = detail.get("field"), str(detail.get("message") or detail)
            return Refusal(error.status_code, str(field) if field else None,
                           f"{field}: {message}" if field else message)
        return Refusal(error.status_code, None, str(detail))
    if isinstance(error, RequestValidationError | ValidationError):
        errors = list(error.errors())
        return Refusal(422, _field(errors), "; ".join(_words(e) for e in errors[:3]))
    if isinstance(error, SetupError):  # the field as it is, the words in the page's language
        return Refusal(422, error.field, f"{error.field}: {said(error)}" if error.field else said(error))
    if isinstance(error, HTTPException):  # a detail dict (app/limits.py BodyTooLarge) names its field
        if isinstance(error.detail, dict):
            field = error.detail.get("field")
            return Refusal(error.status_code, field, f"{field}: {error.detail.get('message')}")
        return Refusal(error.status_code, None, gettext(str(error.detail)))  # STATUS_WORDS translated
    if isinstance(error, WordedError):
        return Refusal(422, None, said(error))
    return Refusal(422, None, str(error))  # another ValueError of the engine (a document's field)


def detail_said(error: SessionError) -> Any:
    """The refusal's detail in the request's language: its words (a template, app/sessions.py) translated
    and filled in with its values; a CSV file's refusal with the row and column it names."""
    words = csv_words(error.__cause__) if isinstance(error.__cause__, CSVError) else said(error)
    return {**error.detail, "message": words} if isinstance(error.detail, dict) else words


def csv_words(error: CSVError) -> str:
    """A CSV refusal in the page's language, with where it is ("row 17, column 'x2': 'abc' is not a
    number")."""
    words, column = said(error), repr(error.column)
    if error.row is not None and error.column is not None:
        return gettext("row {row}, column {column}: {words}").format(row=error.row, column=column,
                                                                     words=words)
    if error.row is not None:
        return gettext("row {row}: {words}").format(row=error.row, words=words)
    if error.column is not None:
        return gettext("column {column}: {words}").format(column=column, words=words)
    return words
