"""Compare runs: a pinned run's copy starts from the same data and initial weights; the comparison shows
every run's curves, boundaries and a table of train / validation / test numbers; at most 4 runs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from app import convert
from app.compare import copy_from_start, differences
from app.main import create_app
from app.schemas import SessionCreate
from app.settings import Settings
from engine import printed
from engine.validation import three_splits


def test_a_copy_from_the_start_has_the_same_data_and_initial_weights() -> None:
    run = convert.built(SessionCreate.model_validate({"dataset": {"name": "xor", "noise": 0.2}}))
    start = [layer.weights.copy() for layer in run.network.layers]
    run.step("epoch", 3)
    copy = copy_from_start(run)
    assert copy.epoch == 0 and copy.dataset is run.dataset
    for layer, weights in zip(copy.network.layers, start, strict=True):
        assert np.array_equal(layer.weights, weights)


def test_differences_say_what_changed() -> None:
    first = {"optimizer": {"learning_rate": 0.03, "kind": "sgd"}, "hidden": [{"units": 4}]}
    other = {"optimizer": {"learning_rate": 0.3, "kind": "sgd"}, "hidden": [{"units": 6}]}
    assert differences(first, other) == ["hidden [4] → [6]", "optimizer.learning_rate 0.03 → 0.3"]


def pinned_pair(client: TestClient) -> tuple[str, str, str]:
    made = client.post("/api/sessions", json={"dataset": {"name": "circle"}}).json()
    first = made["id"]
    client.headers["X-Stepwise-Token"] = made["token"]
    answer = client.post(f"/ui/{first}/compare/pin")
    assert answer.status_code == 204
    second = answer.headers["HX-Redirect"].split("session=")[1]
    link = client.get(f"/ui/{second}/compare").text
    comparison = re.search(r'href="/compare/([^"]+)"', link)
    assert comparison is not None and "compare 2 runs" in link
    return first, second, comparison.group(1)


def test_comparing_two_runs_shows_both_curves_maps_and_the_table(client: TestClient) -> None:
    first, second, comparison = pinned_pair(client)
    client.patch(f"/api/sessions/{second}/config", json={"optimizer": {"learning_rate": 0.3}})
    for sid in (first, second):
        assert client.post(f"/api/sessions/{sid}/step", json={"unit": "epoch", "count": 3}).status_code == 200
    page = client.get(f"/compare/{comparison}")
    assert page.status_code == 200
    rows = re.findall(r'<tr data-run="(\d)">(.*?)</tr>', page.text, re.S)
    assert [number for number, _ in rows] == ["1", "2"]
    assert "optimizer.learning_rate 0.03 → 0.3" in rows[1][1]
    # each run's numbers are the engine's, printed as the page prints them
    for (_, cells), sid in zip(rows, (first, second), strict=True):
        state = client.get(f"/api/sessions/{sid}").json()
        assert printed.loss(state["loss"]["train"]) in cells
    assert len(re.findall(r'<polyline class="curve test run-\d"', page.text)) == 2
    assert len(re.findall(r'<polyline class="curve train run-\d"', page.text)) == 2
    curves = re.findall(r'data-split="test" points="([^"]*)"', page.text)
    assert all(len(points.split()) >= 3 for points in curves)  # the chart's points: one per batch here
    assert page.text.count('src="data:image/png;base64,') == 2


def test_the_table_holds_the_three_splits_of_each_run(client: TestClient) -> None:
    first, _, comparison = pinned_pair(client)
    client.post(f"/api/sessions/{first}/step", json={"unit": "epoch", "count": 2})
    body = client.get(f"/compare/{comparison}/body").text
    document = client.get(f"/api/sessions/{first}/export").json()
    run = convert.import_checked(document, client.app.state.settings)  # the same parameters, rebuilt
    splits = three_splits(run)
    row = re.search(r'<tr data-run="1">(.*?)</tr>', body, re.S)
    assert row is not None
    numbers = re.findall(r'<td class="num">([^<]*)</td>', row.group(1))
    assert numbers[:3] == [printed.loss(s.loss) for s in (splits.train, splits.validation, splits.test)]


def test_a_comparison_holds_at_most_four_runs(client: TestClient) -> None:
    first, _, _ = pinned_pair(client)
    assert client.post(f"/ui/{first}/compare/pin").status_code == 204
    assert client.post(f"/ui/{first}/compare/pin").status_code == 204
    full = client.post(f"/ui/{first}/compare/pin")
    assert full.status_code == 409 and "up to 4 runs" in full.text
    assert client.get("/compare/nothing-here").status_code == 404


def test_a_comparison_survives_a_restart_and_reads_its_runs_from_the_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        first, second, comparison = pinned_pair(client)
        client.post(f"/api/sessions/{second}/step", json={"unit": "epoch", "count": 2})
        expected = {sid: printed.loss(client.get(f"/api/sessions/{sid}").json()["loss"]["train"])
                    for sid in (first, second)}
    with TestClient(create_app(settings)) as again:
        page = again.get(f"/compare/{comparison}")
        assert page.status_code == 200
        rows = dict(re.findall(r'<tr data-run="(\d)">(.*?)</tr>', page.text, re.S))
        assert expected[first] in rows["1"] and expected[second] in rows["2"]
        assert again.app.state.sessions.sessions == {}  # read from the store's copies, not loaded
        assert "compare 2 runs" in again.get(f"/ui/{first}/compare").text


def test_the_compare_page_in_chinese_has_no_english_and_the_same_numbers(client: TestClient) -> None:
    first, _second, comparison = pinned_pair(client)
    client.post(f"/api/sessions/{first}/step", json={"unit": "epoch", "count": 2})
    english = client.get(f"/compare/{comparison}").text
    chinese = client.get(f"/compare/{comparison}", headers={"Accept-Language": "zh-CN"}).text
    section = re.search(r'<section class="panel compare-page".*?</section>', chinese, re.S)
    assert section is not None
    # what a reader sees: the text between tags and the alt / aria-label words, not markup or ids
    shown = " ".join(re.findall(r">([^<]+)<", section.group(0)) + re.findall(r'(?:alt|aria-label)="([^"]*)"',
                                                                          section.group(0)))
    assert "比较运行" in shown and "尚无改动" in shown
    assert re.findall(r"[A-Za-z][A-Za-z]+", shown) == []
    # numbers are the same in both languages
    assert re.findall(r'<td class="num">([^<]*)</td>', chinese) == re.findall(r'<td class="num">([^<]*)</td>',
                                                                                 english)
