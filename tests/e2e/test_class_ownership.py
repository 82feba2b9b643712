"""Two browsers, teacher and student: the teacher's address in the student's browser is read-only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def open_dashboard(teacher: Any, server: str, name: str) -> str:
    """A teacher creates the class `name` and opens its dashboard; the class's code."""
    teacher.goto(f"{server}/class")
    teacher.fill("input[name=name]", name)
    teacher.click("text=create the class")
    code: str = teacher.locator("#class-code").inner_text()
    teacher.click("#open-dashboard")
    teacher.locator("#tiles").wait_for()
    return code


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


def test_a_share_code_forks_with_uploaded_data_clicked_points_and_edited_weights_intact(
        browser: Any, live_server: str, tmp_path: Path) -> None:
    teacher_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    student_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        teacher, student = teacher_ctx.new_page(), student_ctx.new_page()
        sid = _open_own(teacher, live_server)
        csv = tmp_path / "mine.csv"
        rows = [f"{i % 7 - 3},{(i * 3) % 11 - 5},{i % 2}" for i in range(40)]
        csv.write_text("x1,x2,label\n" + "\n".join(rows) + "\n")
        net = teacher.evaluate_handle("document.getElementById('net')")
        teacher.set_input_files("#csv-file", str(csv))
        teacher.wait_for_function("(old) => document.getElementById('net') !== old", arg=net)
        count = len(json.loads(teacher.locator("#boundary").get_attribute("data-points") or "[]"))
        teacher.locator("#boundary").click(position={"x": 20, "y": 20})  # a clicked point
        teacher.wait_for_function(
            f"() => JSON.parse(document.querySelector('#boundary').dataset.points).length === {count + 1}")
        teacher.locator("#w1_0_0").click()  # a hand-edited weight
        teacher.locator("#edit-weight input[name=value]").wait_for()  # the editor is open
        teacher.locator("#edit-weight input[name=value]").fill("2.52")
        teacher.locator("#edit-weight button[type=submit]").click()
        teacher.wait_for_function("() => document.querySelector('#edit-weight').hidden")
        network = teacher.request.get(f"{live_server}/api/sessions/{sid}/network").json()
        assert network["layers"][0]["weights"][0][0] == 2.52
        for _ in range(3):  # into the middle of a batch
            teacher.click("#btn-step")
        teacher.wait_for_function("() => document.querySelector('#c-phase').textContent !== '—'")
        teacher.select_option("#step-unit", "sample")
        teacher.click("#btn-share")
        code = teacher.locator("#share-code")
        code.wait_for()
        SHOTS.mkdir(exist_ok=True)
        teacher.screenshot(path=str(SHOTS / "class-share-code-1280x720.png"))
        assert code.bounding_box()["height"] >= 60  # readable from the back of the room
        shared = teacher.request.get(f"{live_server}/api/sessions/{sid}/export").json()
        assert shared["cursor"] is not None and shared["data"]["source"] != "generated"

        student.goto(f"{live_server}/")
        student.locator(".open-code input[name=code]").fill(code.inner_text().lower().replace("-", " "))
        student.keyboard.press("Enter")
        student.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
        copy = student.locator("#page").get_attribute("data-session")
        assert copy != sid and student.locator("#readonly").count() == 0
        assert student.locator("#step-unit").input_value() == "sample"
        forked = student.request.get(f"{live_server}/api/sessions/{copy}/export").json()
        assert forked == shared  # bit for bit: every float of data, weights and optimiser state
        assert forked["state"]["params"][0]["weights"][0][0] == 2.52
        assert len(forked["data"]["points"]) == 41
    finally:
        teacher_ctx.close()
        student_ctx.close()


def test_followers_of_a_presented_run_see_every_step_live_and_can_make_it_theirs(
        browser: Any, live_server: str) -> None:
    teacher_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    student_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        teacher, student = teacher_ctx.new_page(), student_ctx.new_page()
        sid = _open_own(teacher, live_server)
        teacher.click("#btn-present")
        code = teacher.locator("#present-code")
        code.wait_for()
        teacher.screenshot(path=str(SHOTS / "class-present-code-1280x720.png"))
        teacher.click("#present-close")

        student.goto(f"{live_server}/")
        student.locator(".open-code input[name=code]").fill(code.inner_text())
        student.keyboard.press("Enter")
        student.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
        assert student.locator("#page").get_attribute("data-session") == sid
        assert "Live" in student.locator("#readonly").inner_text()
        inspector_requests: list[str] = []
        student.on("request", lambda r: inspector_requests.append(r.url) if "/inspector" in r.url else None)

        # hand steps: the follower's counters, phase and inspector formula follow each one
        for _ in range(3):
            step = teacher.locator("#inspector").get_attribute("data-step")
            teacher.click("#btn-step")
            teacher.wait_for_function(f"() => document.querySelector('#inspector').dataset.step !== '{step}'")
            shown = teacher.locator("#inspector").get_attribute("data-step")
            student.wait_for_function("(s) => document.querySelector('#inspector').dataset.step === s",
                                      arg=shown)
            assert student.locator("#c-phase").inner_text() == teacher.locator("#c-phase").inner_text()
            assert (student.locator("#inspector .formula").inner_text()
                    == teacher.locator("#inspector .formula").inner_text())
        student.screenshot(path=str(SHOTS / "class-follower-1280x720.png"))

        # play by micro-step: the follower's inspector moves on with the run, without a request of its own
        teacher.locator("#speed").select_option("5")
        teacher.click("#btn-play")
        seen = set()
        for _ in range(6):
            student.wait_for_function(
                "(s) => document.querySelector('#inspector').dataset.step !== s",
                arg=student.locator("#inspector").get_attribute("data-step"))
            seen.add(student.locator("#inspector").get_attribute("data-step"))
        teacher.click("#btn-play")  # pause
        assert len(seen) >= 5 and inspector_requests == []

        # make it mine: the student's own run at the teacher's current state
        teacher.wait_for_function("() => document.querySelector('#btn-play').ariaPressed === 'false'")
        student.click("#btn-fork")
        student.wait_for_function(f"() => document.querySelector('#page')?.dataset.session !== '{sid}'")
        copy = student.locator("#page").get_attribute("data-session")
        assert (student.request.get(f"{live_server}/api/sessions/{copy}/export").json()["state"]
                == teacher.request.get(f"{live_server}/api/sessions/{sid}/export").json()["state"])
        assert student.request.post(f"{live_server}/ui/{sid}/step", form={"unit": "micro"}).status == 403
    finally:
        teacher_ctx.close()
        student_ctx.close()


def test_the_dashboard_shows_joined_students_live_and_their_hand_ins_arrive(
        browser: Any, live_server: str) -> None:
    teacher_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    students = [browser.new_context(viewport={"width": 1280, "height": 720}) for _ in range(2)]
    try:
        teacher = teacher_ctx.new_page()
        code = open_dashboard(teacher, live_server, "Lecture 6 <deep nets>")
        pages = []
        for ctx, nickname in zip(students, ("Ada", "<img src=x onerror=1>"), strict=True):
            page = ctx.new_page()
            page.goto(f"{live_server}/")
            page.locator(".open-code input[name=code]").fill(code)
            page.keyboard.press("Enter")
            page.fill("input[name=nickname]", nickname)
            page.click("#btn-join")
            page.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
            page.locator("#classbar").wait_for()
            pages.append(page)
        ada = pages[0]
        ada.locator("#step-unit").select_option("epoch")
        for _ in range(2):
            ada.click("#btn-step")
        ada.wait_for_function("() => document.querySelector('#c-epoch').textContent === '2'")
        ada.fill("#classbar input[name=note]", "two epochs in, loss going down")
        ada.click("#btn-handin")
        ada.locator("#handed-in").wait_for()

        teacher.wait_for_function("() => document.querySelectorAll('#tiles .tile').length === 2")
        teacher.wait_for_function(
            "() => [...document.querySelectorAll('.tile')].some(t => t.dataset.epoch === '2')")
        names = teacher.locator(".tile .tile-name").all_inner_texts()
        assert sorted(names) == sorted(["Ada", "<img src=x onerror=1>"])  # shown as text
        assert teacher.locator(".tile img").count() == 0
        teacher.locator("#handins li").first.wait_for()
        assert "two epochs in" in teacher.locator("#handins").inner_text()
        teacher.wait_for_timeout(1200)  # the tiles' pictures arrive with the next update
        teacher.screenshot(path=str(SHOTS / "class-dashboard-1280x720.png"))

        # clicking Ada's tile presents her run: the other student's "watch the teacher" shows it live
        teacher.locator(".tile", has_text="Ada").click()
        teacher.wait_for_function("() => document.querySelector('#presenting-now').innerText.includes('Ada')")
        other = pages[1]
        other.click("#watch-teacher")
        other.wait_for_function("() => document.querySelector('#readonly') !== null")
        assert other.locator("#page").get_attribute("data-session") == ada.locator("#page").get_attribute(
            "data-session")
        assert other.locator("#c-epoch").inner_text() == "2"
    finally:
        teacher_ctx.close()
        for ctx in students:
            ctx.close()
