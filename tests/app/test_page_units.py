"""The lecture's activations on the page: α and k set per layer, sigmoid maps on 0..1, class colours."""

from __future__ import annotations

import base64
import re

import numpy as np
from fastapi.testclient import TestClient

from app import frames
from engine.network import LayerConfig
from engine.stepper import Run, RunConfig


def _session(client: TestClient, query: str) -> tuple[str, str]:
    response = client.get(f"/?{query}")
    assert response.status_code == 200
    match = re.search(r'data-session="([^"]+)"', response.text)
    assert match
    return match.group(1), response.text


def _form(html: str) -> dict[str, list[str]]:
    """The setup form's fields as the browser would post them (selected options, input values)."""
    form = re.search(r'<form id="setup".*?</form>', html, re.S)
    assert form
    fields: dict[str, list[str]] = {}
    inputs = r'<input type="(?:hidden|number)" name="(\w+)" value="([^"]*)"'
    for name, value in re.findall(inputs, form.group(0)):
        fields.setdefault(name, []).append(value)
    for name, body in re.findall(r'<select name="(\w+)"[^>]*>(.*?)</select>', form.group(0), re.S):
        chosen = re.search(r'<option value="([^"]+)"[^>]*\bselected', body)
        fields.setdefault(name, []).append(chosen.group(1) if chosen else "")
    return fields


def test_leaky_relus_alpha_is_set_on_the_page_and_another_change_keeps_it(client: TestClient) -> None:
    sid, html = _session(client, "hidden=4,2&act=leaky_relu,tanh")
    form = _form(html)
    assert form["alpha"] == ["0.01", ""]  # the engine's default shown for the leaky layer, none for tanh
    # each layer's picker shows its activation's formula (engine/vocabulary.py), α's meaning on hover
    assert '<span class="muted act-formula" data-layer="1">f(z) = max(αz, z)</span>' in html
    assert 'title="the slope for z &lt; 0: a number from 0 to 1"' in html
    form["alpha"] = ["0.1", ""]  # the lecture's α
    page = client.post(f"/ui/{sid}/config", data=form)
    assert page.status_code == 200
    hidden = client.get(f"/api/sessions/{sid}").json()["config"]["hidden"]
    assert (hidden[0]["activation"], hidden[0]["alpha"]) == ("leaky_relu", 0.1)
    # an η change posts the α as shown: the network is not rebuilt (a step survives it)
    client.post(f"/ui/{sid}/step", data={"unit": "batch"})
    form = _form(page.text)
    form["learning_rate"] = ["0.1"]
    client.post(f"/ui/{sid}/config", data=form)
    state = client.get(f"/api/sessions/{sid}").json()
    assert (state["batch"], state["config"]["hidden"][0]["alpha"]) == (1, 0.1)


def test_an_untouched_default_alpha_does_not_rebuild_and_a_new_activation_starts_from_its_own(
    client: TestClient,
) -> None:
    sid, html = _session(client, "hidden=3&act=elu")
    client.post(f"/ui/{sid}/step", data={"unit": "batch"})
    form = _form(html)
    assert form["alpha"] == ["1.0"]  # ELU's default α
    form["optimizer"] = ["momentum"]
    client.post(f"/ui/{sid}/config", data=form)
    state = client.get(f"/api/sessions/{sid}").json()
    assert state["batch"] == 1 and state["config"]["hidden"][0]["alpha"] is None  # live change only
    form["activation"] = ["leaky_relu"]  # the ELU's α = 1 still in the box must not become leaky's slope
    page = client.post(f"/ui/{sid}/config", data=form).text
    assert client.get(f"/api/sessions/{sid}").json()["config"]["hidden"][0]["alpha"] is None
    assert _form(page)["alpha"] == ["0.01"]


def test_maxouts_k_is_set_on_the_page(client: TestClient) -> None:
    sid, html = _session(client, "hidden=3&act=maxout")
    form = _form(html)
    assert form["pieces"] == ["2"]
    form["pieces"] = ["3"]
    client.post(f"/ui/{sid}/config", data=form)
    network = client.get(f"/api/sessions/{sid}/network").json()
    assert np.asarray(network["layers"][0]["weights"]).shape == (3, 3, 2)  # (units, k, inputs)


def test_a_bad_alpha_is_refused_naming_the_field(client: TestClient) -> None:
    sid, html = _session(client, "hidden=3&act=leaky_relu")
    form = _form(html)
    form["alpha"] = ["steep"]
    answer = client.post(f"/ui/{sid}/config", data=form)
    assert answer.status_code == 422 and "alpha" in answer.text


def test_sigmoid_layer_maps_are_drawn_on_zero_to_one() -> None:
    run = Run(RunConfig(hidden=(LayerConfig(3, "sigmoid"), LayerConfig(2, "tanh"))))
    run.step("epoch")
    maps = frames.build_maps(run)
    grid = run.grid(frames.NODE_MAP_RES)
    sigmoid = np.frombuffer(base64.b64decode(maps["nodes"]["n1_0"]), dtype=np.uint8)
    # by hand: a sigmoid value v is drawn as 2v − 1 on the −1..+1 scale, byte round((2v − 1 + 1)·127.5)
    assert np.array_equal(sigmoid, np.rint(grid.layers[0][:, 0] * 255.0).astype(np.uint8))
    assert sigmoid.min() < 128 < sigmoid.max()  # both sides of ½: orange and blue, not all blue
    tanh = np.frombuffer(base64.b64decode(maps["nodes"]["n2_0"]), dtype=np.uint8)
    assert np.array_equal(tanh, np.rint((np.clip(grid.layers[1][:, 0], -1, 1) + 1) * 127.5).astype(np.uint8))


def test_the_drawing_marks_sigmoid_layers_and_class_coloured_outputs(client: TestClient) -> None:
    _, html = _session(client, "data=blobs&out=softmax_ce&hidden=3,2&act=sigmoid,tanh")
    assert 'data-unit-layers="1"' in html and 'data-class-outputs="1"' in html
    assert "sigmoid layers: 0 … ½ … 1" in html


def test_the_picker_and_the_inspector_name_the_activation_by_its_title_and_formula(
    client: TestClient,
) -> None:
    setup = {"hidden": [{"units": 2, "activation": "leaky_relu", "alpha": 0.1},
                        {"units": 2, "activation": "elu"}]}
    sid = client.post("/api/sessions", json=setup).json()["id"]
    page = client.get(f"/?session={sid}").text
    assert re.search(r'<option value="leaky_relu"[^>]*>leaky ReLU</option>', page)  # the title, not the code
    assert re.search(r'<option value="abs"[^>]*>absolute value</option>', page)
    first = client.post(f"/ui/{sid}/step", data={"unit": "micro"}).text  # layer 1's first neuron
    assert "f here is leaky ReLU: f(z) = max(αz, z), with α = 0.1" in first
    for _ in range(2):  # on to layer 2: ELU with its default α
        second = client.post(f"/ui/{sid}/step", data={"unit": "micro"}).text
    assert "f here is ELU: f(z) = z if z ≥ 0, else α(eᶻ − 1), with α = 1" in second
