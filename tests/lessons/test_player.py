"""The lesson player's routes: opening a lesson makes a run set up for it, the panel belongs to its owner,
"Set up for me" applies the step's setup, Check answers from the run and keeps progress with it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


def opened(client: TestClient, slug: str) -> str:
    answer = client.get(f"/lessons/{slug}", follow_redirects=False)
    assert answer.status_code == 303
    return answer.headers["location"].split("session=")[1]


def config(client: TestClient, sid: str) -> dict:
    found: dict = client.get(f"/api/sessions/{sid}").json()["config"]
    return found


def test_opening_a_lesson_starts_a_run_with_its_setup_and_panel(client: TestClient) -> None:
    sid = opened(client, "01-perceptron")
    setup = config(client, sid)
    assert setup["hidden"] == [] and setup["dataset"]["name"] == "xor"
    panel = client.get(f"/ui/{sid}/lesson").text
    assert 'id="lesson-panel"' in panel and "Step 1 of 3: A perceptron is one weighted sum" in panel
    assert "0 of 2 tasks done" in panel
    page = client.get(f"/?session={sid}").text
    assert f'hx-get="/ui/{sid}/lesson"' in page


def test_someone_elses_run_shows_no_panel_and_cannot_check(client: TestClient) -> None:
    sid = opened(client, "01-perceptron")
    client.cookies.clear()  # now a stranger: no owner key
    assert client.get(f"/ui/{sid}/lesson").text == ""
    refused = client.post(f"/ui/{sid}/lesson/check", data={"answer": "x"})
    assert refused.status_code == 403


def test_check_answers_from_the_run_and_ticks_the_step(client: TestClient) -> None:
    sid = opened(client, "01-perceptron")
    client.post(f"/ui/{sid}/lesson/step", data={"step": "2"})
    wrong = client.post(f"/ui/{sid}/lesson/check", data={"answer": "the learning rate is too small"})
    assert wrong.status_code == 200 and "Not “the learning rate is too small”" in wrong.text
    right = client.post(f"/ui/{sid}/lesson/check", data={
        "answer": "no straight line puts both blue corners on one side and both orange corners on the other"})
    assert "lesson-verdict solved" in right.text and "1 of 2 tasks done" in right.text
    assert "linearly separable" in right.text  # the explanation comes once solved
    client.post(f"/ui/{sid}/lesson/step", data={"step": "3"})
    early = client.post(f"/ui/{sid}/lesson/check")
    assert "Not yet: test accuracy" in early.text
    # the student's own change: the product feature (the setup form's PATCH path), then train
    patched = client.patch(f"/api/sessions/{sid}/config", json={"features": ["x1", "x2", "x1_x2"]})
    assert patched.status_code == 200
    assert client.post(f"/api/sessions/{sid}/step", json={"unit": "epoch", "count": 20}).status_code == 200
    done = client.post(f"/ui/{sid}/lesson/check")
    assert "Done: test accuracy" in done.text and "2 of 2 tasks done" in done.text
    # progress is the run's: the panel fetched again still has it
    assert "2 of 2 tasks done" in client.get(f"/ui/{sid}/lesson").text


def test_set_up_for_me_applies_the_steps_setup_from_a_fresh_start(client: TestClient) -> None:
    sid = opened(client, "03-activations")
    client.post(f"/api/sessions/{sid}/step", json={"unit": "epoch", "count": 2})
    client.post(f"/ui/{sid}/lesson/step", data={"step": "3"})
    answer = client.post(f"/ui/{sid}/lesson/setup")
    assert answer.status_code == 200 and answer.headers["HX-Retarget"] == "#page"
    setup = config(client, sid)
    assert [layer["activation"] for layer in setup["hidden"]] == ["relu", "relu"]
    assert setup["optimizer"]["learning_rate"] == 1
    assert client.get(f"/api/sessions/{sid}").json()["epoch"] == 0


def test_a_bad_answer_or_step_is_a_clear_4xx(client: TestClient) -> None:
    sid = opened(client, "04-computation-graph")
    unread = client.post(f"/ui/{sid}/lesson/check", data={"answer": "twelve"})
    assert unread.status_code == 422 and "is not a number" in unread.text
    right = client.post(f"/ui/{sid}/lesson/check", data={"answer": "−12"})
    assert "Right: −12." in right.text
    beyond = client.post(f"/ui/{sid}/lesson/step", data={"step": "9"})
    assert beyond.status_code == 422 and "this lesson has 4 steps" in beyond.text
    plain = client.post("/api/sessions", json={}).json()
    none = client.post(f"/ui/{plain['id']}/lesson/check", headers={"X-Stepwise-Token": plain["token"]})
    assert none.status_code == 409 and "not following a lesson" in none.text
    assert client.get("/lessons/no-such-lesson").status_code == 404


def test_progress_is_kept_with_the_run_across_a_restart(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        sid = opened(client, "04-computation-graph")
        assert "Right: −12." in client.post(f"/ui/{sid}/lesson/check", data={"answer": "−12"}).text
        client.post(f"/ui/{sid}/lesson/step", data={"step": "3"})
        cookies = dict(client.cookies)
    with TestClient(create_app(settings), cookies=cookies) as again:
        panel = again.get(f"/ui/{sid}/lesson").text
        assert "1 of 4 tasks done" in panel and "Step 3 of 4: The chain rule" in panel
