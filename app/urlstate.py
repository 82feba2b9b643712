"""The setup in the page's URL (like TF Playground's hash): SessionCreate <-> a short query string.

A link with these parameters rebuilds the same setup (same seeds, so the same data and initial weights);
`session=` is added separately so a reload continues the very same run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError

from app.schemas import SessionCreate

# Query key -> (path into SessionCreate as a dict). Lists are comma separated.
SETUP_KEYS = ("data", "noise", "train", "dseed", "feat", "hidden", "act", "out", "lr", "opt", "sched", "reg",
              "rr", "batch", "seed")


def setup_query(config: SessionCreate) -> str:
    """The query string (without '?') that rebuilds `config`."""
    params = {
        "data": config.dataset.name,
        "noise": f"{config.dataset.noise:g}",
        "train": f"{config.dataset.train_fraction:g}",
        "dseed": str(config.dataset.seed),
        "feat": ",".join(config.features),
        "hidden": ",".join(str(layer.units) for layer in config.hidden),
        "act": ",".join(layer.activation for layer in config.hidden),
        "out": config.output_unit,
        "lr": f"{config.optimizer.learning_rate:g}",
        "opt": config.optimizer.kind,
        "sched": config.optimizer.schedule.kind,
        "reg": config.regularization.kind,
        "rr": f"{config.regularization.rate:g}",
        "batch": str(config.batch_size),
        "seed": str(config.seed),
    }
    return urlencode(params, safe=",")


def _split(text: str) -> list[str]:
    return [part for part in text.split(",") if part != ""]


def setup_from_query(query: Mapping[str, str]) -> tuple[SessionCreate, str | None]:
    """A SessionCreate from URL parameters; unknown or invalid values give the defaults and a message.

    Returns (config, error) where error says in words what was ignored, for the page to show.
    """
    if not any(key in query for key in SETUP_KEYS):
        return SessionCreate(), None
    data: dict[str, Any] = {}
    dataset: dict[str, Any] = {}
    optimizer: dict[str, Any] = {}
    if "data" in query:
        dataset["name"] = query["data"]
    if "noise" in query:
        dataset["noise"] = query["noise"]
    if "train" in query:
        dataset["train_fraction"] = query["train"]
    if "dseed" in query:
        dataset["seed"] = query["dseed"]
    if dataset:
        data["dataset"] = dataset
    if "feat" in query:
        data["features"] = _split(query["feat"])
    if "hidden" in query:
        units = _split(query["hidden"])
        activations = _split(query.get("act", ""))
        data["hidden"] = [
            {"units": u, **({"activation": activations[i]} if i < len(activations) else {})}
            for i, u in enumerate(units)
        ]
    if "out" in query:
        data["output_unit"] = query["out"]
    if "lr" in query:
        optimizer["learning_rate"] = query["lr"]
    if "opt" in query:
        optimizer["kind"] = query["opt"]
    if "sched" in query:
        optimizer["schedule"] = {"kind": query["sched"]}
    if optimizer:
        data["optimizer"] = optimizer
    if "reg" in query or "rr" in query:
        data["regularization"] = {"kind": query.get("reg", "none"), "rate": query.get("rr", "0")}
    if "batch" in query:
        data["batch_size"] = query["batch"]
    if "seed" in query:
        data["seed"] = query["seed"]
    try:
        return SessionCreate.model_validate(data), None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        message = f"The link's setup was not valid ({where}: {first.get('msg')}); using the defaults."
        return SessionCreate(), message
