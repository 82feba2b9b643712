"""The accumulate step with several samples per batch: "this sample's ∂L/∂w" is that sample's own δ·input,
and the running sum is the sum over the samples so far, each recomputed here from the batch's trace.

With batch size 1 the two are equal, so only a batch of several samples tells them apart."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

BATCH = 4
MINUS = "−"


def _shown(html: str, role: str) -> list[tuple[float, str]]:
    """(data-value, printed text) of every number the inspector marked with `role`, in order."""
    found = re.findall(rf'data-role="{role}" data-value="([^"]+)">([^<]+)<', html)
    shown: list[tuple[float, str]] = []
    for value, text in found:  # a number printed again as an operand on the same line is one number
        if not shown or shown[-1][0] != float(value):
            shown.append((float(value), text))
    return shown


def _printed_matches(text: str, expected: float) -> bool:
    """The printed number is `expected` rounded to the decimals it shows."""
    number = text.replace(MINUS, "-").strip().strip("()")
    decimals = len(number.partition(".")[2])
    return abs(float(number) - expected) <= 0.5 * 10.0 ** -decimals + 1e-12


def _accumulate_steps(client: TestClient, sid: str) -> list[str]:
    """Micro-step through the first batch; the inspector's HTML at each accumulate step, in order."""
    seen: list[str] = []
    for _ in range(200):
        html = client.post(f"/ui/{sid}/step", data={"unit": "micro"}).text
        phase = re.search(r'data-phase="([a-z]+)"', html)
        if phase and phase.group(1) == "accumulate":
            seen.append(html)
        if len(seen) == BATCH:
            return seen
    raise AssertionError(f"only {len(seen)} accumulate steps in 200 micro-steps")


@pytest.mark.parametrize("query", [f"hidden=3&batch={BATCH}", f"hidden=4,2&batch={BATCH}&act=relu,tanh"])
def test_each_accumulate_step_shows_its_own_samples_gradient_and_the_running_sum(
    client: TestClient, query: str
) -> None:
    response = client.get(f"/?{query}")
    assert response.status_code == 200
    sid = re.search(r'data-session="([^"]+)"', response.text).group(1)  # type: ignore[union-attr]
    steps = _accumulate_steps(client, sid)
    trace: dict[str, Any] = client.get(f"/api/sessions/{sid}/trace").json()["trace"]
    out, before = trace["layers"][-1], trace["layers"][-2]
    # ∂L_s/∂w₀ᵢ of the output neuron = δ_s · (the input that came along link i), per sample s
    own = [[out["delta"][s][0] * x for x in before["activation"][s]] for s in range(BATCH)]
    running = [[sum(own[t][i] for t in range(s + 1)) for i in range(len(own[0]))] for s in range(BATCH)]
    differs = False
    for s, html in enumerate(steps):
        assert f"sample {s + 1} of {BATCH}" in html
        shown_own, shown_sum = _shown(html, "sample_grad_weight"), _shown(html, "sum_grad_weight")
        assert len(shown_own) == len(shown_sum) == len(own[s])
        for i, ((value, text), (total, total_text)) in enumerate(zip(shown_own, shown_sum, strict=True)):
            # the trace's JSON has 4 significant digits: compare at that precision
            assert value == pytest.approx(own[s][i], rel=2e-3, abs=1e-6), (s, i, "this sample's")
            assert total == pytest.approx(running[s][i], rel=2e-3, abs=1e-6), (s, i, "the sum")
            assert _printed_matches(text, value) and _printed_matches(total_text, total), (text, total_text)
            differs = differs or abs(own[s][i] - running[s][i]) > 1e-2 * max(1.0, abs(running[s][i]))
    assert differs  # the setup tells a sample's gradient from the running sum (else the test proves nothing)
