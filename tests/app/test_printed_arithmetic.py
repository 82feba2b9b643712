"""Every line the inspector prints can be redone with a calculator: the printed operands, put through the
printed expression and rounded to the printed result's decimals, give the printed result.

The check reads the inspector fragment as the page receives it (HTML text, not the formatter's numbers),
over hundreds of micro-steps of many setups: every activation, every output unit, SGD, momentum and Adam,
batch sizes 1 and more, maxout. The functions are the closed forms written here, not the engine's.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient

SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
NUMBER = r"\d+(?:\.\d+)?(?:·10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?"
RESULT = re.compile(rf"^−?{NUMBER}$")
POWER = r"[⁰¹²³⁴⁵⁶⁷⁸⁹]+"  # an exponent written as a superscript after a number or a bracket


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def functions(alpha: float) -> dict[str, Any]:
    """The lecture's activations and slopes in closed form; α is the setup's leaky ReLU / ELU α."""
    return {
        "tanh": math.tanh, "sigmoid": sigmoid, "relu": lambda x: max(0.0, x),
        "leaky_relu": lambda x: x if x > 0 else alpha * x,
        "elu": lambda x: x if x > 0 else alpha * math.expm1(x), "abs": abs, "linear": lambda x: x,
        "softplus": lambda x: max(x, 0.0) + math.log1p(math.exp(-abs(x))), "swish": lambda x: x * sigmoid(x),
        "exp": math.exp, "max": max, "sign": lambda x: float((x > 0) - (x < 0)),
        "tanh_d": lambda x: 1 - math.tanh(x) ** 2, "sigmoid_d": lambda x: sigmoid(x) * (1 - sigmoid(x)),
        "relu_d": lambda x: 1.0 if x > 0 else 0.0, "leaky_relu_d": lambda x: 1.0 if x > 0 else alpha,
        "elu_d": lambda x: 1.0 if x > 0 else alpha * math.exp(x),
        "abs_d": lambda x: float((x > 0) - (x < 0)), "linear_d": lambda x: 1.0, "softplus_d": sigmoid,
        "swish_d": lambda x: sigmoid(x) * (1 + x * (1 - sigmoid(x))), "maxout_d": lambda x: 1.0,
        "sqrt": math.sqrt,
    }


def number(text: str) -> float:
    text = text.replace("−", "-")
    if "·10" in text:
        mantissa, power = text.split("·10")
        return float(mantissa) * 10.0 ** int(power.translate(SUPERSCRIPT))
    return float(text)


def half_unit(text: str) -> float:
    """Half a unit in the last printed digit of a result ('0.28' -> 0.005, '1.23·10⁻⁴' -> 5e-7)."""
    mantissa, _, power = text.replace("−", "-").partition("·10")
    decimals = len(mantissa.partition(".")[2])
    exponent = int(power.translate(SUPERSCRIPT)) if power else 0
    return 0.5 * 10.0 ** (exponent - decimals)


def python_of(segment: str) -> str | None:
    """A printed numeric expression as Python, or None if it names symbols (w₁₁, e₁, ŷ, ...)."""
    segment = segment.rpartition("←")[2]  # 'w₁₁ ← 0.27 − …': the part after the arrow
    bare = re.sub(POWER, "", re.sub(NUMBER, "", segment)).replace("′", "")
    if set(re.findall(r"[^\W\d]+", bare)) - set(functions(0.0)) or len(re.findall(NUMBER, segment)) < 2:
        return None  # symbols, or a bare number or f(number) with nothing to combine: see below
    text = re.sub(NUMBER, lambda m: f"({number(m.group(0))!r})", segment)
    text = re.sub(r"([a-z_]+)′\(", r"\1_d(", text)
    text = re.sub(POWER, lambda m: f"**{m.group(0).translate(SUPERSCRIPT)}", text)  # 0.9³, g²
    return (text.replace("−", "-").replace("·", "*").replace("×", "*").replace("√", "sqrt")
            .replace("½", "0.5").replace("[", "(").replace("]", ")"))


def function_of_one(segment: str) -> str | None:
    """'tanh(−0.634)' or 'tanh′(0.53)': one function of one printed number, as Python."""
    match = re.fullmatch(rf"([a-z_]+)(′?)\((−?{NUMBER})\)", segment)
    name = match and f"{match.group(1)}{'_d' if match.group(2) else ''}"
    if match is None or name not in functions(0.0):
        return None
    return f"{name}({number(match.group(3))!r})"


def check_line(line: str, alpha: float) -> int:
    """Assert every clause 'a = expression = … = result' of a printed line; the number of checks made."""
    checks = 0
    for clause in re.split(r"\s*;\s+", line):
        segments = [s.strip() for s in clause.split(" = ")]
        result = segments[-1]
        if len(segments) < 2 or not RESULT.match(result):
            continue
        for segment in segments[:-1]:
            code = python_of(segment) or function_of_one(segment)
            if code is None:
                continue
            value = eval(code, {"__builtins__": {}}, functions(alpha))
            slack = half_unit(result) * (1 + 1e-9) + 1e-12 * abs(value)
            assert abs(value - number(result)) <= slack, (
                f"{segment} = {value!r}, printed {result} in: {line}")
            checks += 1
    return checks


def formula_lines(fragment: str) -> list[str]:
    """The inspector's formula lines as the student reads them."""
    lines = re.findall(r'<div class="formula-line">(.*?)</div>', fragment, flags=re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", line)) for line in lines]


def layers(activation: str, *units: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"units": n, "activation": activation, **extra} for n in units]


SETUPS: list[tuple[str, dict[str, Any], int]] = [
    # (name, session, micro-steps after 3 batches)
    ("tanh, tanh_mse, sgd, batch 10", {}, 170),
    ("relu, sigmoid_bce, momentum, batch 1",
     {"hidden": layers("relu", 3), "dataset": {"name": "xor"}, "output_unit": "sigmoid_bce",
      "optimizer": {"kind": "momentum"}, "batch_size": 1}, 40),
    ("leaky_relu α 0.1, softmax_ce, adam, batch 4",
     {"hidden": layers("leaky_relu", 4, alpha=0.1), "dataset": {"name": "blobs"}, "output_unit": "softmax_ce",
      "optimizer": {"kind": "adam", "learning_rate": 0.01}, "batch_size": 4}, 80),
    ("elu α 0.5, linear_mse, sgd η 0.1 with L2, batch 2",
     {"hidden": layers("elu", 3, 2, alpha=0.5), "dataset": {"name": "plane"}, "output_unit": "linear_mse",
      "optimizer": {"learning_rate": 0.1}, "regularization": {"kind": "l2", "rate": 0.01},
      "batch_size": 2}, 60),
    ("abs, linear_l1, adam, batch 3",
     {"hidden": layers("abs", 3), "dataset": {"name": "multi_gauss"}, "output_unit": "linear_l1",
      "optimizer": {"kind": "adam"}, "batch_size": 3}, 50),
    ("sigmoid, gaussian_nll, momentum, batch 5",
     {"hidden": layers("sigmoid", 3), "dataset": {"name": "plane"}, "output_unit": "gaussian_nll",
      "optimizer": {"kind": "momentum", "learning_rate": 0.01}, "batch_size": 5}, 70),
    ("softplus, tanh_mse, sgd η 0.3, batch 1",
     {"hidden": layers("softplus", 5), "dataset": {"name": "spiral"}, "optimizer": {"learning_rate": 0.3},
      "batch_size": 1}, 40),
    ("swish, sigmoid_bce, adam, batch 2",
     {"hidden": layers("swish", 3, 2), "dataset": {"name": "gauss"}, "output_unit": "sigmoid_bce",
      "optimizer": {"kind": "adam"}, "batch_size": 2}, 60),
    ("linear, softmax_ce, momentum, batch 1",
     {"hidden": layers("linear", 2), "dataset": {"name": "spiral_k"}, "output_unit": "softmax_ce",
      "optimizer": {"kind": "momentum"}, "batch_size": 1}, 30),
    ("leaky_relu default α, tanh_mse, sgd, batch 3",
     {"hidden": layers("leaky_relu", 3), "batch_size": 3}, 40),
    ("maxout k 3, tanh_mse, sgd, batch 2",
     {"hidden": layers("maxout", 3, pieces=3), "batch_size": 2}, 50),
    ("maxout then maxout, softmax_ce, adam, batch 3",
     {"hidden": [*layers("maxout", 2), *layers("maxout", 2, pieces=4)], "dataset": {"name": "blobs"},
      "output_unit": "softmax_ce", "optimizer": {"kind": "adam"}, "batch_size": 3}, 60),
    ("no hidden layer, gaussian_nll, sgd, batch 2",
     {"hidden": [], "dataset": {"name": "plane"}, "output_unit": "gaussian_nll", "batch_size": 2}, 20),
]


@pytest.mark.parametrize(("name", "setup", "micro_steps"), SETUPS, ids=[s[0] for s in SETUPS])
def test_every_printed_line_can_be_redone_by_hand(client: TestClient, name: str, setup: dict[str, Any],
                                                  micro_steps: int) -> None:
    response = client.post("/api/sessions", json=setup)
    assert response.status_code in (200, 201), response.text
    sid = response.json()["id"]
    hidden = setup.get("hidden", [{}])
    leaky = any(layer.get("activation") == "leaky_relu" for layer in hidden)
    alpha = next((layer["alpha"] for layer in hidden if "alpha" in layer), 0.01 if leaky else 1.0)
    for _ in range(3):  # trained a little: values away from their first draw
        assert client.post(f"/ui/{sid}/step", data={"unit": "batch"}).status_code == 200
    checks: Counter[str] = Counter()
    for _ in range(micro_steps):
        fragment = client.post(f"/ui/{sid}/step", data={"unit": "micro"}).text
        phase = re.search(r'data-phase="([a-z]*)"', fragment)
        assert phase is not None
        for line in formula_lines(fragment):
            done = check_line(line, alpha)
            checks[phase.group(1)] += done
            if phase.group(1) == "update":  # which of the optimiser's lines: 'v(w₁₁) ←', '   m̂ =', 'w₁₁ ←'
                checks[f"update {line.strip()[:2]}"] += done
    # every kind of micro-step was met and each of its lines with numbers was redone
    phases = {"forward", "error", "accumulate", "update"} | ({"backward"} if hidden else set())
    assert phases <= {phase for phase, count in checks.items() if count > 0}, checks
    # momentum's velocity, Adam's two running means and their corrections were redone too
    kind = setup.get("optimizer", {}).get("kind", "sgd")
    terms = {"sgd": set(), "momentum": {"update v("}, "adam": {"update m(", "update v(", "update m̂"}}[kind]
    assert terms <= {key for key, count in checks.items() if count > 0}, checks


def test_the_check_catches_the_sums_the_issue_reported() -> None:
    # the default setup's first step printed these: the operands give −0.61 and 0.2718
    with pytest.raises(AssertionError):
        check_line("   = 0.27·(−4.37) + (−0.46)·(−1.23) + 0.00 = −0.63", 1.0)
    with pytest.raises(AssertionError):
        check_line("w₁₁ ← 0.27 − 0.03·(−0.06) = 0.28", 1.0)
    assert check_line("w₁₁ ← 0.2700 − 0.03·(−0.0600) = 0.2718", 1.0) == 1
    assert check_line("y₁ = tanh(e₁) = tanh(−0.634) = −0.561", 1.0) == 1
    line = "δ = 1.62·0.62 = 1.00 ;  sum over 2 samples = 1.20·10⁻³ + 4.00·10⁻⁴ = 1.60·10⁻³"
    assert check_line(line, 1.0) == 2
    # Adam's lines: a power, a square root, a power of ten; one digit off in each is caught
    assert check_line("   m̂ = −0.0313/(1 − 0.9³) = −0.12 ;  v̂ = 3.0305·10⁻⁴/(1 − 0.999³) = 0.10", 1.0) == 2
    assert check_line("w₁₁ ← 0.39 − 0.03·(−0.12)/(√0.10 + 1·10⁻⁸) = 0.40", 1.0) == 1
    for wrong in ("   m̂ = −0.0313/(1 − 0.9³) = −0.13", "w₁₁ ← 0.39 − 0.03·(−0.12)/(√0.10 + 1·10⁻⁸) = 0.41",
                  "v(w₁₁) ← 0.999·2.69471·10⁻⁴ + 1·10⁻³·0.18399² = 3.0405·10⁻⁴"):
        with pytest.raises(AssertionError):
            check_line(wrong, 1.0)
