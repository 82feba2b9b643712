"""Where the lessons come from: the built-in ones of lessons/ (the same files in every process, loaded at
startup) and the ones teachers uploaded, kept in the store as records (app/store.py RecordStore):

    kind "lessonfile"  key slug  value the uploaded YAML text, exactly as it was sent

so every process behind the proxy offers the same lessons and a restart loses none. Each request reads
the uploaded ones from the store again (one small read for one lesson, one for the list); a text is
parsed once per process and then reused while it stays the same (`_parsed`), so reading through costs
a query, not a YAML parse (a refused text's LessonError too: it holds its words as a template and
values, said in each reader's language where it is shown). An upload is written with `replace=False`:
two processes taking the same name at once, one wins and the other answers 409.

Uploads kept as files in the data dir by an older version (lessons/ there) are put into the store once,
at startup, so they are not lost.
"""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread

from app import lessons
from app.lessons import Lesson, LessonError, Library
from app.store import RecordStore

KIND = "lessonfile"
MAX_UPLOADED = 200  # lessons a server accepts by upload (each at most lessons.MAX_LESSON_BYTES)


class LessonShelf:
    """The built-in library and the uploaded lessons in the store, read through on every call."""

    def __init__(self, built_in: Library, records: RecordStore) -> None:
        self.built_in = built_in
        self.records = records
        self._parsed: dict[str, tuple[str, Lesson | LessonError]] = {}  # slug -> (text, its parse)

    def _parse(self, slug: str, text: str) -> Lesson | LessonError:
        cached = self._parsed.get(slug)
        if cached is not None and cached[0] == text:
            return cached[1]
        try:
            found: Lesson | LessonError = lessons.parse(text, f"{slug}.yaml")
        except LessonError as error:  # a file a later version validates more strictly: listed, not offered
            found = error
        self._parsed[slug] = (text, found)
        return found

    async def library(self) -> Library:
        """Every lesson now: the built-in ones and every uploaded one (a built-in name cannot be taken)."""
        rows = await anyio.to_thread.run_sync(self.records.records, KIND, "")
        uploaded: dict[str, Lesson] = {}
        refused: list[LessonError] = []
        for slug, text in rows:
            found = self._parse(slug, text)
            if isinstance(found, LessonError):
                refused.append(found)
            elif slug not in self.built_in.lessons:
                uploaded[slug] = found
        return Library({**uploaded, **self.built_in.lessons}, self.built_in.refused + tuple(refused))

    async def lesson(self, slug: str) -> Lesson | None:
        """The lesson named `slug`, or None."""
        if slug in self.built_in.lessons:
            return self.built_in.lessons[slug]
        text = await anyio.to_thread.run_sync(self.records.get_record, KIND, slug)
        found = self._parse(slug, text) if text is not None else None
        return found if isinstance(found, Lesson) else None

    async def count_uploaded(self) -> int:
        rows = await anyio.to_thread.run_sync(self.records.records, KIND, "")
        return len(rows)

    async def add(self, slug: str, text: str) -> bool:
        """Keep an uploaded lesson (already parsed and checked); False when the name is taken."""
        if slug in self.built_in.lessons:
            return False
        added: bool = await anyio.to_thread.run_sync(
            lambda: self.records.put_record(KIND, slug, text, replace=False))
        return added

    def adopt_folder(self, folder: Path) -> None:
        """Put the lesson files an older version kept in `folder` into the store (once; at startup)."""
        if not folder.is_dir():
            return
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            try:
                slug = lessons.slug_for(path.name)
                text = path.read_bytes().decode("utf-8")
            except (ValueError, OSError):
                continue  # a name or text no upload could have made: left where it is
            self.records.put_record(KIND, slug, text, replace=False)
