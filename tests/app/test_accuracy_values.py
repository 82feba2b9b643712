"""Train and test accuracy, recomputed here from the data and the network's own predictions, are the
values the stream's frames, the metrics JSON and the page show, each in its own place (a swap fails)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.frames import build_frame
from engine import features


def _accuracies(run: object) -> tuple[float, float]:
    """(train, test) share of points whose predicted class is their label, from the network's outputs."""
    dataset, network, config = run.dataset, run.network, run.config  # type: ignore[attr-defined]
    prediction = network.output.predict(network.forward(features.transform(dataset.points, config.features)))
    if prediction.shape[1] == 1:  # one output: class 1 above the midpoint of the output's range
        midpoint = 0.5 if config.output_unit == "sigmoid_bce" else 0.0
        chosen = (prediction[:, 0] > midpoint).astype(np.int64)
    else:
        chosen = prediction.argmax(axis=1)
    right = chosen == dataset.labels
    return float(right[dataset.train_index].mean()), float(right[dataset.test_index].mean())


@pytest.mark.parametrize(("setup", "epochs"), [
    ({"dataset": {"name": "circle", "noise": 0.4, "seed": 3}, "hidden": [{"units": 2}]}, 3),
    ({"dataset": {"name": "blobs", "noise": 0.5, "seed": 1}, "output_unit": "softmax_ce"}, 1),
    ({"dataset": {"name": "xor", "noise": 0.5}, "output_unit": "sigmoid_bce", "hidden": [{"units": 3}]}, 2),
])
def test_frames_metrics_and_page_show_the_train_and_test_accuracy_of_the_current_network(
    client: TestClient, setup: dict[str, object], epochs: int
) -> None:
    sid = client.post("/api/sessions", json=setup).json()["id"]
    stepped = client.post(f"/api/sessions/{sid}/step", json={"unit": "epoch", "count": epochs})
    assert stepped.status_code == 200
    run = client.app.state.sessions.sessions[sid].run  # type: ignore[attr-defined]
    train, test = _accuracies(run)
    assert abs(train - test) >= 0.01, (train, test)  # a setup where a swap shows

    frame = build_frame(run)
    assert frame["acc"] == {"train": pytest.approx(train, abs=1e-4), "test": pytest.approx(test, abs=1e-4)}

    last = client.get(f"/api/sessions/{sid}/metrics").json()["history"][-1]
    assert (last["accuracy"], last["test_accuracy"]) == (pytest.approx(train, abs=1e-4),
                                                          pytest.approx(test, abs=1e-4))

    page = client.get(f"/?session={sid}").text
    shown = re.search(r'<dd id="acc">([^<]*)</dd>', page)
    assert shown is not None
    assert shown.group(1) == f"{100 * train:.1f} % / {100 * test:.1f} %"
