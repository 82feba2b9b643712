"""Hidden-layer activations: each one's f(z) and f′(z) side by side, looked up by the course's name.

Every function takes the pre-activation `z` (any shape, float64) and returns an array of the same shape
(`f` writes into `out` when given one).
`derivative(z, y)` also receives the activation y = f(z) already computed in the forward pass, because for
tanh and sigmoid f′ is cheapest written in terms of y (1 − y², y(1 − y)).

Maxout is not an elementwise function of one z (a unit takes the largest of k linear pieces); the network
layer handles it (engine/network.py), and `derivative` here treats its chosen piece as slope 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from engine.errors import SetupError

Array = NDArray[np.float64]

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "abs", "linear", "softplus", "swish", "maxout")
DEFAULT_ALPHA = {"leaky_relu": 0.01, "elu": 1.0}
# Activations whose units can die or are unbounded above: He init and a small positive bias (the course's
# advice, so that ReLU units start in their active region). The rest start with Xavier and bias 0.
RELU_FAMILY = ("relu", "leaky_relu", "elu", "abs", "swish", "maxout")


def sigmoid(z: Array) -> Array:
    """σ(z) = 1 / (1 + e^(−z)), without overflow for large |z|: e^(−|z|) never exceeds 1."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(z: Array) -> Array:
    """log(1 + e^z) = max(z, 0) + log1p(e^(−|z|)), finite for every finite z."""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def _into(values: Array, out: Array | None) -> Array:
    """`values`, written into `out` when the caller supplied a buffer."""
    if out is None:
        return values
    out[...] = values
    return out


class Activation(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def formula(self) -> str: ...

    def f(self, z: Array, out: Array | None = None) -> Array: ...
    def derivative(self, z: Array, y: Array) -> Array: ...


@dataclass(frozen=True)
class Sigmoid:
    name: str = "sigmoid"
    formula: str = "f(e) = 1 / (1 + e^(−e)),  f′ = f·(1 − f)"

    def f(self, z: Array, out: Array | None = None) -> Array:
        return _into(sigmoid(z), out)

    def derivative(self, z: Array, y: Array) -> Array:
        return y * (1.0 - y)


@dataclass(frozen=True)
class Tanh:
    name: str = "tanh"
    formula: str = "f(e) = tanh e,  f′ = 1 − f²"

    def f(self, z: Array, out: Array | None = None) -> Array:
        return np.tanh(z, out=out)

    def derivative(self, z: Array, y: Array) -> Array:
        return 1.0 - y * y


@dataclass(frozen=True)
class Relu:
    name: str = "relu"
    formula: str = "f(e) = max(0, e),  f′ = 1 if e > 0 else 0"

    def f(self, z: Array, out: Array | None = None) -> Array:
        return np.maximum(z, 0.0, out=out)

    def derivative(self, z: Array, y: Array) -> Array:
        return (z > 0.0).astype(np.float64)  # f′(0) = 0 by the course's convention


@dataclass(frozen=True)
class LeakyRelu:
    alpha: float = 0.01
    name: str = "leaky_relu"
    formula: str = "f(e) = e if e > 0 else α·e,  f′ = 1 or α"

    def f(self, z: Array, out: Array | None = None) -> Array:
        return _into(np.where(z > 0.0, z, self.alpha * z), out)

    def derivative(self, z: Array, y: Array) -> Array:
        return np.where(z > 0.0, 1.0, self.alpha)


@dataclass(frozen=True)
class Elu:
    alpha: float = 1.0
    name: str = "elu"
    formula: str = "f(e) = e if e > 0 else α(eᵉ − 1),  f′ = 1 or α·eᵉ"

    def f(self, z: Array, out: Array | None = None) -> Array:
        # expm1 of min(z, 0) keeps the unused branch from overflowing for large positive z
        return _into(np.where(z > 0.0, z, self.alpha * np.expm1(np.minimum(z, 0.0))), out)

    def derivative(self, z: Array, y: Array) -> Array:
        # α·e^z, not f + α: for z ≪ 0 f is −α + α·e^z, and adding α back cancels every digit of α·e^z
        # (relative error about 1e-16·e^|z|, all of it at z = −40); min(z, 0) keeps e^z finite for z ≫ 0
        return np.where(z > 0.0, 1.0, self.alpha * np.exp(np.minimum(z, 0.0)))


@dataclass(frozen=True)
class Abs:
    name: str = "abs"
    formula: str = "f(e) = |e|,  f′ = sign e (0 at 0)"

    def f(self, z: Array, out: Array | None = None) -> Array:
        return np.abs(z, out=out)

    def derivative(self, z: Array, y: Array) -> Array:
        return np.sign(z)


@dataclass(frozen=True)
class Linear:
    name: str = "linear"
    formula: str = "f(e) = e,  f′ = 1"

    def f(self, z: Array, out: Array | None = None) -> Array:
        return z.copy() if out is None else _into(z, out)

    def derivative(self, z: Array, y: Array) -> Array:
        return np.ones_like(z)


@dataclass(frozen=True)
class Softplus:
    name: str = "softplus"
    formula: str = "f(e) = log(1 + eᵉ),  f′ = σ(e)"

    def f(self, z: Array, out: Array | None = None) -> Array:
        return _into(softplus(z), out)

    def derivative(self, z: Array, y: Array) -> Array:
        return sigmoid(z)


@dataclass(frozen=True)
class Swish:
    name: str = "swish"
    formula: str = "f(e) = e·σ(e),  f′ = σ(e)·(1 + e·(1 − σ(e)))"

    def f(self, z: Array, out: Array | None = None) -> Array:
        return np.multiply(z, sigmoid(z), out=out)

    def derivative(self, z: Array, y: Array) -> Array:
        s = sigmoid(z)
        return s * (1.0 + z * (1.0 - s))


@dataclass(frozen=True)
class Maxout:
    """A unit's output is its largest piece; the chosen piece passes the gradient with slope 1."""

    pieces: int = 2
    name: str = "maxout"
    formula: str = "f = max_k (w_k·x + b_k),  ∂f/∂(chosen piece) = 1"

    def f(self, z: Array, out: Array | None = None) -> Array:
        """z: the chosen piece's value (B, n) -> itself (the max is taken by the layer)."""
        return z.copy() if out is None else _into(z, out)

    def derivative(self, z: Array, y: Array) -> Array:
        return np.ones_like(z)


def get(name: str, alpha: float | None = None, pieces: int = 2) -> Activation:
    """The activation called `name`; `alpha` for leaky_relu / elu (None = default), `pieces` for maxout."""
    if name == "leaky_relu":
        return LeakyRelu(DEFAULT_ALPHA[name] if alpha is None else float(alpha))
    if name == "elu":
        return Elu(DEFAULT_ALPHA[name] if alpha is None else float(alpha))
    if name == "maxout":
        if not 2 <= pieces <= 4:
            raise SetupError("pieces", "maxout needs 2..4 pieces per unit")
        return Maxout(pieces)
    simple: dict[str, type[Sigmoid | Tanh | Relu | Abs | Linear | Softplus | Swish]] = {
        "sigmoid": Sigmoid, "tanh": Tanh, "relu": Relu, "abs": Abs, "linear": Linear,
        "softplus": Softplus, "swish": Swish,
    }
    if name not in simple:
        raise SetupError("activation", f"must be one of {', '.join(ACTIVATIONS)}")
    return simple[name]()
