"""Every target of the nine lessons can be met the way its step says: the step's own setup (plus the one
change the step asks the student to make), trained within the task's epoch limit, passes the check."""

from __future__ import annotations

from typing import Any

import pytest

from app import convert, lessons, tasks
from app.lessons import TargetTask
from app.settings import ROOT
from engine.stepper import Run

LIBRARY = lessons.load_dir(ROOT / "lessons")
# (lesson, step counted from 1) -> the change the step's text asks for, over the step's setup
STUDENT_CHANGES: dict[tuple[str, int], dict[str, Any]] = {
    ("01-perceptron", 3): {"features": ["x1", "x2", "x1_x2"]},
    ("09-validation", 2): {"hidden": [{"units": 6, "activation": "tanh"}]},
}
TARGETS = [(slug, index) for slug, lesson in LIBRARY.ordered() for index, step in enumerate(lesson.steps)
           if isinstance(step.task, TargetTask)]


def test_there_are_targets_to_reach() -> None:
    assert len(TARGETS) >= 6


@pytest.mark.parametrize(("slug", "index"), TARGETS)
def test_each_target_is_reached_as_the_step_says(slug: str, index: int) -> None:
    lesson = LIBRARY.lessons[slug]
    task = lesson.steps[index].task
    assert isinstance(task, TargetTask)
    setup = lessons.step_setup(lesson, index).model_dump()
    setup.update(STUDENT_CHANGES.get((slug, index + 1), {}))
    run: Run = convert.built(convert.validated(setup))
    epochs = task.max_epochs if task.max_epochs is not None else max(task.min_epochs, 20)
    before = tasks.check(task, run, "")
    run.step("epoch", max(epochs, task.min_epochs))
    after = tasks.check(task, run, "")
    assert after.solved, (slug, index + 1, after.message)
    if task.min_epochs == 0:
        assert not before.solved, (slug, index + 1, "solved before any training: the task checks nothing")
