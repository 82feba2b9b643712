"""The largest learning rate on every output unit: divergence caught, nothing non-finite leaves the server."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.schemas import OptimizerSpec
from app.settings import Settings
from engine.activations import ACTIVATIONS  # every one the engine has, maxout included
from tests.hardening.conftest import OPEN_LIMITS, server_process, sse_events, strict_json

MAX_LEARNING_RATE = float(OptimizerSpec.model_fields["learning_rate"].metadata[1].le)
OUTPUT_UNITS = ["linear_mse", "linear_l1", "gaussian_nll", "sigmoid_bce", "softmax_ce", "tanh_mse"]
MAX_EPOCHS = 40
READS = ("", "/trace", "/network", "/metrics", "/export")


def _config(output_unit: str, activation: str) -> dict[str, Any]:
    # Squared features make the inputs large (up to 25), so η = 10 overshoots on every pairing that can.
    return {"hidden": [{"units": 4, "activation": activation}, {"units": 2, "activation": activation}],
            "features": ["x1", "x2", "x1_sq", "x2_sq"], "output_unit": output_unit,
            "dataset": {"name": "circle", "n_samples": 200},
            "optimizer": {"kind": "sgd", "learning_rate": MAX_LEARNING_RATE}}


def _numbers(tree: Any) -> Iterator[float]:
    if isinstance(tree, bool):
        return
    if isinstance(tree, int | float):
        yield float(tree)
    elif isinstance(tree, dict):
        for value in tree.values():
            yield from _numbers(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _numbers(value)


def _read_all(client: TestClient, sid: str) -> dict[str, Any]:
    """Every JSON view of the session, parsed strictly (NaN / Infinity in the text fail here)."""
    views = {}
    for suffix in READS:
        response = client.get(f"/api/sessions/{sid}{suffix}")
        assert response.status_code == 200, f"{suffix}: {response.status_code} {response.text[:200]}"
        views[suffix or "/state"] = strict_json(response.content)
    return views


def _parameters(client: TestClient, sid: str) -> list[float]:
    network = strict_json(client.get(f"/api/sessions/{sid}/network").content)
    return [value for layer in network["layers"] for value in _numbers([layer["weights"], layer["bias"]])]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("numerics"), **OPEN_LIMITS)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


DIVERGED: list[str] = []


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output_unit", OUTPUT_UNITS)
def test_largest_learning_rate_never_leaks_non_finite_numbers_and_back_recovers(
    client: TestClient, output_unit: str, activation: str
) -> None:
    created = client.post("/api/sessions", json=_config(output_unit, activation))
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    state: dict[str, Any] = {}
    for _ in range(MAX_EPOCHS):
        response = client.post(f"/api/sessions/{sid}/step", json={"unit": "epoch", "count": 1})
        assert response.status_code == 200, response.text
        state = strict_json(response.content)
        if state["diverged"] is not None:
            break
    views = _read_all(client, sid)
    assert all(math.isfinite(x) for x in _numbers(views)), "a JSON view carries a non-finite number"
    if state["diverged"] is None:
        return  # this pairing stays bounded at η = 10 (e.g. bounded outputs); finiteness was checked
    DIVERGED.append(f"{output_unit}/{activation}")
    assert state["diverged"].startswith("Training diverged in batch")
    assert "smaller learning rate" in state["diverged"]
    # Stopped: another step trains nothing until the student goes back, resets or edits (step_id may
    # still move: the engine counts the refused call so the page re-shows the message).
    parameters = _parameters(client, sid)
    again = strict_json(client.post(f"/api/sessions/{sid}/step", json={"unit": "epoch", "count": 1}).content)
    for counter in ("epoch", "batch", "diverged"):
        assert again[counter] == state[counter], counter
    assert _parameters(client, sid) == parameters
    back = strict_json(client.post(f"/api/sessions/{sid}/back", json={"unit": "batch", "count": 3}).content)
    assert back["diverged"] is None
    assert (back["epoch"], back["batch"]) <= (state["epoch"], state["batch"])
    assert all(math.isfinite(x) and abs(x) < 1e12 for x in _parameters(client, sid))
    assert all(math.isfinite(x) for x in _numbers(_read_all(client, sid)))


def test_the_largest_learning_rate_did_diverge_on_unbounded_outputs(client: TestClient) -> None:
    # Runs after the grid above (same module, file order): divergence handling was really exercised.
    linear = [name for name in DIVERGED if name.startswith(("linear_mse", "gaussian_nll"))]
    print(f"\nη = {MAX_LEARNING_RATE:g} diverged on {len(DIVERGED)} of "
          f"{len(OUTPUT_UNITS) * len(ACTIVATIONS)} pairings: {', '.join(DIVERGED)}")
    assert len(linear) >= 4, DIVERGED


@pytest.fixture(scope="module")
def stream_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with server_process(tmp_path_factory.mktemp("numerics-sse")) as (base_url, _process):
        yield base_url


def test_playing_into_divergence_streams_only_finite_frames_and_stops(stream_server: str) -> None:
    with httpx.Client(base_url=stream_server, timeout=30) as http:
        sid = http.post("/api/sessions", json=_config("linear_mse", "relu")).json()["id"]
        frames: list[dict[str, Any]] = []
        with http.stream("GET", f"/api/sessions/{sid}/stream") as stream:
            assert stream.status_code == 200
            started = False
            deadline = time.monotonic() + 30
            for event in sse_events(stream.iter_lines()):
                frame = strict_json(event["data"])  # a NaN in a frame would fail right here
                frames.append(frame)
                assert all(math.isfinite(x) for x in _numbers(frame))
                if not started:
                    assert http.post(f"/api/sessions/{sid}/play",
                                     json={"unit": "batch", "speed": 200}).status_code == 200
                    started = True
                if frame.get("diverged") or time.monotonic() > deadline:
                    break
        assert frames[-1]["diverged"], f"no diverged frame in {len(frames)} frames"
        state = http.get(f"/api/sessions/{sid}").json()
        assert state["playing"] is False
        back = http.post(f"/api/sessions/{sid}/back", json={"unit": "batch", "count": 1})
        assert back.status_code == 200 and strict_json(back.content)["diverged"] is None
    ids = [int(frame["id"]) for frame in frames]
    assert ids == sorted(ids)
