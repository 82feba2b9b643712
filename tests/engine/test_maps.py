"""Heat-map bytes (engine/maps.py): the checked float32 pass gives float64's bytes; the cache rebuilds the
maps exactly when the weights change."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine import maps
from engine.activations import ACTIVATIONS
from engine.data import DataConfig, make_dataset
from engine.network import LayerConfig
from engine.optim import OptimizerConfig
from engine.stepper import Run, RunConfig

NETS = {"4-2": (4, 2), "8x6": (8,) * 6, "24-24": (24, 24)}


def all_bytes(result: maps.MapBytes) -> list[np.ndarray]:
    return [result.out, *(result.classes or []), *result.nodes]


def assert_same_maps(run: Run) -> int:
    """float32 (checked) and float64 give the same bytes in every map; returns the rows left to float64."""
    args = (run.network, run.dataset.extent, run.config.features, run.dataset.n_classes)
    fast, exact = maps.map_bytes(*args, precision="float32"), maps.map_bytes(*args, precision="float64")
    assert [a.shape for a in all_bytes(fast)] == [a.shape for a in all_bytes(exact)]
    for mine, reference in zip(all_bytes(fast), all_bytes(exact), strict=True):
        np.testing.assert_array_equal(mine, reference)
    return fast.rows_float64


@pytest.mark.parametrize("net", list(NETS))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_checked_float32_maps_are_the_float64_bytes_for_every_activation(activation: str, net: str) -> None:
    config = RunConfig(hidden=tuple(LayerConfig(units, activation) for units in NETS[net]),
                       dataset=DataConfig(name="spiral", noise=0.1),
                       optimizer=OptimizerConfig(learning_rate=0.1))
    run = Run(config)
    redone, cells = 0, 0
    for _ in range(4):  # the start, then ever more trained (larger weights, sharper maps)
        redone += assert_same_maps(run)
        cells += maps.OUTPUT_RES ** 2 + maps.NODE_RES ** 2
        run.step("epoch", 4)
    assert redone < cells  # float32 did the work for some rows: the check is not float64 everywhere


@pytest.mark.parametrize(("output_unit", "dataset"), [
    ("sigmoid_bce", "xor"), ("softmax_ce", "blobs"), ("linear_mse", "blobs"), ("linear_l1", "gauss"),
    ("linear_mse", "plane"), ("gaussian_nll", "multi_gauss"), ("tanh_mse", "circle"),
])
def test_checked_float32_maps_are_the_float64_bytes_for_every_output_unit(
    output_unit: str, dataset: str
) -> None:
    """Class maps (softmax, one-hot linear outputs), 2p - 1 maps (sigmoid), raw outputs (regression)."""
    config = RunConfig(hidden=(LayerConfig(8), LayerConfig(8, "relu"), LayerConfig(6, "sigmoid")),
                       output_unit=output_unit, dataset=DataConfig(name=dataset),
                       optimizer=OptimizerConfig(learning_rate=0.05))
    run = Run(config)
    for _ in range(3):
        assert_same_maps(run)
        run.step("epoch", 5)


def test_a_plain_float32_pass_would_change_bytes_that_the_check_keeps() -> None:
    """Why the check exists: on a trained swish 8x6 network, rounding every float32 value as it is gives
    other bytes than float64 in some cells; the checked pass sends exactly such rows to float64."""
    config = RunConfig(hidden=tuple(LayerConfig(8, "swish") for _ in range(6)),
                       dataset=DataConfig(name="spiral"), optimizer=OptimizerConfig(learning_rate=0.1))
    run = Run(config)
    run.step("epoch", 12)
    inputs = maps.grid_inputs(run.dataset.extent, run.config.features, maps.NODE_RES)
    values, _, _, _ = maps._forward32(run.network, inputs, output=False)
    plain = np.concatenate([np.rint(maps._scaled32(v)).astype(np.uint8).T for v in values])
    exact = maps.map_bytes(run.network, run.dataset.extent, run.config.features, 0, precision="float64")
    assert np.count_nonzero(plain != np.concatenate(exact.nodes)) > 0
    assert_same_maps(run)


def test_float64_maps_follow_the_documented_byte_scale() -> None:
    """out = round((clip(ŷ, -1, 1) + 1) · 127.5) per cell of the 48x48 grid, row 0 at ymin; a node map is
    the same scale on the 24x24 grid."""
    run = Run(RunConfig(hidden=(LayerConfig(3), LayerConfig(2))))
    run.step("epoch", 3)
    result = maps.map_bytes(run.network, run.dataset.extent, run.config.features, run.dataset.n_classes)
    xmin, _, ymin, _ = run.dataset.extent
    corner = run.network.layer_outputs(np.array([[xmin, ymin]]))
    assert result.out[0] == round((float(np.clip(corner[-1][0, 0], -1, 1)) + 1) * 127.5)
    assert result.nodes[0][2, 0] == round((float(corner[0][0, 2]) + 1) * 127.5)
    assert [n.shape for n in result.nodes] == [(3, maps.NODE_RES ** 2), (2, maps.NODE_RES ** 2)]


def test_the_cache_rebuilds_the_maps_exactly_when_the_weights_change() -> None:
    run = Run(RunConfig(hidden=(LayerConfig(2),), batch_size=1))
    cache = maps.MapCache()

    def look() -> maps.MapBytes:
        return cache.get(run.network, run.dataset.extent, run.config.features, run.dataset.n_classes)

    def params() -> list[np.ndarray]:
        return [layer.params.copy() for layer in run.network.layers]

    first = look()
    assert cache.builds == 1 and look() is first
    changed_seen = unchanged_seen = 0
    for _ in range(60):  # micro steps through whole batches: forward, error, backward, ..., update
        before, builds = params(), cache.builds
        run.step("micro")
        look()
        changed = any(not np.array_equal(a, b) for a, b in zip(before, params(), strict=True))
        assert cache.builds == builds + changed
        changed_seen += changed
        unchanged_seen += not changed
    assert changed_seen >= 2 and unchanged_seen >= 2

    builds = cache.builds
    run.update_live(learning_rate=0.5)  # a setting, not a weight
    look()
    assert cache.builds == builds
    run.step("batch")
    look()
    assert cache.builds == builds + 1
    weight = float(run.network.layers[0].weights[0, 0])
    run.set_parameter(1, 0, 0, weight)  # the same value: nothing to redraw
    look()
    assert cache.builds == builds + 1
    run.set_parameter(1, 0, 0, weight + 0.25)
    look()
    assert cache.builds == builds + 2
    run.back("batch")
    look()
    assert cache.builds == builds + 3


def test_new_points_rebuild_the_maps_only_when_the_plane_moves() -> None:
    run = Run(RunConfig(dataset=DataConfig(name="gauss")))
    cache = maps.MapCache()

    def look() -> None:
        cache.get(run.network, run.dataset.extent, run.config.features, run.dataset.n_classes)

    look()
    run.replace_data(make_dataset(DataConfig(name="gauss", seed=3)))  # same weights, same [-6, 6]² plane
    look()
    assert cache.builds == 1
    run.replace_data(dataclasses.replace(run.dataset, extent=(-3.0, 3.0, -2.0, 2.0)))  # as a CSV's own plane
    look()
    assert cache.builds == 2


def test_run_grid_is_one_pass_whose_last_layer_is_the_prediction() -> None:
    run = Run(RunConfig(output_unit="softmax_ce", dataset=DataConfig(name="blobs")))
    grid = run.grid(12)
    assert grid.prediction is grid.layers[-1]
    np.testing.assert_array_equal(grid.prediction, run.network.predict(maps.grid_inputs(
        run.dataset.extent, run.config.features, 12)))
