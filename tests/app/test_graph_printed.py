"""Every step the computation-graph page prints can be redone by hand: a forward step's printed inputs
through its gate, and a backward step's printed upstream × local, round (to the printed result's 4
significant digits) to the printed result. Read from the page's HTML fragments, step by step."""

from __future__ import annotations

import html
import math
import re

import numpy as np
import pytest
from fastapi.testclient import TestClient

PRINTED = r"−?\d+(?:\.\d+)?(?:e[+-]\d+)?"
GATES = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "relu": lambda x: max(x, 0.0), "max": max,
         "abs": abs, "sigmoid": lambda x: 1 / (1 + math.exp(-x))}
EXPRESSIONS = {
    "tanh neuron": ("tanh(w1*x1 + w2*x2 + b)", ("w1", "x1", "w2", "x2", "b")),
    "sigmoid neuron": ("1/(1 + exp(-(w0*x0 + w1*x1 + w2)))", ("w0", "x0", "w1", "x1", "w2")),
    "max routes": ("max(x, y) * z + abs(x)", ("x", "y", "z")),
    "softplus and powers": ("log(1 + exp(a*b)) + a**3 - b/c", ("a", "b", "c")),
    "relu and squared error": ("(relu(w*x + b) - t)**2", ("w", "x", "b", "t")),
}


def number(text: str) -> float:
    return float(text.replace("−", "-"))


def half_unit(text: str) -> float:
    mantissa, _, exponent = text.replace("−", "-").partition("e")
    return 0.5 * 10.0 ** ((int(exponent) if exponent else 0) - len(mantissa.partition(".")[2]))


def redo(expression: str) -> float:
    """A printed step ('1.5 × −2.25', '−(3)', '(2.5)^2', 'tanh(0.3)', 'max(1, 3)') with its printed inputs."""
    code = (expression.replace("×", "*").replace("÷", "/").replace("^", "**").replace("−", "-"))
    return float(eval(code, {"__builtins__": {}}, GATES))


def assert_redone(expression: str, result: str, where: str) -> None:
    value = redo(expression)
    assert abs(value - number(result)) <= half_unit(result) * (1 + 1e-9) + 1e-300, (
        f"{expression} = {value!r}, printed {result} ({where})")


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_every_graph_step_can_be_redone_with_its_printed_numbers(client: TestClient, name: str) -> None:
    expression, variables = EXPRESSIONS[name]
    rng = np.random.default_rng(len(name))
    checked = {"forward": 0, "backward": 0}
    for _ in range(6):
        draws = rng.uniform(-3, 3, len(variables)) * 10.0 ** rng.integers(-3, 2, len(variables))
        values = ", ".join(f"{v} = {float(x)!r}" for v, x in zip(variables, draws, strict=True))
        if name == "softplus and powers":
            values = values.replace("c = -", "c = ")  # keep b/c finite and away from 0 in sign only
        step, total = 1, None
        while total is None or step <= total:
            query = {"expression": expression, "values": values, "step": step}
            page = client.get("/graph/view", params=query)
            text = html.unescape(page.text)
            counter = re.search(r'data-total="(\d+)"', text)
            if counter is None:
                break  # a value out of a gate's domain (log of ≤ 0): the page says so, nothing to redo
            total = int(counter.group(1))
            title = re.search(r'graph-step-title[^>]*><strong>(.*?)</strong>', text)
            assert title is not None
            if title.group(1).startswith("forward: "):
                *_, computed, result = title.group(1).split(" = ")
                assert_redone(computed, result, title.group(1))
                checked["forward"] += 1
            # the label's two lines: "upstream × local" over "= product"
            edge = (rf'class="graph-edge-label"[^>]*><tspan[^>]*>({PRINTED}) × ({PRINTED})</tspan>\s*'
                    rf'<tspan[^>]*>= ({PRINTED})</tspan>')
            for label in re.findall(edge, text):
                assert_redone(f"{label[0]} × {label[1]}", label[2], "edge label")
                checked["backward"] += 1
            for row in re.findall(rf"<td>({PRINTED})</td><td>×</td><td>({PRINTED})</td><td>=</td>\s*"
                                  rf'<td class="graph-product">({PRINTED})</td>', text):
                assert_redone(f"{row[0]} × {row[1]}", row[2], "table row")
            step += 1
    assert checked["forward"] >= 10 and checked["backward"] >= 10, checked


def test_the_check_catches_a_step_whose_rounded_inputs_do_not_give_its_result() -> None:
    with pytest.raises(AssertionError):
        assert_redone("1.234 × 5.678", "7.008", "made up: the inputs give 7.006652")
    assert_redone("1.2344 × 5.6776", "7.008", "the same step with the digits it needs")
