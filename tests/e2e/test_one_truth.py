"""Every panel tells the API's story: after pause, Back and reload the counters, losses, η and the loss
chart equal GET /api/sessions/{id} and its metrics; the η plot's marker sits on the engine's schedule."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from engine.optim import Schedule
from engine.printed import loss, rate

SIZE = {"width": 1024, "height": 768}
PLAYING = "() => document.getElementById('btn-play').getAttribute('aria-pressed') === '{}'"
READY = "() => window.Stepwise && window.Stepwise.stats.framesApplied > 0"


def _get(server: str, path: str) -> Any:
    with urllib.request.urlopen(f"{server}{path}") as response:
        return json.loads(response.read())


def _open(page: Any, server: str, query: str = "") -> str:
    page.set_viewport_size(SIZE)
    page.goto(f"{server}/?{query}")
    page.wait_for_function(READY)
    sid: str = page.get_attribute("#page", "data-session")
    return sid


def _agrees(page: Any, server: str, sid: str) -> None:
    """Wait (polling, generous timeout) until every panel shows the API's state, then check it once more."""
    state = _get(server, f"/api/sessions/{sid}")
    history = _get(server, f"/api/sessions/{sid}/metrics")["history"]
    last_step = history[-1]["step"] if history else 0
    expected = {"epoch": str(state["epoch"]), "batch": str(state["batch"]),
                "train": loss(state["loss"]["train"]), "test": loss(state["loss"]["test"]),
                "points": str(len(history)), "last": str(last_step)}
    shown = """() => ({epoch: document.getElementById('c-epoch').textContent,
        batch: document.getElementById('c-batch').textContent,
        train: document.getElementById('loss-train').textContent.replace('\u2212', '-'),
        test: document.getElementById('loss-test').textContent.replace('\u2212', '-'),
        points: document.getElementById('loss-chart').dataset.points,
        last: document.getElementById('loss-chart').dataset.lastStep})"""
    try:
        page.wait_for_function(f"(want) => JSON.stringify(({shown})()) === JSON.stringify(want)",
                               arg=expected, timeout=30_000)
    finally:
        assert page.evaluate(shown) == expected


def test_after_pausing_a_fast_epoch_play_every_panel_shows_the_apis_state(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    sid = _open(page, live_server)
    page.locator("#step-unit").select_option("epoch")
    for speed in ("20", "100"):
        page.locator("#speed").select_option(speed)
        page.keyboard.press(" ")
        page.wait_for_function(PLAYING.format("true"))
        page.wait_for_function("() => Number(document.getElementById('c-epoch').textContent) >= 3")
        page.keyboard.press(" ")
        page.wait_for_function(PLAYING.format("false"))
        _agrees(page, live_server, sid)
        state = _get(live_server, f"/api/sessions/{sid}")
        assert state["playing"] is False
        # the inspector says where the run stopped with the counters' numbers
        text = page.locator("#inspector").inner_text()
        assert f"{state['epoch']} epoch" in text, text
    assert console_errors == []


def test_back_truncates_the_loss_chart_and_a_reload_draws_the_same_chart(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    sid = _open(page, live_server)
    page.locator("#step-unit").select_option("epoch")
    for n in range(1, 7):
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => document.getElementById('c-epoch').textContent === '{n}'")
    _agrees(page, live_server, sid)
    for n in range(5, 1, -1):  # back 4 epochs
        page.keyboard.press("ArrowLeft")
        page.wait_for_function(f"() => document.getElementById('c-epoch').textContent === '{n}'")
    _agrees(page, live_server, sid)
    per_epoch = 25  # circle: 250 training points in batches of 10
    assert page.get_attribute("#loss-chart", "data-last-step") == str(2 * per_epoch)
    drawn = page.locator("#loss-chart").inner_html()
    assert "batches trained (1 epoch = 25)" in drawn
    page.reload()
    page.wait_for_function(READY)
    _agrees(page, live_server, sid)
    assert page.locator("#loss-chart").inner_html() == drawn  # the same chart, point for point
    assert console_errors == []


def test_eta_now_and_the_schedule_marker_follow_warm_up_then_decay(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    sid = _open(page, live_server, "sched=warmup_decay&warm=50&total=1000&lr=0.1")
    schedule = Schedule("warmup_decay", warmup=50, total=1000)
    assert page.locator("#c-eta").inner_text() == rate(schedule.rate(0.1, 0))  # 0.1 · 1/50 = 0.002
    page.locator("#step-unit").select_option("epoch")
    for n in (1, 2, 3):  # 25, 50, 75 batches: warming up, then at η
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => document.getElementById('c-epoch').textContent === '{n}'")
        updates = 25 * n
        want = rate(schedule.rate(0.1, updates))
        page.wait_for_function(f"() => document.getElementById('c-eta').textContent === '{want}'")
        plot = page.locator("#eta-plot")
        x0, per_batch = float(plot.get_attribute("data-x0")), float(plot.get_attribute("data-per-batch"))
        page.wait_for_function(
            f"() => Math.abs(Number(document.getElementById('eta-marker').getAttribute('cx')) - "
            f"{x0 + updates * per_batch}) < 0.06")
    assert _get(live_server, f"/api/sessions/{sid}")["config"]["optimizer"]["schedule"]["warmup"] == 50
    page.screenshot(path="test-results/eta-plot-warmup.png")  # the plot re-renders: a page shot
    assert console_errors == []


def test_back_is_disabled_with_a_word_why_where_the_history_ends_mid_epoch(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    # batch 3: 84 batches an epoch; 12 epochs are 1008 batches, the history keeps the newest 1000 points
    # (after batches 9 .. 1008), so its oldest is 9 batches into the first epoch
    sid = _open(page, live_server, "batch=3")
    assert page.locator("#btn-back").is_disabled() and page.locator("#back-note").is_visible()
    page.locator("#step-unit").select_option("epoch")
    for n in range(1, 13):
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => document.getElementById('c-epoch').textContent === '{n}'")
    assert not page.locator("#btn-back").is_disabled() and not page.locator("#back-note").is_visible()
    for _ in range(12):  # back to the start of each epoch, the last one only to the oldest point kept
        before = page.locator("#c-epoch").inner_text() + "/" + page.locator("#c-batch").inner_text()
        page.keyboard.press("ArrowLeft")
        page.wait_for_function(f"""() => document.getElementById('c-epoch').textContent + '/' +
                                   document.getElementById('c-batch').textContent !== '{before}'""")
    state = _get(live_server, f"/api/sessions/{sid}")
    assert (state["epoch"], state["batch"]) == (0, 9)
    page.wait_for_function("() => document.getElementById('btn-back').disabled")
    assert "oldest point the history keeps" in page.locator("#back-note").inner_text()
    page.keyboard.press("ArrowLeft")  # a disabled Back does nothing
    assert _get(live_server, f"/api/sessions/{sid}")["step_id"] == state["step_id"]
    assert console_errors == []


def test_the_sample_a_micro_step_works_on_is_ringed_on_the_output_plot(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    sid = _open(page, live_server, "hidden=2&batch=4")
    assert page.get_attribute("#boundary", "data-marked") == ""  # between batches: no sample
    points = json.loads(page.get_attribute("#boundary", "data-points"))
    for sample in range(2):
        for _ in range(3 + 1 + 2 + 1):  # forward ×3, error, backward ×2, accumulate: one sample
            before = page.get_attribute("#page", "data-step")
            page.keyboard.press("ArrowRight")
            page.wait_for_function(f"() => document.getElementById('page').dataset.step !== '{before}'")
            page.wait_for_function("() => document.getElementById('boundary').dataset.marked !== ''")
            marked = int(page.get_attribute("#boundary", "data-marked"))
            inputs = _get(live_server, f"/api/sessions/{sid}/trace")["trace"]["inputs"][sample]
            # the ringed point is the sample the inspector talks about: its x₁, x₂ are the trace's inputs
            assert abs(points[marked][0] - inputs[0]) < 2e-3 and abs(points[marked][1] - inputs[1]) < 2e-3
    assert console_errors == []


def test_after_quick_steps_the_inspector_catches_up_with_the_counters(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    """Step answers can land out of order; the one left on screen must be the run's newest."""
    sid = _open(page, live_server)
    page.locator("#step-unit").select_option("batch")
    for _ in range(25):  # no waiting between presses
        page.keyboard.press("ArrowRight")
    # settled: two polls half a second apart see the same run, and the inspector shows that step
    page.wait_for_function(f"""async () => {{
        const s = await (await fetch('/api/sessions/{sid}')).json();
        const ok = window.settled === s.step_id
                   && document.getElementById('inspector').dataset.step === String(s.step_id);
        window.settled = s.step_id;
        return ok;
    }}""", polling=500, timeout=60_000)
    _agrees(page, live_server, sid)
    state = _get(live_server, f"/api/sessions/{sid}")
    text = page.locator("#inspector").inner_text()
    assert f"{state['epoch']} epochs and {state['batch']} batches" in text, text
    assert console_errors == []


def test_while_playing_the_counters_and_the_losses_on_screen_are_always_one_state_of_the_run(
    page: Any, live_server: str, console_errors: list[str]
) -> None:
    """Every sample of the page taken during play (counters and losses read at one instant) is a state
    the run passed through: its losses are the run's own at those counters (the loss chart's point
    there), never the counters of one frame beside the losses of another."""
    sid = _open(page, live_server, "batch=25")  # 10 batches an epoch: a chart point after each batch
    page.locator("#step-unit").select_option("epoch")
    page.locator("#speed").select_option("5")
    page.keyboard.press(" ")
    page.wait_for_function(PLAYING.format("true"))
    page.wait_for_function("""() => {
        const text = (id) => document.getElementById(id).textContent;
        window.samples = window.samples || [];
        window.samples.push([text('c-epoch'), text('c-batch'), text('loss-train'), text('loss-test')]);
        return new Set(window.samples.map((s) => s[0])).size >= 6;
    }""", polling=50, timeout=60_000)
    page.keyboard.press(" ")
    page.wait_for_function(PLAYING.format("false"))
    samples = page.evaluate("() => window.samples")
    per_epoch = 10  # circle: 250 training points in batches of 25; 200 chart points before any thinning
    history = {point["step"]: point for point in _get(live_server, f"/api/sessions/{sid}/metrics")["history"]}
    checked = 0
    for epoch, batch, train, test in samples:
        step = int(epoch) * per_epoch + int(batch)
        if step == 0:
            continue  # the start: no chart point yet
        point = history[step]
        assert (train, test) == (loss(point["train_loss"]), loss(point["test_loss"])), (epoch, batch)
        checked += 1
    assert checked >= 5 and console_errors == []
