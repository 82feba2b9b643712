"""The error the engine raises for a value it refuses: which field, and why, in a student's words.

Every check in the engine that refuses a setting or a request (a batch size, a layer number, a step
unit, a dataset that does not fit the output unit) raises SetupError. The app answers it as a 4xx
naming `field` with `message` next to the control; it never parses the text. str() keeps the form
"field: message" (what older callers and log lines read). A SetupError is a ValueError, so code that
catches ValueError keeps working.

Every refusal the engine words (SetupError here, ExpressionError, GraphError, CSVError) is a `WordedError`:
an English template with named values, "must be a whole number from 1 to {high}" with high=1000. The
template is written once, at the raise; `pybabel extract` finds it there (babel.cfg names these
constructors as keywords) and the app says it in the page's language by translating the template and
then filling in the same values (app/refusals.py `said`), so the numbers are the engine's in every
language. A value that is itself words (a vocabulary title, another refusal) is a `Phrase` or a WordedError
and is translated too; every other value is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["N_", "Phrase", "SetupError", "Value", "WordedError"]


def N_(template: str) -> str:  # noqa: N802 (gettext's own name for a marker)
    """Marks a template kept in a table (not written at its raise) for the catalogue; returns it."""
    return template


class Phrase(str):
    """A value of a template that is itself English words from the catalogue (a vocabulary title)."""

    __slots__ = ()


Value = object  # a number (already printed as the page prints it), a name, a Phrase or a WordedError


class WordedError(ValueError):
    """A refusal said by `template` (str.format fields) with `values`; `message` is it in English."""

    template: str
    values: Mapping[str, Value]

    def _word(self, template: str, values: Mapping[str, Value]) -> str:
        self.template, self.values = template, dict(values)
        return template.format_map({k: _english(v) for k, v in values.items()}) if values else template


def _english(value: Value) -> str:
    """A value in the English message: a refusal inside this one is its words without its field (as
    app/i18n.py `said` says it), every other value as str() prints it."""
    return value.message if isinstance(value, SetupError) else str(value)


class SetupError(WordedError):
    """A refused value. `field` names it as the API and the setup form spell it (`batch_size`,
    `regularization`, `state.optimizer.kind`), or None when no one field is to blame; `message` says
    what is allowed ("must be a whole number of at least 1"), `template` and `values` make it."""

    def __init__(self, field: str | None, message: str, **values: Value) -> None:
        self.field = field
        self.message = self._word(message, values)
        super().__init__(f"{field}: {self.message}" if field else self.message)

    def __reduce__(self) -> tuple[object, ...]:
        # pickling (a worker process, a copied exception) rebuilds it from its parts, not from str()
        return (_setup_error, (type(self), self.field, self.template, self.values))


def _setup_error(kind: type[SetupError], field: str | None, template: str,
                 values: Mapping[str, Value]) -> SetupError:
    return kind(field, template, **values)
