"""The vocabulary has one source (engine/vocabulary.py): the engine implements exactly its names, the
API's enums equal them, and the page's option lists, titles and tooltips are rendered from it."""

from __future__ import annotations

import re
from html import unescape
from typing import Any, get_args

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import schemas
from engine import activations, data, features, network, optim, outputs, run_config, vocabulary

LITERALS = [
    (schemas.Activation, vocabulary.ACTIVATIONS),
    (schemas.OutputUnit, vocabulary.OUTPUT_UNITS),
    (schemas.Feature, vocabulary.FEATURES),
    (schemas.Init, vocabulary.INITS),
    (schemas.StepUnit, vocabulary.STEP_UNITS),
    (schemas.ScheduleKind, vocabulary.SCHEDULES),
    (schemas.OptimizerKind, vocabulary.OPTIMIZERS),
    (schemas.RegularizationKind, vocabulary.REGULARIZATIONS),
    (run_config.Unit, vocabulary.STEP_UNITS),
]


@pytest.mark.parametrize(("literal", "registry"), LITERALS, ids=lambda x: getattr(x, "__name__", ""))
def test_each_api_enum_equals_its_registry_in_order(literal: Any, registry: dict[str, Any]) -> None:
    assert get_args(literal) == tuple(registry)


def test_the_dataset_enum_is_the_registry_plus_custom_data() -> None:
    assert get_args(schemas.DatasetName) == (*vocabulary.DATASETS, vocabulary.CUSTOM_DATASET)


def test_the_openapi_offers_exactly_the_registry_names(client: TestClient) -> None:
    components = client.get("/openapi.json").json()["components"]["schemas"]
    layer = components["LayerSpec"]["properties"]
    assert layer["activation"]["enum"] == list(vocabulary.ACTIVATIONS)
    assert components["SessionCreate"]["properties"]["output_unit"]["enum"] == list(vocabulary.OUTPUT_UNITS)


def test_the_engine_implements_every_name_and_no_other() -> None:
    assert tuple(vocabulary.ACTIVATIONS) == activations.ACTIVATIONS
    for name in vocabulary.ACTIVATIONS:
        assert activations.get(name).name == name
    assert tuple(vocabulary.OUTPUT_UNITS) == outputs.OUTPUT_UNITS
    for name in vocabulary.OUTPUT_UNITS:
        assert outputs.get(name).name == name
    assert tuple(vocabulary.FEATURES) == features.FEATURES and tuple(vocabulary.INITS) == network.INITS
    assert tuple(vocabulary.DATASETS) == data.DATASETS and tuple(vocabulary.STEP_UNITS) == run_config.UNITS
    for kind in vocabulary.SCHEDULES:
        optim.Schedule(kind=kind)  # type: ignore[arg-type]
    for kind in vocabulary.OPTIMIZERS:
        optim.OptimizerConfig(kind=kind)  # type: ignore[arg-type]
    for kind in vocabulary.REGULARIZATIONS:
        optim.Regularization(kind=kind)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="activation"):
        activations.get("gelu")
    with pytest.raises(ValueError, match="output_unit"):
        outputs.get("hinge")


def test_parameter_defaults_are_what_the_engine_builds() -> None:
    z = np.array([-2.0])
    leaky, elu = vocabulary.ALPHA_LEAKY.default, vocabulary.ALPHA_ELU.default
    assert activations.get("leaky_relu").f(z)[0] == pytest.approx(-2.0 * leaky)
    assert activations.get("elu").f(z)[0] == pytest.approx(elu * (np.exp(-2.0) - 1.0))
    maxout = activations.get("maxout")
    assert isinstance(maxout, activations.Maxout) and maxout.pieces == vocabulary.PIECES.default


@pytest.mark.parametrize(("name", "value"), [("leaky_relu", 1.5), ("leaky_relu", -0.1), ("elu", 11.0)])
def test_an_alpha_outside_its_activations_range_is_refused_in_words(name: str, value: float) -> None:
    parameter = vocabulary.ACTIVATIONS[name].parameters[0]
    with pytest.raises(ValueError) as refused:
        activations.get(name, alpha=value)
    message = str(refused.value)
    assert message.startswith("alpha: ") and vocabulary.ACTIVATIONS[name].title in message
    assert f"from {parameter.low:g} to {parameter.high:g}" in message


def test_a_pieces_count_outside_maxouts_range_is_refused_in_words() -> None:
    with pytest.raises(ValueError, match=r"pieces: maxout's k .* is a whole number from 2 to 4"):
        activations.get("maxout", pieces=5)
    assert activations.get("maxout", pieces=4).pieces == 4  # type: ignore[attr-defined]


def test_leaky_relus_formula_holds_over_its_whole_alpha_range() -> None:
    """f(z) = max(αz, z) is what the page prints; it is the implementation only for α ≤ 1 (the range)."""
    z = np.linspace(-3.0, 3.0, 61)
    for alpha in np.linspace(vocabulary.ALPHA_LEAKY.low, vocabulary.ALPHA_LEAKY.high, 11):
        assert np.array_equal(activations.get("leaky_relu", float(alpha)).f(z), np.maximum(alpha * z, z))


def test_output_units_fit_exactly_the_datasets_the_engine_builds_targets_for() -> None:
    for name in vocabulary.OUTPUT_UNITS:
        for dataset_name in vocabulary.DATASETS:
            dataset = data.make_dataset(data.DataConfig(name=dataset_name, n_samples=40))
            try:
                data.n_targets_for(dataset, name)
                fits = True
            except ValueError:
                fits = False
            assert fits == (dataset_name in vocabulary.datasets_fitting(name)), (name, dataset_name)


def test_probabilities_are_the_output_units_whose_every_output_lies_in_zero_one() -> None:
    z = np.array([[-30.0], [-0.5], [0.0], [3.0], [30.0]])
    for name, term in vocabulary.OUTPUT_UNITS.items():
        unit = outputs.get(name)
        pre_activation = np.hstack([z, -z]) if name in ("softmax_ce", "gaussian_nll") else z
        prediction = unit.predict(pre_activation)
        assert term.probabilities == bool(np.all((prediction >= 0.0) & (prediction <= 1.0))), name


def _options(html: str, select: str) -> list[tuple[str, str, str]]:
    """(value, title attribute, text) of each option of the select named `select`, in order."""
    block = re.search(rf'<select[^>]*name="{select}"[^>]*>(.*?)</select>', html, re.S)
    assert block, select
    found = []
    for attributes, text in re.findall(r"<option([^>]*)>(.*?)</option>", block.group(1), re.S):
        value = re.search(r'value="([^"]*)"', attributes)
        title = re.search(r'title="([^"]*)"', attributes)
        found.append((value.group(1) if value else "", unescape(title.group(1)) if title else "",
                      unescape(text.strip())))
    return found


def test_the_pages_option_lists_titles_and_tooltips_come_from_the_registries(client: TestClient) -> None:
    html = client.get("/").text
    assert _options(html, "activation") == [
        (name, f"{term.formula},  {term.derivative}", term.title)
        for name, term in vocabulary.ACTIVATIONS.items()
    ]
    assert [(v, text) for v, _, text in _options(html, "output_unit")] == [
        (name, term.title) for name, term in vocabulary.OUTPUT_UNITS.items()
    ]
    shown = {v: title for v, title, _ in _options(html, "output_unit")}
    assert shown["tanh_mse"] == vocabulary.OUTPUT_UNITS["tanh_mse"].formula  # the selected unit's formula
    for select, registry in [("unit", vocabulary.STEP_UNITS), ("schedule", vocabulary.SCHEDULES),
                             ("optimizer", vocabulary.OPTIMIZERS),
                             ("regularization", vocabulary.REGULARIZATIONS)]:
        assert _options(html, select) == [(t.name, t.hint, t.title) for t in registry.values()], select
    for term in vocabulary.DATASETS.values():
        assert f'title="{term.hint}"' in unescape(html) and f'value="{term.name}"' in html
    for term in vocabulary.FEATURES.values():
        assert term.title in html


def test_the_titles_are_the_lectures_words() -> None:
    assert vocabulary.ACTIVATIONS["leaky_relu"].title == "leaky ReLU"
    assert vocabulary.ACTIVATIONS["leaky_relu"].formula == "f(z) = max(αz, z)"
    assert vocabulary.OUTPUT_UNITS["tanh_mse"].title == "tanh + squared error"
    for term in (*vocabulary.ACTIVATIONS.values(), *vocabulary.OUTPUT_UNITS.values()):
        assert "_" not in term.title  # a code name is not a title
