"""Every message the code and templates mark for translation, and every built-in lesson's words, found
as `pybabel extract -F babel.cfg` finds them (in process, so the test needs no files written): for
tests/app/test_i18n.py. And what "no English" means on a Chinese page (`english_words`)."""

from __future__ import annotations

import re

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

from tests.conftest import ROOT

METHODS = [("app/**.py", "python"), ("engine/**.py", "python"), ("templates/**.html", "jinja2"),
           ("lessons/*.yaml", "app.lesson_text:extract")]
OPTIONS = {"templates/**.html": {"trimmed": "true"}}
# babel.cfg's command: gettext's markers, and the engine's refusals and the lessons' verdicts by the
# argument that is their template
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "SetupError": (2,), "ExpressionError": (1,), "GraphError": (1,),
            "CSVError": (1,), "fail": (2,), "Verdict": (2,), "AnswerError": (1,),
            "RunFormatError": (2,), "NotJSONError": (1,), "LessonError": (3,)}

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


# Names the lecture itself writes in Latin letters (functions, optimizers, file formats) and math.
KEPT = {"tanh", "relu", "elu", "leaky", "sigmoid", "softmax", "softplus", "swish", "maxout", "sgd", "adam",
        "l1", "l2", "csv", "x1", "x2", "label", "json", "log", "exp", "sign", "sin", "max", "stepwise",
        "abs", "cs231n", "w0", "w1", "w2", "x0", "api", "yaml"}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")


def english_words(text: str, names: tuple[str, ...] = ()) -> list[str]:
    """Latin words of two letters or more in `text` that are not a kept name (KEPT); single letters are
    math (e, y, w). `names` are fields as the API spells them (state.params[1].weights, batch_size),
    the same in every language: taken out first."""
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    return sorted({w for w in WORD.findall(text) if w.lower() not in KEPT})
