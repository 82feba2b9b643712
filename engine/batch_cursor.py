"""The batch in progress and its stops: which event a micro, sample, batch or epoch step lands on.

A batch played micro-step by micro-step is a TeachingSequence (engine/events.py): per sample forward,
error, backward and accumulate events, then one update event per unit. At the batch start the run
computes the vectorized step once (trace + optimiser update) and keeps its result here, with the
optimiser state after it; the update events then copy the result in, unit by unit, so doing every event
gives the vectorized step bit for bit. The run's `cursor` is the index of the last event done; doing the
last one (the last update) completes the batch.

Stops inside a batch: micro = every event, sample = every accumulate event, batch and epoch = the end.
Pure functions of the sequence and the cursor: nothing here changes a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.events import Event, Params, TeachingSequence
from engine.run_config import Unit


@dataclass
class BatchInProgress:
    """The batch being micro-stepped: its sequence (trace + vectorized result), the parameters at its
    start boundary, the optimiser state after it, and `cursor`, the last event done (-1: none yet)."""

    sequence: TeachingSequence
    start_params: Params
    new_optimizer_state: Any
    cursor: int = -1

    @property
    def sample(self) -> int:
        """The row of the batch the current event belongs to (update events: the last row)."""
        return self.sequence.sample_of(self.cursor) if self.cursor >= 0 else 0

    @property
    def event(self) -> Event | None:
        return self.sequence[self.cursor] if self.cursor >= 0 else None

    def params_at(self, cursor: int) -> Params:
        """The parameters once events 0..cursor are done (exact copies; see TeachingSequence.params_at)."""
        return self.sequence.params_at(self.start_params, cursor)

    def changes_params(self, cursor: int) -> bool:
        """True if going from the current event to `cursor` does or undoes an update event."""
        done = self.sequence.updates_done
        return done(self.cursor if self.cursor >= 0 else None) != done(cursor)


def first_stop(sequence: TeachingSequence, unit: Unit) -> int:
    """Where a micro or sample step from the boundary before the batch lands: its first event, or the
    first sample's accumulate event."""
    return 0 if unit == "micro" else sequence.accumulate_index(0)


def last_stop(sequence: TeachingSequence, unit: Unit) -> int:
    """Where a micro or sample step back from the boundary after the batch lands: the event before the
    last update, or the last sample's accumulate event."""
    return len(sequence) - 2 if unit == "micro" else sequence.accumulate_index(sequence.batch_size - 1)


def next_stop(sequence: TeachingSequence, cursor: int, unit: Unit) -> int:
    """The event index one stop of `unit` after `cursor`; len(sequence) - 1 (the last update) completes
    the batch."""
    if unit == "micro":
        return cursor + 1
    if unit == "sample":
        later = [sequence.accumulate_index(s) for s in range(sequence.batch_size)
                 if sequence.accumulate_index(s) > cursor]
        return later[0] if later else len(sequence) - 1
    return len(sequence) - 1


def previous_stop(sequence: TeachingSequence, cursor: int, unit: Unit) -> int:
    """The event index one stop of `unit` before `cursor`; -1 is the boundary before the batch (where
    batch and epoch go at once)."""
    if unit == "micro":
        return cursor - 1
    if unit == "sample":
        earlier = [sequence.accumulate_index(s) for s in range(sequence.batch_size)
                   if sequence.accumulate_index(s) < cursor]
        return earlier[-1] if earlier else -1
    return -1
