"""Every message the code and templates mark for translation, and every built-in lesson's words, found
as `pybabel extract -F babel.cfg` finds them (in process, so the test needs no files written): for
tests/app/test_i18n.py."""

from __future__ import annotations

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

from tests.conftest import ROOT

METHODS = [("app/**.py", "python"), ("engine/**.py", "python"), ("templates/**.html", "jinja2"),
           ("lessons/*.yaml", "app.lesson_text:extract")]
OPTIONS = {"templates/**.html": {"trimmed": "true"}}
# babel.cfg's command: gettext's markers, and the engine's refusals and the lessons' verdicts by the
# argument that is their template
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "SetupError": (2,), "ExpressionError": (1,), "GraphError": (1,),
            "CSVError": (1,), "fail": (2,), "Verdict": (2,), "AnswerError": (1,)}

Key = tuple[str | None, str | tuple[str, ...]]  # (msgctxt, msgid or (singular, plural))


def extracted() -> list[tuple[Key, list[tuple[str, int]]]]:
    """((context, msgid), and where it is) for every marked message, in file order; the context is None
    but for a lesson's words ("lesson <name>", app/lesson_text.py)."""
    found: dict[Key, list[tuple[str, int]]] = {}
    for filename, line, message, _comments, context in extract_from_dir(
        str(ROOT), METHODS, OPTIONS, keywords=KEYWORDS
    ):
        key = message if isinstance(message, str) else tuple(m for m in message if m)
        if key:
            found.setdefault((context, key), []).append((filename, line))
    return list(found.items())
