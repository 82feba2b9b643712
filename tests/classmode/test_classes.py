"""A class: a join code for students, a separate teacher key, nicknames, a dashboard over one stream,
hand-ins with a note, results as CSV; all kept in the store (app/classes.py, app/routes/classes.py)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

CODE = r"[2-9A-Z]{4}-[2-9A-Z]{4}"


def _new_class(teacher: TestClient, name: str = "Lecture 6") -> tuple[str, str]:
    page = teacher.post("/class", data={"name": name})
    assert page.status_code == 201, page.text
    code = re.search(rf'id="class-code">({CODE})<', page.text)
    key = re.search(r'id="teacher-key">([A-Za-z0-9_-]{43})<', page.text)
    assert code and key
    return code.group(1), key.group(1)


def _join(student: TestClient, code: str, nickname: str) -> str:
    joined = student.post(f"/c/{code}/join", data={"nickname": nickname}, follow_redirects=False)
    assert joined.status_code == 303, joined.text
    return joined.headers["location"].rsplit("session=", 1)[1]


def _first_events(client: TestClient, path: str, wanted: int) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    with client.stream("GET", path) as response:
        assert response.status_code == 200
        name = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:") and name:
                events.append((name, json.loads(line[5:])))
                if len(events) >= wanted:
                    break
    return events


def test_students_join_train_and_hand_in_and_the_teacher_sees_it_all(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    with TestClient(app) as teacher, TestClient(app) as ada, TestClient(app) as bob:
        code, _key = _new_class(teacher)
        ada_run = _join(ada, code, "Ada <b>&amp;")
        bob_run = _join(bob, code, "  =SUM(A1)  ")
        assert _join(ada, code, "Ada again") == ada_run  # the same browser is the same student
        ada.post(f"/api/sessions/{ada_run}/step", json={"unit": "epoch", "count": 3})
        bar = ada.get(f"/ui/{ada_run}/classbar").text
        assert "Ada &lt;b&gt;&amp;amp;" in bar and "<b>" not in bar
        assert bob.get(f"/ui/{ada_run}/classbar").text == ""  # not Bob's run: no class strip for him
        handed = ada.post(f"/ui/{ada_run}/handin", data={"note": "three epochs, <i>nice</i>"})
        assert handed.status_code == 200 and "Handed in" in handed.text
        assert bob.post(f"/ui/{ada_run}/handin", data={"note": "not mine"}).status_code == 403

        events = dict(_first_events(teacher, f"/class/{code}/stream", 2))
        tiles = {t["nickname"]: t for t in events["tiles"]["tiles"]}
        assert set(tiles) == {"Ada <b>&amp;", "=SUM(A1)"}
        assert tiles["Ada <b>&amp;"]["epoch"] == 3 and tiles["=SUM(A1)"]["epoch"] == 0
        assert tiles["Ada <b>&amp;"]["setup"].startswith("circle · 4-2 tanh")
        assert tiles["Ada <b>&amp;"]["map"]["res"] == 48 and tiles["Ada <b>&amp;"]["map"]["out"]
        state = ada.get(f"/api/sessions/{ada_run}").json()
        assert tiles["Ada <b>&amp;"]["train_loss"] == round(state["loss"]["train"], 4)
        [hand_in] = events["handins"]["handins"]
        assert hand_in["note"] == "three epochs, <i>nice</i>" and hand_in["epoch"] == 3
        # the hand-in is a snapshot: it opens at the handed-in state
        forked = teacher.post(f"/api/snapshots/{hand_in['snapshot']}/fork").json()
        assert forked["epoch"] == 3

        dashboard = teacher.get(f"/class/{code}").text
        assert "&lt;i&gt;nice&lt;/i&gt;" in dashboard and "<i>nice" not in dashboard
        rows = list(csv.DictReader(io.StringIO(teacher.get(f"/class/{code}/results.csv").text)))
        assert [r["nickname"] for r in rows] == ["Ada <b>&amp;", "'=SUM(A1)"]  # no spreadsheet formula
        assert rows[0]["epoch"] == "3" and rows[0]["hand_ins"] == "1"
        assert rows[0]["last_note"].startswith("three")

        # a tile clicked: the class's watch link shows that run, read-only for everyone else
        student = tiles["=SUM(A1)"]["student"]
        assert teacher.post(f"/class/{code}/present/{student}").status_code == 200
        watch = ada.get(f"/c/{code}/watch", follow_redirects=False)
        assert f"session={bob_run}" in watch.headers["location"]
        assert 'id="readonly"' in ada.get(watch.headers["location"]).text
        assert ada.post(f"/api/sessions/{bob_run}/step", json={"unit": "batch"}).status_code == 403


def test_only_the_teacher_key_opens_the_dashboard_and_classes_survive_a_restart(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as teacher:
        code, key = _new_class(teacher, "Night class")
        with TestClient(teacher.app) as ada:
            _join(ada, code, "Ada")
            assert "Enter the teacher key" in ada.get(f"/class/{code}").text
            assert ada.get(f"/class/{code}/stream").status_code == 403
            assert ada.get(f"/class/{code}/results.csv").status_code == 403
            wrong = ada.post(f"/class/{code}/key", data={"key": "x" * 43})
            assert wrong.status_code == 403 and "That is not this class" in wrong.text
    with TestClient(create_app(Settings(data_dir=tmp_path))) as other_computer:
        assert other_computer.post(f"/class/{code}/key", data={"key": key}).status_code == 200
        page = other_computer.get(f"/class/{code}").text
        assert "Night class" in page and 'id="tiles"' in page
        events = dict(_first_events(other_computer, f"/class/{code}/stream", 1))
        assert [t["nickname"] for t in events["tiles"]["tiles"]] == ["Ada"]


def test_bad_nicknames_notes_and_codes_get_clear_answers(client: TestClient) -> None:
    code, _ = _new_class(client)
    long = client.post(f"/c/{code}/join", data={"nickname": "x" * 25})
    assert long.status_code == 422 and "nickname: at most 24 characters" in long.text
    empty = client.post(f"/c/{code}/join", data={"nickname": "   "})
    assert empty.status_code == 422 and "nickname: must not be empty" in empty.text
    run = _join(client, code, "Zoë")
    note = client.post(f"/ui/{run}/handin", data={"note": "y" * 141})
    assert note.status_code == 422 and "note: at most 140 characters" in note.text
    unknown = client.get("/c/ZZZZ-ZZZZ")
    assert unknown.status_code == 404 and "No class with the code" in unknown.text
    found = client.get("/go", params={"code": code.lower()}, follow_redirects=False)
    assert found.headers["location"] == f"/c/{code}"


def test_guessing_join_codes_is_rate_limited_per_address(client: TestClient) -> None:
    answers = [client.get(f"/c/ZZZZ-ZZZ{c}").status_code for c in "23456789ABCDEFGHJKMNPQRSTWXYZ"]
    assert answers[:20] == [404] * 20 and set(answers[20:]) == {429}
    assert "Too many wrong codes" in client.get("/c/ZZZZ-ZZZZ").text
