"""The 1-D regression data and view: y = f(x₁) + noise with outliers above the curve; the fitted curve is
the network's own prediction along x₁; trained, MSE's curve sits above L1's (mean vs median)."""

from __future__ import annotations

import re

import numpy as np
from fastapi.testclient import TestClient

from app import convert
from app.schemas import SessionCreate
from engine.curve import OUTLIER_LIFT, OUTLIER_SHARE, curve_value, fitted_curve
from engine.data import DataConfig, make_dataset
from engine.stepper import Run


def test_outliers_lie_above_the_curve_and_move_the_mean_not_the_median() -> None:
    clean = make_dataset(DataConfig(name="curve", noise=0.1, seed=3))
    lifted = make_dataset(DataConfig(name="curve_outliers", noise=0.1, seed=3))
    for data in (clean, lifted):
        assert np.array_equal(data.points, clean.points)  # the same points: only the values differ
    residual = lifted.labels - curve_value(lifted.points[:, 0])
    far = residual > OUTLIER_LIFT / 2
    assert far.sum() == round(OUTLIER_SHARE * lifted.n_samples)
    assert abs(float(np.median(residual))) < 0.03
    assert float(np.mean(residual)) > 0.8 * OUTLIER_SHARE * OUTLIER_LIFT
    assert abs(float(np.mean(clean.labels - curve_value(clean.points[:, 0])))) < 0.02


def trained(output_unit: str, name: str = "curve_outliers", epochs: int = 30) -> Run:
    run = convert.built(SessionCreate.model_validate({
        "dataset": {"name": name, "noise": 0.1}, "features": ["x1"], "hidden": [{"units": 6}],
        "output_unit": output_unit, "optimizer": {"learning_rate": 0.03}}))
    run.step("epoch", epochs)
    return run


def test_the_fitted_curve_is_the_networks_prediction_along_x1() -> None:
    run = trained("linear_mse", epochs=2)
    fit = fitted_curve(run.network, run.config.features, (-6.0, 6.0), points=7)
    hidden, output = run.network.layers
    units = np.tanh(fit.x1[:, None] * hidden.weights[:, 0] + hidden.bias)
    by_hand = units @ output.weights[0] + output.bias[0]
    np.testing.assert_allclose(fit.mean, by_hand, rtol=1e-12)
    assert fit.sigma is None


def test_mse_fits_the_mean_above_the_bulk_and_l1_the_median_through_it() -> None:
    x1 = np.linspace(-4.0, 4.0, 41)  # away from the plane's edges, where the fit is still loose
    shift = {}
    for unit in ("linear_mse", "linear_l1"):
        run = trained(unit)
        fit = fitted_curve(run.network, run.config.features, (-4.0, 4.0), points=41)
        shift[unit] = float(np.mean(fit.mean - curve_value(x1)))
    assert shift["linear_mse"] > 0.15  # pulled up by the outliers (their share times lift is 0.24)
    assert abs(shift["linear_l1"]) < 0.1
    assert shift["linear_mse"] - shift["linear_l1"] > 0.1


def test_the_view_draws_points_curve_and_the_gaussian_band(client: TestClient) -> None:
    made = client.post("/api/sessions", json={"dataset": {"name": "curve"}, "features": ["x1"],
                                              "output_unit": "gaussian_nll"}).json()
    view = client.get(f"/ui/{made['id']}/curve").text
    assert 'id="curve-fit"' in view and 'id="curve-band"' in view
    assert len(re.findall(r"<circle ", view)) == 400  # the first 400 of the 600 training points
    fit = re.search(r'id="curve-fit" class="fit" points="([^"]+)"', view)
    assert fit is not None and len(fit.group(1).split()) == 121
    mse = client.post("/api/sessions", json={"dataset": {"name": "curve"}, "features": ["x1"],
                                             "output_unit": "linear_mse"}).json()
    assert 'id="curve-band"' not in client.get(f"/ui/{mse['id']}/curve").text
    circle = client.post("/api/sessions", json={}).json()
    assert "<svg" not in client.get(f"/ui/{circle['id']}/curve").text
