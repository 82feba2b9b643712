"""The setup in the page's URL (like TF Playground's hash): SessionCreate <-> a short query string.

A link with these parameters rebuilds the same setup (same seeds, so the same data and initial weights);
`session=` is added separately so a reload continues the very same run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError

from app.refusals import refusal
from app.schemas import SessionCreate
from engine import vocabulary

# Query key -> its path into SessionCreate as a dict, for the keys that hold one value each.
SCALAR_KEYS: dict[str, tuple[str, ...]] = {
    "data": ("dataset", "name"), "noise": ("dataset", "noise"), "train": ("dataset", "train_fraction"),
    "dseed": ("dataset", "seed"), "out": ("output_unit",), "lr": ("optimizer", "learning_rate"),
    "opt": ("optimizer", "kind"), "sched": ("optimizer", "schedule", "kind"), "batch": ("batch_size",),
    "seed": ("seed",),
    "warm": ("optimizer", "schedule", "warmup"), "total": ("optimizer", "schedule", "total"),
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
    schedule = config.optimizer.schedule
    if schedule.kind == "warmup_decay":  # the warm-up and run length the link's lesson uses
        params.update({"warm": str(schedule.warmup), "total": str(schedule.total)})
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
        return SessionCreate(), f"This link's setup cannot be built: {_in_words(error, query)}."


def _in_words(error: ValidationError, query: Mapping[str, str]) -> str:
    """The first refused value of a link: what is allowed (app/refusals.py's words) and the query key
    and value that asked for it."""
    said = refusal(error).text
    first = error.errors()[0]
    path = tuple(str(part) for part in first.get("loc", ()) if not str(part).isdigit())
    key = next((k for k, p in SCALAR_KEYS.items() if p == path), None)
    if key is None:
        key = {"hidden": "hidden", "features": "feat", "regularization": "reg"}.get(path[0] if path else "")
    if key == "hidden" and path[-1:] == ("activation",):
        key = "act"
    asked = f" (the link says {key}={query[key][:20]})" if key and key in query else ""
    return f"{said}{asked}"


# ---- view settings: how the page shows and steps the run, not part of the run ------------------------
# They live in the page's URL next to the setup (stepwise.js writes them there as they change), so a
# setup change, a regenerate or a reload renders them as the student left them.
STEP_UNITS = tuple(vocabulary.STEP_UNITS)
SPEEDS = (1, 2, 5, 10, 20, 50, 100)
VIEW_DEFAULTS: dict[str, str] = {"step": "micro", "speed": "10", "test": "0", "disc": "0", "click": "add"}
VIEW_CHOICES: dict[str, tuple[str, ...]] = {
    "step": STEP_UNITS, "speed": tuple(str(s) for s in SPEEDS), "test": ("0", "1"), "disc": ("0", "1"),
    "click": ("add", "remove"),
}


def view_from_query(query: Mapping[str, str]) -> dict[str, str]:
    """The view settings in a query (step, speed, test, disc, click); a missing or unknown value is its
    default (a view setting never refuses a link)."""
    return {key: query[key] if query.get(key) in VIEW_CHOICES[key] else default
            for key, default in VIEW_DEFAULTS.items()}


def view_query(view: Mapping[str, str]) -> str:
    """The query string (without '?') of the view settings that differ from the defaults ('' if none)."""
    return urlencode({key: view[key] for key, default in VIEW_DEFAULTS.items()
                      if view.get(key, default) != default})
