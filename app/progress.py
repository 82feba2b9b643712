"""A student's progress through a lesson, kept with their run: a record of kind "lesson" per run id in the
session store (app/store.py RecordStore), so it survives a restart and is the same in every process
behind the proxy (the PostgreSQL store).

Progress is small: the lesson, the step shown, the steps solved and the attempts per step, as JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import anyio

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
