"""The lecture's names for the network's units: x₁, x₂ for inputs, y₁, y₂, … through the layers, ŷ (or μ, σ²)
for the outputs. The drawing, the inspector and the hover texts all name a unit through here."""

from __future__ import annotations

from collections.abc import Sequence

from engine.features import FEATURE_LABELS

SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def subscript(number: int) -> str:
    """12 -> '₁₂' (the lecture numbers neurons with subscripts)."""
    return str(number).translate(SUBSCRIPT)


def output_names(n_outputs: int, output_unit: str | None = None) -> list[str]:
    """The output units' names: ŷ for one, ŷ₁, ŷ₂, … for several; a Gaussian output's 2d units are the
    means then the variances (μ, σ² for one target; μ₁…μ_d, σ₁²…σ_d² for d)."""
    if output_unit == "gaussian_nll" and n_outputs % 2 == 0:
        d = n_outputs // 2
        if d == 1:
            return ["μ", "σ²"]
        return [f"μ{subscript(k + 1)}" for k in range(d)] + [f"σ{subscript(k + 1)}²" for k in range(d)]
    return ["ŷ"] if n_outputs == 1 else [f"ŷ{subscript(unit + 1)}" for unit in range(n_outputs)]


def neuron_labels(sizes: Sequence[int], features: Sequence[str] = (),
                  output_unit: str | None = None) -> dict[str, str]:
    """Lecture names per node id: inputs by feature, neurons numbered 1, 2, … through the layers.

    The output is called ŷ when there is one output unit, ŷ₁, ŷ₂, … otherwise (μ and σ² for a
    Gaussian output, see output_names).
    """
    labels: dict[str, str] = {}
    for i in range(sizes[0]):
        name = features[i] if i < len(features) else f"x{i + 1}"
        labels[f"n0_{i}"] = FEATURE_LABELS.get(name, name)
    number = 0
    last = len(sizes) - 1
    outputs = output_names(sizes[last], output_unit)
    for layer in range(1, len(sizes)):
        for unit in range(sizes[layer]):
            number += 1
            if layer == last:
                labels[f"n{layer}_{unit}"] = outputs[unit]
            else:
                labels[f"n{layer}_{unit}"] = f"y{subscript(number)}"
    return labels


def neuron_numbers(sizes: Sequence[int]) -> dict[str, int]:
    """node id -> the lecture's global neuron number (1-based, inputs excluded)."""
    numbers: dict[str, int] = {}
    number = 0
    for layer in range(1, len(sizes)):
        for unit in range(sizes[layer]):
            number += 1
            numbers[f"n{layer}_{unit}"] = number
    return numbers
