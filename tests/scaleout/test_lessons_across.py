"""Lessons and comparisons across two processes behind HAProxy (tests/scaleout/cluster.py): an uploaded
lesson and a comparison are records in PostgreSQL (app/lesson_shelf.py, app/comparisons.py), so what one
process made the other serves; a comparison whose runs live on different processes shows each run's own
numbers, read where it is, and no run moves for it."""

from __future__ import annotations

import re
from typing import Any

import httpx

from engine import printed
from tests.lessons.test_lesson_files import GOOD
from tests.scaleout.test_proxy import Run, client_for, make_cluster

__all__ = ["make_cluster"]  # the fixture, shared with test_proxy


def _direct(cluster: Any, name: str, headers: dict[str, str] | None = None) -> httpx.Client:
    """A client of one process, past the proxy: whatever it answers, that process answered."""
    return httpx.Client(base_url=cluster.apps[name].url, timeout=httpx.Timeout(60.0), headers=headers)


def test_a_lesson_uploaded_through_one_process_is_offered_and_played_by_the_other(make_cluster: Any) -> None:
    cluster = make_cluster()
    with _direct(cluster, "app1") as teacher:
        added = teacher.post("/lessons/upload", files={"file": ("mine.yaml", GOOD)})
        assert added.status_code == 201, added.text
    with _direct(cluster, "app2") as other:
        assert 'href="/lessons/mine"' in other.get("/lessons").text
        again = other.post("/lessons/upload", files={"file": ("mine.yaml", GOOD)})
        assert again.status_code == 409 and "exists already" in again.text  # one name, every process
        opened = other.get("/lessons/mine")
        assert opened.status_code == 303, opened.text
        sid = opened.headers["location"].split("session=")[1]
        panel = other.get(f"/ui/{sid}/lesson").text
        assert "A tiny lesson" in panel and "0 of 1 tasks done" in panel
        other.post(f"/ui/{sid}/lesson/step", data={"step": "2"})
        assert "lesson-verdict solved" in other.post(f"/ui/{sid}/lesson/check", data={"answer": "b"}).text
    with client_for(cluster) as student:  # and through the proxy, whichever process answers
        assert [student.get("/lessons").status_code for _ in range(4)] == [200] * 4
        assert all('href="/lessons/mine"' in student.get("/lessons").text for _ in range(4))


def _rows(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-run="(\d)">(.*?)</tr>', page, re.S))


def test_a_comparison_is_served_by_both_processes_with_its_runs_where_they_are(make_cluster: Any) -> None:
    cluster = make_cluster()
    with client_for(cluster) as student:
        first = Run(student)
        pinned = student.post(f"/ui/{first.id}/compare/pin", headers=first.owner)
        assert pinned.status_code == 204, pinned.text
        copy = pinned.headers["HX-Redirect"].split("session=")[1]
        link = student.get(f"/ui/{copy}/compare").text
        found = re.search(r'href="/compare/([^"]+)"', link)
        assert found and "compare 2 runs" in link
        comparison = found.group(1)
        home = cluster.holders()[first.id]
        away = next(name for name in cluster.apps if name != home)
        assert cluster.holders()[copy] == home  # a copy is made where its run is
        first.step("epoch", 2)
    # the copy is now served by the other process (as after a failover): it takes the run over
    with _direct(cluster, away, first.owner) as there:
        patched = there.patch(f"/api/sessions/{copy}/config", json={"optimizer": {"learning_rate": 0.3}})
        assert patched.status_code == 200, patched.text
        assert there.post(f"/api/sessions/{copy}/step", json={"unit": "epoch", "count": 3}).status_code == 200
        copy_state = there.get(f"/api/sessions/{copy}").json()
    with _direct(cluster, home) as here:
        first_state = here.get(f"/api/sessions/{first.id}").json()
    holders = cluster.holders()
    assert (holders[first.id], holders[copy]) == (home, away)
    for name in cluster.apps:  # either process draws both runs, each as the engine has it
        with _direct(cluster, name) as viewer:
            page = viewer.get(f"/compare/{comparison}")
            assert page.status_code == 200, page.text
            rows = _rows(page.text)
            assert sorted(rows) == ["1", "2"]
            assert printed.loss(first_state["loss"]["train"]) in rows["1"]
            assert printed.loss(copy_state["loss"]["train"]) in rows["2"]
            assert "optimizer.learning_rate 0.03 → 0.3" in rows["2"]
            assert page.text.count('src="data:image/png;base64,') == 2
            assert viewer.get(f"/compare/{comparison}/body").status_code == 200
            assert "compare 2 runs" in viewer.get(f"/ui/{first.id}/compare").text
    # reading a comparison moved no run: each stays with the process that serves its student
    now = cluster.holders()
    assert (now[first.id], now[copy]) == (home, away)
