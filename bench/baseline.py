"""The plain textbook NumPy loop the engine is measured against: tanh layers, tanh output, ½(ŷ − y)²,
SGD; one NumPy expression per operation and fresh arrays every batch, no trace kept."""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def init(sizes: list[int], rng: np.random.Generator) -> tuple[list[Array], list[Array]]:
    """TF Playground's init: weights U(−0.5, 0.5) of shape (n_out, n_in), biases 0.1."""
    weights = [rng.uniform(-0.5, 0.5, (n_out, n_in)) for n_in, n_out in itertools.pairwise(sizes)]
    biases = [np.full(n_out, 0.1) for n_out in sizes[1:]]
    return weights, biases


def train_batch(weights: list[Array], biases: list[Array], X: Array, Y: Array, learning_rate: float) -> float:
    """Forward, loss, backward and the SGD update on one batch X (B, n_in), Y (B, n_out); the batch loss."""
    activations = [X]
    for W, b in zip(weights, biases, strict=True):
        z = activations[-1] @ W.T + b
        activations.append(np.tanh(z))
    prediction = activations[-1]
    error = prediction - Y
    loss = float(np.mean(0.5 * np.sum(error ** 2, axis=1)))
    delta = error * (1 - prediction ** 2)
    for layer in range(len(weights) - 1, -1, -1):
        grad_weights = delta.T @ activations[layer] / X.shape[0]
        grad_bias = np.mean(delta, axis=0)
        if layer > 0:
            delta = (delta @ weights[layer]) * (1 - activations[layer] ** 2)
        weights[layer] = weights[layer] - learning_rate * grad_weights
        biases[layer] = biases[layer] - learning_rate * grad_bias
    return loss


def layer_outputs(weights: list[Array], biases: list[Array], X: Array) -> list[Array]:
    """Every layer's activation on X (N, n_in), for the heat maps."""
    outputs = []
    values = X
    for W, b in zip(weights, biases, strict=True):
        values = np.tanh(values @ W.T + b)
        outputs.append(values)
    return outputs


def loss(weights: list[Array], biases: list[Array], X: Array, Y: Array) -> float:
    prediction = layer_outputs(weights, biases, X)[-1]
    return float(np.mean(0.5 * np.sum((prediction - Y) ** 2, axis=1)))
