"""The saved session document is strict JSON whether or not the run holds a NaN or an infinity."""

from __future__ import annotations

import dataclasses
import json

from app.store import run_document as _document
from engine.serialize import export_run
from engine.stepper import Run, RunConfig


def strict(text: str) -> object:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in a saved document")

    return json.loads(text, parse_constant=refuse)


def test_a_finite_run_is_saved_exactly_as_exported() -> None:
    run = Run(RunConfig())
    run.step("batch", 7)
    assert strict(_document(run)) == json.loads(json.dumps(export_run(run)))


def test_a_non_finite_number_in_the_run_is_saved_as_null() -> None:
    """JSON has no NaN or inf: should the loss chart hold one (an overflowed loss), the store keeps null."""
    run = Run(RunConfig())
    run.step("batch", 3)
    points = run.metrics.points
    points[-1] = dataclasses.replace(points[-1], train_loss=float("nan"), test_loss=float("inf"))
    document = strict(_document(run))
    assert isinstance(document, dict)
    assert "null" in json.dumps(document["metrics"]) and "NaN" not in _document(run)
