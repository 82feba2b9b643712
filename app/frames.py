"""Run -> compact animation frame (JSON-able dict, 4 significant digits) and base64 heat maps."""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
from engine.stepper import Run
from numpy.typing import NDArray

# Phases in which the deltas / gradients of the focus sample exist and are shown.
DELTA_PHASES = frozenset({"error", "backward", "accumulate", "update"})
GRAD_PHASES = frozenset({"backward", "accumulate", "update"})

OUTPUT_MAP_RES = 48
NODE_MAP_RES = 24
# Heat-map scale: a value v is sent as round((clip(v, -1, 1) + 1) * 127.5), so 0 -> -1, 255 -> +1 and
# 127/128 straddle 0. Probabilities (sigmoid, softmax) are first mapped 2p - 1 so 0.5 sits at the middle.
MAP_SCALE = (-1.0, 1.0)


def r4(values: Any) -> Any:
    """Nested lists of floats rounded to 4 significant digits; NaN/inf become null (never in JSON)."""
    if isinstance(values, np.ndarray):
        if values.ndim == 0:
            return r4(float(values))
        if values.ndim == 1:
            return [float(f"{x:.4g}") if math.isfinite(x) else None for x in values.tolist()]
        return [r4(row) for row in values]
    if values is None:
        return None
    value = float(values)
    return float(f"{value:.4g}") if math.isfinite(value) else None


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

    act = delta = grads = None
    if trace is not None:
        focus_sample = min(focus_sample, trace.inputs.shape[0] - 1)
        act = [r4(trace.inputs[focus_sample])] + [r4(lt.activation[focus_sample]) for lt in trace.layers]
        if phase in DELTA_PHASES:
            delta = [[]] + [r4(lt.delta[focus_sample]) for lt in trace.layers]
        if phase in GRAD_PHASES:
            grads = [[]] + [r4(_flat_pieces(lt.grad_weights)) for lt in trace.layers]

    layers = run.network.layers
    train, test = run.losses()
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
        "w": [[]] + [r4(_flat_pieces(layer.weights)) for layer in layers],
        "b": [[]] + [r4(layer.bias) for layer in layers],  # maxout: a list of k biases per unit
        "g": grads,
        "loss": {"train": r4(train), "test": r4(test), "reg": r4(trace.loss_reg) if trace else 0.0},
        "acc": _accuracy(run),
        "diverged": diverged.message if diverged is not None else None,
        "maps": None,
    }


def _accuracy(run: Run) -> dict[str, Any] | None:
    history = run.history_metrics
    if not history or getattr(history[-1], "accuracy", None) is None:
        return None
    last = history[-1]
    accuracy = last.accuracy
    if isinstance(accuracy, tuple | list):
        return {"train": r4(accuracy[0]), "test": r4(accuracy[1])}
    return {"train": r4(accuracy), "test": r4(getattr(last, "test_accuracy", None))}


def _encode(grid: NDArray[np.float64]) -> str:
    """res*res values (row-major, row 0 at ymin) -> base64 of res*res uint8 on the [-1, 1] scale."""
    scaled = np.rint((np.clip(np.nan_to_num(grid, nan=0.0), -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    return base64.b64encode(scaled.tobytes()).decode("ascii")


def _bytes(values: NDArray[Any]) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=np.uint8).tobytes()).decode("ascii")


def _output_map(run: Run, prediction: NDArray[np.float64]) -> dict[str, Any]:
    """The decision map. One output (or binary softmax): "kind": "value", `out` on the [-1, 1] scale
    (probabilities as 2p - 1, so 128 is the 0.5 boundary; +1 = class 1). Three or more classes:
    "kind": "classes", `cls` = the argmax class per cell (uint8) and `out` = its probability as
    round(255 p) (one-hot linear outputs clipped to [0, 1]), so every class shows."""
    n_classes = run.dataset.n_classes
    if n_classes >= 3:
        scores = prediction[:, :n_classes]
        chosen = np.argmax(scores, axis=1)
        confidence = np.clip(np.nan_to_num(scores[np.arange(scores.shape[0]), chosen]), 0.0, 1.0)
        return {"kind": "classes", "classes": n_classes, "cls": _bytes(chosen),
                "out": _bytes(np.rint(confidence * 255.0))}
    output_unit = run.config.output_unit
    if output_unit == "softmax_ce":  # two classes: the probability of class 1 (+1)
        values = 2.0 * prediction[:, 1] - 1.0
    elif output_unit == "sigmoid_bce":
        values = 2.0 * prediction[:, 0] - 1.0
    else:
        values = prediction[:, 0]
    return {"kind": "value", "out": _encode(values)}


def build_maps(run: Run) -> dict[str, Any]:
    """Heat maps over the input plane: the prediction at 48x48 and every hidden neuron at 24x24."""
    out = run.grid(OUTPUT_MAP_RES)
    nodes = run.grid(NODE_MAP_RES)
    node_maps: dict[str, str] = {}
    for layer_number, layer_values in enumerate(nodes.layers[:-1], start=1):
        for j in range(layer_values.shape[1]):
            node_maps[f"n{layer_number}_{j}"] = _encode(layer_values[:, j])
    return {
        "res": OUTPUT_MAP_RES,
        "node_res": NODE_MAP_RES,
        "extent": r4(np.asarray(out.extent, dtype=np.float64)),
        "scale": list(MAP_SCALE),
        **_output_map(run, np.asarray(out.prediction, dtype=np.float64)),
        "nodes": node_maps,
    }
