"""Lessons: one YAML file per lesson in lessons/, validated with pydantic, refused with file, line and reason.

The format is documented, with a complete example, in docs/lessons.md. A lesson has a title, the setup it
starts from (the fields of a run's configuration, app/schemas.py SessionCreate; missing fields take the
page's defaults), and steps; a step has text, the panel to look at, the control to use, an optional setup
of its own (merged over the lesson's: what "Set up for me" applies) and an optional task (app/tasks.py).

`load_dir` reads every *.yaml of a directory at startup: a bad file is reported (LessonError: file name,
line, what is wrong) and skipped, the good ones load. `parse` is the same check for one uploaded file.
This module knows nothing of languages (a parse is cached and shown to readers of every language): each
refusal is an English template with its values (engine/errors.py WordedError), said in the reader's
language where it is shown (app/routes/lessons.py `file_refusal`, lessons.html).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.refusals import Invalid
from app.schemas import ConfigPatch, SessionCreate
from engine.errors import SetupError, WordedError

MAX_LESSON_BYTES = 64 * 1024  # an uploaded lesson file; the nine lessons of the lecture are 2-5 kB each
MAX_STEPS = 30
MAX_TEXT = 4000
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")

# The panels a step can point at (the ids of the page's sections, highlighted by the player).
Panel = Literal["setup", "controls", "data", "network", "inspector", "output", "graph", "compare"]
# Where each is on the page (the element the player outlines) and how the panel names it.
PANELS: dict[str, tuple[str, str]] = {
    # what each part holds, not where it is: the panels move with the screen (side by side on a desktop,
    # one under the other on a phone, static/css/screens.css)
    "setup": ("#setup", "the training setup (learning rate, optimizer, batch size, output unit, "
                        "activations)"),
    "controls": ("#topbar", "the step controls (step, back, play, step unit and speed)"),
    "data": ("#data-panel", "the data panel (data sets, noise, features, points)"),
    "network": ("#network-panel", "the network drawing"),
    "inspector": ("#inspector", "the inspector (the formula of this step)"),
    "output": ("#output-panel", "the output panel (decision boundary, losses, accuracy, loss chart)"),
    "graph": ("", "the computation graph page (the link below)"),
    "compare": ("", "the comparison of runs (the link below)"),
}
Metric = Literal["train_loss", "test_loss", "validation_loss", "accuracy", "test_accuracy",
                 "validation_accuracy"]
Quantity = Literal["pre_activation", "activation", "delta", "loss", "graph_value", "graph_gradient"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TaskBase(Strict):
    question: str = Field(min_length=1, max_length=1000)
    hints: list[Annotated[str, Field(min_length=1, max_length=1000)]] = Field(default_factory=list,
                                                                               max_length=5)
    explain: str = Field(default="", max_length=2000, description="shown once the task is solved")


class TargetTask(TaskBase):
    """A target on the run: `metric` below / at least a value, optionally with at most `max_hidden_units`
    hidden units in all and within `max_epochs` completed epochs."""

    kind: Literal["target"]
    metric: Metric
    below: float | None = None
    at_least: float | None = None
    max_hidden_units: int | None = Field(default=None, ge=0, le=512)
    max_epochs: int | None = Field(default=None, ge=1, le=100_000)
    min_epochs: int = Field(default=0, ge=0, le=100_000, description="train at least this long first")

    @model_validator(mode="after")
    def _one_bound(self) -> TargetTask:
        if (self.below is None) == (self.at_least is None):
            raise SetupError(None, "a target task needs exactly one of 'below' or 'at_least'")
        if self.metric.endswith("accuracy") and self.at_least is not None and not 0 <= self.at_least <= 1:
            raise SetupError(None, "an accuracy target is a fraction from 0 to 1 (0.9 = 90 %)")
        return self


class NumberTask(TaskBase):
    """A number the student works out by hand and types: a value of the current step's trace (`layer`,
    `unit` counted from 1, the current sample of the batch) or of a computation graph (`expression` with
    `values`), checked at the precision the page prints it (or `decimals`)."""

    kind: Literal["number"]
    quantity: Quantity
    layer: int | None = Field(default=None, ge=1, le=9)
    unit: int | None = Field(default=None, ge=1, le=64)
    expression: str | None = Field(default=None, max_length=200)
    values: dict[str, float] = Field(default_factory=dict, max_length=12)
    gradient_of: str | None = Field(default=None, max_length=20, description="graph_gradient: ∂f/∂ this")
    decimals: int | None = Field(default=None, ge=0, le=8)

    @model_validator(mode="after")
    def _where(self) -> NumberTask:
        if self.quantity.startswith("graph"):
            if self.expression is None:
                raise SetupError(None, "quantity {quantity} needs an 'expression' (and its 'values')",
                                 quantity=self.quantity)
            if self.quantity == "graph_gradient" and self.gradient_of not in self.values:
                raise SetupError(None, "graph_gradient needs 'gradient_of', one of the names in 'values'")
        elif self.quantity != "loss" and (self.layer is None or self.unit is None):
            raise SetupError(None, "quantity {quantity} needs 'layer' and 'unit' (counted from 1)",
                             quantity=self.quantity)
        return self


class ChoiceTask(TaskBase):
    kind: Literal["choice"]
    options: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(min_length=2, max_length=6)
    answer: str = Field(description="the right option, written exactly as in 'options'")

    @field_validator("options")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise SetupError(None, "each option may appear once")
        return value

    @field_validator("answer")
    @classmethod
    def _answer_is_an_option(cls, value: str, info: ValidationInfo) -> str:
        if value not in info.data.get("options", [value]):  # (bad options are reported on their own)
            raise SetupError(None, "'answer' must be one of the 'options', written the same way")
        return value


class RangeTask(TaskBase):
    """A value found by experiment (say the smallest η at which training diverges): right from `low` to
    `high`. With `diverged: true` the run must also have diverged when the answer is checked."""

    kind: Literal["range"]
    low: float
    high: float
    diverged: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> RangeTask:
        if not self.low <= self.high:
            raise SetupError(None, "'low' must not be above 'high'")
        return self


TASK_KINDS = ("target", "number", "choice", "range")
Task = Annotated[TargetTask | NumberTask | ChoiceTask | RangeTask, Field(discriminator="kind")]


class Step(Strict):
    title: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    look: Panel | None = Field(default=None, description="the panel to look at")
    use: str | None = Field(default=None, max_length=200, description="the control to use, in words")
    setup: ConfigPatch | None = Field(default=None, description="merged over the lesson's setup")
    link: str | None = Field(default=None, max_length=500, description="a page of this site, say /graph?...")
    task: Task | None = None

    @field_validator("link")
    @classmethod
    def _own_site(cls, value: str | None) -> str | None:
        if value is not None and not (value.startswith("/") and not value.startswith("//")):
            raise SetupError(None, "a link is a path on this site, starting with one '/' "
                                   "(say /graph?expression=...)")
        return value


class Lesson(Strict):
    number: int = Field(ge=1, le=999, description="the order in the lesson list")
    title: str = Field(min_length=1, max_length=120)
    summary: str = Field(default="", max_length=400)
    setup: SessionCreate = Field(default_factory=SessionCreate)
    validation: bool = Field(default=False, description="the held-out points split into validation + test")
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)


def step_setup(lesson: Lesson, index: int) -> SessionCreate:
    """The whole setup of step `index`: the latest step setup at or before it merged over the lesson's
    (so "Set up for me" on a step without one restores the one before). SetupError when invalid."""
    merged: dict[str, Any] = lesson.setup.model_dump()
    for step in lesson.steps[: index + 1]:
        if step.setup is not None:
            # the fields a step's setup names replace the lesson's (a whole dataset:, a whole hidden:)
            merged = {**lesson.setup.model_dump(), **step.setup.model_dump(exclude_unset=True)}
    try:
        return SessionCreate.model_validate(merged)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SetupError(None, "step {step}'s setup over the lesson's is not valid ({where}: {problem})",
                         step=index + 1, where=where, problem=Invalid(first)) from None


class LessonError(WordedError):
    """Why a lesson file was refused: its name, the line (1-based, None when the file as a whole is
    wrong) and the reason: `template` and `values` (a field path as the author wrote it, a pydantic
    error said in the reader's words: app/refusals.py Invalid), `reason` in English."""

    def __init__(self, file: str, line: int | None, template: str, **values: object) -> None:
        self.file, self.line = file, line
        self.reason = self._word(template, values)
        where = f"{file}, line {line}" if line is not None else file
        super().__init__(f"{where}: {self.reason}")

    def __reduce__(self) -> tuple[object, ...]:  # rebuilt from its parts (a copied exception)
        return (_lesson_error, (self.file, self.line, self.template, self.values))


def _lesson_error(file: str, line: int | None, template: str, values: dict[str, object]) -> LessonError:
    return LessonError(file, line, template, **values)


def _line_of(root: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """The line (1-based) of the deepest YAML node the pydantic error location `loc` reaches: the key
    of an unknown or wrong field, the mapping that lacks a required one."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value
                          if isinstance(k, yaml.ScalarNode) and k.value == part), None)
            if found is None:
                continue  # a discriminator's tag, or a field the mapping lacks: stay on the mapping
            key, node = found
            # a nested block starts on the line after its key: point at its first field
            line = (node if isinstance(node, yaml.MappingNode) else key).start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
    return line


def _refused(file: str, line: int | None, error: dict[str, Any]) -> LessonError:
    """One pydantic error as the file's refusal: the field path in front ('steps.1.txt: unknown field
    …'), pydantic's words said where they are shown (app/refusals.py Invalid)."""
    loc = list(error["loc"])
    # the discriminator's tag pydantic puts after 'task' is not a field the author wrote
    path = ".".join(str(part) for i, part in enumerate(loc)
                    if not (i > 0 and loc[i - 1] == "task" and part in TASK_KINDS))
    if error["type"] == "extra_forbidden":
        return LessonError(file, line, "{path}: unknown field (a typo?); docs/lessons.md lists the fields",
                           path=path)
    if error["type"] == "missing":
        return LessonError(file, line, "{path}: this field is required", path=path)
    if not path:
        return LessonError(file, line, "{problem}", problem=Invalid(error))
    return LessonError(file, line, "{path}: {problem}", path=path, problem=Invalid(error))


def parse(text: str | bytes, file: str) -> Lesson:
    """One lesson file's text -> Lesson, or LessonError naming `file`, the line and the reason."""
    if isinstance(text, bytes):
        if len(text) > MAX_LESSON_BYTES:
            raise LessonError(file, None, "the file is larger than {kb} kB", kb=MAX_LESSON_BYTES // 1024)
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise LessonError(file, None, "not UTF-8 text (byte {byte})", byte=error.start) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        # what is wrong in the parser's own words ("mapping values are not allowed here"): PyYAML's text,
        # a third party's, shown as it wrote it in every language (its line is ours to say)
        problem = error.problem or error.context
        raise LessonError(file, line, "not valid YAML: {problem}", problem=problem) from None
    except yaml.YAMLError as error:
        raise LessonError(file, None, "not valid YAML: {problem}", problem=error) from None
    if not isinstance(data, dict):
        raise LessonError(file, 1, "a lesson file is a YAML mapping (title:, number:, steps: ...)")
    try:
        lesson = Lesson.model_validate(data)
    except ValidationError as error:
        # a typo'd field name is also a missing one: say the typo, the cause
        first = min(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
        raise _refused(file, _line_of(root, first["loc"]), dict(first)) from None
    for index in range(len(lesson.steps)):
        try:
            step_setup(lesson, index)  # a step's setup over the lesson's must be a whole valid setup
        except SetupError as error:
            line = _line_of(root, ("steps", index, "setup"))
            raise LessonError(file, line, error.template, **error.values) from None
    return lesson


@dataclass(frozen=True)
class Library:
    """The lessons the server offers, by slug (the file name without .yaml), in `number` order, and the
    files it refused at startup (each logged and shown on /lessons)."""

    lessons: dict[str, Lesson]
    refused: tuple[LessonError, ...] = ()

    def ordered(self) -> list[tuple[str, Lesson]]:
        return sorted(self.lessons.items(), key=lambda item: (item[1].number, item[0]))

    def with_lesson(self, slug: str, lesson: Lesson) -> Library:
        return Library({**self.lessons, slug: lesson}, self.refused)


def slug_for(file_name: str) -> str:
    """'01-perceptron.yaml' -> '01-perceptron'; SetupError when the name cannot be a slug."""
    stem = Path(file_name).name.removesuffix(".yaml").removesuffix(".yml").lower()
    if not SLUG.match(stem):
        raise SetupError(None, "the file name is letters, digits and '-' (up to 60), ending in .yaml")
    return stem


def load_dir(directory: Path) -> Library:
    """Every lesson file in `directory`; a refused one goes to Library.refused, the rest load."""
    lessons: dict[str, Lesson] = {}
    refused: list[LessonError] = []
    if not directory.is_dir():
        return Library({})
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            slug = slug_for(path.name)
            lessons[slug] = parse(path.read_bytes(), path.name)
        except LessonError as error:
            refused.append(error)
        except SetupError as error:
            refused.append(LessonError(path.name, None, error.template, **error.values))
    return Library(lessons, tuple(refused))
