"""ELU′ and the sigmoid cross-entropy loss keep every digit far out in the tails (|z| = 20, 30, 40, 700),
checked against closed forms computed one value at a time with the math module."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import activations, outputs

TAILS = (20.0, 30.0, 40.0, 700.0)


def relative_error(got: float, want: float) -> float:
    return abs(got - want) / abs(want)


@pytest.mark.parametrize("alpha", [1.0, 0.1])
@pytest.mark.parametrize("size", TAILS)
def test_elu_slope_far_below_zero_is_alpha_times_e_to_the_z(alpha: float, size: float) -> None:
    elu = activations.get("elu", alpha)
    z = np.array([-size])
    slope = float(elu.derivative(z, elu.f(z))[0])
    # the closed form α·e^z; f + α loses it all at z = −40 (f rounds to −α exactly)
    assert relative_error(slope, alpha * math.exp(-size)) < 4e-16


def test_elu_slope_is_one_above_zero_even_where_e_to_the_z_overflows() -> None:
    elu = activations.get("elu")
    z = np.array([700.0, 800.0])
    with np.errstate(over="raise"):
        assert elu.derivative(z, elu.f(z)).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("size", TAILS)
def test_cross_entropy_of_a_confident_correct_sample_is_log1p_of_e_to_the_minus_z(size: float) -> None:
    bce = outputs.get("sigmoid_bce")
    z = np.array([[size], [-size]])
    y = np.array([[1.0], [0.0]])  # both right, with margin |z|
    # −log σ(|z|) = log(1 + e^(−|z|)): about e^(−|z|), a number the old softplus(z) − y·z cancelled away
    want = math.log1p(math.exp(-size))
    for got in bce.loss(z, y):
        assert relative_error(float(got), want) < 4e-16


@pytest.mark.parametrize("size", TAILS)
def test_cross_entropy_of_a_confident_wrong_sample_is_the_margin_plus_the_small_term(size: float) -> None:
    bce = outputs.get("sigmoid_bce")
    z = np.array([[size], [-size]])
    y = np.array([[0.0], [1.0]])  # both wrong, with margin |z|
    want = size + math.log1p(math.exp(-size))
    for got in bce.loss(z, y):
        assert relative_error(float(got), want) < 4e-16


def test_cross_entropy_with_a_soft_target_is_the_closed_form() -> None:
    bce = outputs.get("sigmoid_bce")
    z, y = 30.0, 0.75
    # −[y log σ(z) + (1 − y) log(1 − σ(z))] with log σ(z) = −log1p(e^(−z)), log(1 − σ(z)) = −z − log1p(e^(−z))
    small = math.log1p(math.exp(-z))
    want = y * small + (1 - y) * (z + small)
    assert relative_error(float(bce.loss(np.array([[z]]), np.array([[y]]))[0]), want) < 4e-16
