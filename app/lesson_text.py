"""The built-in lessons' words in the page's language: a Babel extractor for lessons/*.yaml and the
lookup the lesson templates use (the `lesson` filter, app/i18n.py).

A lesson's words (its title and summary; each step's title, text paragraphs and `use`; each task's
question, options, hints and explanation) go into the catalogue with the lesson's own context,
"lesson <name>" (msgctxt), so the same words in two lessons are two entries and no lesson's words are
mixed up with the page's own. A lesson a teacher uploads has another name (a built-in lesson's name
cannot be taken), so nothing in the catalogue matches it and it is shown as written. Numbers and
formulas in a lesson are written once, in the YAML: the translation keeps them as they are.

babel.cfg registers `extract` for lessons/*.yaml; tests/app/test_i18n.py fails on a lesson string
without a zh-CN translation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath
from typing import IO, Any

import yaml

LESSON_FIELDS = ("title", "summary")
STEP_FIELDS = ("title", "use")  # plus `text`, one entry per paragraph
TASK_FIELDS = ("question", "explain")  # plus `options` and `hints`, one entry each


class LessonPhrase(str):
    """A value of a verdict's template written in the lesson (a choice's option): shown as the panel
    shows the lesson's words (app/i18n.py `said` with the lesson's name)."""

    __slots__ = ()


def context(slug: str) -> str:
    """The catalogue's msgctxt of the lesson named `slug` (its file name without .yaml)."""
    return f"lesson {slug}"


def paragraphs(text: str) -> list[str]:
    """A step's text as the panel shows it: paragraphs split at empty lines (one catalogue entry each)."""
    return [part for part in text.strip().split("\n\n") if part.strip()]


def _mapping(node: yaml.Node | None) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}


def _scalars(node: yaml.Node | None) -> Iterator[tuple[int, str]]:
    """(1-based line, text) of a scalar, or of each scalar of a list."""
    if isinstance(node, yaml.ScalarNode) and isinstance(node.value, str) and node.value.strip():
        yield node.start_mark.line + 1, node.value
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _scalars(item)


def strings(root: yaml.Node | None) -> Iterator[tuple[int, str]]:
    """(line, text) of every word of a lesson shown to a student, in file order."""
    lesson = _mapping(root)
    for name in LESSON_FIELDS:
        yield from _scalars(lesson.get(name))
    steps = lesson.get("steps")
    for step_node in steps.value if isinstance(steps, yaml.SequenceNode) else []:
        step = _mapping(step_node)
        yield from _scalars(step.get("title"))
        for line, text in _scalars(step.get("text")):
            for paragraph in paragraphs(text):
                yield line, paragraph
        yield from _scalars(step.get("use"))
        task = _mapping(step.get("task"))
        for name in ("question", "options", "hints", "explain"):
            yield from _scalars(task.get(name))


def extract(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
            ) -> Iterator[tuple[int, str, tuple[str, str], list[str]]]:
    """Babel's extraction method for a lesson file: each string as pgettext(context, text)."""
    slug = PurePath(getattr(fileobj, "name", "lesson.yaml")).stem
    root = yaml.compose(fileobj.read().decode("utf-8"), Loader=yaml.SafeLoader)
    for line, text in strings(root):
        yield line, "pgettext", (context(slug), text), []
