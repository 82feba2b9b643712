"""Shared snapshots: an immutable copy of a run at one moment, behind a short code (/s/K7Q2-9FXA).

"Share" stores the run's export document (engine/serialize.py: data as generated, clicked or uploaded,
weights, optimiser state, the position inside the batch, the history point, step id) and the page's view
settings (step unit, speed, test points shown, output discretized) as a record of kind "snapshot" in the
store; it is never changed afterwards (the store refuses to overwrite it). Opening the code makes the
opener a run of their own at exactly that state (app/routes/sharing.py), as often as anyone opens it.

Codes are 8 characters from CODE_ALPHABET (no 0/O, 1/I/L, U/V look-alikes), shown as two groups of four:
29^8 ≈ 5·10^11 codes (39 bits), so guessing one among a few thousand snapshots takes ~10^8 tries;
`normalize` forgives case, spaces and dashes, which is how people type a code off a projector.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread

from app.store import RecordStore
from app.urlstate import SPEEDS, view_query
from engine import vocabulary

KIND = "snapshot"
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"  # 29 characters: no 0 O 1 I L U V
CODE_LENGTH = 8


@dataclass(frozen=True)
class View:
    """How the page showed the run: restored with it so the opener sees what the sharer saw."""

    step_unit: str = "micro"
    speed: int = 10
    show_test: bool = False
    discretize: bool = False

    @classmethod
    def parse(cls, values: Any) -> View:
        """From a form or query (unknown or bad values fall back to the defaults: a view is a nicety)."""
        unit = str(values.get("unit", values.get("step_unit", "micro")))
        try:
            speed = int(float(str(values.get("speed", "10"))))
        except ValueError:
            speed = 10
        return cls(step_unit=unit if unit in vocabulary.STEP_UNITS else "micro",
                   speed=speed if speed in SPEEDS else 10,
                   show_test=str(values.get("show_test", "")).lower() in ("1", "on", "true"),
                   discretize=str(values.get("discretize", "")).lower() in ("1", "on", "true"))

    def query(self) -> dict[str, str]:
        """As the page address's view settings (app/urlstate.py view_from_query reads them back); the
        defaults are left out, as the page leaves them out."""
        shown = view_query({"step": self.step_unit, "speed": str(self.speed),
                            "test": "1" if self.show_test else "0", "disc": "1" if self.discretize else "0"})
        return dict(parse_qsl(shown))


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize(text: str) -> str | None:
    """The code a person typed ("k7q2 9fxa", "K7Q2-9FXA") in canonical form, or None if it cannot be one."""
    code = "".join(ch for ch in text.upper() if ch not in " -_")
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return code


def spelled(code: str) -> str:
    """K7Q29FXA -> K7Q2-9FXA (how a code is shown and linked)."""
    return f"{code[:4]}-{code[4:]}"


@dataclass(frozen=True)
class Snapshot:
    code: str
    document: dict[str, Any]
    view: View
    created_at: float


class Snapshots:
    """Immutable snapshots in the store's records (they survive restarts)."""

    def __init__(self, records: RecordStore) -> None:
        self.records = records

    async def store(self, document: dict[str, Any], view: View) -> str:
        """Keep `document` under a fresh code and answer the code (a collision draws another)."""
        text = json.dumps({"document": document, "view": view.__dict__, "created_at": time.time()},
                          separators=(",", ":"), allow_nan=False)
        while True:
            code = new_code()

            def put(code: str = code) -> bool:
                return self.records.put_record(KIND, code, text, replace=False)

            if await anyio.to_thread.run_sync(put):
                return code

    async def get(self, code: str) -> Snapshot | None:
        text = await anyio.to_thread.run_sync(self.records.get_record, KIND, code)
        if text is None:
            return None
        value = json.loads(text)
        return Snapshot(code, value["document"], View(**value["view"]), float(value["created_at"]))
