"""Class mode across two processes behind HAProxy: the teacher's dashboard, served by either process,
shows every student's live figures wherever their runs live (LISTEN/NOTIFY, app/dashboard_fanout.py)
without pulling their runs over; followers of a presented run see its steps from any browser."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx

from tests.scaleout.test_proxy import client_for, make_cluster, read_events

__all__ = ["make_cluster"]  # the fixture, shared with test_proxy

CODE = r"[2-9A-Z]{4}-[2-9A-Z]{4}"


def _join(cluster: Any, code: str, nickname: str) -> tuple[httpx.Client, str]:
    student = client_for(cluster)
    joined = student.post(f"/c/{code}/join", data={"nickname": nickname})
    assert joined.status_code == 303, joined.text
    return student, joined.headers["location"].rsplit("session=", 1)[1]


def test_the_dashboard_shows_students_on_both_processes_without_taking_their_runs(make_cluster: Any) -> None:
    cluster = make_cluster()
    with client_for(cluster) as teacher:
        made = teacher.post("/class", data={"name": "Two processes"})
        assert made.status_code == 201, made.text
        match = re.search(rf'id="class-code">({CODE})<', made.text)
        assert match
        code = match.group(1)
        students = [_join(cluster, code, f"student {n}") for n in range(4)]
        holders = cluster.holders()
        assert {holders[run] for _, run in students} == {"app1", "app2"}  # their runs live on both
        for n, (student, run) in enumerate(students):
            answer = student.post(f"/api/sessions/{run}/step", json={"unit": "epoch", "count": n + 1})
            assert answer.status_code == 200, answer.text
        expected = {f"student {n}": students[n][0].get(f"/api/sessions/{run}").json()
                    for n, (_, run) in enumerate(students)}

        def tiles_right() -> dict[str, Any] | None:
            for name, data in (event[::2] for event in read_events(teacher, f"/class/{code}/stream", 2)):
                if name != "tiles":
                    continue
                tiles = {t["nickname"]: t for t in data["tiles"]}
                if all(tiles[n].get("epoch") == expected[n]["epoch"] for n in expected):
                    return tiles
            return None

        tiles = cluster.wait_for(tiles_right, "every tile to show its student's epoch")
        for name, state in expected.items():  # the figures are the run's own, to the printed digit
            assert tiles[name]["train_loss"] == round(state["loss"]["train"], 4)
            assert tiles[name]["setup"].startswith("circle")
            assert tiles[name]["map"]["res"] == 48 and tiles[name]["map"]["out"]
        rows = list(csv.DictReader(io.StringIO(teacher.get(f"/class/{code}/results.csv").text)))
        assert {r["nickname"]: int(r["epoch"]) for r in rows} == {n: s["epoch"] for n, s in expected.items()}
        # no student's run moved to the dashboard's process
        now = cluster.holders()
        assert {run: now[run] for _, run in students} == {run: holders[run] for _, run in students}
        for student, _ in students:
            student.close()


def test_followers_on_any_browser_see_a_presented_run_step_by_step(make_cluster: Any) -> None:
    cluster = make_cluster()
    with client_for(cluster) as teacher, client_for(cluster) as follower:
        created = teacher.post("/api/sessions", json={"hidden": [{"units": 3}]}).json()
        run, owner = created["id"], {"X-Stepwise-Token": created["token"]}
        holder = cluster.holders()[run]
        presented = teacher.post(f"/api/sessions/{run}/present", headers=owner).json()
        opened = follower.get(presented["path"])
        assert opened.status_code == 303 and f"session={run}" in opened.headers["location"]
        assert 'id="readonly"' in follower.get(opened.headers["location"]).text
        for count in (1, 2, 3):
            step_id = teacher.post(f"/api/sessions/{run}/step", json={"unit": "micro", "count": count},
                                   headers=owner).json()["step_id"]
            (event, event_id, frame), = read_events(follower, f"/api/sessions/{run}/stream", 1)
            assert event == "snapshot" and event_id == step_id == frame["id"]
        assert follower.post(f"/api/sessions/{run}/step", json={"unit": "micro"}).status_code == 403
        assert cluster.holders()[run] == holder  # followers' requests reached the run's own process
