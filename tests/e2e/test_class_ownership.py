"""Two browsers, teacher and student: the teacher's address in the student's browser is read-only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def _open_own(page: Any, server: str) -> str:
    page.goto(f"{server}/")
    page.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
    sid: str = page.locator("#page").get_attribute("data-session")
    return sid


def test_the_teachers_url_in_a_students_browser_cannot_change_the_teachers_run(
        browser: Any, live_server: str) -> None:
    teacher_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    student_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        teacher, student = teacher_ctx.new_page(), student_ctx.new_page()
        sid = _open_own(teacher, live_server)
        teacher.click("#btn-step")
        teacher.wait_for_function("() => window.Stepwise.stats.lastId >= 1")
        state = teacher.request.get(f"{live_server}/api/sessions/{sid}").json()

        student.goto(teacher.url)
        student.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
        assert student.locator("#readonly").is_visible()
        assert "belongs to someone else" in student.locator("#readonly").inner_text()
        assert student.locator("#btn-fork").is_enabled()
        for button in ("#btn-step", "#btn-play", "#btn-reset", "#btn-back"):
            assert student.locator(button).is_disabled(), button
        SHOTS.mkdir(exist_ok=True)
        student.screenshot(path=str(SHOTS / "class-readonly-1280.png"))
        # keys do nothing, and requests the page would send are refused by the server
        student.keyboard.press("ArrowRight")
        student.keyboard.press("r")
        writes = (("step", {"unit": "micro"}), ("reset", {}), ("play", {"unit": "batch", "speed": "10"}))
        for tail, form in writes:
            refused = student.request.post(f"{live_server}/ui/{sid}/{tail}", form=form)
            assert refused.status == 403 and "belongs to someone else" in refused.text(), tail
        api = student.request.post(f"{live_server}/api/sessions/{sid}/step", data={"unit": "batch"})
        assert api.status == 403
        after = teacher.request.get(f"{live_server}/api/sessions/{sid}").json()
        assert after["step_id"] == state["step_id"] and after["playing"] is False

        # the student watches the teacher's steps live
        teacher.click("#btn-step")
        student.wait_for_function(f"() => window.Stepwise.stats.lastId >= {state['step_id'] + 1}")
        assert student.locator("#c-phase").inner_text() == teacher.locator("#c-phase").inner_text()

        # make my own copy: the student's own run at the teacher's state, which the student may change
        student.click("#btn-fork")
        student.wait_for_function(f"() => document.querySelector('#page')?.dataset.session !== '{sid}'")
        student.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
        copy = student.locator("#page").get_attribute("data-session")
        assert student.locator("#readonly").count() == 0
        assert (student.request.get(f"{live_server}/api/sessions/{copy}/export").json()["state"]
                == teacher.request.get(f"{live_server}/api/sessions/{sid}/export").json()["state"])
        student.click("#btn-step")
        student.wait_for_function(f"() => window.Stepwise.stats.lastId >= {after['step_id'] + 2}")
        teachers = teacher.request.get(f"{live_server}/api/sessions/{sid}").json()
        assert teachers["step_id"] == after["step_id"] + 1
    finally:
        teacher_ctx.close()
        student_ctx.close()
