"""A student's progress through a lesson, kept with their run: a record of kind "lesson" per run id in the
session store (app/store.py RecordStore), so it survives a restart and is the same in every process
behind the proxy (the PostgreSQL store).

Progress is small: the lesson, the step shown, the steps solved and the attempts per step, as JSON;
never what the student typed. `summary` is what the class dashboard shows of it (app/dashboard.py).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from app.lessons import Lesson
from app.store import RecordStore

KIND = "lesson"


@dataclass
class Progress:
    slug: str
    step: int = 0
    solved: set[int] = field(default_factory=set)
    attempts: dict[int, int] = field(default_factory=dict)

    def attempt(self, step: int, solved: bool) -> None:
        self.attempts[step] = self.attempts.get(step, 0) + 1
        if solved:
            self.solved.add(step)

    def to_json(self) -> str:
        return json.dumps({"slug": self.slug, "step": self.step, "solved": sorted(self.solved),
                           "attempts": {str(k): v for k, v in self.attempts.items()}})

    @classmethod
    def from_json(cls, text: str) -> Progress:
        data = json.loads(text)
        return cls(str(data["slug"]), int(data["step"]), {int(s) for s in data["solved"]},
                   {int(k): int(v) for k, v in data["attempts"].items()})


def summary(progress: Progress, lesson: Lesson) -> dict[str, Any]:
    """A student's progress as the teacher's tile shows it: the lesson (number, title), the step shown
    (from 1) of how many, and each task of the lesson in order as "solved", "tried" (checked, not solved
    yet) or "open", with the counts. Counts and marks only: no answer travels."""
    tasks = [index for index, step in enumerate(lesson.steps) if step.task is not None]
    marks = ["solved" if i in progress.solved else "tried" if progress.attempts.get(i, 0) else "open"
             for i in tasks]
    return {"slug": progress.slug, "number": lesson.number, "title": lesson.title,
            "step": min(progress.step, len(lesson.steps) - 1) + 1, "steps": len(lesson.steps),
            "tasks": len(tasks), "solved": marks.count("solved"), "tried": marks.count("tried"),
            "marks": marks}


class ProgressBook:
    """Progress by session id, read from and written to the store's records (off the event loop)."""

    def __init__(self, records: RecordStore) -> None:
        self.records = records

    async def get(self, session_id: str) -> Progress | None:
        text = await anyio.to_thread.run_sync(self.records.get_record, KIND, session_id)
        return Progress.from_json(text) if text is not None else None

    async def save(self, session_id: str, progress: Progress) -> None:
        text = progress.to_json()
        await anyio.to_thread.run_sync(lambda: self.records.put_record(KIND, session_id, text))

    async def start(self, session_id: str, slug: str, like: Progress | None = None) -> Progress:
        """New progress for a run opened from lesson `slug` (or a copy of `like`'s, for a run copied to
        be compared)."""
        progress = Progress(slug) if like is None else Progress(slug, like.step, set(like.solved))
        await self.save(session_id, progress)
        return progress

    async def many(self, session_ids: list[str]) -> dict[str, Progress]:
        """The progress of each run that has some (one worker-thread hop for all of them)."""
        def read() -> dict[str, Progress]:
            found = {sid: self.records.get_record(KIND, sid) for sid in session_ids}
            return {sid: Progress.from_json(text) for sid, text in found.items() if text is not None}
        return await anyio.to_thread.run_sync(read)

    async def summaries(self, session_ids: list[str], lesson_of: Callable[[str], Awaitable[Lesson | None]]
                        ) -> dict[str, dict[str, Any]]:
        """`summary` of each run following a lesson this server has (`lesson_of` finds it by slug)."""
        out: dict[str, dict[str, Any]] = {}
        for sid, progress in (await self.many(session_ids)).items():
            lesson = await lesson_of(progress.slug)
            if lesson is not None:
                out[sid] = summary(progress, lesson)
        return out
