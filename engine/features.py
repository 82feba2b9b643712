"""Input features: TF Playground's seven transforms of a point (x1, x2), in one fixed order (their names
and labels are engine/vocabulary.py's FEATURES)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from engine import vocabulary
from engine.errors import SetupError

FEATURES = tuple(vocabulary.FEATURES)
FEATURE_LABELS = {name: term.title for name, term in vocabulary.FEATURES.items()}

_TRANSFORMS: dict[str, Callable[[NDArray, NDArray], NDArray]] = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1_sq": lambda x1, x2: x1 * x1,
    "x2_sq": lambda x1, x2: x2 * x2,
    "x1_x2": lambda x1, x2: x1 * x2,
    "sin_x1": lambda x1, x2: np.sin(x1),
    "sin_x2": lambda x1, x2: np.sin(x2),
}


def ordered(features: Sequence[str]) -> tuple[str, ...]:
    """The enabled features in FEATURES order, each once: the network's input layer, unit by unit.

    ValueError for an unknown name or an empty selection (a network needs at least one input)."""
    if isinstance(features, str):
        features = (features,)
    unknown = [name for name in features if name not in FEATURES]
    if unknown:
        raise SetupError("features", "unknown {names}; choose from {features}",
                         names=", ".join(map(repr, unknown)), features=", ".join(FEATURES))
    if not features:
        raise SetupError("features", "enable at least one input feature")
    return tuple(name for name in FEATURES if name in features)


def transform(points: NDArray, features: Sequence[str]) -> NDArray[np.float64]:
    """Raw points (N, 2) -> feature values (N, F), columns in FEATURES order whatever order was given."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise SetupError("points", "expected shape (N, 2), got {shape}", shape=points.shape)
    x1, x2 = points[:, 0], points[:, 1]
    columns = [_TRANSFORMS[name](x1, x2) for name in ordered(features)]
    return np.column_stack(columns) if columns else np.empty((points.shape[0], 0))


def grid_values(extent: Sequence[float], res: int, features: Sequence[str] = FEATURES) -> NDArray[np.float64]:
    """Each feature's value over a res × res grid spanning `extent` = (xmin, xmax, ymin, ymax), corners
    included: shape (F, res, res), features in FEATURES order, row-major with row 0 at ymin (the frames'
    heat-map layout). The page draws these as the input nodes' thumbnails."""
    if res < 2:
        raise SetupError("res", "at least 2 cells a side, got {res}", res=res)
    x0, x1, y0, y1 = (float(v) for v in extent)
    xs, ys = np.meshgrid(np.linspace(x0, x1, res), np.linspace(y0, y1, res))
    values = transform(np.column_stack([xs.ravel(), ys.ravel()]), features)  # (res², F)
    return np.ascontiguousarray(values.T.reshape(-1, res, res))
