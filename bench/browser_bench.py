"""The page in Chromium: frames applied per second and main-thread busy while playing spiral on
[2,8,8,8,8,8,8,1], and click → DOM-updated latency (p50/p95) of the step button.

Starts its own server (`python -m app`, temp data dir) and /usr/bin/chromium through Playwright; stops
both. Run: OPENBLAS_NUM_THREADS=1 python bench/browser_bench.py [--seconds 5] [--max-fps 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_bench import free_port, p, start_server  # the same server start-up

DEEP = "data=spiral&hidden=8,8,8,8,8,8&act=" + ",".join(["tanh"] * 6) + "&batch=10"

# Clicks the step button and resolves when the inspector shows another step id (the DOM is updated).
CLICK_TO_DOM = """async () => {
  const step = () => document.querySelector('#inspector')?.dataset.step;
  const before = step();
  const started = performance.now();
  const changed = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (step() !== before) { observer.disconnect(); resolve(performance.now() - started); }
    });
    observer.observe(document.body, {attributes: true, childList: true, subtree: true});
  });
  document.querySelector('#btn-step').click();
  return await changed;
}"""


def play_figures(page: Any, seconds: float) -> tuple[float, float, float]:
    """(frames applied per second, main thread busy fraction, script fraction) while playing."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def metrics() -> dict[str, float]:
        return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}

    applied = "() => window.Stepwise.stats.framesApplied"
    pressed = "() => document.querySelector('#btn-play').getAttribute('aria-pressed') === '{}'"
    page.locator("#step-unit").select_option("batch")
    page.locator("#speed").select_option("50")
    page.locator("body").click(position={"x": 2, "y": 2})
    page.keyboard.press(" ")  # space = play
    page.wait_for_function(pressed.format("true"))
    page.wait_for_timeout(1000)  # past the start-up
    before, applied0 = metrics(), page.evaluate(applied)
    page.wait_for_timeout(int(seconds * 1000))
    after, applied1 = metrics(), page.evaluate(applied)
    page.keyboard.press(" ")
    page.wait_for_function(pressed.format("false"))
    wall = after["Timestamp"] - before["Timestamp"]
    busy = after["TaskDuration"] - before["TaskDuration"]
    script = after["ScriptDuration"] - before["ScriptDuration"]
    return (applied1 - applied0) / wall, busy / wall, script / wall


def click_latencies(page: Any, unit: str, count: int) -> list[float]:
    page.locator("#step-unit").select_option(unit)
    page.evaluate(CLICK_TO_DOM)  # warm-up
    return [float(page.evaluate(CLICK_TO_DOM)) for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--max-fps", type=float, default=None, help="STEPWISE_STREAM_MAX_FPS for the server")
    parser.add_argument("--clicks", type=int, default=30)
    args = parser.parse_args()
    if args.max_fps is not None:
        os.environ["STEPWISE_STREAM_MAX_FPS"] = str(args.max_fps)
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_server(port, data_dir)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
                try:
                    page = browser.new_page(viewport={"width": 1440, "height": 900})
                    page.goto(f"http://127.0.0.1:{port}/?{DEEP}")
                    page.wait_for_function("() => window.Stepwise && window.Stepwise.stats.framesApplied > 0")
                    rate, busy, script = play_figures(page, args.seconds)
                    cap = os.environ.get("STEPWISE_STREAM_MAX_FPS", "20 (default)")
                    print(f"spiral [2,8,8,8,8,8,8,1], play batch at 50/s, stream cap {cap} frames/s, "
                          f"{args.seconds:.0f} s")
                    print(f"frames applied {rate:.1f}/s; main thread busy {100 * busy:.1f} % "
                          f"(script {100 * script:.1f} %)")
                    for unit in ("micro", "batch"):
                        latencies = click_latencies(page, unit, args.clicks)
                        print(f"step ({unit}) click → DOM updated: p50 {p(latencies, 0.5):.1f} ms, "
                              f"p95 {p(latencies, 0.95):.1f} ms, mean {statistics.fmean(latencies):.1f} ms "
                              f"over {len(latencies)} clicks")
                finally:
                    browser.close()
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
