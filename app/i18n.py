"""The page's language: English or Chinese (zh-CN), chosen per request, messages through gettext.

Every user-facing string in templates goes through `_()` (Jinja2's i18n extension, new-style gettext)
and in Python through `gettext` here; the zh-CN catalogue is translations/zh_CN/LC_MESSAGES/messages.po
(read with Babel at start-up, no compiled .mo to keep in step). The language is the `lang` cookie (set
by the header's switch, GET /lang/{code}), else the browser's Accept-Language, else English. Numbers,
formulas and the lecture's symbols (x₁, e, δ, ∂L/∂w, η) are the same in both languages: only words are
translated. tests/app/test_i18n.py fails when a message has no zh-CN translation.
"""

from __future__ import annotations

import gettext as stdlib_gettext
import io
import re
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from app import lesson_text
from engine import divergence
from engine.errors import Phrase, WordedError

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
ENGLISH, CHINESE = "en", "zh-CN"
# code -> the language's own name, as the switch shows it
LANGUAGES: dict[str, str] = {ENGLISH: "English", CHINESE: "中文"}
CATALOGUE_DIRS = {CHINESE: "zh_CN"}  # gettext's directory name for each translated language
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

_language: ContextVar[str] = ContextVar("language", default=ENGLISH)


def po_path(language: str) -> Path:
    return TRANSLATIONS / CATALOGUE_DIRS[language] / "LC_MESSAGES" / "messages.po"


@cache
def catalogue(language: str) -> stdlib_gettext.NullTranslations:
    """The language's messages (English: the source strings themselves)."""
    if language not in CATALOGUE_DIRS:
        return stdlib_gettext.NullTranslations()
    with po_path(language).open("rb") as po:
        messages = read_po(po, locale=CATALOGUE_DIRS[language])
    compiled = io.BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return Translations(fp=compiled)


def current() -> str:
    """The language of the request being served."""
    return _language.get()


def gettext(message: str) -> str:
    return catalogue(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalogue(current()).ngettext(singular, plural, n)


class Worded(Protocol):
    """Words made of an English template and named values: an engine refusal (engine/errors.py), a
    lesson's verdict (app/tasks.py)."""

    @property
    def template(self) -> str: ...

    @property
    def values(self) -> Any: ...


@runtime_checkable
class SaysItself(Protocol):
    """A value of a template that says itself in the request's language (app/refusals.py Invalid: a
    pydantic error in a lesson file's refusal, said by the words the app has for pydantic's)."""

    def said(self) -> str: ...


def said(error: Worded, lesson: str | None = None) -> str:
    """An engine refusal (engine/errors.py) or a lesson's verdict in the request's language: its template
    translated, then its own values filled in, so the numbers are the same in every language. A value
    that is words itself (a Phrase, a refusal inside this one, a lesson's option in the lesson named
    `lesson`) is said the same way; the field is not part of it."""
    text = gettext(error.template)
    if not error.values:
        return text
    return text.format_map({name: _said_value(value, lesson) for name, value in error.values.items()})


def _said_value(value: object, lesson: str | None) -> str:
    if isinstance(value, WordedError):
        return said(value, lesson)
    if isinstance(value, SaysItself):
        return value.said()
    if isinstance(value, lesson_text.LessonPhrase):
        return lesson_words(value, lesson) if lesson else str(value)
    return gettext(value) if isinstance(value, Phrase) else str(value)


def lesson_words(text: str, lesson: str) -> str:
    """A built-in lesson's words in the request's language (msgctxt "lesson <name>", app/lesson_text.py);
    anything the catalogue does not hold for that lesson (an uploaded lesson) as it is written."""
    return catalogue(current()).pgettext(lesson_text.context(lesson), text)


def lesson_paragraphs(text: str, lesson: str) -> list[str]:
    """A step's text as the panel shows it, paragraph by paragraph, each in the request's language."""
    return [lesson_words(paragraph, lesson) for paragraph in lesson_text.paragraphs(text)]


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's language if it is one of ours; else the first of ours in Accept-Language (by q)."""
    if cookie in LANGUAGES:
        return cookie
    wanted: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        wanted.append((-quality, i, tag.strip().lower()))
    for quality, _, tag in sorted(wanted):
        if quality >= 0:
            continue
        if tag.startswith("zh"):  # zh, zh-CN, zh-Hans, zh-SG …: the one Chinese we have
            return CHINESE
        if tag.startswith("en"):
            return ENGLISH
    return ENGLISH


class Language:
    """ASGI middleware: each HTTP request runs with its language set (and says it: Content-Language)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        cookie = None
        for item in headers.get("cookie", "").split(";"):
            name, _, value = item.strip().partition("=")
            if name == COOKIE:
                cookie = value
        language = choose(cookie, headers.get("accept-language"))
        token = _language.set(language)

        async def tagged(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"content-language", language.encode()),
                                      (b"vary", b"Accept-Language, Cookie")]
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            _language.reset(token)


def install(env: Any) -> None:
    """Give a Jinja environment `_`, `gettext`, `ngettext` (autoescaped, new style) and the language."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext, ngettext, newstyle=True)
    env.filters["translated"] = gettext  # a message made in English once (inspector.PLAYING), shown in the
    # request's language; any other text passes through unchanged (no %-formatting, unlike `_`)
    env.filters["said"] = said  # an engine refusal (ExpressionError on the graph page) in this language
    env.filters["verdict_said"] = said  # a lesson's verdict: said(verdict, lesson name)
    env.filters["lesson"] = lesson_words  # a built-in lesson's words: text | lesson(name)
    env.filters["lesson_paragraphs"] = lesson_paragraphs
    env.globals["current_language"] = current
    env.globals["languages"] = LANGUAGES


def N_(message: str) -> str:  # noqa: N802 (gettext's own name for a marker)
    """Marks a message for the catalogue where it is defined; it is translated where it is shown."""
    return message


# The engine's event kinds, as the counters show them (controls.html; stepwise.js from each frame)
PHASES = {"forward": N_("forward"), "error": N_("error"), "backward": N_("backward"),
          "accumulate": N_("accumulate"), "update": N_("update")}


def js_messages() -> dict[str, str]:
    """The words static/js/stepwise.js and dashboard.js show, in the page's language (base.html puts
    them in <html data-messages>, JSON: the scripts' own English is only a fallback)."""
    return {
        "no_point": gettext("No point there: click on a drawn point to remove it."),
        "step_back": gettext("Step back (←)"),
        "oldest": gettext("Nothing further back: this is the oldest point kept"),
        "interrupted": gettext("Live updates interrupted; reconnecting…"),
        "no_updates": gettext("No live updates: {reason}. Trying again in {seconds} s…"),
        "stream_closed": gettext("the stream closed"), "status": gettext("status {status}"),
        "batch_gradient": gettext(", the batch's ∂L/∂w (mean over its samples) = {value}"),
        **{f"phase_{kind}": gettext(word) for kind, word in PHASES.items()},
        "one_student": gettext("{n} student"), "students": gettext("{n} students"),
        "run_gone": gettext("run gone"), "not_presented": gettext("could not present that run"),
        "tile_figures": gettext("epoch {epoch} · loss {train} / {test} · acc {acc} / {test_acc}"),
        "tile_lesson": gettext("lesson {number}, step {step} of {steps}"),
        "tile_tasks": gettext("({solved} solved, {tried} tried, of {tasks} tasks)"),
        # a diverged run's words, filled in from the frame's `divergence` figures (app/frames.py)
        "diverged": gettext(divergence.DIVERGED), "not_finite": gettext(divergence.NOT_FINITE),
        "dashboard_dropped": gettext(
            "The live connection dropped or was refused (too many open streams?); retrying…"),
    }


# a word of two letters or more in a formula that is not a function's name (max, tanh, log, sign)
_PROSE = re.compile(r"\b(?!(?:max|tanh|log|sign)\b)[a-z]{2,}\b")


def vocabulary_messages() -> list[str]:
    """The engine's titles and hints the page shows (engine/vocabulary.py; the engine imports nothing of
    the app, so they are marked here): the catalogue must translate each one."""
    from engine import vocabulary

    terms: list[vocabulary.Term | vocabulary.DatasetTerm] = [
        *vocabulary.STEP_UNITS.values(), *vocabulary.SCHEDULES.values(), *vocabulary.OPTIMIZERS.values(),
        *vocabulary.REGULARIZATIONS.values(), *vocabulary.DATASETS.values()]
    found = [t.title for t in terms] + [t.hint for t in terms if t.hint]
    found += [a.title for a in vocabulary.ACTIVATIONS.values()]
    # formulas are math, but some say "if", "else", "at" in words: those are translated as any sentence
    formulas = [t for a in vocabulary.ACTIVATIONS.values() for t in (a.formula, a.derivative)]
    found += [t for t in formulas if _PROSE.search(t)]
    found += [o.title for o in vocabulary.OUTPUT_UNITS.values()]
    found += [o.loss_name for o in vocabulary.OUTPUT_UNITS.values()]  # the inspector's error step
    parameters = [p for a in vocabulary.ACTIVATIONS.values() for p in a.parameters]
    found += [p.meaning for p in parameters] + [p.allowed for p in parameters]  # α, k tooltips
    return list(dict.fromkeys(found))


def lesson_panel_messages() -> list[str]:
    """How the lesson panel names the part of the page a step points at (app/lessons.py PANELS; that
    module knows nothing of languages, so they are marked here): the catalogue must translate each."""
    from app.lessons import PANELS

    return [words for _, words in PANELS.values()]
