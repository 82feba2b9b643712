"""The input plane of generated data: TF's [-6, 6]² where the points fit, grown so no point is off it."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import DATASETS, MULTI_CLASS_SETS, TF_EXTENT, DataConfig, make_dataset, regenerate

MAX_NOISE = 0.5
CONFIGS = [(name, classes) for name in DATASETS
           for classes in ((3, 6) if name in MULTI_CLASS_SETS else (3,))]


def outside(points: np.ndarray, extent: tuple[float, float, float, float]) -> int:
    """How many points (N, 2) lie off the plane extent = (xmin, xmax, ymin, ymax)."""
    xmin, xmax, ymin, ymax = extent
    inside = ((points[:, 0] >= xmin) & (points[:, 0] <= xmax)
              & (points[:, 1] >= ymin) & (points[:, 1] <= ymax))
    return int((~inside).sum())


@pytest.mark.parametrize(("name", "classes"), CONFIGS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_point_lies_on_the_plane_at_max_noise(name: str, classes: int, seed: int) -> None:
    data = make_dataset(DataConfig(name=name, noise=MAX_NOISE, seed=seed, classes=classes))
    assert outside(data.points, data.extent) == 0


def test_noisy_blobs_would_leave_points_off_tf_plane_so_the_plane_grows() -> None:
    # the case the fixed plane got wrong: ~4 % of k = 6 blobs at noise 0.5 fall past ±6
    data = make_dataset(DataConfig(name="blobs", noise=MAX_NOISE, classes=6))
    assert outside(data.points, TF_EXTENT) > 0
    xmin, xmax, ymin, ymax = data.extent
    assert xmin < -6 and xmax > 6 and ymin < -6 and ymax > 6
    # still a margin around the outermost point, so none sits on the heat map's edge
    assert xmax > data.points[:, 0].max() and ymin < data.points[:, 1].min()


@pytest.mark.parametrize("name", ["circle", "xor", "spiral", "plane", "multi_gauss", "spiral_k"])
def test_sets_that_fit_keep_tf_fixed_plane_even_at_max_noise(name: str) -> None:
    assert make_dataset(DataConfig(name=name, noise=MAX_NOISE)).extent == TF_EXTENT


def test_regenerated_noisy_data_gets_a_plane_covering_its_own_points() -> None:
    first = make_dataset(DataConfig(name="gauss", noise=MAX_NOISE, seed=3))
    again = regenerate(first, 4)
    assert outside(again.points, again.extent) == 0
