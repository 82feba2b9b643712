"""The playground's setup form -> the config patch it asks for (only what differs from the run's config)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from engine import vocabulary


class SetupForm(BaseModel):
    """The setup form as the page posts it (templates/partials/setup.html, and the data panel's controls
    that join it with form="setup"). A field left out keeps the run's value. Numbers are typed here, so a
    word where a number belongs is refused naming its field before the run is touched; which names and
    ranges are allowed is the API's ConfigPatch's and the engine's to say."""

    model_config = ConfigDict(allow_inf_nan=False)

    learning_rate: float | None = None
    schedule: str | None = None
    optimizer: str | None = None
    regularization: str | None = None
    regularization_rate: float | None = None
    batch_size: int | None = None
    output_unit: str | None = None
    dataset: str | None = None
    noise: float | None = None
    train_fraction: float | None = None
    units: list[int] = []  # one per hidden layer, with
    activation: list[str] = []  # its activation
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


def setup_patch(form: SetupForm, current: dict[str, Any]) -> dict[str, Any]:
    """The ConfigPatch body (a dict) for a posted setup form; `current` is app.convert.config_dict of the
    run. Layers pair the form's units and activations with the run's layers (the layer buttons, not this
    form, add and remove layers)."""
    dataset, optimizer, regularization = current["dataset"], current["optimizer"], current["regularization"]
    wanted: dict[str, Any] = {
        "hidden": [{**layer, "units": units, "activation": activation}
                   for layer, units, activation in zip(current["hidden"], form.units, form.activation,
                                                       strict=False)],
        "dataset": {**dataset, "name": _or(form.dataset, dataset["name"]),
                    "noise": _or(form.noise, dataset["noise"]),
                    "train_fraction": _or(form.train_fraction, dataset["train_fraction"])},
        "features": form.features or current["features"],
        "output_unit": _or(form.output_unit, current["output_unit"]),
        "optimizer": {**optimizer, "kind": _or(form.optimizer, optimizer["kind"]),
                      "learning_rate": _or(form.learning_rate, optimizer["learning_rate"]),
                      "schedule": {**optimizer["schedule"],
                                   "kind": _or(form.schedule, optimizer["schedule"]["kind"])}},
        "regularization": {"kind": _or(form.regularization, regularization["kind"]),
                           "rate": _or(form.regularization_rate, regularization["rate"])},
        "batch_size": _or(form.batch_size, current["batch_size"]),
    }
    wanted["output_unit"] = fitting_output_unit(str(wanted["output_unit"]), str(dataset["name"]),
                                                str(wanted["dataset"]["name"]))
    return {key: value for key, value in wanted.items() if json.dumps(value) != json.dumps(current.get(key))}
