"""Input features: each transform's values on known points, the fixed column order, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from engine.features import FEATURE_LABELS, FEATURES, ordered, transform

POINTS = np.array([[2.0, -3.0], [0.0, 0.5], [np.pi / 2, -np.pi]])


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        ("x1", [2.0, 0.0, np.pi / 2]),
        ("x2", [-3.0, 0.5, -np.pi]),
        ("x1_sq", [4.0, 0.0, np.pi**2 / 4]),
        ("x2_sq", [9.0, 0.25, np.pi**2]),
        ("x1_x2", [-6.0, 0.0, -(np.pi**2) / 2]),
        ("sin_x1", [np.sin(2.0), 0.0, 1.0]),
        ("sin_x2", [np.sin(-3.0), np.sin(0.5), 0.0]),
    ],
)
def test_each_feature_on_known_points(feature: str, expected: list[float]) -> None:
    values = transform(POINTS, [feature])
    assert values.shape == (3, 1)
    np.testing.assert_allclose(values[:, 0], expected, atol=1e-15)


def test_columns_follow_the_fixed_order_not_the_order_given() -> None:
    values = transform(POINTS, ["sin_x2", "x1", "x1_x2"])
    np.testing.assert_allclose(
        values, np.column_stack([POINTS[:, 0], POINTS[:, 0] * POINTS[:, 1], np.sin(POINTS[:, 1])])
    )
    assert ordered(["sin_x2", "x1", "x1_x2", "x1"]) == ("x1", "x1_x2", "sin_x2")


def test_all_seven_features_give_seven_columns() -> None:
    assert transform(POINTS, FEATURES).shape == (3, 7)
    assert set(FEATURE_LABELS) == set(FEATURES)


@pytest.mark.parametrize(
    ("features", "says"), [([], "at least one"), (["x3"], "'x3'"), (["x1", "x1²"], "x1²")]
)
def test_unknown_or_empty_features_are_refused(features: list[str], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        transform(POINTS, features)


def test_points_must_have_two_columns() -> None:
    with pytest.raises(ValueError, match="shape"):
        transform(np.zeros((3, 3)), ["x1"])
