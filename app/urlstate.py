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

# Query key -> its path into SessionCreate as a dict, for the keys that hold one value each.
SCALAR_KEYS: dict[str, tuple[str, ...]] = {
    "data": ("dataset", "name"), "noise": ("dataset", "noise"), "train": ("dataset", "train_fraction"),
    "dseed": ("dataset", "seed"), "out": ("output_unit",), "lr": ("optimizer", "learning_rate"),
    "opt": ("optimizer", "kind"), "sched": ("optimizer", "schedule", "kind"), "batch": ("batch_size",),
    "seed": ("seed",),
}
# Also: feat (comma separated), hidden + act (units and activation per layer), reg + rr (together).
SETUP_KEYS = (*SCALAR_KEYS, "feat", "hidden", "act", "reg", "rr")


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
    for key, path in SCALAR_KEYS.items():
        if key in query:
            *parents, name = path
            into = data
            for parent in parents:
                into = into.setdefault(parent, {})
            into[name] = query[key]
    if "feat" in query:
        data["features"] = _split(query["feat"])
    if "hidden" in query:
        units = _split(query["hidden"])
        activations = _split(query.get("act", ""))
        data["hidden"] = [
            {"units": u, **({"activation": activations[i]} if i < len(activations) else {})}
            for i, u in enumerate(units)
        ]
    if "reg" in query or "rr" in query:
        data["regularization"] = {"kind": query.get("reg", "none"), "rate": query.get("rr", "0")}
    try:
        return SessionCreate.model_validate(data), None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        message = f"The link's setup was not valid ({where}: {first.get('msg')}); using the defaults."
        return SessionCreate(), message
