"""One state, one set of losses: the stream's frame, GET /api/sessions/{id} and the first paint show the
same train, test and regularization loss (and accuracy), all at the run's current weights."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from tests.app.test_stream import read_events


def _page_numbers(page: str) -> dict[str, str]:
    found = {name: re.search(rf'id="{name}">([^<]*)<', page) for name in ("loss-train", "loss-test",
                                                                         "loss-reg", "acc")}
    return {name: html.unescape(match.group(1)) for name, match in found.items() if match}


def _penalty(kind: str, rate: float, layers: list[dict]) -> float:
    """R redone from the weights the API shows (4 significant digits): L1 rate·Σ|w|, L2 rate/2·Σw²."""
    weights = [w for layer in layers for row in layer["weights"] for w in row]
    if kind == "l1":
        return rate * sum(abs(w) for w in weights)
    return 0.5 * rate * sum(w * w for w in weights)


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_frame_state_and_first_paint_show_the_same_losses_at_the_current_weights(
        live_server: str, kind: str) -> None:
    with httpx.Client(base_url=live_server, timeout=20) as http:
        opened = http.get(f"/?lr=1&reg={kind}&rr=0.1", follow_redirects=False)
        assert opened.status_code == 303
        sid = re.search(r"session=([\w-]+)", opened.headers["location"]).group(1)
        stepped = http.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 3})
        assert stepped.status_code == 200 and stepped.json()["step_id"] > 0

        state = http.get(f"/api/sessions/{sid}").json()
        with http.stream("GET", f"/api/sessions/{sid}/stream") as response:
            frame = read_events(response, 1)[0]["data"]
        page = _page_numbers(http.get(f"/?session={sid}").text)
        layers = http.get(f"/api/sessions/{sid}/network").json()["layers"]

    assert frame["id"] == state["step_id"] and (frame["epoch"], frame["batch"]) == (0, 3)
    assert frame["loss"] == state["loss"]  # the same 4-digit numbers, not just close
    loss = frame["loss"]
    assert page["loss-train"] == f"{loss['train']:.3f}"
    assert page["loss-test"] == f"{loss['test']:.3f}"
    assert page["loss-reg"] == f"{loss['reg']:.3f}"
    acc = frame["acc"]
    assert page["acc"] == f"{100 * acc['train']:.1f} % / {100 * acc['test']:.1f} %"
    # R is the one at the weights shown now; at η = 1 the last update moved them by far more than this
    # tolerance, so the term at the weights before it (the trace's) would fail here
    assert loss["reg"] == pytest.approx(_penalty(kind, 0.1, layers), rel=2e-3)
    assert loss["reg"] > 0.0
    # the chart's newest point is this very state (3 batches done, the chart samples every batch here)
    chart = frame["chart"]
    assert chart["every"] == 1 and chart["step"] == 3
    assert chart["tail"][-1] == [3, loss["train"], loss["test"], loss["reg"]]
