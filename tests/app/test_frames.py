"""Animation frames: the contract's keys and SVG ids, size, no NaN, 4 significant digits, heat maps."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app import frames
from app.inspector_text import layer_sizes
from app.layout import network_layout
from app.sessions import SessionManager
from engine.data import DataConfig
from engine.network import LayerConfig
from engine.optim import OptimizerConfig
from engine.stepper import Run, RunConfig
from tests.clock import ManualClock, other_tasks, run_on_clock

FRAME_KEYS = {"id", "epoch", "batch", "sample", "phase", "focus", "act", "delta", "w", "b", "g", "loss",
              "acc", "chart", "diverged", "divergence", "can_back", "maps", "lr", "lr_text", "updates",
              "point"}


def numbers(tree: Any) -> list[float]:
    """Every number in a JSON tree (bools excluded)."""
    if isinstance(tree, bool) or tree is None or isinstance(tree, str):
        return []
    if isinstance(tree, int | float):
        return [float(tree)]
    if isinstance(tree, dict):
        return [x for value in tree.values() for x in numbers(value)]
    return [x for value in tree for x in numbers(value)]


def frames_through_one_batch(run: Run) -> list[dict[str, Any]]:
    """A frame after every micro-step of the next batch (every phase appears)."""
    seen = [frames.build_frame(run)]
    start = run.updates
    while run.updates == start:
        run.step("micro")
        seen.append(frames.build_frame(run))
    return seen


def test_default_frame_has_the_contract_keys_and_the_page_svg_ids() -> None:
    run = Run(RunConfig())
    run.step("batch", 2)
    layout = network_layout(layer_sizes(run.config, run.network.n_outputs))
    batch = frames_through_one_batch(run)
    ids = [frame["id"] for frame in batch]
    assert ids == sorted(set(ids)) and ids[-1] == run.step_id  # event ids = step_id, strictly growing
    for frame in batch:
        assert set(frame) == FRAME_KEYS
        # Every SVG id the page draws has its value in the frame, and the frame has nothing extra.
        assert [len(layer) for layer in frame["act"]] == [2, 4, 2, 1]
        node_ids = {f"n{layer}_{unit}" for layer, values in enumerate(frame["act"])
                    for unit in range(len(values))}
        link_ids = {f"w{layer}_{unit}_{source}" for layer, rows in enumerate(frame["w"])
                    for unit, row in enumerate(rows) for source in range(len(row))}
        bias_ids = {f"b{layer}_{unit}" for layer, values in enumerate(frame["b"])
                    for unit in range(len(values))}
        assert node_ids == {node.id for node in layout.nodes}
        assert link_ids == {link.id for link in layout.links}
        assert bias_ids == {bias.id for bias in layout.biases}
    phases = [f["phase"] for f in frames_through_one_batch(run)]
    assert {"forward", "error", "backward", "accumulate", "update"} <= set(phases)


def test_frame_follows_the_focus_and_carries_deltas_and_gradients_only_when_they_exist() -> None:
    run = Run(RunConfig())
    for frame in frames_through_one_batch(run)[1:]:
        phase = frame["phase"]
        assert frame["focus"] is not None and frame["focus"]["layer"] >= 1
        assert (frame["delta"] is None) == (phase == "forward")
        assert (frame["g"] is None) == (phase in ("forward", "error"))
        if frame["g"] is not None:
            assert [np.shape(layer) for layer in frame["g"][1:]] == [np.shape(w) for w in frame["w"][1:]]
    assert frames.build_frame(run)["w"][1] == frames.r4(run.network.layers[0].weights)


@pytest.mark.parametrize(("hidden", "limit"), [((LayerConfig(4), LayerConfig(2)), 2048),
                                               (tuple(LayerConfig(8) for _ in range(6)), 8192)])
def test_frames_without_maps_stay_within_the_size_targets(
    hidden: tuple[LayerConfig, ...], limit: int
) -> None:
    """Issue 6's targets: ≤ 2 KB for [2,4,2,1], ≤ 8 KB for [2,8×6,1], in every phase of a batch."""
    run = Run(RunConfig(hidden=hidden))
    run.step("batch", 5)
    sizes = [len(json.dumps(f, separators=(",", ":"), allow_nan=False))
             for f in frames_through_one_batch(run)]
    assert max(sizes) <= limit


def test_numbers_have_at_most_four_significant_digits() -> None:
    run = Run(RunConfig(hidden=(LayerConfig(5, "relu"), LayerConfig(3, "sigmoid"))))
    run.step("batch", 4)
    values = [x for f in frames_through_one_batch(run) for x in numbers(f)]
    values += numbers(frames.build_maps(run)["extent"])
    assert len(values) > 100
    for value in values:
        assert value == float(f"{value:.4g}")


@pytest.mark.parametrize("output_unit", ["linear_mse", "tanh_mse"])
def test_a_diverging_run_never_puts_nan_or_inf_in_a_frame(output_unit: str) -> None:
    config = RunConfig(output_unit=output_unit, hidden=(LayerConfig(8, "relu"), LayerConfig(8, "relu")),
                       optimizer=OptimizerConfig(learning_rate=10.0))
    run = Run(config)
    texts = []
    for _ in range(40):
        run.step("batch", 5)
        texts.append(json.dumps(frames.build_frame(run), allow_nan=False))
        texts.append(json.dumps(frames.build_maps(run), allow_nan=False))
        if run.diverged is not None:
            break
    if output_unit == "linear_mse":  # unbounded outputs at learning rate 10 blow up within a few batches
        assert run.diverged is not None
        frame = frames.build_frame(run)
        assert frame["diverged"] == run.diverged.message and "diverged" in frame["diverged"]
        assert all(math.isfinite(x) for x in numbers(frame))


def decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8)


def test_maps_cover_every_hidden_neuron_and_the_binary_boundary() -> None:
    run = Run(RunConfig(dataset=DataConfig(name="gauss")))
    run.step("epoch", 5)
    maps = frames.build_maps(run)
    assert maps["classes"] is None  # one tanh output: `out` alone is the boundary
    assert set(maps["nodes"]) == {"n1_0", "n1_1", "n1_2", "n1_3", "n2_0", "n2_1"}
    assert all(decode(m).size == maps["node_res"] ** 2 for m in maps["nodes"].values())
    out = decode(maps["out"]).reshape(maps["res"], maps["res"])
    # gauss: +1 around (2, 2) (top right, row 0 = ymin), -1 around (-2, -2) (bottom left)
    assert out[-8, -8] > 128 > out[8, 8]


def test_binary_softmax_map_has_two_class_maps_and_out_is_class_one() -> None:
    run = Run(RunConfig(dataset=DataConfig(name="gauss"), output_unit="softmax_ce"))
    run.step("epoch", 5)
    maps = frames.build_maps(run)
    assert len(maps["classes"]) == 2
    minus, plus = (decode(m).reshape(maps["res"], maps["res"]) for m in maps["classes"])
    out = decode(maps["out"]).reshape(maps["res"], maps["res"])
    assert plus[-8, -8] > 200 and minus[8, 8] > 200  # +1 (class 1) top right, -1 (class 0) bottom left
    assert out[-8, -8] > 128 > out[8, 8]
    assert np.all(np.abs(minus.astype(int) + plus.astype(int) - 255) <= 1)  # probabilities add up to 1


def test_multi_class_map_shows_every_class_as_the_argmax() -> None:
    config = RunConfig(dataset=DataConfig(name="blobs", classes=4), output_unit="softmax_ce",
                       hidden=(LayerConfig(8), LayerConfig(8)), optimizer=OptimizerConfig(learning_rate=0.3))
    run = Run(config)
    run.step("epoch", 30)
    assert run.history_metrics[-1].accuracy is not None and run.history_metrics[-1].accuracy > 0.9
    maps = frames.build_maps(run)
    assert len(maps["classes"]) == 4
    grids = np.stack([decode(m) for m in maps["classes"]])
    assert grids.shape == (4, maps["res"] ** 2)
    chosen = np.argmax(grids, axis=0)
    assert set(chosen.tolist()) == {0, 1, 2, 3}  # every class owns part of the plane
    # the most probable class has probability at least 1/k everywhere, and the k maps sum to ~1
    assert grids.max(axis=0).min() >= math.floor(255 / 4)
    assert np.all(np.abs(grids.astype(int).sum(axis=0) - 255) <= 4)


def test_maps_come_with_at_most_one_frame_in_five_while_playing(tmp_path: Path) -> None:
    """Play by micro-step publishes maps with one frame in stream_max_fps / stream_maps_fps; the rest have
    none. On the manager's clock (tests/clock.py): counted, not timed."""
    async def scenario(manager: SessionManager, clock: ManualClock) -> tuple[int, int]:
        session = await manager.create(lambda: Run(RunConfig()), "test")
        seen_frames, seen_maps = session.broadcaster.version, session.broadcaster.maps_version
        session.subscribers += 1  # maps are built only while a stream is open (routes/stream.py counts)
        await manager.play(session, "micro", 20)
        await clock.advance(0.999, other_tasks)  # 20 ticks
        await manager.pause(session)
        return (session.broadcaster.version - seen_frames, session.broadcaster.maps_version - seen_maps)

    published, with_maps = run_on_clock(tmp_path, scenario, stream_max_fps=20, stream_maps_fps=4)
    # maps with the first frame, then with one frame in five (4 of 20 per second); pause publishes one
    # more frame with maps; how many per real second is bench/play_bench.py's figure
    assert published == 21 and with_maps == 1 + 19 // 5 + 1, (published, with_maps)


def test_maps_of_an_unchanged_run_are_built_once_and_rebuilt_after_a_step() -> None:
    run = Run(RunConfig())
    first = frames.build_maps(run)
    frames.build_frame(run)
    assert frames.build_maps(run) is first and frames.map_cache(run).builds == 1
    run.step("batch")
    second = frames.build_maps(run)
    assert frames.map_cache(run).builds == 2 and second["out"] != first["out"]


def test_after_back_the_frames_chart_ends_where_the_run_is() -> None:
    run = Run(RunConfig())
    run.step("epoch", 3)
    ahead = frames.build_frame(run)["chart"]
    assert ahead["step"] == 75 and [p[0] for p in ahead["tail"]] == [72, 73, 74, 75]
    run.back("epoch")
    chart = frames.build_frame(run)["chart"]
    assert chart["step"] == 50 and [p[0] for p in chart["tail"]] == [47, 48, 49, 50]
    assert chart["tail"][-1][1:] == [frames.build_frame(run)["loss"][k] for k in ("train", "test", "reg")]
