"""Datasets: TF Playground's generators, multi-class sets, the train/test split, targets per output unit."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from engine import curve, vocabulary
from engine.errors import SetupError

# Class names, whatever brings them (a CSV's labels, an imported run): at most MAX_CLASSES classes (the
# softmax output layer has one unit per class), each 1..MAX_CLASS_NAME_LENGTH printable characters
# (str.isprintable: no control or format characters, no line breaks, no lone surrogates), all different.
MAX_CLASSES = 10
MAX_CLASS_NAME_LENGTH = 40


def class_names_problem(names: tuple[str, ...] | list[str]) -> SetupError | None:
    """Why these classification class names are refused (field class_names); None when they are fine."""
    if not 2 <= len(names) <= MAX_CLASSES:
        return SetupError("class_names", "a classification has 2 to {high} classes, this one has {n}",
                          high=MAX_CLASSES, n=len(names))
    for name in names:
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_CLASS_NAME_LENGTH:
            return SetupError("class_names", "each class name is 1 to {high} characters",
                              high=MAX_CLASS_NAME_LENGTH)
        if not name.isprintable():
            return SetupError("class_names", "a class name may not contain control characters, line breaks "
                              "or lone surrogates")
    if len(set(names)) != len(names):
        return SetupError("class_names", "each class name may appear once")
    return None


DATASETS = tuple(vocabulary.DATASETS)
CUSTOM = vocabulary.CUSTOM_DATASET  # uploaded or edited data: no generator behind it
REGRESSION_SETS = tuple(name for name, term in vocabulary.DATASETS.items() if term.targets == "regression")
MULTI_CLASS_SETS = tuple(name for name, term in vocabulary.DATASETS.items() if term.targets == "classes")
BINARY_CLASS_NAMES = ("−1", "+1")  # class 0 = −1 (orange), class 1 = +1 (blue), as TF Playground colours them
TF_EXTENT = (-6.0, 6.0, -6.0, 6.0)
MAX_GENERATED = 100_000  # engine's own sanity bound; the server sets a stricter cap
MIN_POINTS = 4

Task = Literal["classification", "regression"]
Source = Literal["generated", "csv", "edited"]


@dataclass(frozen=True)
class DataConfig:
    """What to generate. Invalid values raise ValueError naming the field."""

    name: str = "circle"
    n_samples: int | None = None  # None = 500 (classification) or 1200 (regression), TF's defaults
    noise: float = 0.0  # 0..0.5
    train_fraction: float = 0.5  # 0.1..0.9
    seed: int = 0
    classes: int = 3  # blobs / spiral_k: 3..6

    def __post_init__(self) -> None:
        if self.name not in (*DATASETS, CUSTOM):
            raise SetupError("name", "unknown dataset {name}; choose one of {names}", name=repr(self.name),
                             names=", ".join(DATASETS))
        if self.n_samples is not None and not MIN_POINTS <= self.n_samples <= MAX_GENERATED:
            raise SetupError("n_samples", "must be between {low} and {high}", low=MIN_POINTS,
                             high=MAX_GENERATED)
        if not 0.0 <= self.noise <= 0.5:
            raise SetupError("noise", "must be between {low} and {high}", low=0, high=0.5)
        if not 0.1 <= self.train_fraction <= 0.9:
            raise SetupError("train_fraction", "must be between {low} and {high}", low=0.1, high=0.9)
        if self.seed < 0:
            raise SetupError("seed", "must be 0 or more")
        if not 3 <= self.classes <= 6:
            raise SetupError("classes", "must be between {low} and {high}", low=3, high=6)

    @property
    def task(self) -> Task:
        return "regression" if self.name in REGRESSION_SETS else "classification"

    @property
    def size(self) -> int:
        """The number of points to draw (n_samples or the task's default)."""
        if self.n_samples is not None:
            return self.n_samples
        return 1200 if self.task == "regression" else 500


@dataclass
class Dataset:
    """Points, one stored label per point, and the fixed train/test split.

    points (N, 2) float64; labels (N,) int64 class index (classification) or float64 value (regression);
    train_index (N_train,) and test_index (N_test,) int64 partition range(N), each in the shuffled order
    drawn once (never reshuffled between epochs). Arrays are read-only: edits return a new Dataset.
    """

    points: NDArray[np.float64]
    labels: NDArray  # int64 or float64 by task
    task: Task
    class_names: tuple[str, ...]
    train_index: NDArray[np.int64]
    test_index: NDArray[np.int64]
    extent: tuple[float, float, float, float]  # generated: generated_extent; csv: extent_of
    config: DataConfig
    source: Source

    # Number of classes (0 for regression); fixed by class_names even if edits empty a class. A field, not
    # a property: every frame reads it.
    n_classes: int = field(init=False)

    def __post_init__(self) -> None:
        self.n_classes = 0 if self.task == "regression" else len(self.class_names)
        for array in (self.points, self.labels, self.train_index, self.test_index):
            array.flags.writeable = False
        if self.task == "classification" and (problem := class_names_problem(self.class_names)):
            raise problem  # every path that makes a dataset, checked once

    @property
    def n_samples(self) -> int:
        return int(self.points.shape[0])

    def with_point(
        self, x1: float, x2: float, label: float | str, split: Literal["train", "test"] = "train"
    ) -> Dataset:
        return add_point(self, x1, x2, label, split=split)

    def without_point(self, index: int) -> Dataset:
        return remove_point(self, index)


# --- generators: each returns points (n, 2) and labels (n,) in generation order -------------------


def _halves(n: int) -> tuple[int, int]:
    return n - n // 2, n // 2


def _circle(rng: np.random.Generator, n: int, noise: float) -> tuple[NDArray, NDArray]:
    """Inner disc r ~ U(0, 2.5), outer ring r ~ U(3.5, 5); the label is decided at the point shifted by
    U(-5, 5)·noise per axis, so noise flips labels only near the radius-2.5 boundary."""
    n_inner, n_outer = _halves(n)
    radius = np.concatenate([rng.uniform(0.0, 2.5, n_inner), rng.uniform(3.5, 5.0, n_outer)])
    angle = rng.uniform(0.0, 2 * np.pi, n)
    points = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    shifted = points + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    labels = (np.hypot(shifted[:, 0], shifted[:, 1]) < 2.5).astype(np.int64)
    return points, labels


def _xor(rng: np.random.Generator, n: int, noise: float) -> tuple[NDArray, NDArray]:
    """x1, x2 ~ U(-5, 5) pushed 0.3 away from the axes; +1 where x1·x2 >= 0 at the noise-shifted point."""
    raw = rng.uniform(-5.0, 5.0, (n, 2))
    points = raw + np.where(raw > 0, 0.3, -0.3)
    shifted = points + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    labels = (shifted[:, 0] * shifted[:, 1] >= 0).astype(np.int64)
    return points, labels


def _gauss(rng: np.random.Generator, n: int, noise: float) -> tuple[NDArray, NDArray]:
    """+1 around (2, 2), −1 around (−2, −2); variance 0.5 at noise 0 rising linearly to 4 at noise 0.5.
    Labels are the cluster drawn from: noise makes the clusters overlap but never relabels a point."""
    n_pos, n_neg = _halves(n)
    std = np.sqrt(0.5 + 7.0 * noise)
    centres = np.concatenate([np.full((n_pos, 2), 2.0), np.full((n_neg, 2), -2.0)])
    points = centres + rng.normal(0.0, std, (n, 2))
    labels = np.concatenate([np.ones(n_pos, np.int64), np.zeros(n_neg, np.int64)])
    return points, labels


def _arms(rng: np.random.Generator, n: int, noise: float, k: int) -> tuple[NDArray, NDArray]:
    """k spiral arms: point i of m on an arm has r = 5i/m, t = 1.75·2π·i/m + 2π·arm/k, then moves by
    U(-1, 1)·noise per axis. Labels are the arm index."""
    sizes = [n // k + (1 if arm < n % k else 0) for arm in range(k)]
    parts, labels = [], []
    for arm, m in enumerate(sizes):
        i = np.arange(m, dtype=np.float64)
        r = 5.0 * i / m
        t = 1.75 * 2 * np.pi * i / m + 2 * np.pi * arm / k
        parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        labels.append(np.full(m, arm, np.int64))
    points = np.concatenate(parts) + rng.uniform(-1.0, 1.0, (n, 2)) * noise
    return points, np.concatenate(labels)


def _spiral(rng: np.random.Generator, n: int, noise: float) -> tuple[NDArray, NDArray]:
    """TF's two arms: the arm at t offset 0 is +1 (class 1), the arm offset by π is −1 (class 0)."""
    points, arm = _arms(rng, n, noise, 2)
    return points, (arm == 0).astype(np.int64)


def _blobs(rng: np.random.Generator, n: int, noise: float, k: int) -> tuple[NDArray, NDArray]:
    """k Gaussian clusters centred evenly on a circle of radius 3.5; std 0.4 at noise 0 growing to 1.65
    at noise 0.5. Labels are the cluster index."""
    labels = np.arange(n, dtype=np.int64) % k
    angle = 2 * np.pi * labels / k + np.pi / 2
    centres = 3.5 * np.column_stack([np.cos(angle), np.sin(angle)])
    points = centres + rng.normal(0.0, 0.4 + 2.5 * noise, (n, 2))
    return points, labels


def _plane_value(x: NDArray) -> NDArray:
    """(x1 + x2) mapped linearly from [-10, 10] to [-1, 1], unclamped as in TF (corners reach ±1.2)."""
    return (x[:, 0] + x[:, 1]) / 10.0


_BUMPS = ((-4.0, 2.5, 1.0), (0.0, 2.5, -1.0), (4.0, 2.5, 1.0), (-4.0, -2.5, -1.0), (0.0, -2.5, 1.0),
          (4.0, -2.5, -1.0))


def _multi_gauss_value(x: NDArray) -> NDArray:
    """Six cone-shaped bumps of radius 2 and height ±1 (signs alternating), at x1 = -4, 0, 4 and x2 = ±2.5;
    they do not overlap, so the sum is the one bump a point lies under (0 elsewhere)."""
    value = np.zeros(x.shape[0])
    for cx, cy, sign in _BUMPS:
        value += sign * np.clip(1.0 - np.hypot(x[:, 0] - cx, x[:, 1] - cy) / 2.0, 0.0, 1.0)
    return value


def _regression(rng: np.random.Generator, n: int, noise: float, name: str) -> tuple[NDArray, NDArray]:
    """x1, x2 ~ U(-6, 6); the value is taken at the point shifted by U(-6, 6)·noise per axis."""
    points = rng.uniform(-6.0, 6.0, (n, 2))
    shifted = points + rng.uniform(-6.0, 6.0, (n, 2)) * noise
    value = _plane_value(shifted) if name == "plane" else _multi_gauss_value(shifted)
    return points, value.astype(np.float64)


def _generate(config: DataConfig, rng: np.random.Generator) -> tuple[NDArray, NDArray]:
    n, noise = config.size, config.noise
    if config.name == "circle":
        return _circle(rng, n, noise)
    if config.name == "xor":
        return _xor(rng, n, noise)
    if config.name == "gauss":
        return _gauss(rng, n, noise)
    if config.name == "spiral":
        return _spiral(rng, n, noise)
    if config.name == "blobs":
        return _blobs(rng, n, noise, config.classes)
    if config.name == "spiral_k":
        return _arms(rng, n, noise, config.classes)
    if config.name in curve.CURVE_SETS:
        return curve.generate(rng, n, noise, outliers=config.name == "curve_outliers")
    return _regression(rng, n, noise, config.name)


# --- split, extent, construction ---------------------------------------------------------------------


def split_indices(
    n: int, train_fraction: float, rng: np.random.Generator
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Shuffle range(n) once and cut it: the first floor(n·fraction) go to training (at least one point in
    each split). Returns train_index (N_train,), test_index (N_test,)."""
    order = rng.permutation(n).astype(np.int64)
    n_train = min(max(int(np.floor(n * train_fraction)), 1), n - 1)
    return order[:n_train], order[n_train:]


def extent_of(points: NDArray) -> tuple[float, float, float, float]:
    """xmin, xmax, ymin, ymax of points (N, 2) with a 10 % margin (at least 0.5) so no point sits on the
    heat map's edge."""
    low, high = points.min(axis=0), points.max(axis=0)
    margin = np.maximum(0.1 * (high - low), 0.5)
    return (float(low[0] - margin[0]), float(high[0] + margin[0]),
            float(low[1] - margin[1]), float(high[1] + margin[1]))


def generated_extent(points: NDArray) -> tuple[float, float, float, float]:
    """TF's fixed [-6, 6]² plane for points (N, 2) that fit in it; grown to extent_of(points) where they
    do not (gauss and blobs at high noise scatter a few % of their points past ±6), so the heat maps and
    the decision boundary always cover every point drawn."""
    xmin, xmax, ymin, ymax = TF_EXTENT
    inside = ((points[:, 0] >= xmin) & (points[:, 0] <= xmax)
              & (points[:, 1] >= ymin) & (points[:, 1] <= ymax))
    if bool(inside.all()):
        return TF_EXTENT
    around = extent_of(points)
    return (min(xmin, around[0]), max(xmax, around[1]), min(ymin, around[2]), max(ymax, around[3]))


def make_dataset(config: DataConfig) -> Dataset:
    """Draw config.name's points with one Generator seeded from config.seed; same config ⇒ same data."""
    if config.name == CUSTOM:
        raise SetupError("name", "'custom' data comes from a CSV upload or edited points, not a generator")
    rng = np.random.default_rng(config.seed)
    points, labels = _generate(config, rng)
    train_index, test_index = split_indices(points.shape[0], config.train_fraction, rng)
    if config.task == "regression":
        class_names: tuple[str, ...] = ()
    elif config.name in MULTI_CLASS_SETS:
        class_names = tuple(str(k) for k in range(config.classes))
    else:
        class_names = BINARY_CLASS_NAMES
    return Dataset(points=points.astype(np.float64), labels=labels, task=config.task,
                   class_names=class_names, train_index=train_index, test_index=test_index,
                   extent=generated_extent(points), config=config, source="generated")


def regenerate(dataset: Dataset, seed: int) -> Dataset:
    """A new draw with a new seed, the config otherwise unchanged. A generated or edited TF set is drawn
    afresh (edits are dropped); uploaded data has nothing to draw, so only its train/test split is redrawn."""
    config = dataclasses.replace(dataset.config, seed=seed)
    if config.name != CUSTOM:
        return make_dataset(config)
    train_index, test_index = split_indices(dataset.n_samples, config.train_fraction,
                                            np.random.default_rng(seed))
    return dataclasses.replace(dataset, train_index=train_index, test_index=test_index, config=config)


# --- targets per output unit ---------------------------------------------------------------------


def _target_form(task: str, output_unit: str, n_classes: int) -> tuple[str, int]:
    """(form, n_targets); form is pm1, zero_one, one_hot or value. ValueError if the pair does not fit
    (the units that fit each kind of targets are vocabulary.OUTPUT_UNITS' `fits`)."""
    units = vocabulary.OUTPUT_UNITS
    if output_unit not in units:
        raise SetupError("output_unit", "unknown {name}; choose one of {names}", name=repr(output_unit),
                         names=", ".join(units))
    if task not in ("classification", "regression"):
        raise SetupError("task", "unknown {name}", name=repr(task))
    if task == "classification" and n_classes < 2:
        raise ValueError(f"classification needs at least 2 classes, got {n_classes}")
    targets = vocabulary.targets_of(task, n_classes)
    if targets not in units[output_unit].fits:
        *others, last = [name for name, term in units.items() if targets in term.fits]
        if targets == "regression":
            raise SetupError("output_unit", "{unit} needs class labels; this dataset is regression (real "
                             "values) - use {others} or {last}", unit=output_unit, others=", ".join(others),
                             last=last)
        raise SetupError("output_unit", "{unit} has one output, so it separates 2 classes; this dataset has "
                         "{n} - use {others} or {last}", unit=output_unit, n=n_classes,
                         others=", ".join(others), last=last)
    if targets == "regression":
        return "value", 1
    if output_unit == "softmax_ce":
        return "one_hot", n_classes
    if n_classes == 2:
        return ("zero_one", 1) if output_unit == "sigmoid_bce" else ("pm1", 1)
    return "one_hot", n_classes


def targets_for(labels: NDArray, task: str, output_unit: str, n_classes: int) -> NDArray[np.float64]:
    """Stored labels (N,) -> the targets the output unit trains on, (N, n_targets) float64.

    Binary classification: tanh_mse and the linear/gaussian units get ±1 (class 1 = +1, TF's convention),
    sigmoid_bce gets {0, 1}, softmax_ce a one-hot (N, 2). Multi-class: one-hot (N, k) for softmax_ce and
    the linear/gaussian units (regressing the one-hot code); tanh_mse and sigmoid_bce are refused.
    Regression: the value itself (N, 1) for linear_mse, linear_l1, gaussian_nll; the rest are refused.
    """
    form, width = _target_form(task, output_unit, n_classes)
    labels = np.asarray(labels)
    if form == "value":
        return labels.astype(np.float64).reshape(-1, 1)
    index = labels.astype(np.int64)
    if labels.size and (not np.array_equal(index, labels) or index.min() < 0 or index.max() >= n_classes):
        raise SetupError("labels", "class labels must be whole numbers 0..{last}", last=n_classes - 1)
    if form == "one_hot":
        return np.eye(width, dtype=np.float64)[index]
    if form == "zero_one":
        return index.astype(np.float64).reshape(-1, 1)
    return (2.0 * index - 1.0).astype(np.float64).reshape(-1, 1)


def n_targets_for(dataset: Dataset, output_unit: str) -> int:
    """Width of targets_for(...) for this dataset: the network's n_targets (ValueError if it does not fit)."""
    return _target_form(dataset.task, output_unit, dataset.n_classes)[1]


# --- editing -------------------------------------------------------------------------------------------


def _label_value(dataset: Dataset, label: float | str) -> float | int:
    if dataset.task == "regression":
        try:
            value = float(label)
        except ValueError:
            value = float("nan")
        if not np.isfinite(value):
            raise SetupError("label", "must be a finite number for a regression dataset")
        return value
    if isinstance(label, str) and label in dataset.class_names:
        return dataset.class_names.index(label)
    try:
        number = float(label)
    except ValueError:
        number = float("nan")
    if not (np.isfinite(number) and number.is_integer() and 0 <= number < dataset.n_classes):
        raise SetupError("label", "must be a class index 0..{last} or one of {names}",
                         last=dataset.n_classes - 1, names=", ".join(dataset.class_names))
    return int(number)


def add_point(
    dataset: Dataset, x1: float, x2: float, label: float | str, split: Literal["train", "test"] = "train"
) -> Dataset:
    """A new Dataset (source 'edited') with the point appended (index N) to the end of the given split.
    label: class index (or class name) for classification, the value for regression. The extent grows to
    keep the new point inside the heat maps."""
    if not (np.isfinite(x1) and np.isfinite(x2)):
        raise SetupError("x1" if not np.isfinite(x1) else "x2", "must be a finite number")
    value = _label_value(dataset, label)
    n = dataset.n_samples
    points = np.vstack([dataset.points, [[float(x1), float(x2)]]])
    labels = np.append(dataset.labels, np.array([value], dtype=dataset.labels.dtype))
    train_index, test_index = dataset.train_index, dataset.test_index
    if split == "train":
        train_index = np.append(train_index, np.int64(n))
    else:
        test_index = np.append(test_index, np.int64(n))
    around = extent_of(np.array([[x1, x2]], dtype=np.float64))
    old = dataset.extent
    extent = (min(old[0], around[0]), max(old[1], around[1]), min(old[2], around[2]), max(old[3], around[3]))
    return dataclasses.replace(dataset, points=points, labels=labels, train_index=train_index,
                               test_index=test_index, extent=extent, source="edited")


def remove_point(dataset: Dataset, index: int) -> Dataset:
    """A new Dataset (source 'edited') without point `index`; later indices shift down by one. Refuses to
    empty either split (training and the test loss both need a point). The extent stays put."""
    n = dataset.n_samples
    if not 0 <= index < n:
        raise SetupError("index", "no point {index}; the dataset has points 0..{last}", index=index,
                         last=n - 1)
    if dataset.train_index.size == 1 and dataset.train_index[0] == index:
        raise SetupError("index", "point {index} is the last training point and cannot be removed",
                         index=index)
    if dataset.test_index.size == 1 and dataset.test_index[0] == index:
        raise SetupError("index", "point {index} is the last test point and cannot be removed", index=index)

    def reindexed(split: NDArray[np.int64]) -> NDArray[np.int64]:
        kept = split[split != index]
        return kept - (kept > index)

    return dataclasses.replace(
        dataset, points=np.delete(dataset.points, index, axis=0), labels=np.delete(dataset.labels, index),
        train_index=reindexed(dataset.train_index), test_index=reindexed(dataset.test_index), source="edited",
    )
