"""Activations: f′ matches a central difference of f, the course's conventions at kinks, stability."""

from __future__ import annotations

import numpy as np
import pytest

from engine import activations
from engine.activations import ACTIVATIONS

ELEMENTWISE = [name for name in ACTIVATIONS if name != "maxout"]


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("alpha", [None, 0.1])
def test_derivative_matches_central_difference_away_from_zero(name: str, alpha: float | None) -> None:
    activation = activations.get(name, alpha)
    rng = np.random.default_rng(3)
    z = rng.uniform(-4, 4, 200)
    z = z[np.abs(z) > 1e-3]  # the kinks of relu, leaky_relu, elu(α≠1) and abs sit at 0
    h = 1e-6
    numeric = (activation.f(z + h) - activation.f(z - h)) / (2 * h)
    analytic = activation.derivative(z, activation.f(z))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", ["relu", "abs"])
def test_derivative_at_zero_is_zero_for_relu_and_abs(name: str) -> None:
    activation = activations.get(name)
    zero = np.zeros(1)
    assert activation.derivative(zero, activation.f(zero))[0] == 0.0


def test_leaky_relu_default_slope_is_one_hundredth_and_elu_default_alpha_one() -> None:
    z = np.array([-2.0])
    assert activations.get("leaky_relu").f(z)[0] == pytest.approx(-0.02)
    assert activations.get("elu").f(z)[0] == pytest.approx(np.exp(-2.0) - 1.0)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_values_and_slopes_are_finite_for_huge_inputs(name: str) -> None:
    activation = activations.get(name)
    z = np.array([-1000.0, -50.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        y = activation.f(z)
        slope = activation.derivative(z, y)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(slope))


def test_sigmoid_and_softplus_keep_precision_at_large_magnitude() -> None:
    assert activations.sigmoid(np.array([-800.0]))[0] == pytest.approx(np.exp(-800.0), rel=1e-12)
    assert activations.softplus(np.array([800.0]))[0] == 800.0
    assert activations.softplus(np.array([-40.0]))[0] == pytest.approx(np.exp(-40.0), rel=1e-12)


def test_unknown_activation_and_bad_maxout_pieces_are_refused() -> None:
    with pytest.raises(ValueError, match="activation"):
        activations.get("gelu")
    with pytest.raises(ValueError, match="pieces"):
        activations.get("maxout", pieces=5)
