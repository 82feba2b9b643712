"""Run -> compact animation frame (JSON-able dict, 4 significant digits) and base64 heat maps."""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.optim import penalty
from engine.stepper import Run

# Phases in which the deltas / gradients of the focus sample exist and are shown.
DELTA_PHASES = frozenset({"error", "backward", "accumulate", "update"})
GRAD_PHASES = frozenset({"backward", "accumulate", "update"})

VECTOR_MIN = 64  # arrays at least this large are rounded with one vectorised pass (measured crossover)
OUTPUT_MAP_RES = 48
NODE_MAP_RES = 24
# Heat-map scale: a value v is sent as round((clip(v, -1, 1) + 1) * 127.5), so 0 -> -1, 255 -> +1 and
# 127/128 straddle 0. Probabilities (sigmoid, softmax) are first mapped 2p - 1 so 0.5 sits at the middle.
MAP_SCALE = (-1.0, 1.0)


def _round4(values: NDArray[Any]) -> NDArray[np.float64]:
    """Finite values rounded to 4 significant digits in one pass: an integer of at most 4 digits divided
    (or multiplied) by an exact power of ten is the double nearest that decimal, so JSON prints it short."""
    magnitude = np.abs(values)
    exponent = np.floor(np.log10(magnitude, out=np.zeros_like(magnitude), where=magnitude > 0))
    shift = (3 - exponent).astype(np.int64)
    up = shift >= 0
    scale = 10.0 ** np.abs(shift)
    # np.where evaluates both branches: the unused one may overflow (|v| ~ 1e300 times 10^k); ignore that.
    with np.errstate(over="ignore"):
        digits = np.rint(np.where(up, values * scale, values / scale))
    return np.where(up, digits / scale, digits * scale)


def _r4_nested(values: Any) -> Any:
    if isinstance(values, list):
        return [_r4_nested(value) for value in values]
    return float(f"{values:.4g}") if math.isfinite(values) else None


def r4(values: Any) -> Any:
    """Nested lists of floats rounded to 4 significant digits; NaN/inf become null (never in JSON)."""
    if isinstance(values, np.ndarray):
        if values.ndim == 0:
            return r4(float(values))
        array = values.astype(np.float64, copy=False)
        if array.size < VECTOR_MIN:  # a dozen NumPy calls cost more than formatting a few numbers
            return _r4_nested(array.tolist())
        finite = np.isfinite(array)
        tiny = (np.abs(array) < 1e-18) & (array != 0)  # 10**shift would no longer be exact
        if tiny.any():
            return _r4_nested(array.tolist())
        if finite.all():
            return _round4(array).tolist()
        rounded = _round4(np.where(finite, array, 0.0)).astype(object)
        rounded[~finite] = None
        return rounded.tolist()
    if values is None:
        return None
    value = float(values)
    return float(f"{value:.4g}") if math.isfinite(value) else None


def r4_many(arrays: list[NDArray[Any]]) -> list[Any]:
    """r4 of each array, rounded in one vectorised pass over all of them (a frame holds a few dozen small
    arrays: one pass instead of one per array is what keeps a frame cheap)."""
    if not arrays:
        return []
    flat = np.concatenate([np.ravel(a).astype(np.float64, copy=False) for a in arrays])
    finite = np.isfinite(flat)
    tiny = (np.abs(flat) < 1e-18) & (flat != 0)  # 10**shift would no longer be exact: format those
    rounded: NDArray[Any] = _round4(np.where(finite, flat, 1.0))
    if not finite.all() or tiny.any():
        rounded = rounded.astype(object)
        rounded[~finite] = None
        rounded[tiny] = [float(f"{x:.4g}") for x in flat[tiny].tolist()]
    out, offset = [], 0
    for a in arrays:
        out.append(rounded[offset:offset + a.size].reshape(np.shape(a)).tolist())
        offset += a.size
    return out


def _flat_pieces(weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """Maxout weights (n_out, k, n_in) -> (n_out, k * n_in), pieces one after another."""
    return weights.reshape(weights.shape[0], -1)


def build_frame(run: Run) -> dict[str, Any]:
    """The frame contract of docs/architecture.md, built from the Run's current state and last trace."""
    event = run.current_event
    trace = run.last_trace
    phase = event.kind if event is not None else None
    focus_sample = event.sample if event is not None else 0
    focus = (
        {"layer": event.layer, "unit": event.unit, "sample": event.sample} if event is not None else None
    )

    layers = run.network.layers
    n = len(layers)
    # Everything numeric goes through one rounding pass, in this order: w, b, then act, delta, g.
    arrays: list[NDArray[Any]] = [_flat_pieces(layer.weights) for layer in layers]
    arrays += [layer.bias for layer in layers]
    has_delta = trace is not None and phase in DELTA_PHASES
    has_grads = trace is not None and phase in GRAD_PHASES
    if trace is not None:
        focus_sample = min(focus_sample, trace.inputs.shape[0] - 1)
        arrays += [trace.inputs[focus_sample]] + [lt.activation[focus_sample] for lt in trace.layers]
        if has_delta:
            arrays += [lt.delta[focus_sample] for lt in trace.layers]
        if has_grads:
            arrays += [_flat_pieces(lt.grad_weights) for lt in trace.layers]
    train, test = run.losses()
    reg = penalty(run.config.regularization, [layer.weights for layer in layers])
    arrays.append(np.array([train, test, reg]))
    rounded = r4_many(arrays)
    weights, biases, rest = rounded[:n], rounded[n:2 * n], rounded[2 * n:-1]
    act = rest[:n + 1] if trace is not None else None
    delta = [[], *rest[n + 1:2 * n + 1]] if has_delta else None
    grads = [[], *rest[-n:]] if has_grads else None
    train, test, reg = rounded[-1]
    diverged = run.diverged
    return {
        "id": run.step_id,
        "epoch": run.epoch,
        "batch": run.batch,
        "sample": run.sample,
        "phase": phase,
        "focus": focus,
        "act": act,
        "delta": delta,
        "w": [[], *weights],
        "b": [[], *biases],  # maxout: a list of k biases per unit
        "g": grads,
        "loss": {"train": train, "test": test, "reg": reg},
        "acc": _accuracy(run),
        "diverged": diverged.message if diverged is not None else None,
        "maps": None,
    }


def _accuracy(run: Run) -> dict[str, Any] | None:
    """Accuracy after the last completed batch (None for regression or before the first batch)."""
    history = run.history_metrics
    if not history or history[-1].accuracy is None:
        return None
    return {"train": r4(history[-1].accuracy), "test": r4(history[-1].test_accuracy)}


def _scale(values: NDArray[np.float64]) -> NDArray[np.uint8]:
    """Values -> bytes on the [-1, 1] scale (NaN as 0, which the engine never lets through anyway)."""
    clipped = np.clip(values, -1.0, 1.0)
    clipped[np.isnan(clipped)] = 0.0
    return np.rint((clipped + 1.0) * 127.5).astype(np.uint8)


def _encode(grid: NDArray[np.float64]) -> str:
    """res*res values (row-major, row 0 at ymin) -> base64 of res*res uint8 on the [-1, 1] scale."""
    return base64.b64encode(_scale(grid).tobytes()).decode("ascii")


def _bytes(values: NDArray[Any]) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=np.uint8).tobytes()).decode("ascii")


def _output_map(run: Run, prediction: NDArray[np.float64]) -> dict[str, Any]:
    """The decision map. `out`: one value per cell on the [-1, 1] byte scale: the single output, or for
    probabilities 2p - 1 of class 1 (+1), so byte 128 is the p = 0.5 boundary. When the output has one
    unit per class (softmax_ce, or one-hot targets), also `classes`: one map per class, byte =
    round(255 p) (p = the class's probability, linear outputs clipped to [0, 1]); the page colours each
    cell by its most probable class, so every class shows."""
    n_classes = run.dataset.n_classes
    output_unit = run.config.output_unit
    maps: dict[str, Any] = {"classes": None}
    if n_classes >= 2 and prediction.shape[1] >= n_classes:
        scores = np.clip(np.nan_to_num(prediction[:, :n_classes]), 0.0, 1.0)
        maps["classes"] = [_bytes(np.rint(scores[:, c] * 255.0)) for c in range(n_classes)]
    if output_unit == "softmax_ce" or (maps["classes"] is not None and n_classes == 2):
        values = 2.0 * prediction[:, 1] - 1.0
    elif output_unit == "sigmoid_bce":
        values = 2.0 * prediction[:, 0] - 1.0
    else:
        values = prediction[:, 0]
    maps["out"] = _encode(values)
    return maps


def build_maps(run: Run) -> dict[str, Any]:
    """Heat maps over the input plane: the prediction at 48x48 and every hidden neuron at 24x24."""
    out = run.grid(OUTPUT_MAP_RES)
    nodes = run.grid(NODE_MAP_RES)
    node_maps: dict[str, str] = {}
    for layer_number, layer_values in enumerate(nodes.layers[:-1], start=1):
        # one scaling pass per layer, then each unit's column as its own map
        scaled = np.ascontiguousarray(_scale(layer_values).T)
        for j in range(scaled.shape[0]):
            node_maps[f"n{layer_number}_{j}"] = base64.b64encode(scaled[j].tobytes()).decode("ascii")
    return {
        "res": OUTPUT_MAP_RES,
        "node_res": NODE_MAP_RES,
        "extent": r4(np.asarray(out.extent, dtype=np.float64)),
        "scale": list(MAP_SCALE),
        **_output_map(run, np.asarray(out.prediction, dtype=np.float64)),
        "nodes": node_maps,
    }
