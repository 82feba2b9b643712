"""Hidden-layer activations: each one's f(z) and f′(z) side by side, looked up by the course's name.

Every function takes the pre-activation `z` (any shape, float64) and returns an array of the same shape
(`f` writes into `out` when given one).
`derivative(z, y)` also receives the activation y = f(z) already computed in the forward pass, because for
tanh and sigmoid f′ is cheapest written in terms of y (1 − y², y(1 − y)).

Maxout is not an elementwise function of one z (a unit takes the largest of k linear pieces); the network
layer handles it (engine/network.py), and `derivative` here treats its chosen piece as slope 1.
Names, titles, formulas and the parameters α and k (defaults, ranges) are engine/vocabulary.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from engine import vocabulary
from engine.errors import SetupError

Array = NDArray[np.float64]

ACTIVATIONS = tuple(vocabulary.ACTIVATIONS)
# Activations whose units can die or are unbounded above: He init and a small positive bias (the course's
# advice, so that ReLU units start in their active region). The rest start with Xavier and bias 0.
RELU_FAMILY = tuple(name for name, term in vocabulary.ACTIVATIONS.items() if term.he_init)


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

    def f(self, z: Array, out: Array | None = None) -> Array: ...
    def derivative(self, z: Array, y: Array) -> Array: ...


@dataclass(frozen=True)
class Sigmoid:
    name: str = "sigmoid"

    def f(self, z: Array, out: Array | None = None) -> Array:
        return _into(sigmoid(z), out)

    def derivative(self, z: Array, y: Array) -> Array:
        return y * (1.0 - y)


@dataclass(frozen=True)
class Tanh:
    name: str = "tanh"

    def f(self, z: Array, out: Array | None = None) -> Array:
        return np.tanh(z, out=out)

    def derivative(self, z: Array, y: Array) -> Array:
        return 1.0 - y * y


@dataclass(frozen=True)
class Relu:
    name: str = "relu"

    def f(self, z: Array, out: Array | None = None) -> Array:
        return np.maximum(z, 0.0, out=out)

    def derivative(self, z: Array, y: Array) -> Array:
        return (z > 0.0).astype(np.float64)  # f′(0) = 0 by the course's convention


@dataclass(frozen=True)
class LeakyRelu:
    alpha: float = vocabulary.ALPHA_LEAKY.default
    name: str = "leaky_relu"

    def f(self, z: Array, out: Array | None = None) -> Array:
        return _into(np.where(z > 0.0, z, self.alpha * z), out)

    def derivative(self, z: Array, y: Array) -> Array:
        return np.where(z > 0.0, 1.0, self.alpha)


@dataclass(frozen=True)
class Elu:
    alpha: float = vocabulary.ALPHA_ELU.default
    name: str = "elu"

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

    def f(self, z: Array, out: Array | None = None) -> Array:
        return np.abs(z, out=out)

    def derivative(self, z: Array, y: Array) -> Array:
        return np.sign(z)


@dataclass(frozen=True)
class Linear:
    name: str = "linear"

    def f(self, z: Array, out: Array | None = None) -> Array:
        return z.copy() if out is None else _into(z, out)

    def derivative(self, z: Array, y: Array) -> Array:
        return np.ones_like(z)


@dataclass(frozen=True)
class Softplus:
    name: str = "softplus"

    def f(self, z: Array, out: Array | None = None) -> Array:
        return _into(softplus(z), out)

    def derivative(self, z: Array, y: Array) -> Array:
        return sigmoid(z)


@dataclass(frozen=True)
class Swish:
    name: str = "swish"

    def f(self, z: Array, out: Array | None = None) -> Array:
        return np.multiply(z, sigmoid(z), out=out)

    def derivative(self, z: Array, y: Array) -> Array:
        s = sigmoid(z)
        return s * (1.0 + z * (1.0 - s))


@dataclass(frozen=True)
class Maxout:
    """A unit's output is its largest piece; the chosen piece passes the gradient with slope 1."""

    pieces: int = int(vocabulary.PIECES.default)
    name: str = "maxout"

    def f(self, z: Array, out: Array | None = None) -> Array:
        """z: the chosen piece's value (B, n) -> itself (the max is taken by the layer)."""
        return z.copy() if out is None else _into(z, out)

    def derivative(self, z: Array, y: Array) -> Array:
        return np.ones_like(z)


def get(name: str, alpha: float | None = None, pieces: int = 2) -> Activation:
    """The activation called `name`; `alpha` for leaky_relu / elu (None = its default), `pieces` for
    maxout. ValueError naming the field when the name or a parameter is outside vocabulary's range."""
    if name not in vocabulary.ACTIVATIONS:
        raise SetupError("activation", "must be one of {names}", names=", ".join(ACTIVATIONS))
    if name == "leaky_relu":
        return LeakyRelu(_parameter(vocabulary.ALPHA_LEAKY, alpha, name))
    if name == "elu":
        return Elu(_parameter(vocabulary.ALPHA_ELU, alpha, name))
    if name == "maxout":
        return Maxout(int(_parameter(vocabulary.PIECES, pieces, name)))
    simple: dict[str, type[Sigmoid | Tanh | Relu | Abs | Linear | Softplus | Swish]] = {
        "sigmoid": Sigmoid, "tanh": Tanh, "relu": Relu, "abs": Abs, "linear": Linear,
        "softplus": Softplus, "swish": Swish,
    }
    return simple[name]()


def _parameter(parameter: vocabulary.Parameter, value: float | None, activation: str) -> float:
    """`value` checked against `parameter`'s range, or its default when None."""
    return parameter.default if value is None else parameter.check(float(value), activation)
