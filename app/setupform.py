"""The playground's setup form -> the config patch it asks for (only what differs from the run's config)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from engine import vocabulary
from engine.errors import SetupError


class SetupForm(BaseModel):
    """The setup form as the page posts it (templates/partials/setup.html, and the data panel's controls
    that join it with form="setup"). A field left out keeps the run's value. Numbers are typed here, so a
    word where a number belongs is refused naming its field before the run is touched; which names and
    ranges are allowed is the API's ConfigPatch's and the engine's to say."""

    model_config = ConfigDict(allow_inf_nan=False)

    learning_rate: float | None = None
    schedule: str | None = None
    warmup: int | None = None  # warm-up then decay only: batches of warm-up,
    total: int | None = None  # and of the whole run
    optimizer: str | None = None
    regularization: str | None = None
    regularization_rate: float | None = None
    batch_size: int | None = None
    output_unit: str | None = None
    dataset: str | None = None
    noise: float | None = None
    train_fraction: float | None = None
    units: list[int] = []  # one per hidden layer, with
    activation: list[str] = []  # its activation,
    alpha: list[str] = []  # its α ("" = the activation's default; leaky ReLU and ELU only)
    pieces: list[int] = []  # and its k (maxout only)
    features: list[str] = []  # the ticked input features (none ticked: keep the run's)


def fitting_output_unit(output_unit: str, old_dataset: str, new_dataset: str) -> str:
    """Picking a dataset the current output unit cannot learn switches to the usual one for its targets
    (a student who clicks "3 spirals" wants to see it, not an error): several classes -> softmax,
    regression -> linear. Leaving regression data also leaves its usual unit (linear + squared error)."""
    if new_dataset == old_dataset or new_dataset not in vocabulary.DATASETS:
        return output_unit
    targets = vocabulary.DATASETS[new_dataset].targets
    old = vocabulary.DATASETS.get(old_dataset)
    from_regression = old is not None and old.targets == "regression" != targets
    usual = vocabulary.USUAL_OUTPUT[targets]
    if targets not in vocabulary.OUTPUT_UNITS[output_unit].fits:
        return usual
    if from_regression and output_unit == vocabulary.USUAL_OUTPUT["regression"]:
        return usual
    return output_unit


def _or(value: Any, current: Any) -> Any:
    return current if value is None else value


# The page's warm-up-then-decay: short enough to see both phases in a class (at 10 batches per second:
# 5 s of warm-up, η held until batch 800, at η/100 by batch 1000, under two minutes); the API's own
# defaults (no warm-up, 10,000 batches) would neither warm up nor decay in a lesson.
PAGE_WARMUP = 50
PAGE_TOTAL = 1000


def schedule_patch(form: SetupForm, current: dict[str, Any]) -> dict[str, Any]:
    """The schedule a posted form asks for. Warm-up and run length count only for warm-up-then-decay;
    picking it while the API's defaults are still in place starts from the page's (PAGE_WARMUP,
    PAGE_TOTAL), since the form shows no warm-up field before it is picked."""
    kind = _or(form.schedule, current["kind"])
    schedule = {**current, "kind": kind}
    if kind != "warmup_decay":
        return schedule
    if current["kind"] != "warmup_decay" and form.warmup is None:
        return {**schedule, "warmup": PAGE_WARMUP, "total": PAGE_TOTAL}
    return {**schedule, "warmup": _or(form.warmup, current["warmup"]),
            "total": _or(form.total, current["total"])}


def running_alpha(activation: str, alpha: float | None) -> float | None:
    """The α a layer runs with: its own, or its activation's default (engine/vocabulary.py); None for an
    activation without one."""
    if alpha is not None:
        return alpha
    term = vocabulary.ACTIVATIONS.get(activation)
    return next((p.default for p in (term.parameters if term else ()) if p.name == "alpha"), None)


def _layer(current: dict[str, Any], units: int, activation: str, form: SetupForm,
           index: int) -> dict[str, Any]:
    """Hidden layer `index` as the form asks for it. α and k belong to the activation they were set for:
    a new activation starts from its own defaults (ELU's α = 1, not the leaky ReLU's 0.01 left in the
    box); an α equal to the one the layer runs with (shown as the default) changes nothing."""
    if activation != current["activation"]:
        return {**current, "units": units, "activation": activation, "alpha": None, "pieces": 2}
    alpha = form.alpha[index].strip() if index < len(form.alpha) else ""
    pieces = form.pieces[index] if index < len(form.pieces) else current["pieces"]
    try:
        value = float(alpha) if alpha else current["alpha"]
    except ValueError:
        raise SetupError("alpha", "{value} is not a number", value=repr(alpha[:20])) from None
    if value == running_alpha(activation, current["alpha"]):
        value = current["alpha"]
    return {**current, "units": units, "activation": activation, "alpha": value, "pieces": pieces}


def setup_patch(form: SetupForm, current: dict[str, Any]) -> dict[str, Any]:
    """The ConfigPatch body (a dict) for a posted setup form; `current` is app.convert.config_dict of the
    run. Layers pair the form's units and activations with the run's layers (the layer buttons, not this
    form, add and remove layers)."""
    dataset, optimizer, regularization = current["dataset"], current["optimizer"], current["regularization"]
    wanted: dict[str, Any] = {
        "hidden": [_layer(layer, units, activation, form, index)
                   for index, (layer, units, activation) in enumerate(zip(current["hidden"], form.units,
                                                                          form.activation, strict=False))],
        "dataset": {**dataset, "name": _or(form.dataset, dataset["name"]),
                    "noise": _or(form.noise, dataset["noise"]),
                    "train_fraction": _or(form.train_fraction, dataset["train_fraction"])},
        "features": form.features or current["features"],
        "output_unit": _or(form.output_unit, current["output_unit"]),
        "optimizer": {**optimizer, "kind": _or(form.optimizer, optimizer["kind"]),
                      "learning_rate": _or(form.learning_rate, optimizer["learning_rate"]),
                      "schedule": schedule_patch(form, optimizer["schedule"])},
        "regularization": {"kind": _or(form.regularization, regularization["kind"]),
                           "rate": _or(form.regularization_rate, regularization["rate"])},
        "batch_size": _or(form.batch_size, current["batch_size"]),
    }
    wanted["output_unit"] = fitting_output_unit(str(wanted["output_unit"]), str(dataset["name"]),
                                                str(wanted["dataset"]["name"]))
    return {key: value for key, value in wanted.items() if json.dumps(value) != json.dumps(current.get(key))}
