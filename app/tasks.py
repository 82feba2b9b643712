"""Checking a lesson's task on the server, from the run's state (app/lessons.py defines the kinds).

Every verdict is computed from what the engine holds now: the run's losses and accuracies
(Run.current_metrics, or engine/validation.py for a validation split), its configuration and counters,
the current batch's trace, a computation graph built by engine/expression.py. A typed number is right
when it prints as the true value does at the precision the page prints it (engine/printed.py through
app/inspector_text.py's rule), so a student who redoes a printed line by hand gets it right.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.inspector_text import readable
from app.lessons import ChoiceTask, NumberTask, RangeTask, TargetTask
from engine import printed
from engine.expression import ExpressionError, build_graph
from engine.stepper import Run
from engine.validation import three_splits

METRIC_WORDS = {
    "train_loss": "training loss", "test_loss": "test loss", "validation_loss": "validation loss",
    "accuracy": "training accuracy", "test_accuracy": "test accuracy",
    "validation_accuracy": "validation accuracy",
}
QUANTITY_WORDS = {"pre_activation": "weighted sum e", "activation": "output y", "delta": "δ",
                  "loss": "loss of this sample"}


@dataclass(frozen=True)
class Verdict:
    """`solved`, and what to tell the student (what was checked, with the numbers the page shows)."""

    solved: bool
    message: str


class AnswerError(ValueError):
    """The typed answer is not a number (or no option was picked): a 422 naming the field `answer`."""


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
            raise AnswerError(f"{text.strip()[:40]!r} is not a number; type it like 0.25 or −1.5") from None
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
    words = METRIC_WORDS[task.metric]
    if run.diverged is not None:
        return Verdict(False, "The run diverged; reset it (or lower the learning rate) and train again.")
    hidden_units = sum(layer.units for layer in run.config.hidden)
    if task.max_hidden_units is not None and hidden_units > task.max_hidden_units:
        return Verdict(False, f"The network has {hidden_units} hidden units; the task allows at most "
                              f"{task.max_hidden_units}.")
    if task.max_epochs is not None and run.epoch > task.max_epochs:
        return Verdict(False, f"The run is at epoch {run.epoch}; the target must be reached within "
                              f"{task.max_epochs} epochs. Reset and try again.")
    if run.epoch < task.min_epochs:
        return Verdict(False, f"Train for at least {task.min_epochs} epochs first (now {run.epoch}).")
    value = _metric_value(run, task.metric)
    if value is None:
        return Verdict(False, f"This run has no {words}: the data is regression, not classes.")
    bound = task.below if task.below is not None else task.at_least
    assert bound is not None  # the model requires exactly one
    met = value < bound if task.below is not None else value >= bound
    relation = "below" if task.below is not None else "at least"
    said = f"{words} {_shown(task.metric, value)} at epoch {run.epoch}; the target is {relation} " \
           f"{_shown(task.metric, bound)}"
    return Verdict(met, f"Done: {said}." if met else f"Not yet: {said}.")


def true_number(task: NumberTask, run: Run) -> float:
    """The value the task asks for, from the run's current trace (current sample) or the graph.
    AnswerError when there is nothing to read yet (no batch stepped into)."""
    if task.quantity in ("graph_value", "graph_gradient"):
        assert task.expression is not None
        try:
            graph = build_graph(task.expression, task.values)
        except ExpressionError as error:
            raise AnswerError(f"the lesson's expression cannot be computed: {error}") from None
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
        raise AnswerError(f"this network has {len(trace.layers)} layers of weights; set the lesson up again")
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
        return Verdict(True, f"Right: {expected}.")
    return Verdict(False, f"Not quite: {printed.fixed(typed, decimals)} is not what the network has "
                          f"(checked with {decimals} decimals). Redo the line and try again.")


def check_choice(task: ChoiceTask, answer: str) -> Verdict:
    if answer not in task.options:
        raise AnswerError("pick one of the options")
    if answer == task.answer:
        return Verdict(True, "Right.")
    return Verdict(False, f"Not “{answer}”. Look again and try another.")


def check_range(task: RangeTask, run: Run, answer: str) -> Verdict:
    typed = parse_number(answer)
    if task.diverged and run.diverged is None:
        return Verdict(False, "Show it first: the run has not diverged at the current settings.")
    if task.low <= typed <= task.high:
        return Verdict(True, f"Yes: {printed.significant(typed)} is in the range found by experiment "
                             f"({printed.significant(task.low)} to {printed.significant(task.high)}).")
    side = "too small" if typed < task.low else "too large"
    return Verdict(False, f"{printed.significant(typed)} is {side}; try more values around it.")


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
