"""The page's JavaScript writes losses and accuracies exactly as the server's one formatter does
(engine/printed.py): the same values through stepwise.js's num() and percent() in Chromium, and through
printed.loss() and printed.percent(), give the same text, halves and powers of ten included."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine import printed


def sweep() -> list[float | None]:
    """Values a loss or an accuracy can take: every magnitude the page meets, both signs, exact halves
    (0.0625 rounds up in toFixed and to even in Python's format), the 1000 boundary, none."""
    rng = np.random.default_rng(15)
    spread = rng.uniform(-1, 1, 400) * 10.0 ** rng.uniform(-8, 60, 400)
    halves = [0.0625, -0.0625, 1.0625, 0.5625, 2.0005, 0.0005, -0.0005, 12.5, 1234.5, 99.95]
    edges = [0.0, -0.0, 999.9994, 999.9996, 1000.0, -1000.0, 9.995e3, 9.9951e3, 1e300, -7.229e47, 1e-300,
             None]
    return [float(v) for v in spread] + halves + edges


def test_loss_and_accuracy_text_is_the_same_in_the_browser_and_on_the_server(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    page.goto(f"{live_server}/")
    page.wait_for_function("() => window.Stepwise && typeof window.Stepwise.num === 'function'")
    values = sweep()
    in_browser = page.evaluate("values => values.map(v => window.Stepwise.num(v))", values)
    on_server = [printed.loss(v) for v in values]
    differ = [(v, b, s) for v, b, s in zip(values, in_browser, on_server, strict=True) if b != s]
    assert differ == [], differ[:10]
    assert "0.063" in on_server and "1.23·10³" in on_server  # halves away from zero, a power of ten
    fractions = [i / 1000 for i in range(1001)] + [0.0625 / 100, 0.9995, 0.12345, 1 / 3, 2 / 3]
    in_browser = page.evaluate("values => values.map(v => window.Stepwise.percent(v))", fractions)
    assert in_browser == [printed.percent(v) for v in fractions]
    assert printed.loss(math.inf) == "—" == page.evaluate("() => window.Stepwise.num(Infinity)")
    assert console_errors == []
