"""Heat maps: what every neuron outputs over the input plane, one forward pass per grid, as map bytes.

A map is one byte per grid cell. On the [-1, 1] scale a value v becomes round((clip(v, -1, 1) + 1) · 127.5)
(NaN as 0), so byte 0 is -1, 255 is +1 and 127/128 straddle 0; a class map holds round(255 p) for the
class's probability p (linear outputs clipped to [0, 1]). The decision map is drawn on a finer grid
(`OUTPUT_RES`²) than the per-neuron maps (`NODE_RES`²), so each grid gets its own forward pass.

Precision. The bytes are defined by the float64 values. A plain float32 pass does not give the same
bytes: a value within float32's rounding error of a rounding boundary (k + ½ on the byte scale) rounds
the other way, measured 8,117 of 64 million bytes (every activation; 1 cell in 200 on swish networks).
`precision="float32"` is therefore a *checked* float32 pass: it carries a bound on its own error for
every value (rounding of the inputs, the weights, each matrix product, each activation; propagated layer
by layer with the activation's slope), and every grid row with any byte within twice that bound of a
boundary is evaluated again in float64, so its bytes are float64's in every cell (tests/engine/
test_maps.py, every activation and output unit). On this machine's NumPy (float64 tanh vectorised,
~1.8 ns a value) the check costs more than float32 saves: 1.6-2.2x the float64 pass on [2,4,2,1],
[2,8x6,1] and [2,64,64,1], 13-17 % of the rows redone on the deeper ones (bench/engine_bench.py prints
it), so the maps are built in float64 (DEFAULT_PRECISION); the checked pass stays for machines whose
float64 tanh is a scalar loop.

Shapes: a grid of resolution r has r² points, row-major, row 0 at ymin, column 0 at xmin; a layer's
values are (r², n_l); a map's bytes are (r²,) uint8, the node maps of a layer (n_l, r²).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine import features as feature_transforms
from engine.errors import SetupError
from engine.metrics import GridValues
from engine.network import Network

OUTPUT_RES = 48  # the decision map
NODE_RES = 24    # each hidden neuron's map
U32 = float(np.finfo(np.float32).eps) / 2  # float32 unit roundoff, 2⁻²⁴
DEFAULT_PRECISION = "float64"
SAFETY = 2.0     # a byte counts as uncertain within SAFETY × its error bound of a rounding boundary
Extent = tuple[float, float, float, float]
F32 = NDArray[np.float32]


def grid_inputs(extent: Extent, features: Sequence[str], resolution: int) -> NDArray[np.float64]:
    """The network's inputs (r², F) at the r² grid points over `extent` = (xmin, xmax, ymin, ymax)."""
    if not 2 <= resolution <= 512:
        raise SetupError("resolution", "must be between {low} and {high}", low=2, high=512)
    xmin, xmax, ymin, ymax = extent
    xs, ys = np.linspace(xmin, xmax, resolution), np.linspace(ymin, ymax, resolution)
    points = np.column_stack([np.tile(xs, resolution), np.repeat(ys, resolution)])
    return feature_transforms.transform(points, features)


def grid_values(network: Network, extent: Extent, features: Sequence[str], resolution: int) -> GridValues:
    """Every layer's activation (float64) on the r² grid, from one forward pass (Run.grid)."""
    inputs = grid_inputs(extent, features, resolution)
    with np.errstate(all="ignore"):
        layers = network.layer_outputs(inputs)
    return GridValues(resolution, extent, layers, layers[-1])


# ---- the byte scales (the one place they are defined) -------------------------------------------------
def scale_bytes(values: NDArray[np.floating]) -> NDArray[np.uint8]:
    """Values (any shape) -> bytes on the [-1, 1] scale; NaN as 0 (byte 128)."""
    clipped = np.clip(values.astype(np.float64), -1.0, 1.0)
    clipped[np.isnan(clipped)] = 0.0
    return np.rint((clipped + 1.0) * 127.5).astype(np.uint8)


def probability_bytes(values: NDArray[np.floating]) -> NDArray[np.uint8]:
    """Probabilities (any shape) -> round(255 p), p clipped to [0, 1], NaN as 0."""
    return np.rint(np.clip(np.nan_to_num(values.astype(np.float64)), 0.0, 1.0) * 255.0).astype(np.uint8)


def _class_one_column(output_unit: str, n_classes: int, with_classes: bool) -> int | None:
    """Which prediction column the decision map shows as 2p - 1 (None: the single output as it is)."""
    if output_unit == "softmax_ce" or (with_classes and n_classes == 2):
        return 1
    return 0 if output_unit == "sigmoid_bce" else None


def out_values(prediction: NDArray[np.floating], output_unit: str, n_classes: int) -> NDArray[np.floating]:
    """The decision map's value per cell (r²,): the single output, or 2p - 1 of class 1 for probabilities,
    so byte 128 is the p = ½ boundary."""
    column = _class_one_column(output_unit, n_classes, has_class_maps(n_classes, prediction.shape[1]))
    return prediction[:, 0] if column is None else 2.0 * prediction[:, column] - 1.0


def has_class_maps(n_classes: int, prediction_width: int) -> bool:
    """One map per class when the output has a unit per class (softmax_ce, or one-hot targets)."""
    return n_classes >= 2 and prediction_width >= n_classes


@dataclass(frozen=True)
class MapBytes:
    """The maps of one network state: `out` (OUTPUT_RES²,), `classes` one (OUTPUT_RES²,) per class or
    None, `nodes` one (n_l, NODE_RES²) array per hidden layer. `rows_float64`: grid rows the float32
    pass left to float64 (both grids together; 0 with precision="float64", which evaluates all of them)."""

    out: NDArray[np.uint8]
    classes: list[NDArray[np.uint8]] | None
    nodes: list[NDArray[np.uint8]]
    rows_float64: int


def _node_bytes(layers: Sequence[NDArray[np.floating]]) -> list[NDArray[np.uint8]]:
    """Hidden layers' values (rows, n_l) -> their bytes, scaled in one pass over all layers."""
    if not layers:
        return []
    scaled = scale_bytes(np.concatenate(layers, axis=1))
    bounds = np.cumsum([0] + [values.shape[1] for values in layers])
    return [scaled[:, start:stop] for start, stop in itertools.pairwise(bounds)]


def _out_bytes64(network: Network, inputs: NDArray[np.float64], n_classes: int
                 ) -> tuple[NDArray[np.uint8], list[NDArray[np.uint8]] | None]:
    """The reference for the decision map and the class maps: float64 throughout."""
    with np.errstate(all="ignore"):
        prediction = network.predict(inputs)
    with_classes = has_class_maps(n_classes, prediction.shape[1])
    classes = [probability_bytes(prediction[:, c]) for c in range(n_classes)] if with_classes else None
    return scale_bytes(out_values(prediction, network.config.output_unit, n_classes)), classes


def _node_bytes64(network: Network, inputs: NDArray[np.float64]) -> list[NDArray[np.uint8]]:
    """The reference for the node maps, (rows, n_l) per hidden layer: float64 throughout."""
    with np.errstate(all="ignore"):
        return _node_bytes(network.layer_outputs(inputs)[:-1])


# ---- the float32 pass with its error bound ------------------------------------------------------------
# Each bound turns e (the error bound of z, float32, overwritten) into the bound of a = f(z): slope × e +
# the rounding of f. In place: a grid's arrays are hundreds of kB, and every fresh temporary of that size
# costs page faults (measured: a 6-operation expression at 147k floats took 0.7 ms, in place 0.15 ms).
Slope = Callable[[F32, F32, F32, float], F32]


def _rounding(e: F32, a: F32, ulps: float, absolute: float = 0.0) -> F32:
    """e += ulps · u · (|a| + absolute), in place."""
    extra = np.abs(a)
    if absolute:
        extra += np.float32(absolute)
    extra *= np.float32(ulps * U32)
    e += extra
    return e


def _tanh(z: F32, a: F32, e: F32, alpha: float) -> F32:
    # tanh' = 1 - a² at z, and |tanh''| ≤ 0.77 moves it by at most e over [z - e, z + e]
    slope = a * a
    np.subtract(e, slope, out=slope)
    slope += np.float32(1.0)
    np.minimum(slope, np.float32(1.0), out=slope)
    e *= slope
    return _rounding(e, a, 16)


def _sigmoid(z: F32, a: F32, e: F32, alpha: float) -> F32:
    # σ' = a (1 - a) ≤ ¼, and |σ''| ≤ 0.1
    slope = a * a
    np.subtract(a, slope, out=slope)
    slope += e
    np.minimum(slope, np.float32(0.25), out=slope)
    e *= slope
    return _rounding(e, a, 16)


def _relu(z: F32, a: F32, e: F32, alpha: float) -> F32:
    # clearly negative: exactly 0 in float64 too (error 0); else slope 1, and max() is exact
    clear = e * np.float32(-2.0)
    np.less(z, clear, out=clear.view(np.int32))  # reuse the buffer: nonzero where z < -2e
    e[clear.view(np.int32) != 0] = 0.0
    return e


def _exact(z: F32, a: F32, e: F32, alpha: float) -> F32:  # abs, linear: slope 1, no rounding
    return e


def _leaky(z: F32, a: F32, e: F32, alpha: float) -> F32:
    e *= np.float32(max(1.0, abs(alpha)))
    return _rounding(e, a, 2)


def _smooth(z: F32, a: F32, e: F32, alpha: float) -> F32:  # elu (α), softplus, swish: slope ≤ max(1.1, α)
    e *= np.float32(max(1.1, abs(alpha)))
    return _rounding(e, a, 16, 1.0)


SLOPES: dict[str, Slope] = {
    "tanh": _tanh, "sigmoid": _sigmoid, "relu": _relu, "leaky_relu": _leaky, "elu": _smooth,
    "abs": _exact, "linear": _exact, "softplus": _smooth, "swish": _smooth, "maxout": _exact,
}


def _output_error(output_unit: str, z: F32, prediction: F32, e: F32) -> F32:
    """Error bound of the prediction (B, n_out) from the bound e of the output layer's z."""
    if output_unit == "tanh_mse":
        return _tanh(z, prediction, e, 0.0)
    if output_unit == "sigmoid_bce":
        return _sigmoid(z, prediction, e, 0.0)
    if output_unit == "softmax_ce":  # |∂p_i/∂z| sums to 2 p_i (1 - p_i) ≤ ½ over z: max e is safe
        width = z.shape[1]
        return np.broadcast_to(e.max(axis=1, keepdims=True) + (width + 16) * U32, z.shape)
    if output_unit == "gaussian_nll":  # μ = z, σ² = eˢ (relative error e + rounding)
        d = z.shape[1] // 2
        return np.concatenate([e[:, :d], prediction[:, d:] * (2.0 * e[:, d:] + np.float32(16 * U32))], axis=1)
    return e  # linear_mse, linear_l1: ŷ = z


def _forward32(network: Network, inputs: NDArray[np.float64], *, output: bool
               ) -> tuple[list[F32], list[F32], F32 | None, F32 | None]:
    """One float32 pass: hidden values and their error bounds per layer, and (output) the prediction and
    its error bound. The bound of a layer's z = W a + b, computed in float32 from a with bound e_a, is
    |W| (e_a + γ |a|) + γ |b| with γ = (n_in + 2) u: a dot product of n terms is off by at most n u of
    the sum of |terms|, and rounding W, b and a to float32 adds u each."""
    a = inputs.astype(np.float32)
    e = np.abs(a) * np.float32(U32)
    values: list[F32] = []
    errors: list[F32] = []
    layers = network.layers if output else network.layers[:-1]
    for layer in layers:
        params = layer.params.astype(np.float32)
        weights, bias = params[:, :-1], params[:, -1]
        gamma = np.float32((weights.shape[1] + 2) * U32)
        z = np.dot(a, weights.T)
        z += bias
        spread = np.abs(a)  # e + γ |a|, in place
        spread *= gamma
        spread += e
        e_z = np.dot(spread, np.abs(weights).T)
        e_z += gamma * np.abs(bias)
        if layer.activation is None:  # the output layer
            prediction = np.asarray(network.output.predict(z), dtype=np.float32)  # float32 in, float32 out
            return values, errors, prediction, _output_error(network.config.output_unit, z, prediction, e_z)
        if layer.pieces > 1:  # maxout: the largest piece moves by at most the largest piece's error
            shape = (len(a), layer.n_out, layer.pieces)
            a = z.reshape(shape).max(axis=2)
            e = e_z.reshape(shape).max(axis=2)
        else:
            alpha = float(getattr(layer.activation, "alpha", 0.0))
            a = np.asarray(layer.activation.f(z), dtype=np.float32)
            e = SLOPES[layer.activation_name](z, a, e_z, alpha)
        values.append(a)
        errors.append(e)
    return values, errors, None, None


def _uncertain(scaled: F32, bound: F32) -> NDArray[np.bool_]:
    """Cells whose byte rint(scaled) may differ from float64's: within SAFETY × bound (+ the rounding of
    the scaling itself) of a k + ½ boundary, or not finite. A bound of exactly 0 is an exact value (a
    ReLU's clear zero), the same in float64."""
    distance = np.abs(scaled - np.floor(scaled) - np.float32(0.5))
    margin = SAFETY * bound + np.float32(4 * 255 * U32)
    return (bound != 0) & ~(distance > margin) | ~np.isfinite(scaled)


def _scaled32(values: F32) -> F32:
    return (np.clip(values, -1.0, 1.0) + np.float32(1.0)) * np.float32(127.5)


def _any_row(flags: NDArray[np.bool_]) -> NDArray[np.bool_]:
    return flags if flags.ndim == 1 else np.asarray(flags.any(axis=1))


def _output_grid(network: Network, inputs: NDArray[np.float64], n_classes: int
                 ) -> tuple[NDArray[np.uint8], list[NDArray[np.uint8]] | None, int]:
    _, _, prediction, error = _forward32(network, inputs, output=True)
    assert prediction is not None and error is not None
    unit = network.config.output_unit
    with_classes = has_class_maps(n_classes, prediction.shape[1])
    v = out_values(prediction, unit, n_classes)
    column = _class_one_column(unit, n_classes, with_classes)
    e_v = error[:, 0] if column is None else 2.0 * error[:, column]
    scaled = _scaled32(v)
    rows = _uncertain(scaled, np.float32(127.5) * e_v)
    out = np.rint(np.nan_to_num(scaled, nan=127.5)).astype(np.uint8)
    classes = None
    if with_classes:
        scores = np.clip(np.nan_to_num(prediction[:, :n_classes]), 0.0, 1.0) * np.float32(255.0)
        rows |= _any_row(_uncertain(scores, np.float32(255.0) * error[:, :n_classes]))
        class_bytes = np.rint(scores).astype(np.uint8)
        classes = [np.ascontiguousarray(class_bytes[:, c]) for c in range(n_classes)]
    redo = np.flatnonzero(rows)
    if redo.size:
        out64, classes64 = _out_bytes64(network, inputs[redo], n_classes)
        out[redo] = out64
        if classes is not None and classes64 is not None:
            for mine, exact in zip(classes, classes64, strict=True):
                mine[redo] = exact
    return out, classes, int(redo.size)


def _node_grid(network: Network, inputs: NDArray[np.float64]) -> tuple[list[NDArray[np.uint8]], int]:
    values, errors, _, _ = _forward32(network, inputs, output=False)
    rows = np.zeros(len(inputs), dtype=bool)
    nodes = []
    for layer_values, layer_errors in zip(values, errors, strict=True):
        scaled = _scaled32(layer_values)
        rows |= _any_row(_uncertain(scaled, np.float32(127.5) * layer_errors))
        nodes.append(np.rint(np.nan_to_num(scaled, nan=127.5)).astype(np.uint8))
    redo = np.flatnonzero(rows)
    if redo.size:
        exact = _node_bytes64(network, inputs[redo])
        for mine, layer_exact in zip(nodes, exact, strict=True):
            mine[redo] = layer_exact
    return nodes, int(redo.size)


def map_bytes(network: Network, extent: Extent, features: Sequence[str], n_classes: int, *,
              precision: str = DEFAULT_PRECISION, out_res: int = OUTPUT_RES, node_res: int = NODE_RES
              ) -> MapBytes:
    """Every map of the network's current state: one forward pass per grid. precision "float32": the
    checked float32 pass (the same bytes, see the module docstring); "float64": float64 throughout."""
    if precision not in ("float32", "float64"):
        raise SetupError("precision", "must be float32 or float64")
    out_inputs = grid_inputs(extent, features, out_res)
    node_inputs = grid_inputs(extent, features, node_res)
    if precision == "float64":
        out, classes = _out_bytes64(network, out_inputs, n_classes)
        nodes = _node_bytes64(network, node_inputs)
        return MapBytes(out, classes, [np.ascontiguousarray(n.T) for n in nodes], 0)
    with np.errstate(all="ignore"):
        out, classes, redo_out = _output_grid(network, out_inputs, n_classes)
        nodes, redo_nodes = _node_grid(network, node_inputs)
    return MapBytes(out, classes, [np.ascontiguousarray(n.T) for n in nodes], redo_out + redo_nodes)


class MapCache:
    """The maps of one run, rebuilt only when what they show changes: the parameters (compared by value,
    so a step, an edit or a back rebuilds them and a setting or a micro-step that moves no weight does
    not), the plane's extent, the features or the number of classes. `builds` counts the rebuilds."""

    def __init__(self) -> None:
        self.builds = 0
        self._key: tuple[object, ...] | None = None
        self._params: list[NDArray[np.float64]] = []
        self._maps: MapBytes | None = None

    def get(self, network: Network, extent: Extent, features: Sequence[str], n_classes: int) -> MapBytes:
        key = (network.config, tuple(extent), tuple(features), n_classes)
        params = [layer.params for layer in network.layers]
        if (self._maps is None or key != self._key or len(params) != len(self._params)
                or not all(np.array_equal(p, q) for p, q in zip(params, self._params, strict=True))):
            self._maps = map_bytes(network, extent, features, n_classes)
            self._key, self._params = key, [p.copy() for p in params]
            self.builds += 1
        return self._maps
