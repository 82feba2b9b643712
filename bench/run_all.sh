#!/bin/sh
# Every Stepwise benchmark, one after the other (about 5 minutes on the 2-core dev machine).
# Each starts what it needs (its own server on a free port, Chromium) and stops it at the end.
set -e
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1
python bench/engine_bench.py
python bench/epoch_step_bench.py
python bench/memory_bench.py
if [ -f bench/frame_bench.py ]; then python bench/frame_bench.py; fi
python bench/load_bench.py
python bench/play_bench.py
python bench/browser_bench.py
python bench/browser_bench.py --max-fps 30
