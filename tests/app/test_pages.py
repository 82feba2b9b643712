"""The playground's page routes: each htmx fragment is the right partial, refusals are 4xx fragments."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient


def _session(client: TestClient, query: str = "hidden=3,2&batch=1") -> str:
    """Open the page (a new session from the query string) and return the session id it was sent to."""
    response = client.get(f"/?{query}")
    assert response.status_code == 200
    match = re.search(r'data-session="([^"]+)"', response.text)
    assert match, "the page carries its session id"
    return match.group(1)


def _attribute(html: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', html)
    assert match, f"{name} missing in {html[:200]}"
    return match.group(1)


def test_the_first_paint_is_the_whole_page_with_a_stream_and_no_inline_script(client: TestClient) -> None:
    sid = _session(client)
    page = client.get(f"/?session={sid}").text
    for element in ('id="topbar"', 'id="setup"', 'id="net"', 'id="boundary"', 'id="inspector"'):
        assert element in page
    assert f'data-stream="/api/sessions/{sid}/stream"' in page
    # Every script is a file (the page runs under script-src 'self'); no on* handler attributes.
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    assert not re.search(r"\son[a-z]+=", page)


def test_a_micro_step_answers_the_inspector_of_the_first_forward_event(client: TestClient) -> None:
    sid = _session(client)
    response = client.post(f"/ui/{sid}/step", data={"unit": "micro"})
    assert response.status_code == 200
    html = response.text
    assert 'id="inspector"' in html
    assert 'id="topbar"' not in html  # a fragment, not the page
    assert _attribute(html, "data-phase") == "forward"
    assert (_attribute(html, "data-layer"), _attribute(html, "data-unit")) == ("1", "0")
    assert 'data-role="pre_activation"' in html and 'data-role="activation"' in html
    assert "/graph?expression=" in html  # the focused neuron can be opened as a computation graph


def test_step_back_answers_the_inspector_of_the_step_before(client: TestClient) -> None:
    sid = _session(client)
    first = client.post(f"/ui/{sid}/step", data={"unit": "micro"}).text
    client.post(f"/ui/{sid}/step", data={"unit": "micro"})
    back = client.post(f"/ui/{sid}/back", data={"unit": "micro"}).text

    def numbers(html: str) -> list[str]:
        return re.findall(r'data-role="([a-z_]+)" data-value="([^"]+)"', html)

    assert _attribute(back, "data-unit") == "0"
    assert numbers(back) == numbers(first)


def test_play_and_pause_swap_the_play_button(client: TestClient) -> None:
    sid = _session(client)
    playing = client.post(f"/ui/{sid}/play", data={"unit": "batch", "speed": "5"})
    assert playing.status_code == 200
    assert 'id="btn-play"' in playing.text and 'aria-pressed="true"' in playing.text
    assert "— Playing" in playing.text and 'hx-swap-oob="outerHTML"' in playing.text
    client.post(f"/ui/{sid}/step", data={"unit": "batch"})
    paused = client.post(f"/ui/{sid}/pause")
    assert 'aria-pressed="false"' in paused.text
    # The inspector comes along out of band and says where the run stopped (not "press step to start").
    assert 'id="inspector"' in paused.text and 'hx-swap-oob="outerHTML"' in paused.text
    assert "Between batches" in paused.text


def test_a_setup_change_re_renders_the_page_block_with_the_new_network(client: TestClient) -> None:
    sid = _session(client)
    response = client.post(f"/ui/{sid}/config", data={
        "units": ["5", "2"], "activation": ["relu", "tanh"], "batch_size": "1", "learning_rate": "0.03"})
    assert response.status_code == 200
    html = response.text
    assert html.lstrip().startswith('<div id="page"')
    assert 'id="n1_4"' in html and 'id="n1_5"' not in html
    assert "act=relu,tanh" in response.headers["HX-Replace-Url"]


def test_picking_a_multi_class_set_switches_the_output_unit_to_softmax(client: TestClient) -> None:
    sid = _session(client)
    response = client.post(f"/ui/{sid}/config", data={
        "units": ["3", "2"], "activation": ["tanh", "tanh"], "dataset": "blobs", "output_unit": "tanh_mse"})
    assert response.status_code == 200
    assert "out=softmax_ce" in response.headers["HX-Replace-Url"]
    assert 'id="n3_2"' in response.text  # three output units, one per class


def test_adding_a_unit_and_a_layer_changes_the_drawn_network(client: TestClient) -> None:
    sid = _session(client)
    more_units = client.post(f"/ui/{sid}/layers/1/units/add")
    assert more_units.status_code == 200 and 'id="n1_3"' in more_units.text
    more_layers = client.post(f"/ui/{sid}/layers/add")
    assert 'id="n3_1"' in more_layers.text and 'id="n4_0"' in more_layers.text


def test_editing_a_weight_changes_the_network_the_api_reports(client: TestClient) -> None:
    sid = _session(client)
    edit = {"layer": "1", "unit": "2", "input": "1", "value": "0.625"}
    response = client.put(f"/ui/{sid}/weight", data=edit)
    assert response.status_code == 200 and 'id="inspector"' in response.text
    network: dict[str, Any] = client.get(f"/api/sessions/{sid}/network").json()
    assert network["layers"][0]["weights"][2][1] == 0.625


def _refusal(response: Any, field: str) -> None:
    assert 400 <= response.status_code < 500, response.status_code
    assert response.headers["content-type"].startswith("text/html")
    assert 'class="error-text"' in response.text
    assert field in response.text, response.text


def test_an_unknown_step_unit_is_a_4xx_fragment_naming_the_field(client: TestClient) -> None:
    sid = _session(client)
    _refusal(client.post(f"/ui/{sid}/step", data={"unit": "century"}), "unit")
    _refusal(client.post(f"/ui/{sid}/play", data={"unit": "batch", "speed": "fast"}), "speed")


def test_a_non_number_in_the_setup_is_a_4xx_fragment_naming_the_field(client: TestClient) -> None:
    sid = _session(client)
    _refusal(client.post(f"/ui/{sid}/config", data={"batch_size": "ten"}), "batch_size")
    _refusal(client.post(f"/ui/{sid}/config", data={"learning_rate": "nan"}), "learning_rate")


def test_an_output_unit_that_cannot_learn_the_data_is_refused_by_name(client: TestClient) -> None:
    sid = _session(client, "data=blobs&out=softmax_ce&hidden=3")
    _refusal(client.post(f"/ui/{sid}/config", data={"output_unit": "tanh_mse", "units": ["3"],
                                                     "activation": ["tanh"]}), "output_unit")


def test_a_bad_csv_is_a_4xx_fragment_with_the_parsers_row_and_column(client: TestClient) -> None:
    sid = _session(client)
    rows = "x1,x2,label\n" + "".join(f"{i},{i + 1},{i % 2}\n" for i in range(5)) + "1,oops,0\n"
    response = client.post(f"/ui/{sid}/csv", files={"file": ("bad.csv", rows.encode(), "text/csv")})
    _refusal(response, "x2")
    assert "row 7" in response.text and "oops" in response.text


def test_a_weight_edit_out_of_range_is_shown_in_the_inspector(client: TestClient) -> None:
    sid = _session(client)
    response = client.put(f"/ui/{sid}/weight", data={"layer": "9", "unit": "0", "input": "0", "value": "1"})
    assert 'id="inspector"' in response.text
    assert "Weight not changed" in response.text and "layer" in response.text


def test_a_step_while_playing_pauses_and_sends_the_play_button_back(client: TestClient) -> None:
    sid = _session(client)
    client.post(f"/ui/{sid}/play", data={"unit": "batch", "speed": "5"})
    response = client.post(f"/ui/{sid}/step", data={"unit": "micro"})
    assert 'id="inspector"' in response.text
    assert 'id="btn-play"' in response.text and 'aria-pressed="false"' in response.text
    assert 'hx-swap-oob="outerHTML"' in response.text
    assert client.get(f"/api/sessions/{sid}").json()["playing"] is False


def test_the_setup_form_patches_only_what_differs_and_switches_to_a_fitting_output_unit() -> None:
    from app.convert import built, config_dict
    from app.schemas import SessionCreate
    from app.setupform import setup_patch

    current = config_dict(built(SessionCreate.model_validate({"hidden": [{"units": 3}]})))
    same = setup_patch({"batch_size": str(current["batch_size"])}, {"units": ["3"], "activation": ["tanh"]},
                       current)
    assert same == {}
    patch = setup_patch({"dataset": "plane"}, {"units": ["3"], "activation": ["tanh"]}, current)
    assert patch["output_unit"] == "linear_mse" and patch["dataset"]["name"] == "plane"
    assert set(patch) == {"dataset", "output_unit"}


def test_step_back_at_the_start_says_there_is_nothing_to_go_back_to(client: TestClient) -> None:
    sid = _session(client)
    response = client.post(f"/ui/{sid}/back", data={"unit": "batch"})
    assert response.status_code == 200 and "Nothing to go back to" in response.text
    client.post(f"/ui/{sid}/step", data={"unit": "batch"})
    assert "Nothing to go back to" not in client.post(f"/ui/{sid}/back", data={"unit": "batch"}).text
