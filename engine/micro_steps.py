"""One batch played micro-step by micro-step: forward, error, backward, accumulate, update.

At the batch start the vectorized step (trace + optimiser update) is computed once and kept in the
batch's TeachingSequence together with the optimiser state after it; the live state is then put back to
the boundary. `cursor` is the index of the last event done. Inside the batch the parameters are the
boundary's with the rows of the done update events replaced by the vectorized result, so doing every
event gives the vectorized step bit for bit; the optimiser state switches at the batch's last event,
which completes the batch (the run is then at the next boundary, and that event is still shown).

Stops inside a batch: micro = every event, sample = every accumulate event, batch and epoch = the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.events import Event, Params, TeachingSequence
from engine.history import unflatten
from engine.run_config import Unit
from engine.run_state import RunState
from engine.trace import Trace


@dataclass
class BatchInProgress:
    """The batch being micro-stepped: its sequence (trace + vectorized result) and the optimiser state
    after it."""

    sequence: TeachingSequence
    new_optimizer_state: Any


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


class MicroSteps(RunState):
    """Run's micro-steps through the batch in progress (`_in_batch`, `cursor`)."""

    @property
    def sample(self) -> int:
        """The sample (row of the batch) of the current micro-step; 0 at a boundary."""
        if self._in_batch is None or self.cursor is None:
            return 0
        return self._in_batch.sequence.sample_of(self.cursor)

    @property
    def events(self) -> Sequence[Event]:
        """The teaching sequence of the batch in progress, or of the batch just completed by micro-steps
        (its last event is then current); empty after coarse steps."""
        sequence = self._in_batch.sequence if self._in_batch is not None else self._shown
        return sequence if sequence is not None else ()

    @property
    def current_event(self) -> Event | None:
        """The micro-step just done (what the page highlights), or None."""
        if self._in_batch is not None and self.cursor is not None:
            return self._in_batch.sequence[self.cursor]
        if self._shown is not None:
            return self._shown[len(self._shown) - 1]
        return None

    def _enter_batch(self, unit: Unit) -> bool:
        """From a boundary: begin the next batch and go to its first stop of `unit` (micro or sample)."""
        if not self._begin_batch():
            return False
        assert self._in_batch is not None
        sequence = self._in_batch.sequence
        self._goto(0 if unit == "micro" else sequence.accumulate_index(0))
        return True

    def _advance_in_batch(self, unit: Unit) -> bool:
        """One stop of `unit` inside the batch in progress; reaching its last event completes it."""
        assert self._in_batch is not None and self.cursor is not None
        sequence = self._in_batch.sequence
        target = next_stop(sequence, self.cursor, unit)
        if target >= len(sequence) - 1:
            return self._complete_batch()
        self._goto(target)
        return True

    def _reenter_batch_at_end(self, unit: Unit) -> bool:
        """At the boundary before a batch done earlier: replay it up to its last stop of `unit` (micro:
        the event before the last update; sample: the last accumulate)."""
        if not self._begin_batch():  # cannot fail: this batch was done from this very state before
            return False
        assert self._in_batch is not None
        sequence = self._in_batch.sequence
        last_sample = sequence.accumulate_index(sequence.batch_size - 1)
        self._goto(len(sequence) - 2 if unit == "micro" else last_sample)
        return True

    def _begin_batch(self) -> bool:
        """Compute the batch's vectorized step, keep its result in the sequence, and put the live state
        back to the boundary: the update events then copy the result in, row by row."""
        trace = self._vectorized()
        if trace is None:
            return False
        new_params, new_state = self.network.get_params(), self.optimizer.get_state()
        self._restore(self.history.top)
        self._trace = trace
        self._shown = None
        self._in_batch = BatchInProgress(self._sequence(trace, new_params), new_state)
        return True

    def _sequence(self, trace: Trace, new_params: Params) -> TeachingSequence:
        network = self.network
        names = [layer.activation_name for layer in network.layers]
        return TeachingSequence(trace, new_params, network.derivative, names, self.config.output_unit)

    def _goto(self, cursor: int) -> None:
        """Inside the batch in progress: the state after events 0..cursor."""
        assert self._in_batch is not None
        sequence = self._in_batch.sequence
        old = unflatten(self.history.top.params, self.history.top.params_layout)
        self.network.set_params(sequence.params_at(old, cursor))
        if sequence.updates_done(self.cursor) != sequence.updates_done(cursor):
            self._version += 1  # an update event was done or undone: the losses change
        self.cursor = cursor

    def _complete_batch(self) -> bool:
        """The batch's last event: the vectorized result and optimiser state become live."""
        assert self._in_batch is not None
        batch = self._in_batch
        self.network.set_params(batch.sequence.new_params)
        self.optimizer.set_state(batch.new_optimizer_state)
        self._in_batch = None
        self.cursor = None
        if not self._finish_batch(final=True):
            return False
        self._shown = batch.sequence
        return True
