"""A student in a class does a lesson as the class's member: the lesson's run is their run on the teacher's
dashboard, whose tile shows the lesson, the step they are on and each task solved / tried / open (counts
and marks, never what they typed); the results CSV has the same; a copy made to compare carries it on."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.classmode.test_classes import _first_events, _join, _new_class

LESSON = "01-perceptron"
WRONG = "the learning rate is too small"
RIGHT = "no straight line puts both blue corners on one side and both orange corners on the other"


def _tiles(teacher: TestClient, code: str) -> dict[str, dict[str, Any]]:
    events = dict(_first_events(teacher, f"/class/{code}/stream", 1))
    return {t["nickname"]: t for t in events["tiles"]["tiles"]}


def _open(student: TestClient, slug: str = LESSON) -> str:
    answer = student.get(f"/lessons/{slug}", follow_redirects=False)
    assert answer.status_code == 303
    return answer.headers["location"].split("session=")[1]


def test_a_lesson_opened_by_a_class_member_shows_on_the_dashboard_step_by_step(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    with TestClient(app) as teacher, TestClient(app) as ada, TestClient(app) as bob:
        code, _ = _new_class(teacher)
        joined = _join(ada, code, "Ada")
        _join(bob, code, "Bob")
        assert _tiles(teacher, code)["Ada"]["lesson"] is None  # joined: no lesson yet
        sid = _open(ada)
        assert sid != joined
        tile = _tiles(teacher, code)["Ada"]
        assert tile["lesson"] == {"slug": LESSON, "number": 1, "title": tile["lesson"]["title"], "step": 1,
                                  "steps": 3, "tasks": 2, "solved": 0, "tried": 0, "marks": ["open", "open"]}
        assert tile["lesson"]["title"].startswith("The perceptron f = Wx")
        assert tile["setup"].startswith("xor · no hidden layer")  # the tile shows the lesson's run
        assert _tiles(teacher, code)["Bob"]["lesson"] is None

        ada.post(f"/ui/{sid}/lesson/step", data={"step": "2"})
        assert ada.post(f"/ui/{sid}/lesson/check", data={"answer": WRONG}).status_code == 200
        tile = _tiles(teacher, code)["Ada"]
        assert (tile["lesson"]["step"], tile["lesson"]["solved"], tile["lesson"]["tried"]) == (2, 0, 1)
        assert tile["lesson"]["marks"] == ["tried", "open"]
        assert WRONG not in str(tile)  # what she typed does not travel, only that she tried

        right = ada.post(f"/ui/{sid}/lesson/check", data={"answer": RIGHT})
        assert "lesson-verdict solved" in right.text
        ada.post(f"/api/sessions/{sid}/step", json={"unit": "epoch", "count": 3})
        tile = _tiles(teacher, code)["Ada"]
        assert tile["lesson"]["marks"] == ["solved", "open"]
        assert (tile["lesson"]["solved"], tile["lesson"]["tried"]) == (1, 0)
        assert tile["epoch"] == 3  # the lesson's run, as it trains

        # her class strip is on the lesson's run: she hands in from there, and it is hers
        assert 'id="class-lessons"' in ada.get(f"/ui/{sid}/classbar").text
        assert ada.post(f"/ui/{sid}/handin", data={"note": "xor is not linear"}).status_code == 200
        rows = {r["nickname"]: r for r in csv.DictReader(io.StringIO(
            teacher.get(f"/class/{code}/results.csv").text))}
        assert rows["Ada"]["hand_ins"] == "1" and rows["Ada"]["epoch"] == "3"
        assert (rows["Ada"]["lesson_step"], rows["Ada"]["tasks_solved"], rows["Ada"]["tasks_tried"],
                rows["Ada"]["tasks"]) == ("2", "1", "0", "2")
        assert rows["Ada"]["lesson"].startswith("The perceptron") and rows["Bob"]["lesson"] == ""
        assert [r for r in rows] == ["Ada", "Bob"]  # a member who moved to a lesson keeps their place

        # rejoining the class brings her back to the run she works on now
        back = ada.get(f"/c/{code}", follow_redirects=False)
        assert back.headers["location"].endswith(f"session={sid}")


def test_classmates_see_nothing_of_each_others_lesson_and_a_stranger_is_not_counted(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    with TestClient(app) as teacher, TestClient(app) as ada, TestClient(app) as bob, \
            TestClient(app) as stranger:
        code, _ = _new_class(teacher)
        _join(ada, code, "Ada")
        _join(bob, code, "Bob")
        sid = _open(ada)
        assert bob.get(f"/ui/{sid}/lesson").text == ""  # not his run: no panel, no progress
        assert bob.post(f"/ui/{sid}/lesson/check", data={"answer": RIGHT}).status_code == 403
        assert bob.post(f"/ui/{sid}/lesson/step", data={"step": "2"}).status_code == 403
        assert bob.get(f"/class/{code}/stream").status_code == 403  # the dashboard is the teacher's
        assert bob.get(f"/class/{code}/results.csv").status_code == 403
        _open(stranger)  # in no class: a lesson of their own, on nobody's dashboard
        tiles = _tiles(teacher, code)
        assert sorted(tiles) == ["Ada", "Bob"]
        assert tiles["Ada"]["lesson"]["marks"] == ["open", "open"]  # Bob's refused check counted nothing


def test_a_copy_pinned_to_compare_carries_the_members_lesson_on_the_dashboard(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    with TestClient(app) as teacher, TestClient(app) as ada:
        code, _ = _new_class(teacher)
        _join(ada, code, "Ada")
        sid = _open(ada)
        ada.post(f"/ui/{sid}/lesson/step", data={"step": "2"})
        ada.post(f"/ui/{sid}/lesson/check", data={"answer": RIGHT})
        pinned = ada.post(f"/ui/{sid}/compare/pin")
        assert pinned.status_code == 204
        copy = pinned.headers["HX-Redirect"].split("session=")[1]
        ada.post(f"/api/sessions/{copy}/step", json={"unit": "epoch", "count": 2})
        tile = _tiles(teacher, code)["Ada"]
        assert tile["epoch"] == 2 and tile["lesson"]["marks"] == ["solved", "open"]
        # pinning the first run again starts a third copy, but she works on the second: the tile stays
        assert ada.post(f"/ui/{sid}/compare/pin").status_code == 204
        assert _tiles(teacher, code)["Ada"]["epoch"] == 2


def test_a_student_of_two_classes_does_a_lesson_for_the_one_they_went_back_to(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    with TestClient(app) as teacher, TestClient(app) as ada:
        monday, _ = _new_class(teacher, "Monday")
        tuesday, _ = _new_class(teacher, "Tuesday")
        _join(ada, monday, "Ada")
        _join(ada, tuesday, "Ada T")
        _open(ada)
        assert _tiles(teacher, tuesday)["Ada T"]["lesson"]["number"] == 1
        assert _tiles(teacher, monday)["Ada"]["lesson"] is None
        assert ada.get(f"/c/{monday}", follow_redirects=False).status_code == 303  # back in Monday's
        _open(ada, "02-hidden-layer")
        assert _tiles(teacher, monday)["Ada"]["lesson"]["number"] == 2
        assert _tiles(teacher, tuesday)["Ada T"]["lesson"]["number"] == 1
