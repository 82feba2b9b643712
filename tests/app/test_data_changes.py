"""Data changes through the API and the page: regenerate keeps the network, the upload row limit,
removing a point by index."""

from __future__ import annotations

import html as html_text
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from engine.csvdata import MAX_ROWS


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        yield c


def new_session(client: TestClient, **config: Any) -> str:
    response = client.post("/api/sessions", json=config)
    assert response.status_code == 201, response.text
    sid: str = response.json()["id"]
    return sid


def csv_rows(n: int) -> bytes:
    """n data rows on a line, two string classes alternating (every row distinct)."""
    body = "".join(f"{(i % 97) / 10:.1f},{i / n * 8 - 4:.4f},{'red' if i % 2 else 'blue'}\n"
                   for i in range(n))
    return ("x1,x2,label\n" + body).encode()


# ---- the upload row limit ---------------------------------------------------------------------------


def test_default_server_accepts_a_csv_of_the_engine_row_limit(client: TestClient) -> None:
    sid = new_session(client)
    done = client.post(f"/api/sessions/{sid}/data/csv", files={"file": ("d.csv", csv_rows(MAX_ROWS))})
    assert done.status_code == 200, done.text
    points = client.get(f"/api/sessions/{sid}/export").json()["data"]["points"]
    assert len(points) == MAX_ROWS == 5000


def test_one_row_over_the_limit_is_refused_naming_the_first_row_past_it(client: TestClient) -> None:
    sid = new_session(client)
    refused = client.post(f"/api/sessions/{sid}/data/csv", files={"file": ("d.csv", csv_rows(MAX_ROWS + 1))})
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert detail["field"] == "file"
    assert detail["row"] == MAX_ROWS + 2  # the header is line 1, so data row 5,001 is line 5,002
    assert "5,000" in detail["message"]


# ---- regenerate keeps the network -------------------------------------------------------------------


def live_run(client: TestClient, sid: str) -> Any:
    return client.app.state.sessions.sessions[sid].run  # type: ignore[attr-defined]


def test_api_regenerate_keeps_weights_optimiser_and_epoch_and_draws_new_points(client: TestClient) -> None:
    sid = new_session(client, dataset={"name": "xor", "noise": 0.1}, optimizer={"kind": "adam"})
    trained = client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 30}).json()
    before = client.get(f"/api/sessions/{sid}/export").json()
    old_points = live_run(client, sid).dataset.points

    answer = client.post(f"/api/sessions/{sid}/data/regenerate", json={})
    assert answer.status_code == 200, answer.text
    state = answer.json()
    after = client.get(f"/api/sessions/{sid}/export").json()

    assert state["reset"] is False
    assert (state["epoch"], state["batch"]) == (trained["epoch"], trained["batch"]) == (1, 5)
    for key in ("params", "optimizer", "updates", "epoch", "batch"):
        assert after["state"][key] == before["state"][key], key
    assert after["config"]["dataset"]["seed"] == before["config"]["dataset"]["seed"] + 1
    assert not (live_run(client, sid).dataset.points == old_points).all()
    assert state["loss"]["train"] != trained["loss"]["train"]  # the same weights on other points


def test_api_regenerate_goes_on_playing(client: TestClient) -> None:
    sid = new_session(client)
    client.post(f"/api/sessions/{sid}/play", json={"unit": "batch", "speed": 5})
    state = client.post(f"/api/sessions/{sid}/data/regenerate", json={"seed": 9}).json()
    client.post(f"/api/sessions/{sid}/pause")
    assert state["playing"] is True
    assert state["config"]["dataset"]["seed"] == 9


def test_page_regenerate_keeps_weights_and_epoch_and_redraws_the_points(client: TestClient) -> None:
    page = client.get("/?dataset=circle")
    sid = re.search(r'data-session="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert client.post(f"/ui/{sid}/step", data={"unit": "epoch"}).status_code == 200
    before = client.get(f"/api/sessions/{sid}/export").json()
    first_paint = client.get(f"/?session={sid}").text
    old_points = re.search(r'data-points="([^"]*)"', first_paint).group(1)  # type: ignore[union-attr]

    answer = client.post(f"/ui/{sid}/regenerate")
    assert answer.status_code == 200
    after = client.get(f"/api/sessions/{sid}/export").json()
    new_points = re.search(r'data-points="([^"]*)"', answer.text).group(1)  # type: ignore[union-attr]

    assert after["state"]["params"] == before["state"]["params"]
    assert (after["state"]["epoch"], after["state"]["updates"]) == (1, before["state"]["updates"])
    assert new_points != old_points
    assert "the network is rebuilt" not in answer.text


# ---- removing a point from the page -----------------------------------------------------------------


def drawn_points(html: str) -> list[list[float]]:
    match = re.search(r'data-points="([^"]*)"', html)
    assert match, "the output plot carries its points"
    points: list[list[float]] = json.loads(html_text.unescape(match.group(1)))
    return points


def test_page_removes_the_point_of_the_api_index_and_stays_in_remove_mode(client: TestClient) -> None:
    page = client.get("/?dataset=xor")
    sid = re.search(r'data-session="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    before = drawn_points(page.text)
    exported = client.get(f"/api/sessions/{sid}/export").json()
    assert exported["data"] == {"source": "generated"}

    answer = client.post(f"/ui/{sid}/points/remove", data={"index": "7"})
    assert answer.status_code == 200
    after = drawn_points(answer.text)
    assert len(after) == len(before) - 1
    assert [p[:3] for p in after] == [p[:3] for p in before[:7] + before[8:]]  # exactly point 7 is gone
    points = client.get(f"/api/sessions/{sid}/export").json()["data"]["points"]
    assert [[round(x, 3), round(y, 3)] for x, y in points] == [p[:2] for p in after]
    assert re.search(r'value="remove" id="click-removes"[^>]*\s+checked', answer.text)


@pytest.mark.parametrize(("index", "words"), [("abc", "whole number"), ("-1", "whole number"),
                                              ("100000", "no point 100000")])
def test_page_refuses_a_bad_index_with_a_fragment_naming_it(
    client: TestClient, index: str, words: str
) -> None:
    page = client.get("/?dataset=circle")
    sid = re.search(r'data-session="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    refused = client.post(f"/ui/{sid}/points/remove", data={"index": index})
    assert 400 <= refused.status_code < 500
    assert 'class="error-text"' in refused.text and "index" in refused.text and words in refused.text
    assert len(drawn_points(client.get(f"/?session={sid}").text)) == 500
