"""Two browsers: a student who joined a class does lesson 1 from their class strip, and the teacher's
dashboard shows them on lesson 1, on the step they are on, with the task they tried and then solved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.test_class_ownership import open_dashboard
from tests.e2e.test_lessons_followed import POLL_MS, check, choose, next_step, panel_step

SHOTS = Path(__file__).resolve().parents[2] / "test-results"
TILE = "#tiles .tile"


def _tile_says(teacher: Any, **wanted: str) -> None:
    """Wait until the one tile's data attributes (set from the dashboard's stream) say `wanted`."""
    teacher.wait_for_function(
        "w => { const t = document.querySelector('#tiles .tile');"
        " return !!t && Object.entries(w).every(([k, v]) => t.dataset[k] === v); }",
        arg=wanted, timeout=POLL_MS)


def test_a_students_lesson_reaches_the_teachers_dashboard(browser: Any, live_server: str) -> None:
    teacher_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    student_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        teacher = teacher_ctx.new_page()
        code = open_dashboard(teacher, live_server, "Lecture 6, lessons")

        student = student_ctx.new_page()
        student.goto(f"{live_server}/c/{code}")
        student.fill("input[name=nickname]", "Ada")
        student.click("#btn-join")
        student.locator("#classbar #class-lessons").click()
        student.locator("#lesson-list a", has_text="1. ").first.click()
        student.wait_for_selector("#lesson-panel", timeout=POLL_MS)
        student.locator("#classbar").wait_for(timeout=POLL_MS)  # the lesson's run is her class run
        _tile_says(teacher, lesson="01-perceptron", lessonStep="1", solved="0", tried="0")

        next_step(student, "Train it on xor")
        wrong = student.locator(".lesson-option", has_text="the learning rate is too small").locator("input")
        wrong.check()
        assert "Not “the learning rate is too small”" in check(student)
        _tile_says(teacher, lesson="01-perceptron", lessonStep="2", solved="0", tried="1")
        lesson_line = teacher.locator(f"{TILE} .tile-lesson")
        assert "lesson 1, step 2 of 3" in lesson_line.inner_text()
        assert "✗" in lesson_line.inner_text()
        assert "learning rate" not in teacher.locator("#tiles").inner_text()  # not what she answered

        choose(student, "no straight line")
        _tile_says(teacher, lesson="01-perceptron", lessonStep="2", solved="1", tried="0")
        said = lesson_line.inner_text()
        assert "✓ ·" in said and "(1 solved, 0 tried, of 2 tasks)" in said
        assert teacher.locator(f"{TILE} .tile-name").inner_text() == "Ada"
        student.screenshot(path=str(SHOTS / "lesson-in-class-student-1280x720.png"))
        teacher.screenshot(path=str(SHOTS / "lesson-in-class-dashboard-1280x720.png"))
        panel_step(student, "Train it on xor")  # the student's panel is as she left it
    finally:
        teacher_ctx.close()
        student_ctx.close()
