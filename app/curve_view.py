"""The 1-D regression view (engine/curve.py): training points as a scatter of (x₁, y), the network's fitted
curve, and for a Gaussian output the band μ ± σ, scaled to an SVG. Only scaling happens here: every value
comes from the dataset or from engine/curve.fitted_curve."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine import printed
from engine.curve import CURVE_SETS, fitted_curve
from engine.stepper import Run

WIDTH, HEIGHT, PAD = 256, 170, 24
MAX_DOTS = 400  # the first training points in their fixed order (a curve set has 1200 points)


def shows_curve(run: Run) -> bool:
    return run.config.dataset.name in CURVE_SETS


def curve_context(run: Run) -> dict[str, Any]:
    """The SVG's dots, curve and band (strings of points) and its axis labels."""
    x_low, x_high = run.dataset.extent[0], run.dataset.extent[1]
    rows = run.dataset.train_index[:MAX_DOTS]
    x = run.dataset.points[rows, 0]
    y = np.asarray(run.dataset.labels, dtype=np.float64)[rows]
    fit = fitted_curve(run.network, run.config.features, (x_low, x_high))
    low_fit = fit.mean - (fit.sigma if fit.sigma is not None else 0.0)
    high_fit = fit.mean + (fit.sigma if fit.sigma is not None else 0.0)
    # the data alone sets the scale (so two fits of the same data are drawn alike); a fit beyond it is
    # clipped at the edge
    span = max(float(np.max(y) - np.min(y)), 1e-9)
    y_low, y_high = float(np.min(y)) - 0.1 * span, float(np.max(y)) + 0.1 * span

    def sx(value: np.ndarray) -> np.ndarray:
        return PAD + (WIDTH - 2 * PAD) * (value - x_low) / (x_high - x_low)

    def sy(value: np.ndarray) -> np.ndarray:
        clipped = np.clip(np.nan_to_num(value, nan=y_low), y_low, y_high)
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * (clipped - y_low) / (y_high - y_low)

    def joined(xs: np.ndarray, ys: np.ndarray) -> str:
        return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys, strict=True))

    band = None
    if fit.sigma is not None:
        band = joined(np.concatenate([sx(fit.x1), sx(fit.x1[::-1])]),
                      np.concatenate([sy(high_fit), sy(low_fit[::-1])]))
    return {
        "width": WIDTH, "height": HEIGHT, "pad": PAD,
        "dots": [(f"{a:.1f}", f"{b:.1f}") for a, b in zip(sx(x), sy(y), strict=True)],
        "curve": joined(sx(fit.x1), sy(fit.mean)), "band": band,
        "y_low": printed.fixed(y_low, 1), "y_high": printed.fixed(y_high, 1),
        "x_low": printed.fixed(x_low, 0), "x_high": printed.fixed(x_high, 0),
        "x2_matters": any(feature not in ("x1", "x1_sq", "sin_x1") for feature in run.config.features),
        "output": run.config.output_unit,
    }
