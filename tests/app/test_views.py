"""The page's view helpers: SVG layout ids and geometry, lecture names, number printing, URL setup."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import parse_qsl

import pytest

from app.inspector import MINUS, factor, fmt
from app.inspector_text import neuron_labels, neuron_numbers
from app.layout import network_layout
from app.schemas import LayerSpec, SessionCreate
from app.urlstate import setup_from_query, setup_query
from app.views import current_graph_url


def test_layout_has_every_stable_id_of_the_frame_contract_including_the_output_bias() -> None:
    layout = network_layout([2, 3, 2, 1], ["x1", "x2"])
    node_ids = {n.id for n in layout.nodes}
    assert node_ids == {"n0_0", "n0_1", "n1_0", "n1_1", "n1_2", "n2_0", "n2_1", "n3_0"}
    link_ids = {k.id for k in layout.links}
    assert len(link_ids) == 2 * 3 + 3 * 2 + 2 * 1
    assert "w1_2_1" in link_ids and "w3_0_1" in link_ids and "w1_0_2" not in link_ids
    assert {b.id for b in layout.biases} == {"b1_0", "b1_1", "b1_2", "b2_0", "b2_1", "b3_0"}


def test_links_run_from_the_source_nodes_right_edge_to_the_targets_left_edge() -> None:
    layout = network_layout([2, 3, 1])
    nodes = {n.id: n for n in layout.nodes}
    link = next(k for k in layout.links if k.id == "w1_2_0")
    start, *_, end = link.d.replace("M", "").replace("C", "").split()
    half = layout.node_size / 2
    source, target = nodes["n0_0"], nodes["n1_2"]
    assert [float(v) for v in start.split(",")] == pytest.approx([source.x + half, source.y], abs=0.1)
    assert [float(v) for v in end.split(",")] == pytest.approx([target.x - half, target.y], abs=0.1)


def test_a_sixteen_unit_layer_fits_without_overlapping_nodes() -> None:
    layout = network_layout([7, 16, 16, 16, 16, 16, 16, 1])
    column = sorted(n.y for n in layout.nodes if n.layer == 3)
    gaps = [b - a for a, b in itertools.pairwise(column)]
    assert min(gaps) >= layout.node_size
    assert column[0] - layout.node_size / 2 >= 0 and column[-1] + layout.node_size / 2 <= layout.height


def test_neurons_are_numbered_through_the_layers_as_in_the_lecture() -> None:
    labels = neuron_labels([2, 3, 2, 1], ["x1", "sin_x2"])
    assert labels["n0_1"] == "sin x₂"
    assert [labels[f"n1_{j}"] for j in range(3)] == ["y₁", "y₂", "y₃"]
    assert [labels[f"n2_{j}"] for j in range(2)] == ["y₄", "y₅"]
    assert labels["n3_0"] == "ŷ"
    assert neuron_numbers([2, 3, 2, 1])["n2_1"] == 5
    assert neuron_labels([2, 3])["n1_2"] == "ŷ₃"  # several outputs are numbered


def test_a_network_without_an_output_layer_is_refused() -> None:
    with pytest.raises(ValueError, match="output"):
        network_layout([2])


def test_numbers_print_with_a_real_minus_and_negative_factors_in_parentheses() -> None:
    assert fmt(-1.304) == f"{MINUS}1.30"
    assert factor(-0.17) == f"({MINUS}0.17)"
    assert factor(0.42) == "0.42"
    assert fmt(-0.0001) != "0.00" and fmt(-0.0001).startswith(MINUS)  # a tiny gradient is not shown as 0
    assert fmt(-0.0) == "0.00"
    assert fmt(float("nan")) == "overflow"


def test_the_url_setup_round_trips_to_the_same_config() -> None:
    config = SessionCreate.model_validate({
        "hidden": [LayerSpec(units=8, activation="relu"), LayerSpec(units=3, activation="sigmoid")],
        "dataset": {"name": "spiral", "noise": 0.15, "train_fraction": 0.7, "seed": 4},
        "features": ["x1", "x2", "sin_x1"], "output_unit": "sigmoid_bce",
        "optimizer": {"kind": "adam", "learning_rate": 0.003, "schedule": {"kind": "exponential"}},
        "regularization": {"kind": "l2", "rate": 0.001}, "batch_size": 1, "seed": 9,
    })
    parsed, error = setup_from_query(dict(parse_qsl(setup_query(config))))
    assert error is None
    assert parsed == config


def test_an_invalid_url_setup_names_its_query_key_and_the_bound_in_words() -> None:
    parsed, error = setup_from_query({"data": "spiral", "lr": "-3"})
    assert parsed == SessionCreate()
    assert error is not None and "learning_rate: must be more than 0" in error and "lr=-3" in error


def test_a_huge_loss_prints_short_so_the_output_column_keeps_its_width() -> None:
    from engine.printed import loss

    assert loss(7.229e47) == "7.23·10⁴⁷"
    assert loss(-1234.5) == f"{MINUS}1.23·10³"
    assert loss(0.4567) == "0.457"
    assert loss(-0.1042) == f"{MINUS}0.104" and loss(-0.0001) == "0.000"
    assert loss(None) == "—"


def test_eta_keeps_its_significant_digits_and_ticks_are_round() -> None:
    from engine.printed import rate, tick

    assert rate(0.03) == "0.03" and rate(3.0) == "3" and rate(1.5) == "1.5"
    assert rate(0.0123456) == "0.0123"  # a schedule's η between the offered values keeps 3 digits
    assert rate(0.00001) == "1·10⁻⁵" and rate(0.0006) == "6·10⁻⁴"  # not 0.00 at 2 decimals
    assert rate(None) == "—" and rate(0.0) == "0"
    ticks = [tick(v) for v in (0, 250, 0.02, 2.5, 1e-4, 25000)]
    assert ticks == ["0", "250", "0.02", "2.5", "1·10⁻⁴", "2.5·10⁴"]


def _roles(view: Any) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for line in view.lines:
        for token in line.tokens:
            if token.role is not None:
                found.setdefault(token.role, []).append(token.value)
    return found


def test_the_inspector_prints_each_events_own_terms() -> None:
    """Every number the inspector prints for a phase is that event's term (never recomputed)."""
    from app.views import inspector_context
    from engine.network import LayerConfig
    from engine.stepper import Run, RunConfig

    run = Run(RunConfig(hidden=(LayerConfig(3), LayerConfig(2)), batch_size=1))
    phases = []
    while True:
        run.step("micro")
        event, view = run.current_event, inspector_context(run)["inspector"]
        assert event is not None
        terms, roles = event.terms, _roles(view)
        phases.append(event.kind)
        if event.kind == "forward":
            assert roles["weight"] == terms["weights"] and roles["input"] == terms["inputs"]
            assert roles["pre_activation"] == [terms["pre_activation"]]
            assert view.graph_link
            url = current_graph_url(run)
            assert url is not None and url.startswith("/graph?expression=")
        elif event.kind == "error":
            assert roles["delta"] == terms["delta"] and roles["target"] == terms["target"]
        elif event.kind == "backward":
            assert roles["delta"] == [terms["delta"]] and terms["derivative"] in roles["derivative"]
            assert roles["down_weight"] == terms["down_weights"]
        elif event.kind == "update":
            assert roles["new_weight"] == terms["new_weights"] and roles["new_bias"] == [terms["new_bias"]]
            assert roles["learning_rate"] == [terms["learning_rate"]] * (len(terms["new_weights"]) + 1)
        if run.cursor is None:
            break
    assert phases == ["forward"] * 6 + ["error"] + ["backward"] * 5 + ["accumulate"] + ["update"] * 6


def test_a_maxout_network_with_adam_and_softmax_inspects_every_phase_without_a_graph_link() -> None:
    from app.views import inspector_context
    from engine.data import DataConfig
    from engine.network import LayerConfig
    from engine.optim import OptimizerConfig
    from engine.stepper import Run, RunConfig

    run = Run(RunConfig(dataset=DataConfig(name="blobs"), hidden=(LayerConfig(3, "maxout", pieces=3),),
                        output_unit="softmax_ce", batch_size=2, optimizer=OptimizerConfig(kind="adam")))
    seen = set()
    while True:
        run.step("micro")
        view = inspector_context(run)["inspector"]
        seen.add(view.phase)
        text = " ".join(token.text for line in view.lines for token in line.tokens)
        assert "nan" not in text.lower() and "overflow" not in text
        if view.phase == "forward" and view.focus is not None and view.focus[0] == 1:
            assert not view.graph_link and current_graph_url(run) is None  # maxout: not one expression
        if view.phase == "update":
            roles = _roles(view)  # Adam's step is η·m̂/(√v̂ + ε), from its running means, not η·∂L/∂w
            assert {"new_m_weight", "new_v_weight", "m_hat_weight", "v_hat_weight"} <= set(roles)
        if run.cursor is None:
            break
    assert seen == {"forward", "error", "backward", "accumulate", "update"}


def test_a_small_update_prints_enough_decimals_to_show_the_weight_moved() -> None:
    from app.inspector import distinct_decimals

    decimals = distinct_decimals(0.69, 0.690012)
    assert decimals == 5 and fmt(0.69, decimals) != fmt(0.690012, decimals)
    assert distinct_decimals(0.5, 0.75) == 2
    assert distinct_decimals(0.3, 0.3) == 2


def test_feature_thumbnails_are_the_engines_grid_values_scaled_by_their_peak() -> None:
    """views only formats: each thumbnail is engine.features.grid_values divided by its largest |value|,
    as bytes, row 0 at ymin (x₂ grows down the rows, x₁ along them)."""
    import base64

    import numpy as np

    from app.views import FEATURE_MAP_RES, feature_maps
    from engine.features import grid_values

    extent = (-6.0, 6.0, -5.0, 5.0)
    grids = grid_values(extent, FEATURE_MAP_RES, ("x1", "x2_sq"))
    assert grids.shape == (2, FEATURE_MAP_RES, FEATURE_MAP_RES)
    assert grids[0][0, 0] == -6.0 and grids[0][0, -1] == 6.0  # x₁ along a row, corners included
    assert grids[1][0, 0] == 25.0 and grids[1][-1, 0] == 25.0  # x₂² at ymin and ymax
    maps = feature_maps(extent, ["x2_sq", "x1"])
    x1 = np.frombuffer(base64.b64decode(maps["x1"]), dtype=np.uint8).reshape(FEATURE_MAP_RES, -1)
    assert x1[0, 0] == 0 and x1[0, -1] == 255  # −peak and +peak
    sq = np.frombuffer(base64.b64decode(maps["x2_sq"]), dtype=np.uint8).reshape(FEATURE_MAP_RES, -1)
    expected = np.rint((grids[1] / 25.0 + 1.0) * 127.5).astype(np.uint8)
    assert np.array_equal(sq, expected)
