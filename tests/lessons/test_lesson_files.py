"""Lesson files: the nine of the lecture load in its order with a task each; a bad file is refused with its
name, line and reason, at startup (the good ones still load) and by upload to a running server."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import lessons
from app.lessons import LessonError
from app.main import create_app
from app.settings import ROOT, Settings
from app.store import STORE_FILE, SQLiteStore

GOOD = """\
number: 42
title: A tiny lesson
setup:
  dataset: {name: xor}
  hidden: []
steps:
  - title: Look
    text: Look at the data.
  - title: Answer
    text: Pick one.
    task:
      kind: choice
      question: Which?
      options: [a, b]
      answer: b
"""


def test_the_nine_lessons_follow_the_lecture_each_with_a_checked_task() -> None:
    library = lessons.load_dir(ROOT / "lessons")
    assert library.refused == ()
    ordered = library.ordered()
    assert [lesson.number for _, lesson in ordered] == list(range(1, 10))
    keywords = ["perceptron", "hidden layer", "activations", "computation graph", "forward", "δ",
                "weight update", "maximum likelihood", "validation"]
    for (slug, lesson), word in zip(ordered, keywords, strict=True):
        assert word in lesson.title.lower() or word in lesson.title, (slug, lesson.title)
        assert any(step.task is not None for step in lesson.steps), slug
        for index in range(len(lesson.steps)):
            lessons.step_setup(lesson, index)  # every step's setup builds


@pytest.mark.parametrize(("text", "line", "reason"), [
    (GOOD.replace("    text: Pick one.\n", "    txt: Pick one.\n"), 10, "steps.1.txt: unknown field"),
    (GOOD.replace("      answer: b\n", "      answer: c\n"), 15, "'answer' must be one of the 'options'"),
    (GOOD.replace("number: 42", "number: many"), 1, "number: Input should be a valid integer"),
    (GOOD.replace("  dataset: {name: xor}", "  dataset: {name: donut}"), 4, "setup.dataset.name"),
    (GOOD.replace("      question: Which?\n", ""), 12, "steps.1.task.question: this field is required"),
    (GOOD.replace("    text: Look at the data.\n", "    text: Look: at: the data.\n"), 8, "not valid YAML"),
    (GOOD.replace("      kind: choice", "      kind: essay"), 12, "steps.1.task: Input tag 'essay'"),
])
def test_a_bad_lesson_names_its_file_line_and_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(LessonError) as caught:
        lessons.parse(text, "tiny.yaml")
    error = caught.value
    assert error.file == "tiny.yaml"
    assert error.line == line, str(error)
    assert reason in error.reason
    assert str(error).startswith(f"tiny.yaml, line {line}: ")


def test_a_step_setup_that_breaks_the_whole_setup_names_the_steps_line() -> None:
    text = GOOD.replace("    text: Pick one.\n", "    text: Pick one.\n    setup: {batch_size: 0}\n")
    with pytest.raises(LessonError) as caught:
        lessons.parse(text, "tiny.yaml")
    assert caught.value.line == 11
    assert "batch_size" in caught.value.reason


def test_a_target_needs_exactly_one_bound() -> None:
    choice = "      kind: choice\n      question: Which?\n      options: [a, b]\n      answer: b\n"
    text = GOOD.replace(choice,
                        "      kind: target\n      question: Go.\n      metric: test_loss\n")
    with pytest.raises(LessonError, match="exactly one of 'below' or 'at_least'"):
        lessons.parse(text, "tiny.yaml")


def test_the_server_starts_with_the_good_lessons_and_lists_the_refused_file(tmp_path: Path) -> None:
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "good.yaml").write_text(GOOD)
    (folder / "bad.yaml").write_text(GOOD.replace("number: 42", "number: -1"))
    with TestClient(create_app(Settings(data_dir=tmp_path / "data", lessons_dir=folder))) as client:
        page = client.get("/lessons")
        assert page.status_code == 200
        assert 'href="/lessons/good"' in page.text and "A tiny lesson" in page.text
        said = "<code>bad.yaml</code>, line 1: number: must be a whole number 1 or more"  # plain words
        assert said in page.text
        assert client.get("/lessons/bad", follow_redirects=False).status_code == 404
        assert client.get("/lessons/good", follow_redirects=False).status_code == 303


def test_an_uploaded_lesson_is_checked_like_the_built_in_ones_and_survives_a_restart(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        wrong = GOOD.replace("answer: b", "answer: z")
        bad = client.post("/lessons/upload", files={"file": ("mine.yaml", wrong)})
        assert bad.status_code == 422
        assert ("mine.yaml, line 15: steps.1.task.answer: &#x27;answer&#x27; must be one of the "
                "&#x27;options&#x27;") in bad.text
        too_big = b"#" * (lessons.MAX_LESSON_BYTES + 1)
        big = client.post("/lessons/upload", files={"file": ("big.yaml", too_big)})
        assert big.status_code == 413 and "larger than 64 kB" in big.text
        named = client.post("/lessons/upload", files={"file": ("../../etc.yaml", GOOD)})
        assert named.status_code == 201  # only the name's last part counts: it lands in the data dir
        taken = client.post("/lessons/upload", files={"file": ("01-perceptron.yaml", GOOD)})
        assert taken.status_code == 409 and "exists already" in taken.text
        added = client.post("/lessons/upload", files={"file": ("mine.yaml", GOOD)})
        assert added.status_code == 201 and 'href="/lessons/mine"' in added.text
        assert "A tiny lesson" in client.get("/lessons").text
    store = SQLiteStore(tmp_path / STORE_FILE)
    assert store.get_record("lessonfile", "mine") == GOOD  # kept in the store, as sent
    store.close()
    assert not (tmp_path / "lessons").exists()  # not in one process's data dir
    with TestClient(create_app(settings)) as client:
        assert client.get("/lessons/mine", follow_redirects=False).status_code == 303


def test_lessons_an_older_version_kept_as_files_move_into_the_store(tmp_path: Path) -> None:
    folder = tmp_path / "lessons"  # where uploads used to go
    folder.mkdir()
    (folder / "old.yaml").write_text(GOOD)
    (folder / "broken.yaml").write_text(GOOD.replace("number: 42", "number: -1"))
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        assert client.get("/lessons/old", follow_redirects=False).status_code == 303
        assert "<code>broken.yaml</code>, line 1: number:" in client.get("/lessons").text
    (folder / "old.yaml").unlink()
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        assert client.get("/lessons/old", follow_redirects=False).status_code == 303


def test_the_documented_example_is_a_valid_lesson() -> None:
    text = (ROOT / "docs" / "lessons.md").read_text()
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    lesson = lessons.parse(example, "example.yaml")
    assert [step.task.kind for step in lesson.steps if step.task] == ["choice", "target", "number"]
    assert lessons.step_setup(lesson, 1).features == ["x1", "x2", "x1_x2"]
    assert lessons.step_setup(lesson, 2).features == ["x1", "x2", "x1_x2"]  # the latest step setup holds
