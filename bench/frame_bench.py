"""Bytes and server CPU per animation frame against the baseline of sending the whole trace as JSON.

    OPENBLAS_NUM_THREADS=1 python bench/frame_bench.py [--builds 1000]

For each network the run is trained a few batches, then stopped inside a batch in the backward phase (the
largest frame: activations, deltas, weights and gradients). Measured, per frame:

- frame: app.frames.build_frame + compact json.dumps, as the stream sends it (losses cached: the
  formatting cost alone);
- frame + losses: the same after a step changed the parameters, so train/test loss are evaluated again
  (what every real frame costs the first time);
- maps: build_maps (48×48 decision map + a 24×24 map per hidden neuron) + json.dumps;
- baseline: every array of the Run's last Trace (all samples of the batch, full float64 precision) plus
  the weights, json.dumps'd, i.e. what a server that simply serialised its state would send.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from app import frames
from engine.network import LayerConfig
from engine.stepper import Run, RunConfig

NETWORKS: dict[str, tuple[LayerConfig, ...]] = {
    "[2,4,2,1]": (LayerConfig(4), LayerConfig(2)),
    "[2,8,8,8,8,8,8,1]": tuple(LayerConfig(8) for _ in range(6)),
}


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def full_trace_json(run: Run) -> str:
    """The baseline: the whole last trace and the parameters, unrounded."""
    trace = run.last_trace
    assert trace is not None
    return compact({
        "inputs": trace.inputs.tolist(), "targets": trace.targets.tolist(),
        "prediction": trace.prediction.tolist(), "loss_per_sample": trace.loss_per_sample.tolist(),
        "loss": trace.loss,
        "layers": [{name: getattr(lt, name).tolist() for name in
                    ("weights", "bias", "pre_activation", "activation", "delta", "grad_weights", "grad_bias")}
                   for lt in trace.layers],
        "params": [{"weights": w.tolist(), "bias": b.tolist()} for w, b in run.network.get_params()],
    })


def in_backward_phase(hidden: tuple[LayerConfig, ...]) -> Run:
    run = Run(RunConfig(hidden=hidden))
    run.step("batch", 20)
    while run.current_event is None or run.current_event.kind != "backward":
        run.step("micro")
    return run


def per_call_us(work: Callable[[], object], builds: int) -> float:
    """Best of 3 rounds of `builds` calls, microseconds per call."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(builds):
            work()
        best = min(best, time.perf_counter() - started)
    return best / builds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--builds", type=int, default=1000)
    args = parser.parse_args()

    print(f"{'network':<20}{'what':<16}{'bytes':>8}{'µs/frame':>10}{'bytes vs base':>15}{'CPU vs base':>13}")
    for name, hidden in NETWORKS.items():
        run = in_backward_phase(hidden)

        def frame(run: Run = run) -> str:
            return compact(frames.build_frame(run))

        def frame_with_losses(run: Run = run) -> str:
            run._losses = None  # as after a step: the losses at the new parameters are evaluated again
            return compact(frames.build_frame(run))

        def maps(run: Run = run) -> str:
            return compact(frames.build_maps(run))

        def baseline(run: Run = run) -> str:
            return full_trace_json(run)

        base_bytes, base_us = len(baseline()), per_call_us(baseline, args.builds)
        rows = [("frame", frame), ("frame + losses", frame_with_losses), ("maps", maps)]
        for what, work in rows:
            size, cost = len(work()), per_call_us(work, args.builds)
            print(f"{name:<20}{what:<16}{size:>8}{cost:>10.1f}{base_bytes / size:>14.1f}×"
                  f"{base_us / cost:>12.2f}×")
        print(f"{name:<20}{'baseline':<16}{base_bytes:>8}{base_us:>10.1f}{'1.0×':>15}{'1.00×':>13}")


if __name__ == "__main__":
    main()
