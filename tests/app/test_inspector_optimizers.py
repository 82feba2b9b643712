"""The update step of momentum and Adam shows the optimiser's own terms (issue 15 item 1): the velocity,
or both running means and their bias corrections, before and after, each number the one the engine
used (recomputed here in closed form from the exported state before the batch and the trace's
gradient), each line holding at its printed precision. And maxout's forward step prints every piece."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from tests.app.test_printed_arithmetic import check_line, formula_lines


def _values(fragment: str, role: str) -> list[float]:
    """data-value of every number marked `role`, in order, one per parameter (a number carried to the
    parameter's next line, or printed twice on one, is the same number)."""
    found: list[float] = []
    for value in re.findall(rf'data-role="{role}" data-value="([^"]+)"', fragment):
        if not found or found[-1] != float(value):
            found.append(float(value))
    return found


def _first_update(client: TestClient, optimizer: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A run of `optimizer` trained 2 batches, micro-stepped to its next batch's first update (layer 1,
    unit 0): (the inspector fragment, the export before the batch, the batch's trace)."""
    setup = {"optimizer": {"kind": optimizer}, "hidden": [{"units": 2}]}
    sid = client.post("/api/sessions", json=setup).json()["id"]
    assert client.post(f"/api/sessions/{sid}/step", json={"unit": "batch", "count": 2}).status_code == 200
    before = client.get(f"/api/sessions/{sid}/export").json()
    for _ in range(400):
        fragment = client.post(f"/ui/{sid}/step", data={"unit": "micro"}).text
        if 'data-phase="update"' in fragment:
            trace = client.get(f"/api/sessions/{sid}/trace").json()["trace"]
            return fragment, before, trace
    raise AssertionError("no update step reached")


def _unit_rows(state: dict[str, Any], name: str) -> np.ndarray:
    """Layer 1, unit 0 of a packed state array: its weights, then its bias."""
    packed = state["optimizer"]["state"][name][0]
    return np.array(packed["data"]).reshape(packed["shape"])[0]


def _gradient(fragment: str, trace: dict[str, Any]) -> np.ndarray:
    """The gradient the lines print (full precision in data-value), checked against the API's trace
    (which rounds to 4 significant digits)."""
    printed = np.array(_values(fragment, "grad_weight") + _values(fragment, "grad_bias"))
    layer = trace["layers"][0]
    assert np.allclose(printed, [*layer["grad_weights"][0], layer["grad_bias"][0]], rtol=1e-3, atol=1e-8)
    return printed


def _lines_hold(fragment: str) -> int:
    return sum(check_line(line, 1.0) for line in formula_lines(fragment))


def test_a_momentum_update_prints_the_velocity_before_and_after_and_each_line_holds(
    client: TestClient,
) -> None:
    fragment, before, trace = _first_update(client, "momentum")
    v_old, g = _unit_rows(before["state"], "velocity"), _gradient(fragment, trace)
    rate = trace["learning_rate"]
    v_new = 0.9 * v_old - rate * g  # v ← μ·v − η·∂L/∂w
    shown_old = _values(fragment, "old_velocity_weight") + _values(fragment, "old_velocity_bias")
    shown_new = _values(fragment, "new_velocity_weight") + _values(fragment, "new_velocity_bias")
    assert np.allclose(shown_old, v_old, rtol=1e-12, atol=1e-15)
    assert np.allclose(shown_new, v_new, rtol=1e-12, atol=1e-15)
    lines = formula_lines(fragment)
    assert sum(line.startswith("v(") for line in lines) == 3  # w₁₁, w₁₂, b₁: v line, then w ← w + v
    assert _lines_hold(fragment) >= 6


def test_an_adam_update_prints_both_running_means_and_their_corrections_and_each_line_holds(
    client: TestClient,
) -> None:
    fragment, before, trace = _first_update(client, "adam")
    g, rate, t = _gradient(fragment, trace), trace["learning_rate"], 3  # the third update
    m = 0.9 * _unit_rows(before["state"], "m") + 0.1 * g
    v = 0.999 * _unit_rows(before["state"], "v") + 0.001 * g * g
    m_hat, v_hat = m / (1 - 0.9 ** t), v / (1 - 0.999 ** t)
    for role, want in (("new_m", m), ("new_v", v), ("m_hat", m_hat), ("v_hat", v_hat)):
        shown = _values(fragment, f"{role}_weight") + _values(fragment, f"{role}_bias")
        assert np.allclose(shown, want, rtol=1e-9, atol=1e-15), role
    old = np.array([*before["state"]["params"][0]["weights"][0], before["state"]["params"][0]["bias"][0]])
    new = _values(fragment, "new_weight") + _values(fragment, "new_bias")
    assert np.allclose(new, old - rate * m_hat / (np.sqrt(v_hat) + 1e-8), rtol=1e-9)
    text = " ".join(formula_lines(fragment))
    assert "/(1 − 0.9³)" in text and "/(1 − 0.999³)" in text and "√" in text
    assert _lines_hold(fragment) >= 3 * 5  # per parameter: m, v, m̂ and v̂, the step
    assert not re.search(r"·10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+²", text)  # a squared power of ten is in brackets


def test_a_small_gradient_squared_is_written_in_brackets_and_its_line_still_holds() -> None:
    from app.inspector_update import _adam_lines

    beta1, beta2, t, rate, grad = 0.9, 0.999, 376, 0.1, 4.3122e-3
    m_old, v_old = -0.051646, 0.016008
    m, v = beta1 * m_old + (1 - beta1) * grad, beta2 * v_old + (1 - beta2) * grad * grad
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    numbers = {"old": 1.605, "grad": grad, "new": 1.605 - rate * m_hat / (v_hat ** 0.5 + 1e-8),
               "old_m": m_old, "new_m": m, "old_v": v_old, "new_v": v, "m_hat": m_hat, "v_hat": v_hat}
    lines = _adam_lines("w₁₁", "weight", numbers, rate, {"beta1": beta1, "beta2": beta2, "eps": 1e-8, "t": t})
    texts = ["".join(token.text for token in line.tokens) for line in lines]
    assert "(4.3122·10⁻³)²" in texts[1] and not re.search(r"·10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+²", texts[1]), texts[1]
    assert all(check_line(text, 1.0) >= 1 for text in texts), texts


def test_a_maxout_forward_step_prints_every_pieces_sum_and_says_which_won(client: TestClient) -> None:
    setup = {"hidden": [{"units": 2, "activation": "maxout", "pieces": 3}]}
    sid = client.post("/api/sessions", json=setup).json()["id"]
    fragment = client.post(f"/ui/{sid}/step", data={"unit": "micro"}).text
    lines = formula_lines(fragment)
    layer = client.get(f"/api/sessions/{sid}/trace").json()["trace"]["layers"][0]
    sums = np.array(layer["pre_activation"])[0, 0]  # sample 1, unit 1: one sum per piece
    won = int(np.array(layer["argmax"])[0, 0])
    for k, total in enumerate(sums, start=1):  # every piece's own line, its sum the trace's
        line = next(line for line in lines if line.strip().startswith(f"e₁⁽{'¹²³'[k - 1]}⁾ ="))
        assert abs(float(line.rsplit("= ", 1)[1].replace("−", "-")) - total) <= 0.005, line
        assert check_line(line, 1.0) == 1
    assert lines[-1].endswith(f"= {lines[-1].rsplit('= ', 1)[1]}") and "max(" in lines[-1]
    notes = " ".join(re.findall(r'<p class="note">(.*?)</p>', fragment, flags=re.S))
    assert f"piece {won + 1} won for this sample" in notes
