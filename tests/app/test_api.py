"""JSON API round trips: every endpoint, errors as JSON naming the field, isolation, caps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("engine.stepper")
pytest.importorskip("engine.serialize")

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    # The context manager matters: one event loop for the whole test (session locks live on it).
    with TestClient(create_app(Settings(data_dir=tmp_path, sessions_per_client_per_minute=50))) as c:
        yield c


def new_session(client: TestClient, **config: Any) -> dict[str, Any]:
    response = client.post("/api/sessions", json=config)
    assert response.status_code == 201, response.text
    state: dict[str, Any] = response.json()
    return state


def test_create_get_delete_round_trip(client: TestClient) -> None:
    state = new_session(client)
    assert len(state["id"]) == 32 and state["step_id"] == 0
    assert client.get(f"/api/sessions/{state['id']}").json()["id"] == state["id"]
    assert client.delete(f"/api/sessions/{state['id']}").status_code == 204
    assert client.get(f"/api/sessions/{state['id']}").status_code == 404


def test_step_and_back_move_the_counters(client: TestClient) -> None:
    sid = new_session(client)["id"]
    after = client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 3}).json()
    assert after["batch"] == 3 or after["epoch"] > 0
    assert after["step_id"] > 0
    micro = client.post(f"/api/sessions/{sid}/step", json={"unit": "micro", "count": 1}).json()
    assert micro["phase"] is not None
    back = client.post(f"/api/sessions/{sid}/back", json={"unit": "micro", "count": 1}).json()
    assert back["phase"] is None and back["batch"] == after["batch"]


def test_trace_network_metrics_and_weight_edit(client: TestClient) -> None:
    sid = new_session(client)["id"]
    client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 1})
    trace = client.get(f"/api/sessions/{sid}/trace").json()["trace"]
    for name in ("inputs", "targets", "loss", "layers"):
        assert name in trace
    for name in ("weights", "bias", "pre_activation", "activation", "delta", "grad_weights", "grad_bias"):
        assert name in trace["layers"][0]
    edited = client.put(
        f"/api/sessions/{sid}/network/weight", json={"layer": 1, "unit": 0, "input": 1, "value": 0.5}
    )
    assert edited.status_code == 200, edited.text
    assert client.get(f"/api/sessions/{sid}/network").json()["layers"][0]["weights"][0][1] == 0.5
    metrics = client.get(f"/api/sessions/{sid}/metrics").json()
    assert "history" in metrics


def test_live_config_change_keeps_weights_and_structural_change_resets(client: TestClient) -> None:
    sid = new_session(client)["id"]
    client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 2})
    before = client.get(f"/api/sessions/{sid}/network").json()["layers"]
    live = client.patch(f"/api/sessions/{sid}/config", json={"optimizer": {"learning_rate": 0.1}}).json()
    assert live["reset"] is False
    assert client.get(f"/api/sessions/{sid}/network").json()["layers"] == before
    rebuilt = client.patch(f"/api/sessions/{sid}/config", json={"hidden": [{"units": 3}]}).json()
    # A rebuilt run starts at epoch 0, but its step_id keeps growing so stream ids stay monotonic.
    assert rebuilt["reset"] is True and rebuilt["step_id"] > live["step_id"]
    assert (rebuilt["epoch"], rebuilt["batch"], rebuilt["phase"]) == (0, 0, None)
    assert len(client.get(f"/api/sessions/{sid}/network").json()["layers"]) == 2


def test_reset_with_the_same_seed_gives_the_same_initial_weights(client: TestClient) -> None:
    sid = new_session(client)["id"]
    initial = client.get(f"/api/sessions/{sid}/network").json()["layers"]
    client.post(f"/api/sessions/{sid}/step", json={"unit": "epoch", "count": 1})
    client.post(f"/api/sessions/{sid}/reset", json={})
    assert client.get(f"/api/sessions/{sid}/network").json()["layers"] == initial
    client.post(f"/api/sessions/{sid}/reset", json={"seed": 7})
    assert client.get(f"/api/sessions/{sid}/network").json()["layers"] != initial


def test_export_then_import_continues_with_an_identical_next_step(client: TestClient) -> None:
    sid = new_session(client)["id"]
    client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 5})
    document = client.get(f"/api/sessions/{sid}/export").json()
    copy = client.post("/api/sessions/import", json=document)
    assert copy.status_code == 201, copy.text
    cid = copy.json()["id"]
    assert cid != sid
    for target in (sid, cid):
        client.post(f"/api/sessions/{target}/step", json={"unit": "batch", "count": 1})
    assert client.get(f"/api/sessions/{sid}/export").json()["state"] == (
        client.get(f"/api/sessions/{cid}/export").json()["state"]
    )


def test_tampered_document_is_a_422_and_no_session_is_created(client: TestClient) -> None:
    sid = new_session(client)["id"]
    document = client.get(f"/api/sessions/{sid}/export").json()
    document["state"]["params"][0].pop("bias")
    response = client.post("/api/sessions/import", json=document)
    assert response.status_code == 422
    assert "state.params[0]" in response.text
    assert len(client.app.state.sessions.sessions) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"hidden": [{"units": 10**6}]}, "units"),
        ({"hidden": [{"units": 2}] * 10_000}, "hidden"),
        ({"hidden": [{"activation": "banana"}]}, "activation"),
        ({"optimizer": {"learning_rate": 1e300}}, "learning_rate"),
        ({"optimizer": {"learning_rate": 0}}, "learning_rate"),
        ({"features": []}, "features"),
        ({"dataset": {"noise": -1}}, "noise"),
        ({"batch_size": "ten"}, "batch_size"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_hostile_config_is_a_422_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/sessions", json=body)
    assert response.status_code == 422
    assert field in response.text


def test_a_refused_step_leaves_the_session_unchanged(client: TestClient) -> None:
    sid = new_session(client)["id"]
    client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 1})
    before = client.get(f"/api/sessions/{sid}/export").json()
    for bad in ({"unit": "leap"}, {"count": 0}, {"count": 10**9}, {"count": "NaN"}):
        assert client.post(f"/api/sessions/{sid}/step", json=bad).status_code == 422
    edit = {"layer": 9, "unit": 0, "value": 1}
    assert client.put(f"/api/sessions/{sid}/network/weight", json=edit).status_code in (404, 422)
    assert client.get(f"/api/sessions/{sid}/export").json() == before


def test_malformed_and_unknown_ids_are_404(client: TestClient) -> None:
    for bad in ("x", "a" * 32, "../../etc/passwd", "%00" * 11):
        assert client.get(f"/api/sessions/{bad}").status_code == 404
        assert client.post(f"/api/sessions/{bad}/step", json={}).status_code == 404


def test_two_sessions_do_not_see_each_other(client: TestClient) -> None:
    first = new_session(client)["id"]
    second = new_session(client)["id"]
    client.post(f"/api/sessions/{first}/step", json={"unit": "epoch", "count": 1})
    assert client.get(f"/api/sessions/{second}").json()["step_id"] == 0


def test_creating_too_fast_from_one_client_is_a_429(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, sessions_per_client_per_minute=3))) as c:
        codes = [c.post("/api/sessions", json={}).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]


def test_settings_caps_are_a_422_even_inside_the_schema_bounds(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, max_units=16))) as c:
        response = c.post("/api/sessions", json={"hidden": [{"units": 17}]})
    assert response.status_code == 422 and "hidden.0.units" in response.text


def test_play_then_pause_advances_and_stops(client: TestClient) -> None:
    import time

    sid = new_session(client)["id"]
    assert client.post(f"/api/sessions/{sid}/play", json={"unit": "batch", "speed": 200}).json()["playing"]
    for _ in range(600):  # until play has advanced, however busy the machine (at most a minute)
        if client.get(f"/api/sessions/{sid}").json()["step_id"] > 0:
            break
        time.sleep(0.1)
    paused = client.post(f"/api/sessions/{sid}/pause").json()
    assert paused["playing"] is False and paused["step_id"] > 0
    time.sleep(0.2)
    assert client.get(f"/api/sessions/{sid}").json()["step_id"] == paused["step_id"]


def test_csv_upload_over_the_cap_is_refused(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, max_upload_bytes=2048))) as c:
        sid = c.post("/api/sessions", json={}).json()["id"]
        big = b"x1,x2,label\n" + b"0.1,0.2,1\n" * 1000
        response = c.post(f"/api/sessions/{sid}/data/csv", files={"file": ("d.csv", big, "text/csv")})
    assert response.status_code == 413 and "file" in response.text


def test_a_body_over_the_cap_is_refused_by_its_declared_length_and_while_streaming(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, max_body_bytes=10_000,
                                             max_import_bytes=10_000))) as c:
        declared = c.post("/api/sessions/import", content=b"{" + b" " * 20_000 + b"}",
                          headers={"content-type": "application/json"})
        assert declared.status_code == 413 and declared.json()["detail"]["field"] == "body"

        def chunks() -> Iterator[bytes]:  # no Content-Length: the cap counts what arrives
            yield b'{"format": "'
            for _ in range(100):
                yield b"x" * 1000
            yield b'"}'

        json_type = {"content-type": "application/json"}
        streamed = c.post("/api/sessions/import", content=chunks(), headers=json_type)
        assert streamed.status_code == 413 and streamed.json()["detail"]["field"] == "body"
        small = c.post("/api/sessions", json={})
        assert small.status_code == 201  # bodies under the cap still go through


def test_csv_upload_replaces_the_data_and_a_bad_row_is_a_422_naming_row_and_column(
    client: TestClient,
) -> None:
    sid = new_session(client)["id"]
    rows = "".join(f"{i / 10},{(i * 7 % 11) / 5},{i % 2}\n" for i in range(40))
    done = client.post(f"/api/sessions/{sid}/data/csv",
                       files={"file": ("d.csv", ("x1,x2,label\n" + rows).encode(), "text/csv")})
    assert done.status_code == 200, done.text
    assert done.json()["config"]["dataset"]["name"] == "custom" and done.json()["reset"] is True
    assert client.get(f"/api/sessions/{sid}/export").json()["data"]["source"] == "csv"
    before = client.get(f"/api/sessions/{sid}/export").json()
    bad = client.post(f"/api/sessions/{sid}/data/csv",
                      files={"file": ("d.csv", b"x1,x2,label\n1,2,0\n3,abc,1\n5,6,0\n7,8,1\n", "text/csv")})
    assert bad.status_code == 422
    detail = bad.json()["detail"]
    assert (detail["field"], detail["row"], detail["column"]) == ("file", 3, "x2")
    assert client.get(f"/api/sessions/{sid}/export").json() == before


def test_point_edits_and_regenerate_change_the_data_with_growing_step_ids(client: TestClient) -> None:
    sid = new_session(client)["id"]
    client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 2})
    ids = [client.get(f"/api/sessions/{sid}").json()["step_id"]]
    added = client.post(f"/api/sessions/{sid}/data/points", json={"x1": 9.0, "x2": -9.0, "label": 1})
    assert added.status_code == 200, added.text
    ids.append(added.json()["step_id"])
    data = client.get(f"/api/sessions/{sid}/export").json()["data"]
    assert data["source"] == "edited" and data["points"][-1] == [9.0, -9.0] and data["labels"][-1] == 1
    removed = client.delete(f"/api/sessions/{sid}/data/points/0")
    assert removed.status_code == 200
    ids.append(removed.json()["step_id"])
    assert len(client.get(f"/api/sessions/{sid}/export").json()["data"]["points"]) == 500
    regenerated = client.post(f"/api/sessions/{sid}/data/regenerate", json={"seed": 3})
    assert regenerated.json()["config"]["dataset"]["seed"] == 3
    ids.append(regenerated.json()["step_id"])
    assert client.get(f"/api/sessions/{sid}/export").json()["data"] == {"source": "generated"}
    assert ids == sorted(set(ids))
    assert client.delete(f"/api/sessions/{sid}/data/points/100000").json()["detail"]["field"] == "index"


def test_a_diverged_session_answers_finite_json_everywhere_and_back_recovers(client: TestClient) -> None:
    config = {"output_unit": "linear_mse", "optimizer": {"learning_rate": 10},
              "hidden": [{"units": 8, "activation": "relu"}, {"units": 8, "activation": "relu"}]}
    sid = new_session(client, **config)["id"]
    state = client.post(f"/api/sessions/{sid}/step", json={"unit": "epoch", "count": 20}).json()
    assert state["diverged"] is not None and "learning rate" in state["diverged"]
    stuck = client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 1}).json()
    assert stuck["diverged"] == state["diverged"] and stuck["batch"] == state["batch"]
    for path in ("", "/trace", "/network", "/metrics", "/export"):
        response = client.get(f"/api/sessions/{sid}{path}")
        assert response.status_code == 200
        assert "NaN" not in response.text and "Infinity" not in response.text
    recovered = client.post(f"/api/sessions/{sid}/back", json={"unit": "batch", "count": 1}).json()
    assert recovered["diverged"] is None


def test_an_imported_document_cannot_bring_more_points_than_the_cap(tmp_path: Path) -> None:
    rows = "".join(f"{i / 10},{i % 7},{i % 2}\n" for i in range(60)).encode()
    with TestClient(create_app(Settings(data_dir=tmp_path / "a"))) as c:
        sid = c.post("/api/sessions", json={}).json()["id"]
        uploaded = c.post(f"/api/sessions/{sid}/data/csv", files={"file": ("d.csv", b"x1,x2,label\n" + rows)})
        assert uploaded.status_code == 200, uploaded.text
        document = c.get(f"/api/sessions/{sid}/export").json()
    with TestClient(create_app(Settings(data_dir=tmp_path / "b", max_samples=50))) as c:
        refused = c.post("/api/sessions/import", json=document)
        assert refused.status_code == 422 and refused.json()["detail"]["field"] == "data.points"
    with TestClient(create_app(Settings(data_dir=tmp_path / "c", max_samples=60))) as c:
        assert c.post("/api/sessions/import", json=document).status_code == 201
