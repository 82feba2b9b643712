# Two CPU-bound busy loops beside the test suite (sourced by .ci/run): the suite must pass on a 2-core
# machine whose cores are both taken by other work, as on a shared school server. Started and stopped by
# PID only; stop_busy_loops is safe to call more than once and from the EXIT trap.

BUSY_PIDS=()

start_busy_loops() {
  local n
  for n in 1 2; do
    python3 -c 'while True: pass' &
    BUSY_PIDS+=("$!")
  done
  echo "two busy loops running beside the suite: PIDs ${BUSY_PIDS[*]}"
}

stop_busy_loops() {
  local pid
  for pid in "${BUSY_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ ${#BUSY_PIDS[@]} -gt 0 ]]; then echo "busy loops stopped: PIDs ${BUSY_PIDS[*]}"; fi
  BUSY_PIDS=()
}

# Run a command with the two busy loops beside it; its exit status is the command's.
under_load() {
  local status=0
  start_busy_loops
  "$@" || status=$?
  stop_busy_loops
  return "$status"
}
