"""Share means fork, with everything: a snapshot behind a short code opens as the opener's own run at
exactly the shared state, bit for bit, also after a restart (app/snapshots.py, app/routes/sharing.py)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.snapshots import CODE_ALPHABET, normalize
from app.store import SQLiteStore

CODE = re.compile(f"^[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}$")
CSV = b"x1,x2,label\n0.5,0.5,1\n-0.5,-0.5,0\n1.5,-1,1\n-1.5,1,0\n2,2,1\n-2,-2,0\n0.25,-2.5,1\n-0.75,2.25,0\n"


def _worked_run(client: TestClient) -> str:
    """A run with uploaded data, a clicked point, a hand-edited weight, Adam state and a half-done batch."""
    sid = client.post("/api/sessions", json={"optimizer": {"kind": "adam", "learning_rate": 0.05},
                                             "batch_size": 3}).json()["id"]
    uploaded = client.post(f"/api/sessions/{sid}/data/csv", files={"file": ("mine.csv", CSV, "text/csv")})
    assert uploaded.status_code == 200, uploaded.text
    assert client.post(f"/api/sessions/{sid}/data/points", json={"x1": 1.125, "x2": -0.375,
                                                                  "label": 1}).status_code == 200
    client.put(f"/api/sessions/{sid}/network/weight", json={"layer": 1, "unit": 0, "input": 0, "value": 2.52})
    client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 2})
    client.post(f"/api/sessions/{sid}/step", json={"unit": "micro", "count": 4})
    return sid


def test_a_share_code_opens_as_the_openers_own_run_at_exactly_the_shared_state(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    with TestClient(app) as teacher, TestClient(app) as student:
        sid = _worked_run(teacher)
        shared_state = teacher.get(f"/api/sessions/{sid}/export").json()
        shared = teacher.post(f"/api/sessions/{sid}/share", json={"unit": "sample", "speed": 5,
                                                                   "show_test": True}).json()
        assert CODE.match(shared["code"]) and shared["path"] == f"/s/{shared['code']}"
        teacher.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 3})  # later: not in it

        opened = student.get(shared["path"], follow_redirects=False)
        assert opened.status_code == 303
        location = opened.headers["location"]
        copy = re.search(r"session=([A-Za-z0-9_-]{32})", location)
        assert copy and copy.group(1) != sid and "step=sample" in location and "speed=5" in location
        forked = student.get(f"/api/sessions/{copy.group(1)}/export").json()
        assert forked == shared_state  # data (uploaded + clicked), weights, Adam state, cursor, step id
        assert forked["data"]["source"] != "generated" and [1.125, -0.375] in forked["data"]["points"]
        assert forked["state"]["params"][0]["weights"][0][0] != 2.52  # trained on after the edit ...
        page = student.get(location).text
        assert 'id="readonly"' not in page  # ... and the copy is the student's own
        assert re.search(r'<option value="sample"[^>]*\sselected', page)
        assert re.search(r'id="show-test"[^>]*\schecked', page)
        assert student.post(f"/api/sessions/{copy.group(1)}/step", json={"unit": "batch"}).status_code == 200
        # a second opening is another new run, again at the shared state
        again = student.post(f"/api/snapshots/{shared['code']}/fork").json()
        assert again["id"] != copy.group(1)
        assert student.get(f"/api/sessions/{again['id']}/export").json() == shared_state


def test_snapshots_survive_a_restart_and_cannot_be_overwritten(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as before:
        sid = _worked_run(before)
        document = before.get(f"/api/sessions/{sid}/export").json()
        code = before.post(f"/api/sessions/{sid}/share").json()["code"]
        other = before.post(f"/api/sessions/{sid}/share").json()["code"]
        assert other != code  # each share is a snapshot of its own
    store = SQLiteStore(tmp_path / "sessions.sqlite3")
    assert store.put_record("snapshot", code.replace("-", ""), "{}", replace=False) is False
    store.close()
    with TestClient(create_app(Settings(data_dir=tmp_path))) as after:
        assert after.get(f"/api/snapshots/{code}").json()["document"] == document
        forked = after.post(f"/api/snapshots/{code.lower().replace('-', ' ')}/fork").json()
        assert after.get(f"/api/sessions/{forked['id']}/export").json() == document


def test_an_unknown_or_malformed_code_is_a_clear_404_page(client: TestClient) -> None:
    missing = client.get("/s/K7Q2-9FXA")
    assert missing.status_code == 404 and "No shared run with the code" in missing.text
    assert "ask for the link again" in missing.text
    bad = client.get("/s/<script>")
    assert bad.status_code == 404 and "<script>" not in bad.text and "like K7Q2-9FXA" in bad.text
    assert client.get("/go", params={"code": "nothing"}).status_code == 404
    api = client.get("/api/snapshots/ZZZZ-ZZZZ")
    assert api.status_code == 404 and api.json()["detail"]["field"] == "code"


def test_the_code_box_forgives_case_spaces_and_dashes(client: TestClient) -> None:
    sid = client.post("/api/sessions", json={}).json()["id"]
    code = client.post(f"/api/sessions/{sid}/share").json()["code"]
    typed = code.lower().replace("-", " ")
    found = client.get("/go", params={"code": typed}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/s/{code}"
    assert normalize("k7q2 9fxa") == "K7Q29FXA" and normalize("K0Q2-9FXA") is None
    assert all(ch not in CODE_ALPHABET for ch in "01OILUV")


def test_share_from_the_page_answers_the_code_in_a_dialog(client: TestClient) -> None:
    location = client.get("/", follow_redirects=False).headers["location"]
    sid = location.rsplit("session=", 1)[1]
    answer = client.post(f"/ui/{sid}/share", data={"unit": "batch", "speed": "20", "discretize": "on"})
    assert answer.status_code == 200
    code = re.search(r'id="share-code">([^<]+)<', answer.text)
    assert code and CODE.match(code.group(1))
    assert client.get(f"/api/snapshots/{code.group(1)}").json()["view"] == {
        "step_unit": "batch", "speed": 20, "show_test": False, "discretize": True}


def test_shares_from_one_address_are_limited_so_the_disk_cannot_be_filled(client: TestClient) -> None:
    sid = client.post("/api/sessions", json={}).json()["id"]
    answers = [client.post(f"/api/sessions/{sid}/share").status_code for _ in range(121)]
    assert answers[:120] == [201] * 120 and answers[120] == 429
    refused = client.post(f"/api/sessions/{sid}/share").json()["detail"]
    assert refused["field"] == "share" and "a minute" in refused["message"]
