"""Which runs are compared (app/compare.py draws them): records in the store (app/store.py RecordStore),
so every process behind the proxy serves /compare/{id} and a restart loses none.

    kind "comparerun"  key ID/RUN  value ""   one per run of comparison ID; listed oldest first = run order
    kind "comparedin"  key RUN     value ID   the comparison a run belongs to (one each)

One record per run, not a list in one record: adding a run is one insert, so two processes adding runs
to the same comparison at once both land (a read-change-write of a list would lose one).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import anyio.to_thread

from app.store import RecordStore

RUNS = "comparerun"
OF_RUN = "comparedin"
ID_BYTES = 9  # secrets.token_urlsafe(9): 12 URL-safe characters


@dataclass
class Comparison:
    id: str
    sessions: list[str] = field(default_factory=list)


class Comparisons:
    """Comparisons by id, and which comparison each run belongs to, read from the store on every call."""

    def __init__(self, records: RecordStore) -> None:
        self.records = records

    def _runs(self, comparison_id: str) -> list[str]:
        return [key.split("/", 1)[1] for key, _ in self.records.records(RUNS, f"{comparison_id}/")]

    async def get(self, comparison_id: str) -> Comparison | None:
        if "/" in comparison_id:
            return None
        runs = await anyio.to_thread.run_sync(self._runs, comparison_id)
        return Comparison(comparison_id, runs) if runs else None

    async def of(self, session_id: str) -> Comparison | None:
        """The comparison this run belongs to, or None."""
        found = await anyio.to_thread.run_sync(self.records.get_record, OF_RUN, session_id)
        return await self.get(found) if found is not None else None

    async def pin(self, session_id: str) -> Comparison:
        """The comparison `session_id` belongs to, made with it as run 1 if it has none."""
        def pinned() -> Comparison:
            made = secrets.token_urlsafe(ID_BYTES)
            if self.records.put_record(OF_RUN, session_id, made, replace=False):
                self.records.put_record(RUNS, f"{made}/{session_id}", "")
            found = self.records.get_record(OF_RUN, session_id) or made  # another request's, if first
            runs = self._runs(found)
            if session_id not in runs:  # a pin cut short between its two writes: finish it
                self.records.put_record(RUNS, f"{found}/{session_id}", "")
                runs = self._runs(found)
            return Comparison(found, runs)
        return await anyio.to_thread.run_sync(pinned)

    async def add(self, comparison: Comparison, session_id: str) -> None:
        """A new run (a copy just made) joins `comparison` as its last run."""
        def added() -> None:
            self.records.put_record(OF_RUN, session_id, comparison.id)
            self.records.put_record(RUNS, f"{comparison.id}/{session_id}", "")
        await anyio.to_thread.run_sync(added)
        comparison.sessions.append(session_id)
