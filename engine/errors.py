"""The error the engine raises for a value it refuses: which field, and why, in a student's words.

Every check in the engine that refuses a setting or a request (a batch size, a layer number, a step
unit, a dataset that does not fit the output unit) raises SetupError. The app answers it as a 4xx
naming `field` with `message` next to the control; it never parses the text. str() keeps the form
"field: message" (what older callers and log lines read). A SetupError is a ValueError, so code that
catches ValueError keeps working.
"""

from __future__ import annotations

__all__ = ["SetupError"]


class SetupError(ValueError):
    """A refused value. `field` names it as the API and the setup form spell it (`batch_size`,
    `regularization`, `state.optimizer.kind`), or None when no one field is to blame; `message` says
    what is allowed ("must be a whole number of at least 1")."""

    def __init__(self, field: str | None, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)

    def __reduce__(self) -> tuple[type[SetupError], tuple[str | None, str]]:
        # pickling (a worker process, a copied exception) rebuilds it from both parts, not from str()
        return (type(self), (self.field, self.message))
