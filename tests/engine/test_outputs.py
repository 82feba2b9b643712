"""Output units: deltas equal the closed forms and a central difference of the loss; stable for |z| = 1000."""

from __future__ import annotations

import numpy as np
import pytest

from engine import outputs, vocabulary
from engine.outputs import OUTPUT_UNITS


def targets_for(name: str, rng: np.random.Generator, batch: int, n_targets: int) -> np.ndarray:
    if name == "tanh_mse":
        return rng.choice([-1.0, 1.0], (batch, n_targets))
    if name == "sigmoid_bce":
        return rng.choice([0.0, 1.0], (batch, n_targets))
    if name == "softmax_ce":
        return np.eye(n_targets)[rng.integers(0, n_targets, batch)]
    return rng.normal(size=(batch, n_targets))


@pytest.mark.parametrize("name", OUTPUT_UNITS)
def test_delta_is_the_central_difference_of_each_samples_loss(name: str) -> None:
    unit = outputs.get(name)
    rng = np.random.default_rng(11)
    n_targets = 3
    y = targets_for(name, rng, 6, n_targets)
    z = rng.normal(size=(6, unit.n_outputs(n_targets)))
    if name == "linear_l1":  # keep clear of the kink at z = y
        z = np.where(np.abs(z - y) < 1e-3, z + 0.1, z)
    _, loss, delta = unit.evaluate(z, y)
    np.testing.assert_allclose(loss, unit.loss(z, y), rtol=1e-14)
    h = 1e-6
    numeric = np.zeros_like(z)
    for j in range(z.shape[1]):
        step = np.zeros_like(z)
        step[:, j] = h
        numeric[:, j] = (unit.loss(z + step, y) - unit.loss(z - step, y)) / (2 * h)
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["linear_mse", "sigmoid_bce", "softmax_ce"])
def test_matched_pairs_have_delta_prediction_minus_target(name: str) -> None:
    unit = outputs.get(name)
    rng = np.random.default_rng(5)
    y = targets_for(name, rng, 8, 4 if name == "softmax_ce" else 1)
    z = rng.normal(size=y.shape)
    prediction, _, delta = unit.evaluate(z, y)
    np.testing.assert_allclose(delta, prediction - y, atol=1e-15)


def test_closed_forms_of_the_other_units() -> None:
    z = np.array([[0.3, -0.2]])
    y = np.array([[1.0, -1.0]])
    _, loss, delta = outputs.get("tanh_mse").evaluate(z, y)
    t = np.tanh(z)
    np.testing.assert_allclose(delta, (t - y) * (1 - t**2))
    assert loss[0] == pytest.approx(0.5 * np.sum((t - y) ** 2))
    _, loss, delta = outputs.get("linear_l1").evaluate(z, y)
    np.testing.assert_array_equal(delta, [[-1.0, 1.0]])
    assert loss[0] == pytest.approx(0.7 + 0.8)
    _, _, zero_delta = outputs.get("linear_l1").evaluate(y, y)
    np.testing.assert_array_equal(zero_delta, np.zeros_like(y))
    mean, log_var, target = 0.5, np.log(4.0), 1.5
    _, loss, delta = outputs.get("gaussian_nll").evaluate(np.array([[mean, log_var]]), np.array([[target]]))
    assert loss[0] == pytest.approx(0.5 * (np.log(2 * np.pi) + log_var + 1.0 / 4.0))
    np.testing.assert_allclose(delta, [[(mean - target) / 4.0, 0.5 * (1 - 1.0 / 4.0)]])


def test_softmax_cross_entropy_is_finite_at_z_1000() -> None:
    prediction, loss, delta = outputs.get("softmax_ce").evaluate(
        np.array([[1000.0, -1000.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
    assert loss[0] == pytest.approx(2000.0)
    np.testing.assert_allclose(delta, [[1.0, -1.0, 0.0]], atol=1e-300)
    np.testing.assert_allclose(prediction.sum(), 1.0)


def test_sigmoid_cross_entropy_is_finite_at_z_1000() -> None:
    z = np.array([[1000.0], [-1000.0], [1000.0]])
    y = np.array([[0.0], [1.0], [1.0]])
    _, loss, delta = outputs.get("sigmoid_bce").evaluate(z, y)
    np.testing.assert_allclose(loss, [1000.0, 1000.0, 0.0])
    np.testing.assert_allclose(delta, [[1.0], [-1.0], [0.0]])


def test_output_widths_and_page_formulas() -> None:
    assert outputs.get("gaussian_nll").n_outputs(2) == 4
    assert outputs.get("softmax_ce").n_outputs(5) == 5
    for name in OUTPUT_UNITS:
        term = vocabulary.OUTPUT_UNITS[name]
        assert outputs.get(name).name == name and term.loss.startswith("L =") and term.title
    with pytest.raises(ValueError, match="output_unit"):
        outputs.get("hinge")
