"""The page's own settings: view settings from the URL, a link's exact values, refused links in words."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.urlstate import view_from_query, view_query


def _session(client: TestClient, query: str) -> tuple[str, str]:
    response = client.get(f"/?{query}")
    assert response.status_code == 200
    match = re.search(r'data-session="([^"]+)"', response.text)
    assert match
    return match.group(1), response.text


def _selected(html: str, name: str) -> str:
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    assert select, name
    chosen = re.findall(r'<option value="([^"]+)"[^>]*\bselected', select.group(0))
    assert len(chosen) == 1, chosen
    return chosen[0]


def test_a_link_with_an_unoffered_learning_rate_shows_it_and_keeps_it_through_another_change(
    client: TestClient,
) -> None:
    sid, html = _session(client, "lr=0.05")
    assert _selected(html, "learning_rate") == "0.05"
    # the next change posts the form as shown: η stays 0.05 (it silently became the nearest, 0.03)
    page = client.post(f"/ui/{sid}/config", data={"learning_rate": "0.05", "optimizer": "momentum"})
    assert page.status_code == 200
    optimizer = client.get(f"/api/sessions/{sid}").json()["config"]["optimizer"]
    assert (optimizer["kind"], optimizer["learning_rate"]) == ("momentum", 0.05)
    assert _selected(page.text, "learning_rate") == "0.05"


@pytest.mark.parametrize(("query", "words"), [
    ("data=xor&hidden=1000", "hidden.0.units: must be a whole number 64 or less (the link says hidden=1000)"),
    ("lr=50", "optimizer.learning_rate: must be 10.0 or less (the link says lr=50)"),
    ("data=moon", "dataset.name: must be one of"),
])
def test_a_link_the_setup_cannot_take_is_a_page_saying_which_value_and_why(
    client: TestClient, query: str, words: str,
) -> None:
    response = client.get(f"/?{query}", follow_redirects=False)
    assert response.status_code == 422  # not a silent 303 to the default setup
    assert words in response.text
    assert 'href="/"' in response.text  # and a way on


def test_the_batch_size_tooltip_names_the_real_limit(client: TestClient) -> None:
    _, html = _session(client, "data=circle&train=0.5")
    assert 'title="1 to 250 samples per batch (the training set has 250 points)"' in html
    _, html = _session(client, "data=circle&train=0.2")
    assert 'title="1 to 100 samples per batch' in html


def test_a_batch_size_beyond_the_data_is_refused_in_words_naming_the_field_and_its_range(
    client: TestClient,
) -> None:
    sid, _ = _session(client, "data=circle&train=0.5")
    answer = client.post(f"/ui/{sid}/config", data={"batch_size": "251"})
    assert answer.status_code == 422 and 'data-field="batch_size"' in answer.text
    assert "batch_size: a whole number from 1 to 250 (the number of training points)" in answer.text
    assert client.get(f"/api/sessions/{sid}").json()["config"]["batch_size"] == 10  # the run is unchanged


def test_the_apis_validation_messages_are_in_words_not_pydantics(client: TestClient) -> None:
    low = client.post("/api/sessions", json={"batch_size": 0})
    assert low.status_code == 422
    error = low.json()["detail"][0]
    assert error["loc"] == ["body", "batch_size"] and error["type"] == "greater_than_equal"
    # pydantic said 'Input should be greater than or equal to 1'
    assert error["msg"] == "must be a whole number 1 or more"
    word = client.post("/api/sessions", json={"batch_size": "ten"}).json()["detail"][0]["msg"]
    assert "whole number" in word and "Input should" not in word


def test_view_settings_round_trip_through_the_query_and_unknown_values_are_defaults() -> None:
    view = {"step": "epoch", "speed": "20", "test": "1", "disc": "0", "click": "remove"}
    assert view_from_query(dict(pair.split("=") for pair in view_query(view).split("&"))) == view
    assert view_query(view_from_query({})) == ""
    assert view_from_query({"step": "year", "speed": "7"})["step"] == "micro"


def test_a_re_rendered_page_keeps_the_view_settings_of_the_url_it_was_asked_from(client: TestClient) -> None:
    sid, _ = _session(client, "data=circle")
    url = f"http://testserver/?data=circle&step=epoch&speed=50&test=1&disc=1&click=remove&session={sid}"
    page = client.post(f"/ui/{sid}/config", data={"learning_rate": "0.1"}, headers={"HX-Current-URL": url})
    html = page.text
    assert re.search(r'<option value="epoch"[^>]*\bselected', html)
    assert re.search(r'<option value="50"[^>]*\bselected', html)
    assert re.search(r'id="show-test"[^>]* checked', html)
    assert re.search(r'id="discretize"[^>]* checked', html)
    assert re.search(r'id="click-removes"[^>]*\n?\s*checked', html)
    # the address the page moves to keeps them too (a reload renders the same)
    assert "step=epoch" in page.headers["HX-Replace-Url"] and "click=remove" in page.headers["HX-Replace-Url"]
    reload = client.get(page.headers["HX-Replace-Url"]).text
    assert re.search(r'<option value="epoch"[^>]*\bselected', reload)


def test_while_playing_the_page_shows_the_plays_unit_and_speed(client: TestClient) -> None:
    sid, _ = _session(client, "data=circle")
    client.post(f"/ui/{sid}/play", data={"unit": "epoch", "speed": "2"})
    try:
        form = {"learning_rate": "0.1", "units": ["4", "2"], "activation": ["tanh", "tanh"]}  # a live change
        html = client.post(f"/ui/{sid}/config", data=form,
                           headers={"HX-Current-URL": f"http://testserver/?session={sid}"}).text
        assert re.search(r'<option value="epoch"[^>]*\bselected', html)
        assert re.search(r'<option value="2"[^>]*\bselected', html)
        assert client.get(f"/api/sessions/{sid}").json()["playing"] is True
        # and the inspector says play goes on, not "N epochs done" of the moment the page was drawn
        inspector = re.search(r'<section id="inspector".*?</section>', html, re.S)
        assert inspector and "Playing" in inspector.group(0) and "epochs and" not in inspector.group(0)
    finally:
        client.post(f"/ui/{sid}/pause")
