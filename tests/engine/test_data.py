"""Datasets: generator shapes and label rules, determinism, the split, targets per output unit, edits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.curve import CURVE_SETS, value_bound
from engine.data import (
    BINARY_CLASS_NAMES,
    DATASETS,
    MULTI_CLASS_SETS,
    REGRESSION_SETS,
    TF_EXTENT,
    DataConfig,
    add_point,
    make_dataset,
    n_targets_for,
    regenerate,
    remove_point,
    targets_for,
)

CLASSIFICATION_SETS = tuple(name for name in DATASETS if name not in REGRESSION_SETS)


def radius(points: np.ndarray) -> np.ndarray:
    return np.hypot(points[:, 0], points[:, 1])


@pytest.mark.parametrize("name", DATASETS)
def test_default_sizes_follow_tf_playground(name: str) -> None:
    data = make_dataset(DataConfig(name=name))
    expected = 1200 if name in REGRESSION_SETS else 500
    assert data.points.shape == (expected, 2)
    assert data.labels.shape == (expected,)
    assert data.points.dtype == np.float64
    assert data.extent == TF_EXTENT
    assert data.source == "generated"


@pytest.mark.parametrize("name", DATASETS)
def test_same_config_gives_identical_data_and_another_seed_does_not(name: str) -> None:
    config = DataConfig(name=name, noise=0.2, seed=7)
    first, second = make_dataset(config), make_dataset(config)
    np.testing.assert_array_equal(first.points, second.points)
    np.testing.assert_array_equal(first.labels, second.labels)
    np.testing.assert_array_equal(first.train_index, second.train_index)
    other = make_dataset(dataclasses.replace(config, seed=8))
    assert not np.array_equal(first.points, other.points)


@pytest.mark.parametrize(
    ("n_samples", "fraction", "n_train"), [(500, 0.5, 250), (201, 0.3, 60), (10, 0.9, 9)]
)
def test_split_is_a_partition_of_the_requested_size(n_samples: int, fraction: float, n_train: int) -> None:
    data = make_dataset(DataConfig(n_samples=n_samples, train_fraction=fraction))
    assert data.train_index.size == n_train
    assert data.test_index.size == n_samples - n_train
    both = np.concatenate([data.train_index, data.test_index])
    np.testing.assert_array_equal(np.sort(both), np.arange(n_samples))


def test_split_is_shuffled_not_the_generation_order() -> None:
    data = make_dataset(DataConfig(name="gauss"))
    # generation order puts every +1 point first; a shuffled training half holds both classes
    assert 0.3 < data.labels[data.train_index].mean() < 0.7
    assert not np.array_equal(data.train_index, np.sort(data.train_index))


def test_circle_at_noise_zero_labels_by_radius() -> None:
    data = make_dataset(DataConfig(name="circle"))
    r = radius(data.points)
    assert np.all(data.labels[r < 2.5] == 1)
    assert np.all(data.labels[r > 3.5] == 0)
    assert not np.any((r > 2.5) & (r < 3.5))  # the gap between the disc and the ring
    assert np.sum(data.labels == 1) == 250
    assert data.class_names == BINARY_CLASS_NAMES


def test_circle_noise_flips_only_points_near_the_boundary() -> None:
    noise = 0.1
    data = make_dataset(DataConfig(name="circle", noise=noise, n_samples=2000))
    r = radius(data.points)
    reach = 5.0 * noise * np.sqrt(2)  # the largest shift of the labelling point
    assert np.all(data.labels[r < 2.5 - reach] == 1)
    assert np.all(data.labels[r > 2.5 + reach] == 0)
    flipped = (r < 2.5) & (data.labels == 0)
    assert flipped.any(), "noise 0.1 should flip some inner points near radius 2.5"


def test_xor_at_noise_zero_labels_by_quadrant_and_keeps_off_the_axes() -> None:
    data = make_dataset(DataConfig(name="xor"))
    x1, x2 = data.points[:, 0], data.points[:, 1]
    np.testing.assert_array_equal(data.labels, (x1 * x2 > 0).astype(np.int64))
    assert np.abs(data.points).min() >= 0.3
    assert np.abs(data.points).max() <= 5.3
    assert 0.4 < data.labels.mean() < 0.6


def test_xor_noise_flips_only_points_near_an_axis() -> None:
    noise = 0.2
    data = make_dataset(DataConfig(name="xor", noise=noise, n_samples=2000))
    rule = (data.points[:, 0] * data.points[:, 1] > 0).astype(np.int64)
    near_axis = np.abs(data.points).min(axis=1) < 5.0 * noise
    assert np.all(data.labels[~near_axis] == rule[~near_axis])
    assert np.any(data.labels != rule)


def test_gauss_clusters_sit_on_their_centres_and_widen_with_noise() -> None:
    calm = make_dataset(DataConfig(name="gauss", n_samples=4000))
    wild = make_dataset(DataConfig(name="gauss", n_samples=4000, noise=0.5))
    for data, variance in ((calm, 0.5), (wild, 4.0)):
        positive = data.points[data.labels == 1]
        negative = data.points[data.labels == 0]
        assert len(positive) == len(negative) == 2000
        np.testing.assert_allclose(positive.mean(axis=0), [2, 2], atol=0.15)
        np.testing.assert_allclose(negative.mean(axis=0), [-2, -2], atol=0.15)
        np.testing.assert_allclose(positive.var(axis=0), [variance, variance], rtol=0.1)


def test_spiral_at_noise_zero_lies_exactly_on_its_two_arms() -> None:
    data = make_dataset(DataConfig(name="spiral", n_samples=400))
    positive = data.points[data.labels == 1]
    i = np.arange(200)
    t = 1.75 * 2 * np.pi * i / 200
    np.testing.assert_allclose(radius(positive), 5 * i / 200, atol=1e-12)
    np.testing.assert_allclose(positive[:, 0], 5 * i / 200 * np.sin(t), atol=1e-12)
    negative = data.points[data.labels == 0]
    np.testing.assert_allclose(negative, -positive, atol=1e-12)  # the second arm is turned by π


def test_spiral_noise_moves_points_by_at_most_noise_per_axis() -> None:
    clean = make_dataset(DataConfig(name="spiral"))
    noisy = make_dataset(DataConfig(name="spiral", noise=0.3))
    shift = noisy.points - clean.points
    assert np.abs(shift).max() <= 0.3
    assert np.abs(shift).max() > 0.2
    np.testing.assert_array_equal(noisy.labels, clean.labels)


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_blobs_have_k_balanced_clusters_on_a_circle(k: int) -> None:
    data = make_dataset(DataConfig(name="blobs", classes=k, n_samples=600))
    assert data.n_classes == k
    counts = np.bincount(data.labels, minlength=k)
    assert counts.max() - counts.min() <= 1
    centres = np.array([data.points[data.labels == c].mean(axis=0) for c in range(k)])
    np.testing.assert_allclose(radius(centres), 3.5, atol=0.2)


@pytest.mark.parametrize("k", [3, 6])
def test_spiral_k_arms_are_balanced_and_turned_evenly(k: int) -> None:
    data = make_dataset(DataConfig(name="spiral_k", classes=k, n_samples=60 * k))
    assert np.array_equal(np.bincount(data.labels), np.full(k, 60))
    arm0 = data.points[data.labels == 0]
    arm1 = data.points[data.labels == 1]
    turn = 2 * np.pi / k
    # points are (r sin t, r cos t), so adding `turn` to t is this matrix acting on row vectors
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    np.testing.assert_allclose(arm0 @ rotation, arm1, atol=1e-12)


def test_plane_value_is_the_scaled_sum_at_noise_zero() -> None:
    data = make_dataset(DataConfig(name="plane"))
    assert data.task == "regression" and data.n_classes == 0
    np.testing.assert_allclose(data.labels, (data.points[:, 0] + data.points[:, 1]) / 10)
    assert np.abs(data.points).max() <= 6


def test_multi_gauss_peaks_under_its_six_centres_and_is_zero_between() -> None:
    data = make_dataset(DataConfig(name="multi_gauss", n_samples=6000))
    assert data.labels.min() >= -1 and data.labels.max() <= 1
    far = np.ones(len(data.points), dtype=bool)
    for cx, cy, sign in (
        (-4, 2.5, 1),
        (0, 2.5, -1),
        (4, 2.5, 1),
        (-4, -2.5, -1),
        (0, -2.5, 1),
        (4, -2.5, -1),
    ):
        d = np.hypot(data.points[:, 0] - cx, data.points[:, 1] - cy)
        near = d < 2
        np.testing.assert_allclose(data.labels[near], sign * (1 - d[near] / 2))
        far &= ~near
    np.testing.assert_array_equal(data.labels[far], 0.0)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(DATASETS),
    seed=st.integers(0, 2**32 - 1),
    noise=st.floats(0.0, 0.5),
    n=st.integers(4, 300),
    k=st.integers(3, 6),
    fraction=st.floats(0.1, 0.9),
)
def test_any_config_gives_finite_points_labels_in_range_and_a_partition(
    name: str, seed: int, noise: float, n: int, k: int, fraction: float
) -> None:
    data = make_dataset(
        DataConfig(name=name, seed=seed, noise=noise, n_samples=n, classes=k, train_fraction=fraction)
    )
    assert data.points.shape == (n, 2) and np.isfinite(data.points).all()
    if name in REGRESSION_SETS:
        # plane: (x1 + x2)/10 at a point shifted up to 6·noise per axis, unclamped as in TF; the 1-D
        # curve's values: engine/curve.py value_bound
        bound = (value_bound(noise, name == "curve_outliers") if name in CURVE_SETS
                 else (12 + 12 * noise) / 10)
        assert np.isfinite(data.labels).all() and np.abs(data.labels).max() <= bound + 1e-9
    else:
        assert data.labels.dtype == np.int64
        assert data.labels.min() >= 0 and data.labels.max() < data.n_classes
        assert data.n_classes == (k if name in MULTI_CLASS_SETS else 2)
    assert data.train_index.size >= 1 and data.test_index.size >= 1
    np.testing.assert_array_equal(np.sort(np.concatenate([data.train_index, data.test_index])), np.arange(n))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "moons"),
        ("noise", 0.6),
        ("noise", -0.1),
        ("train_fraction", 0.95),
        ("classes", 7),
        ("classes", 2),
        ("n_samples", 3),
        ("seed", -1),
    ],
)
def test_out_of_range_config_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        DataConfig(**{field: value})  # type: ignore[arg-type]


def test_custom_cannot_be_generated() -> None:
    with pytest.raises(ValueError, match="CSV"):
        make_dataset(DataConfig(name="custom"))


def test_regenerate_draws_new_points_with_the_same_settings() -> None:
    data = make_dataset(DataConfig(name="circle", noise=0.1, n_samples=300, train_fraction=0.7))
    again = regenerate(data, seed=5)
    assert again.config == dataclasses.replace(data.config, seed=5)
    assert again.points.shape == (300, 2) and again.train_index.size == 210
    assert not np.array_equal(again.points, data.points)
    np.testing.assert_array_equal(again.points, make_dataset(again.config).points)


def test_arrays_are_read_only_so_no_caller_can_corrupt_a_shared_dataset() -> None:
    data = make_dataset(DataConfig())
    with pytest.raises(ValueError):
        data.points[0, 0] = 99.0


# --- targets ------------------------------------------------------------------------------------

BINARY = np.array([0, 1, 1, 0])
THREE = np.array([2, 0, 1])


def test_binary_targets_for_each_output_unit() -> None:
    np.testing.assert_array_equal(
        targets_for(BINARY, "classification", "tanh_mse", 2), [[-1], [1], [1], [-1]]
    )
    np.testing.assert_array_equal(
        targets_for(BINARY, "classification", "sigmoid_bce", 2), [[0], [1], [1], [0]]
    )
    np.testing.assert_array_equal(
        targets_for(BINARY, "classification", "softmax_ce", 2), [[1, 0], [0, 1], [0, 1], [1, 0]]
    )
    for unit in ("linear_mse", "linear_l1", "gaussian_nll"):
        np.testing.assert_array_equal(targets_for(BINARY, "classification", unit, 2), [[-1], [1], [1], [-1]])


def test_multi_class_targets_are_one_hot_for_softmax_and_linear_units() -> None:
    one_hot = [[0, 0, 1], [1, 0, 0], [0, 1, 0]]
    for unit in ("softmax_ce", "linear_mse", "linear_l1", "gaussian_nll"):
        targets = targets_for(THREE, "classification", unit, 3)
        assert targets.dtype == np.float64
        np.testing.assert_array_equal(targets, one_hot)


def test_regression_targets_are_the_values_as_one_column() -> None:
    values = np.array([0.5, -1.25, 3.0])
    for unit in ("linear_mse", "linear_l1", "gaussian_nll"):
        np.testing.assert_array_equal(targets_for(values, "regression", unit, 0), values.reshape(-1, 1))


@pytest.mark.parametrize(
    ("labels", "task", "unit", "k", "says"),
    [
        (np.array([0, 3]), "classification", "sigmoid_bce", 4, "softmax_ce"),
        (np.array([0, 3]), "classification", "tanh_mse", 4, "softmax_ce"),
        (np.array([0.5]), "regression", "softmax_ce", 0, "regression"),
        (np.array([0.5]), "regression", "sigmoid_bce", 0, "regression"),
        (np.array([0.5]), "regression", "tanh_mse", 0, "linear_mse"),
        (np.array([0, 1]), "classification", "hinge", 2, "unknown"),
        (np.array([0, 2]), "classification", "softmax_ce", 2, "0..1"),
    ],
)
def test_mismatched_output_unit_is_refused_with_a_reason(
    labels: np.ndarray, task: str, unit: str, k: int, says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        targets_for(labels, task, unit, k)


def test_n_targets_matches_the_targets_width() -> None:
    blobs = make_dataset(DataConfig(name="blobs", classes=5))
    assert n_targets_for(blobs, "softmax_ce") == 5
    assert n_targets_for(blobs, "linear_mse") == 5
    circle = make_dataset(DataConfig())
    for unit in ("tanh_mse", "sigmoid_bce", "softmax_ce", "linear_mse"):
        width = targets_for(circle.labels, circle.task, unit, circle.n_classes).shape[1]
        assert n_targets_for(circle, unit) == width
    with pytest.raises(ValueError):
        n_targets_for(blobs, "sigmoid_bce")


# --- editing ------------------------------------------------------------------------------------


def test_add_point_appends_to_the_training_split_and_leaves_the_original_alone() -> None:
    data = make_dataset(DataConfig(n_samples=20))
    edited = add_point(data, 1.5, -2.0, 1)
    assert edited.source == "edited" and data.source == "generated"
    assert edited.n_samples == 21 and data.n_samples == 20
    np.testing.assert_array_equal(edited.points[20], [1.5, -2.0])
    assert edited.labels[20] == 1 and edited.labels.dtype == np.int64
    assert edited.train_index[-1] == 20
    np.testing.assert_array_equal(edited.test_index, data.test_index)
    assert edited.extent == TF_EXTENT


def test_add_point_outside_the_plane_grows_the_extent_to_include_it() -> None:
    edited = add_point(make_dataset(DataConfig(n_samples=20)), 9.0, -8.0, "+1", split="test")
    xmin, xmax, ymin, ymax = edited.extent
    assert xmin == -6 and xmax > 9 and ymin < -8 and ymax == 6
    assert edited.labels[-1] == 1 and edited.test_index[-1] == 20


@pytest.mark.parametrize("label", [2, -1, 0.5, "blue", float("nan")])
def test_add_point_refuses_a_label_that_is_not_a_class(label: float | str) -> None:
    with pytest.raises(ValueError, match="label"):
        add_point(make_dataset(DataConfig(n_samples=20)), 0.0, 0.0, label)


def test_add_point_to_regression_takes_the_value() -> None:
    edited = add_point(make_dataset(DataConfig(name="plane", n_samples=20)), 1.0, 2.0, 0.75)
    assert edited.labels[-1] == 0.75
    with pytest.raises(ValueError, match="finite"):
        add_point(edited, 1.0, 2.0, float("inf"))


def test_remove_point_shifts_later_indices_down() -> None:
    data = make_dataset(DataConfig(n_samples=20))
    edited = remove_point(data, 5)
    assert edited.n_samples == 19
    np.testing.assert_array_equal(edited.points, np.delete(data.points, 5, axis=0))
    both = np.concatenate([edited.train_index, edited.test_index])
    np.testing.assert_array_equal(np.sort(both), np.arange(19))
    # the point that was index 6 is now index 5 and stays in the same split
    was_train = 6 in data.train_index
    assert (5 in edited.train_index) == was_train


def test_remove_point_refuses_a_bad_index_and_the_last_point_of_a_split() -> None:
    data = make_dataset(DataConfig(n_samples=4, train_fraction=0.1))  # one training point
    with pytest.raises(ValueError, match="no point 4"):
        remove_point(data, 4)
    with pytest.raises(ValueError, match="last training point"):
        remove_point(data, int(data.train_index[0]))


def test_regenerate_of_uploaded_data_keeps_the_points_and_redraws_the_split() -> None:
    data = make_dataset(DataConfig(n_samples=40))
    custom = dataclasses.replace(data, config=dataclasses.replace(data.config, name="custom"), source="csv")
    again = regenerate(custom, seed=3)
    np.testing.assert_array_equal(again.points, custom.points)
    assert again.train_index.size == custom.train_index.size
    assert not np.array_equal(again.train_index, custom.train_index)
