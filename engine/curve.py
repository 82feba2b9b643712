"""A 1-D regression: y = f(x₁) + noise, with or without outliers, and the network's fitted curve over x₁.

The lecture's "L2 predicts the mean, L1 the median" is easiest to see on one input: a scatter of (x₁, y)
with the curve the network fits. Outliers all lie far above the curve, so they pull the mean (what MSE
fits) up and leave the median (what L1 fits) almost where it was. x₂ is drawn too, so the data fits the
playground's plane, but the value does not depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from engine.features import transform

if TYPE_CHECKING:
    from engine.network import Network

CURVE_SETS = ("curve", "curve_outliers")
OUTLIER_SHARE = 0.08  # of the points, chosen at random
OUTLIER_LIFT = 3.0    # added to their value: every outlier lies above the curve
CURVE_POINTS = 121


def curve_value(x1: NDArray) -> NDArray[np.float64]:
    """f(x₁) = 0.8 sin(x₁ / 2): one slow wave over the plane's [−6, 6], values within ±0.8."""
    return 0.8 * np.sin(np.asarray(x1, dtype=np.float64) / 2.0)


def generate(rng: np.random.Generator, n: int, noise: float, outliers: bool) -> tuple[NDArray, NDArray]:
    """Points (n, 2) uniform on [−6, 6]² and values (n,) = f(x₁) + N(0, noise²) (cut at ±3·noise, so the
    values stay within `value_bound`), plus OUTLIER_LIFT on a random OUTLIER_SHARE of them when `outliers`."""
    points = rng.uniform(-6.0, 6.0, (n, 2))
    value = curve_value(points[:, 0]) + np.clip(rng.normal(0.0, 1.0, n), -3.0, 3.0) * noise
    if outliers:
        lifted = rng.choice(n, size=max(1, round(OUTLIER_SHARE * n)), replace=False)
        value[lifted] += OUTLIER_LIFT
    return points, value.astype(np.float64)


def value_bound(noise: float, outliers: bool) -> float:
    """The largest |value| `generate` can give."""
    return 0.8 + 3.0 * noise + (OUTLIER_LIFT if outliers else 0.0)


@dataclass(frozen=True)
class FittedCurve:
    """The network's prediction along x₁ at x₂ = 0: x1 (K,), mean (K,), sigma (K,) for a Gaussian output
    (σ = √(e^s)), else None."""

    x1: NDArray[np.float64]
    mean: NDArray[np.float64]
    sigma: NDArray[np.float64] | None


def fitted_curve(network: Network, features: Sequence[str], x_range: tuple[float, float],
                 points: int = CURVE_POINTS) -> FittedCurve:
    """One forward pass over `points` evenly spaced x₁ in `x_range` (x₂ = 0)."""
    x1 = np.linspace(x_range[0], x_range[1], points)
    inputs = transform(np.column_stack([x1, np.zeros_like(x1)]), features)
    with np.errstate(all="ignore"):
        predicted = network.output.predict(network.forward(inputs))
    sigma = None
    if network.config.output_unit == "gaussian_nll":
        sigma = np.sqrt(predicted[:, 1])
    return FittedCurve(x1, predicted[:, 0].astype(np.float64), sigma)
