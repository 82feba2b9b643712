"""The playground's setup form -> the config patch it asks for (only what differs from the run's config)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any


def _number(name: str, text: Any, kind: type = float) -> Any:
    """`text` as a finite float (or whole number); ValueError naming the field otherwise."""
    shown = str(text)
    try:
        value = kind(shown)
    except ValueError:
        whole = "whole " if kind is int else ""
        raise ValueError(f"{name}: {shown[:20]!r} is not a {whole}number") from None
    if not math.isfinite(value):
        raise ValueError(f"{name}: must be a finite number")
    return value


def fitting_output_unit(output_unit: str, old_dataset: str, new_dataset: str) -> str:
    """Picking a dataset the current output unit cannot learn switches to one that can (a student who
    clicks "3 spirals" wants to see it, not an error): several classes -> softmax, regression -> linear."""
    from engine.data import MULTI_CLASS_SETS, REGRESSION_SETS

    if new_dataset == old_dataset:
        return output_unit
    if new_dataset in REGRESSION_SETS and output_unit in ("tanh_mse", "sigmoid_bce", "softmax_ce"):
        return "linear_mse"
    if new_dataset in MULTI_CLASS_SETS and (output_unit in ("tanh_mse", "sigmoid_bce")
                                            or old_dataset in REGRESSION_SETS):
        return "softmax_ce"
    if (old_dataset in REGRESSION_SETS and new_dataset not in (*REGRESSION_SETS, *MULTI_CLASS_SETS)
            and output_unit == "linear_mse"):
        return "tanh_mse"
    return output_unit


def setup_patch(form: Mapping[str, Any], lists: Mapping[str, Sequence[Any]],
                current: dict[str, Any]) -> dict[str, Any]:
    """The ConfigPatch body (a dict) for a posted setup form.

    `form` holds the single fields (missing = keep the current value), `lists` the repeated ones (units,
    activation, features); `current` is app.convert.config_dict of the run. ValueError names a field
    that is not a number.
    """
    def get(name: str, default: Any) -> Any:
        return form.get(name, default)

    def number(name: str, default: Any, kind: type = float) -> Any:
        return _number(name, form.get(name, default), kind)

    units = [_number("units", u, int) for u in lists.get("units", ())]
    activations = [str(a) for a in lists.get("activation", ())]
    dataset, optimizer = current["dataset"], current["optimizer"]
    wanted: dict[str, Any] = {
        "hidden": [{**layer, "units": u, "activation": a}
                   for layer, u, a in zip(current["hidden"], units, activations, strict=False)],
        "dataset": {**dataset, "name": get("dataset", dataset["name"]),
                    "noise": number("noise", dataset["noise"]),
                    "train_fraction": number("train_fraction", dataset["train_fraction"])},
        "features": [str(f) for f in lists.get("features", ())] or current["features"],
        "output_unit": get("output_unit", current["output_unit"]),
        "optimizer": {**optimizer, "kind": get("optimizer", optimizer["kind"]),
                      "learning_rate": number("learning_rate", optimizer["learning_rate"]),
                      "schedule": {**optimizer["schedule"],
                                   "kind": get("schedule", optimizer["schedule"]["kind"])}},
        "regularization": {"kind": get("regularization", current["regularization"]["kind"]),
                           "rate": number("regularization_rate", current["regularization"]["rate"])},
        "batch_size": number("batch_size", current["batch_size"], int),
    }
    wanted["output_unit"] = fitting_output_unit(str(wanted["output_unit"]), str(dataset["name"]),
                                                str(wanted["dataset"]["name"]))
    return {key: value for key, value in wanted.items() if json.dumps(value) != json.dumps(current.get(key))}
