"""A student's progress through a lesson, kept with their run (by session id) on the server.

Progress is small (the lesson, the step shown, the steps solved, attempts and hints opened per step) and
lives in memory beside the session it belongs to: a session opened from a lesson carries it, a session
that is deleted or evicted takes it along (`forget`); a server restart starts the panel at step 1 again
with the run itself restored.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

MAX_TRACKED = 20_000  # the oldest progress goes first beyond this (sessions are capped far below it)


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

    def summary(self, steps_with_tasks: int) -> str:
        """'2 of 3 tasks' (what a teacher's dashboard tile shows)."""
        return f"{len(self.solved)} of {steps_with_tasks} tasks"


class ProgressBook:
    """Progress by session id, most recently used last."""

    def __init__(self) -> None:
        self._by_session: OrderedDict[str, Progress] = OrderedDict()

    def get(self, session_id: str) -> Progress | None:
        found = self._by_session.get(session_id)
        if found is not None:
            self._by_session.move_to_end(session_id)
        return found

    def start(self, session_id: str, slug: str) -> Progress:
        progress = Progress(slug)
        self._by_session[session_id] = progress
        while len(self._by_session) > MAX_TRACKED:
            self._by_session.popitem(last=False)
        return progress

    def forget(self, session_id: str) -> None:
        self._by_session.pop(session_id, None)
