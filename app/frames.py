"""Run -> compact animation frame (JSON-able dict, 4 significant digits) and base64 heat maps."""

from __future__ import annotations

import base64
import math
import weakref
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine import maps as heat_maps
from engine import printed
from engine.errors import Phrase
from engine.metrics import Divergence, Metrics
from engine.stepper import Run

# Phases in which the deltas / gradients of the focus sample exist and are shown.
DELTA_PHASES = frozenset({"error", "backward", "accumulate", "update"})
GRAD_PHASES = frozenset({"backward", "accumulate", "update"})

VECTOR_MIN = 64  # arrays at least this large are rounded with one vectorised pass (measured crossover)
OUTPUT_MAP_RES = heat_maps.OUTPUT_RES
NODE_MAP_RES = heat_maps.NODE_RES
# Heat-map scale (engine/maps.py): a value v is sent as round((clip(v, -1, 1) + 1) * 127.5), so 0 -> -1,
# 255 -> +1 and 127/128 straddle 0. Probabilities (sigmoid, softmax) are first mapped 2p - 1.
MAP_SCALE = (-1.0, 1.0)
CHART_TAIL = 4  # the loss chart's newest points in every frame (a conflated frame loses none of them)


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
    flat = np.concatenate([a.reshape(-1) for a in arrays], dtype=np.float64)
    finite = np.isfinite(flat)
    tiny = (np.abs(flat) < 1e-18) & (flat != 0)  # 10**shift would no longer be exact: format those
    rounded: NDArray[Any] = _round4(np.where(finite, flat, 1.0))
    if not finite.all() or tiny.any():
        rounded = rounded.astype(object)
        rounded[~finite] = None
        rounded[tiny] = [float(f"{x:.4g}") for x in flat[tiny].tolist()]
    # one tolist() for all, then plain list slices per array (a reshape + tolist per array was a third
    # of a [2,8x6,1] frame's cost)
    values = rounded.tolist()
    out, offset = [], 0
    for a in arrays:
        size, shape = a.size, a.shape
        if len(shape) == 1:
            out.append(values[offset:offset + size])
        elif len(shape) == 2:
            columns = shape[1]
            out.append([values[start:start + columns] for start in range(offset, offset + size, columns)]
                       if columns else [[] for _ in range(shape[0])])
        else:
            out.append(rounded[offset:offset + size].reshape(shape).tolist())
        offset += size
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
    measured = run.current_metrics()  # losses, R and accuracy at the current parameters
    accuracy = None if measured.accuracy is None else [measured.accuracy, measured.test_accuracy or 0.0]
    arrays.append(np.array([measured.train_loss, measured.test_loss, measured.reg, *(accuracy or ())]))
    rounded = r4_many(arrays)
    weights, biases, rest = rounded[:n], rounded[n:2 * n], rounded[2 * n:-1]
    act = rest[:n + 1] if trace is not None else None
    delta = [[], *rest[n + 1:2 * n + 1]] if has_delta else None
    grads = [[], *rest[-n:]] if has_grads else None
    train, test, reg, *acc = rounded[-1]
    diverged = run.diverged
    rate = scheduled_rate(run)
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
        "acc": {"train": acc[0], "test": acc[1]} if acc else None,
        "chart": chart_tail(run),
        # the scheduled η of the batch in progress (or the next one) and the batches trained so far: the
        # counters' η and the η plot's marker
        "lr": r4(rate),
        "lr_text": printed.rate(rate),  # as the first paint prints it (the page keeps no second formatter)
        "updates": run.updates,
        "point": current_point(run),
        "diverged": diverged.message if diverged is not None else None,  # English (API clients, logs)
        "divergence": divergence_figures(diverged),  # the same words' figures, for the page's language
        "can_back": run.can_back,  # false at the oldest point history keeps: Back is disabled
        "maps": None,
    }


def divergence_figures(diverged: Divergence | None) -> dict[str, Any] | None:
    """The figures of the divergence words (engine/divergence.py DIVERGED) for stepwise.js to fill into
    those words in the page's language (app/i18n.py js_messages "diverged"): a loss that is not finite is
    null, said by the page as "not a finite number". None when not diverged, or for a run imported with
    its English words only (the page then shows `diverged` as it is)."""
    if diverged is None or diverged.learning_rate is None:
        return None
    return {name: None if isinstance(value, Phrase) else value for name, value in diverged.values.items()}


def chart_point(point: Metrics) -> list[Any]:
    """One loss-chart point as [step, train, test, reg] (step = batches applied)."""
    return [point.step, *r4(np.array([point.train_loss, point.test_loss, point.reg]))]


def chart_tail(run: Run) -> dict[str, Any]:
    """What a frame says about the loss chart (engine/metrics.py MetricsLog): it samples every `every`-th
    batch; `step` is where the run is (the x of the frame's `loss`); `tail` the newest points. The page
    keeps its points up to the tail's last step (Back truncates), merges the tail by step, and asks
    GET .../metrics for the whole chart when the tail does not join its points."""
    log = run.metrics
    return {"every": log.every, "step": run.updates,
            "tail": [chart_point(point) for point in log.points[-CHART_TAIL:]]}


SAMPLE_PHASES = frozenset({"forward", "error", "backward", "accumulate"})


def current_point(run: Run) -> int | None:
    """The data index (the plot's point, the API's DELETE index) of the sample the current micro-step
    works on; None between batches and in update steps (they are the whole batch's)."""
    event = run.current_event
    if run.cursor is None or event is None or event.kind not in SAMPLE_PHASES:
        return None
    row = run.batch * run.config.batch_size + event.sample  # the fixed train order, batch by batch
    return int(run.dataset.train_index[row])


def scheduled_rate(run: Run) -> float:
    """η of the batch in progress, or of the next batch at a boundary (a live change applies from then)."""
    optimizer = run.optimizer.config if run.cursor is not None else run.config.optimizer
    return optimizer.schedule.rate(optimizer.learning_rate, run.updates)


# Each Run's maps, rebuilt only when its weights (or plane, features, classes) change, and their encoded
# form, kept while the bytes are the same object. Weak keys: a Run that is replaced or evicted takes its
# maps with it.
_CACHES: weakref.WeakKeyDictionary[Run, heat_maps.MapCache] = weakref.WeakKeyDictionary()
_Encoded = tuple[heat_maps.MapBytes, dict[str, Any]]
_ENCODED: weakref.WeakKeyDictionary[Run, _Encoded] = weakref.WeakKeyDictionary()


def map_cache(run: Run) -> heat_maps.MapCache:
    """The run's MapCache (made on first use); `builds` counts how often its maps were computed."""
    cache = _CACHES.get(run)
    if cache is None:
        cache = _CACHES[run] = heat_maps.MapCache()
    return cache


def _b64(values: NDArray[np.uint8]) -> str:
    return base64.b64encode(np.ascontiguousarray(values).tobytes()).decode("ascii")


# Hidden activations whose values are 0..1: their maps (and the page's node colours) show 2v − 1 on the
# −1..+1 scale, so 0 is orange, ½ grey and 1 blue (on −1..+1 every sigmoid value would be blue).
UNIT_INTERVAL = frozenset({"sigmoid"})


def unit_interval_layers(run: Run) -> list[int]:
    """The hidden layers (1-based) whose values are 0..1."""
    return [number for number, layer in enumerate(run.config.hidden, start=1)
            if layer.activation in UNIT_INTERVAL]


def build_maps(run: Run) -> dict[str, Any]:
    """Heat maps over the input plane: the prediction at 48x48 and every hidden neuron at 24x24.

    `out`: one byte per cell on the [-1, 1] scale: the single output, or for probabilities 2p - 1 of
    class 1 (+1), so byte 128 is the p = 0.5 boundary. When the output has one unit per class
    (softmax_ce, or one-hot targets), also `classes`: one map per class, byte = round(255 p) (linear
    outputs clipped to [0, 1]); the page colours each cell by its most probable class, so every class
    shows. `nodes`: "n{layer}_{unit}" -> that hidden neuron's map. Built by engine/maps.py; a sigmoid
    layer's (0..1, UNIT_INTERVAL) as 2v - 1 on that scale, byte round(255 v), from the float64 grid."""
    data = map_cache(run).get(run.network, run.dataset.extent, run.config.features, run.dataset.n_classes)
    encoded = _ENCODED.get(run)
    if encoded is not None and encoded[0] is data:
        return encoded[1]
    node_maps = {f"n{layer_number}_{j}": _b64(unit_bytes)
                 for layer_number, layer_bytes in enumerate(data.nodes, start=1)
                 for j, unit_bytes in enumerate(layer_bytes)}
    halves = unit_interval_layers(run)
    if halves:
        grid = run.grid(NODE_MAP_RES)
        for layer_number in halves:
            for j, unit_bytes in enumerate(heat_maps.probability_bytes(grid.layers[layer_number - 1]).T):
                node_maps[f"n{layer_number}_{j}"] = _b64(unit_bytes)
    maps = {
        "res": OUTPUT_MAP_RES,
        "node_res": NODE_MAP_RES,
        "extent": r4(np.asarray(run.dataset.extent, dtype=np.float64)),
        "scale": list(MAP_SCALE),
        "classes": None if data.classes is None else [_b64(c) for c in data.classes],
        "out": _b64(data.out),
        "nodes": node_maps,
    }
    _ENCODED[run] = (data, maps)
    return maps
