"""The public import point of a training run: `from engine.stepper import Run, RunConfig`.

The Run itself reads top to bottom in engine/run.py; what defines a run and the step units are in
engine/run_config.py. Every name below is importable from here (the README, the app and the tests do).
"""

from __future__ import annotations

from engine.divergence import PARAMETER_BOUND
from engine.run import MAX_EDIT, Run
from engine.run_config import MAX_COUNT, UNITS, RunConfig, Unit

__all__ = ["MAX_COUNT", "MAX_EDIT", "PARAMETER_BOUND", "UNITS", "Run", "RunConfig", "Unit"]
