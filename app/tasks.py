"""Checking a lesson's task on the server, from the run's state (app/lessons.py defines the kinds).

Every verdict is computed from what the engine holds now: the run's losses and accuracies
(Run.current_metrics, or engine/validation.py for a validation split), its configuration and counters,
the current batch's trace, a computation graph built by engine/expression.py. A typed number is right
when it prints as the true value does at the precision the page prints it (engine/printed.py through
app/inspector_text.py's rule), so a student who redoes a printed line by hand gets it right.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.inspector_text import readable
from app.lesson_text import LessonPhrase
from app.lessons import ChoiceTask, NumberTask, RangeTask, TargetTask
from engine import printed
from engine.errors import N_, Phrase, WordedError
from engine.expression import ExpressionError, build_graph
from engine.stepper import Run
from engine.validation import three_splits

METRIC_WORDS = {
    "train_loss": N_("training loss"), "test_loss": N_("test loss"), "validation_loss": N_("validation loss"),
    "accuracy": N_("training accuracy"), "test_accuracy": N_("test accuracy"),
    "validation_accuracy": N_("validation accuracy"),
}
QUANTITY_WORDS = {"pre_activation": "weighted sum e", "activation": "output y", "delta": "δ",
                  "loss": "loss of this sample"}


@dataclass(frozen=True)
class Verdict:
    """`solved`, and what to tell the student (what was checked, with the numbers the page shows):
    `template` with `values`, as the engine's refusals are (engine/errors.py), so the panel says it in
    the page's language with the same numbers (app/i18n.py `said`); `message` is it in English."""

    solved: bool
    template: str
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return self.template.format_map({k: str(v) for k, v in self.values.items()})


class AnswerError(WordedError):
    """The typed answer is not a number (or no option was picked): a 422 naming the field `answer`."""

    def __init__(self, template: str, **values: Any) -> None:
        self.message = self._word(template, values)
        super().__init__(self.message)


def parse_number(text: str) -> float:
    """A number as a student types it: 0.25, −0.25 (the page's minus), 0,25, 2.5e-3, 2.5·10⁻³."""
    cleaned = text.strip().replace(",", ".").replace(" ", "")
    if not cleaned:
        raise AnswerError("type a number, say 0.25 or −1.5")
    try:
        value = float(cleaned.replace(printed.MINUS, "-"))
    except ValueError:
        try:
            value = printed.shown(cleaned)
        except ValueError:
            raise AnswerError("{text} is not a number; type it like 0.25 or −1.5",
                              text=repr(text.strip()[:40])) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise AnswerError("type a finite number")
    return value


def _metric_value(run: Run, metric: str) -> float | None:
    if metric.startswith("validation"):
        splits = three_splits(run)
        return splits.validation.loss if metric == "validation_loss" else splits.validation.accuracy
    measured = run.current_metrics()
    return {"train_loss": measured.train_loss, "test_loss": measured.test_loss,
            "accuracy": measured.accuracy, "test_accuracy": measured.test_accuracy}[metric]


def _shown(metric: str, value: float) -> str:
    return printed.percent(value) if metric.endswith("accuracy") else printed.loss(value)


def check_target(task: TargetTask, run: Run) -> Verdict:
    words = Phrase(METRIC_WORDS[task.metric])
    if run.diverged is not None:
        return Verdict(False, "The run diverged; reset it (or lower the learning rate) and train again.")
    hidden_units = sum(layer.units for layer in run.config.hidden)
    if task.max_hidden_units is not None and hidden_units > task.max_hidden_units:
        return Verdict(False, "The network has {n} hidden units; the task allows at most {high}.",
                       {"n": hidden_units, "high": task.max_hidden_units})
    if task.max_epochs is not None and run.epoch > task.max_epochs:
        return Verdict(False, "The run is at epoch {epoch}; the target must be reached within {high} "
                       "epochs. Reset and try again.", {"epoch": run.epoch, "high": task.max_epochs})
    if run.epoch < task.min_epochs:
        return Verdict(False, "Train for at least {low} epochs first (now {epoch}).",
                       {"low": task.min_epochs, "epoch": run.epoch})
    value = _metric_value(run, task.metric)
    if value is None:
        return Verdict(False, "This run has no {words}: the data is regression, not classes.",
                       {"words": words})
    bound = task.below if task.below is not None else task.at_least
    assert bound is not None  # the model requires exactly one
    met = value < bound if task.below is not None else value >= bound
    found = {"words": words, "value": _shown(task.metric, value), "epoch": run.epoch,
             "bound": _shown(task.metric, bound)}
    if task.below is not None and met:
        return Verdict(True, "Done: {words} {value} at epoch {epoch}; the target is below {bound}.", found)
    if task.below is not None:
        return Verdict(False, "Not yet: {words} {value} at epoch {epoch}; the target is below {bound}.",
                       found)
    if met:
        return Verdict(True, "Done: {words} {value} at epoch {epoch}; the target is at least {bound}.", found)
    return Verdict(False, "Not yet: {words} {value} at epoch {epoch}; the target is at least {bound}.", found)


def true_number(task: NumberTask, run: Run) -> float:
    """The value the task asks for, from the run's current trace (current sample) or the graph.
    AnswerError when there is nothing to read yet (no batch stepped into)."""
    if task.quantity in ("graph_value", "graph_gradient"):
        assert task.expression is not None
        try:
            graph = build_graph(task.expression, task.values)
        except ExpressionError as error:
            raise AnswerError("the lesson's expression cannot be computed: {reason}", reason=error) from None
        if task.quantity == "graph_value":
            return graph.output.data
        leaf = next(node for node in graph.nodes if not node.op and node.name == task.gradient_of)
        return leaf.grad
    trace = run.last_trace
    if trace is None or run.cursor is None:
        raise AnswerError("step into a batch first (→ one micro-step): the number belongs to a sample's step")
    sample = run.sample
    if task.quantity == "loss":
        return float(trace.loss_per_sample[sample])
    assert task.layer is not None and task.unit is not None
    if task.layer > len(trace.layers):
        raise AnswerError("this network has {n} layers of weights; set the lesson up again",
                          n=len(trace.layers))
    layer = trace.layers[task.layer - 1]
    table = {"pre_activation": layer.pre_activation, "activation": layer.activation,
             "delta": layer.delta}[task.quantity]
    if table.ndim != 2 or task.unit > table.shape[1]:
        raise AnswerError("this network's layer has another shape; set the lesson up again")
    return float(table[sample, task.unit - 1])


def check_number(task: NumberTask, run: Run, answer: str) -> Verdict:
    typed = parse_number(answer)
    value = true_number(task, run)
    decimals = task.decimals if task.decimals is not None else readable(value)
    expected = printed.fixed(value, decimals)
    if printed.fixed(typed, decimals) == expected:
        return Verdict(True, "Right: {value}.", {"value": expected})
    return Verdict(False, "Not quite: {typed} is not what the network has (checked with {decimals} "
                   "decimals). Redo the line and try again.",
                   {"typed": printed.fixed(typed, decimals), "decimals": decimals})


def check_choice(task: ChoiceTask, answer: str) -> Verdict:
    if answer not in task.options:
        raise AnswerError("pick one of the options")
    if answer == task.answer:
        return Verdict(True, "Right.")
    return Verdict(False, "Not “{answer}”. Look again and try another.", {"answer": LessonPhrase(answer)})


def check_range(task: RangeTask, run: Run, answer: str) -> Verdict:
    typed = parse_number(answer)
    if task.diverged and run.diverged is None:
        return Verdict(False, "Show it first: the run has not diverged at the current settings.")
    if task.low <= typed <= task.high:
        return Verdict(True, "Yes: {typed} is in the range found by experiment ({low} to {high}).",
                       {"typed": printed.significant(typed), "low": printed.significant(task.low),
                        "high": printed.significant(task.high)})
    shown = {"typed": printed.significant(typed)}
    if typed < task.low:
        return Verdict(False, "{typed} is too small; try more values around it.", shown)
    return Verdict(False, "{typed} is too large; try more values around it.", shown)


def check(task: TargetTask | NumberTask | ChoiceTask | RangeTask, run: Run, answer: str) -> Verdict:
    """The verdict on `answer` (ignored by a target task) for the run as it is now. AnswerError when the
    answer cannot be read."""
    if isinstance(task, TargetTask):
        return check_target(task, run)
    if isinstance(task, NumberTask):
        return check_number(task, run, answer)
    if isinstance(task, ChoiceTask):
        return check_choice(task, answer)
    return check_range(task, run, answer)
