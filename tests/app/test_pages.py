"""The playground's page routes: each htmx fragment is the right partial, refusals are 4xx fragments."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine import vocabulary


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
    assert f'href="/ui/{sid}/graph"' in html  # the focused neuron can be opened as a computation graph
    graph = client.get(f"/ui/{sid}/graph", follow_redirects=False)
    assert graph.status_code == 303 and graph.headers["location"].startswith("/graph?expression=")


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


def test_a_refused_ui_request_is_an_html_fragment_with_its_status_never_json(client: TestClient) -> None:
    unknown = client.post(f"/ui/{'x' * 32}/step", data={"unit": "micro"})
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
    assert unknown.text == '<span class="error-text">unknown session</span>'
    assert client.post("/ui/x/no-such-route").headers["content-type"].startswith("text/html")
    # the JSON API keeps answering its own refusals as JSON
    assert client.post(f"/api/sessions/{'x' * 32}/step", json={"unit": "micro"}).json() == {
        "detail": "unknown session"}


def test_a_refusal_names_its_field_and_says_what_is_wrong_in_words(client: TestClient) -> None:
    sid = _session(client)
    words = client.post(f"/ui/{sid}/config", data={"batch_size": "ten"})
    assert words.status_code == 422
    assert _attribute(words.text, "data-field") == "batch_size"
    assert "Not changed: batch_size: &#x27;ten&#x27; is not a whole number" in words.text
    low = client.post(f"/ui/{sid}/config", data={"batch_size": "0"}).text
    assert "batch_size: must be a whole number 1 or more" in low
    point = client.post(f"/ui/{sid}/points/remove", data={"index": "9999"})
    assert point.status_code == 422 and _attribute(point.text, "data-field") == "index"
    assert "Point not removed: index: no point 9999" in point.text
    assert client.get(f"/api/sessions/{sid}").json()["config"]["batch_size"] == 1  # the run is unchanged


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
    assert response.status_code == 422 and 'id="inspector"' in response.text
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
    from app.setupform import SetupForm, setup_patch

    current = config_dict(built(SessionCreate.model_validate({"hidden": [{"units": 3}]})))
    same = setup_patch(SetupForm(batch_size=current["batch_size"], units=[3], activation=["tanh"]), current)
    assert same == {}
    patch = setup_patch(SetupForm(dataset="plane", units=[3], activation=["tanh"]), current)
    assert patch["output_unit"] == "linear_mse" and patch["dataset"]["name"] == "plane"
    assert set(patch) == {"dataset", "output_unit"}


def test_step_back_at_the_start_says_there_is_nothing_to_go_back_to(client: TestClient) -> None:
    sid = _session(client)
    response = client.post(f"/ui/{sid}/back", data={"unit": "batch"})
    assert response.status_code == 200 and "Nothing to go back to" in response.text
    client.post(f"/ui/{sid}/step", data={"unit": "batch"})
    assert "Nothing to go back to" not in client.post(f"/ui/{sid}/back", data={"unit": "batch"}).text


def test_page_routes_stay_out_of_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/sessions" in paths and "/api/graph" in paths
    html_routes = [p for p in paths if not p.startswith("/api/") and p != "/healthz"]
    assert html_routes == []  # "/", "/ui/...", "/graph" are HTML for the browser, not API


def test_a_link_the_engine_cannot_build_is_a_page_saying_why_with_a_fitting_link(client: TestClient) -> None:
    response = client.get("/?data=plane&out=tanh_mse&hidden=3")
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/html")
    assert "output_unit: tanh_mse needs class labels" in response.text
    retry = _attribute(response.text, 'id="refused-retry" href')
    assert "out=linear_mse" in retry and "data=plane" in retry and "hidden=3" in retry
    assert client.get(retry.replace("&amp;", "&")).status_code == 200


def test_a_link_whose_batch_exceeds_the_training_set_is_refused_as_the_api_refuses_it(
    client: TestClient,
) -> None:
    """The page builds through app.convert.built, the API's path, which checks the batch size."""
    response = client.get("/?data=circle&train=0.1&batch=100")
    assert response.status_code == 422
    assert "batch_size: a whole number from 1 to 50 (the number of training points)" in response.text


def test_a_page_epoch_step_stops_within_the_step_budget(tmp_path: Any) -> None:
    from app.main import create_app
    from app.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path, step_budget_seconds=1e-9))) as tiny_budget:
        sid = _session(tiny_budget, "hidden=3&batch=1")
        tiny_budget.post(f"/ui/{sid}/step", data={"unit": "epoch"})
        state = tiny_budget.get(f"/api/sessions/{sid}").json()
        assert (state["epoch"], state["batch"]) == (0, 1)  # cut at the first batch, as the API cuts


def test_a_page_micro_step_is_a_small_call_measured_for_inline_running(client: TestClient) -> None:
    sid = _session(client)
    client.post(f"/ui/{sid}/step", data={"unit": "micro"})
    session = client.app.state.sessions.sessions[sid]  # type: ignore[attr-defined]
    assert 0.0 < session.call_seconds < math.inf  # measured; a plain call leaves it unknown (inf)


def test_playing_by_micro_step_keeps_the_inspector_on_the_live_formula(client: TestClient) -> None:
    sid = _session(client)
    client.post(f"/ui/{sid}/step", data={"unit": "micro"})
    playing = client.post(f"/ui/{sid}/play", data={"unit": "micro", "speed": "0.5"}).text
    assert "— Playing" not in playing and 'data-live="1"' in playing
    assert _attribute(playing, "data-phase") in ("forward", "error", "backward", "accumulate", "update")
    now = client.get(f"/ui/{sid}/inspector").text
    assert 'data-live="1"' in now and 'data-role="pre_activation"' in now
    # the live inspector fetches its own next formula when stepwise.js says a newer frame is in
    assert f'hx-get="/ui/{sid}/inspector"' in now and 'hx-trigger="stepwise:newer-frame"' in now
    paused = client.post(f"/ui/{sid}/pause").text
    assert 'data-live="1"' not in paused and "hx-get" not in paused.partition('id="inspector"')[2]
    assert 'data-live="1"' not in client.get(f"/ui/{sid}/inspector").text
    by_batch = client.post(f"/ui/{sid}/play", data={"unit": "batch", "speed": "0.5"}).text
    assert "— Playing" in by_batch and 'data-live="1"' not in by_batch
    client.post(f"/ui/{sid}/pause")


OUTPUT_UNITS = tuple(vocabulary.OUTPUT_UNITS)
REFUSED = {("tanh_mse", "blobs"), ("sigmoid_bce", "blobs"), ("tanh_mse", "plane"), ("sigmoid_bce", "plane"),
           ("softmax_ce", "plane")}


@pytest.mark.parametrize("dataset", ["circle", "blobs", "plane"])  # binary, several classes, regression
@pytest.mark.parametrize("output_unit", OUTPUT_UNITS)
def test_every_output_unit_on_every_kind_of_data_renders_or_is_refused_in_words(
    client: TestClient, output_unit: str, dataset: str
) -> None:
    response = client.get(f"/?data={dataset}&out={output_unit}&hidden=3&batch=2")
    if (output_unit, dataset) in REFUSED:
        assert response.status_code == 422, response.text[:300]
        assert f"output_unit: {output_unit}" in response.text
        return
    assert response.status_code == 200
    sid = _attribute(response.text, "data-session")
    # The select offers this unit and greys out exactly the ones the engine refuses for this data.
    disabled = set(re.findall(r'<option value="([a-z_]+)"[^>]* disabled', response.text))
    assert disabled == {unit for unit, data in REFUSED if data == dataset}
    phases = []
    for _ in range(12):  # through forward, error, accumulate, the next sample
        step = client.post(f"/ui/{sid}/step", data={"unit": "micro"})
        assert step.status_code == 200
        phases.append(_attribute(step.text, "data-phase"))
        for word in ("NaN", "nan", "inf", "overflow", "None"):
            assert f">{word}<" not in step.text
    assert "error" in phases and "backward" in phases
    client.post(f"/ui/{sid}/step", data={"unit": "epoch"})
    page = client.get(f"/?session={sid}")
    assert page.status_code == 200 and 'id="net"' in page.text


def test_a_gaussian_output_is_drawn_as_mu_and_sigma_squared_and_its_error_step_prints_the_trace(
    client: TestClient,
) -> None:
    page = client.get("/?data=plane&out=gaussian_nll&hidden=3&batch=2")
    html = page.text
    sid = _attribute(html, "data-session")
    assert 'data-label="μ"' in html and 'data-label="σ²"' in html
    assert 'id="m2_0"' in html and 'id="m2_1"' not in html  # the μ node shows the surface (the map is μ)
    assert "predicted mean μ" in html
    assert re.search(r'<option value="gaussian_nll"[^>]* selected>', html)
    for _ in range(5):  # 3 hidden + 2 output forward steps, then the error
        client.post(f"/ui/{sid}/step", data={"unit": "micro"})
    error_step = client.post(f"/ui/{sid}/step", data={"unit": "micro"}).text
    assert _attribute(error_step, "data-phase") == "error", error_step[:400]
    trace = client.get(f"/api/sessions/{sid}/trace").json()["trace"]

    def printed(role: str) -> list[float]:
        return [float(v) for v in re.findall(rf'data-role="{role}" data-value="([^"]+)"', error_step)]

    def close(shown: list[float], actual: list[float]) -> None:
        assert len(shown) == len(actual), (shown, actual)
        assert all(abs(a - b) <= 1e-3 * max(1, abs(b)) for a, b in zip(shown, actual, strict=True)), shown

    close(printed("prediction"), trace["prediction"][0])  # μ, then σ² = eˢ
    close(printed("target"), trace["targets"][0])
    close(printed("pre_activation"), [trace["layers"][-1]["pre_activation"][0][1]])  # s
    close(printed("delta"), trace["layers"][-1]["delta"][0])  # δ of μ, δ of s
    close(printed("loss"), [trace["loss_per_sample"][0]])
    assert "δ of μ = ∂L/∂μ = (μ − y)/σ²" in error_step and "δ of s = ∂L/∂s" in error_step


@pytest.mark.parametrize(
    ("unit", "old", "new", "expected"),
    [("linear_mse", "multi_gauss", "plane", "linear_mse"),  # regression to regression keeps its unit
     ("linear_l1", "plane", "multi_gauss", "linear_l1"),
     ("linear_mse", "plane", "circle", "tanh_mse"),  # regression to two classes
     ("linear_mse", "plane", "blobs", "softmax_ce"),
     ("tanh_mse", "circle", "plane", "linear_mse"),
     ("sigmoid_bce", "circle", "xor", "sigmoid_bce")],
)
def test_switching_dataset_keeps_an_output_unit_that_still_fits(unit: str, old: str, new: str,
                                                                 expected: str) -> None:
    from app.setupform import fitting_output_unit

    assert fitting_output_unit(unit, old, new) == expected


def test_the_page_switches_from_one_regression_set_to_the_other(client: TestClient) -> None:
    sid = client.post("/api/sessions", json={"dataset": {"name": "multi_gauss"},
                                             "output_unit": "linear_mse"}).json()["id"]
    response = client.post(f"/ui/{sid}/config", data={"dataset": "plane", "output_unit": "linear_mse"})
    assert response.status_code == 200, response.text
    config = client.get(f"/api/sessions/{sid}").json()["config"]
    assert config["dataset"]["name"] == "plane" and config["output_unit"] == "linear_mse"


def _diverged_session(client: TestClient) -> str:
    config = {"output_unit": "linear_mse", "optimizer": {"learning_rate": 10},
              "hidden": [{"units": 8, "activation": "relu"}, {"units": 8, "activation": "relu"}]}
    created = client.post("/api/sessions", json=config)
    assert created.status_code == 201, created.text
    sid: str = created.json()["id"]
    state = client.post(f"/api/sessions/{sid}/step", json={"unit": "epoch", "count": 20}).json()
    assert state["diverged"] is not None
    return sid


def test_play_while_diverged_is_refused_on_the_page_and_the_button_stays_play(client: TestClient) -> None:
    sid = _diverged_session(client)
    response = client.post(f"/ui/{sid}/play", data={"unit": "batch", "speed": "10"})
    assert response.status_code == 409
    assert "diverged" in response.text and "Go back or reset first" in response.text
    assert 'id="btn-play"' not in response.text  # nothing for htmx to swap into a pause button
    assert client.get(f"/api/sessions/{sid}").json()["playing"] is False
    page = client.get(f"/?session={sid}").text
    assert 'aria-label="Play"' in page and 'id="play-error"' in page
    client.post(f"/ui/{sid}/back", data={"unit": "batch"})
    assert client.post(f"/ui/{sid}/play", data={"unit": "batch", "speed": "10"}).status_code == 200
    client.post(f"/ui/{sid}/pause")


def test_api_play_while_diverged_answers_409_pointing_at_the_divergence(client: TestClient) -> None:
    sid = _diverged_session(client)
    response = client.post(f"/api/sessions/{sid}/play", json={"unit": "batch", "speed": 10})
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail["field"] == "play" and "Go back or reset first" in detail["message"]
    assert client.get(f"/api/sessions/{sid}").json()["playing"] is False


@pytest.mark.parametrize("batch_size", ["100000", "-3", "0", "abc"])
def test_a_bad_batch_size_answers_422_with_a_message_for_setup_error(client: TestClient,
                                                                     batch_size: str) -> None:
    sid = _session(client)
    page = client.get(f"/?session={sid}").text
    box = re.search(r'<input type="number" name="batch_size"[^>]*>', page)
    assert box is not None and " min=" not in box.group(0) and " max=" not in box.group(0)
    form = {"learning_rate": "0.03", "schedule": "constant", "optimizer": "sgd", "regularization": "none",
            "regularization_rate": "0.0", "batch_size": batch_size, "output_unit": "tanh_mse",
            "activation": ["tanh", "tanh"], "units": ["3", "2"]}
    response = client.post(f"/ui/{sid}/config", data=form)
    assert response.status_code == 422
    assert "batch_size" in response.text or "batch size" in response.text
    assert 'class="error-text"' in response.text


def test_the_between_batches_text_counts_epochs_and_batches_in_plain_english() -> None:
    from app.inspector import _count

    assert [_count(41, "epoch"), _count(1, "epoch"), _count(7, "batch"), _count(1, "batch")] == [
        "41 epochs", "1 epoch", "7 batches", "1 batch"]
