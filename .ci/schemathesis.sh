#!/usr/bin/env bash
# Fuzz the JSON API with schemathesis against a real server on 127.0.0.1: every check that applies, the
# stateful phase (links inferred from the OpenAPI), at least MIN_REQUESTS requests, no failure allowed.
#
# positive_data_acceptance is the one check left out: it expects every schema-valid body to be accepted,
# but much of this API's validity depends on the session's state, which no schema can say (a point index
# past the dataset, a layer number past the network, a batch larger than the training set: each a 422
# naming the field, which is the right answer).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
MIN_REQUESTS=${MIN_REQUESTS:-1000}
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# One client address sends everything: lift the per-client, per-run and session caps (they are tested in
# tests/hardening); everything else is the server as shipped.
STEPWISE_DATA_DIR="$work/data" STEPWISE_REQUESTS_PER_CLIENT_PER_SECOND=100000 \
  STEPWISE_REQUESTS_BURST=100000 STEPWISE_SESSIONS_PER_CLIENT_PER_MINUTE=100000 \
  STEPWISE_REQUESTS_PER_RUN_PER_SECOND=100000 STEPWISE_REQUESTS_RUN_BURST=100000 \
  python3 -m app --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1 &
server=$!
stop_server() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap stop_server EXIT

for _ in $(seq 1 120); do
  if python3 -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" \
      2>/dev/null; then break; fi
  sleep 0.5
done

status=0
schemathesis run "http://127.0.0.1:$port/openapi.json" --checks all --exclude-checks positive_data_acceptance \
  --phases examples,coverage,fuzzing,stateful --workers 1 --max-examples 8 --seed 20261201 \
  --request-timeout 30 --no-color || status=$?

requests=$(grep -cE '"[A-Z]+ [^"]* HTTP/1\.1" [0-9]{3}' "$work/server.log" || true)
echo "schemathesis sent $requests requests (at least $MIN_REQUESTS wanted)"
if grep -q "Traceback" "$work/server.log"; then
  echo "the server logged a traceback:" >&2
  grep -n -A20 "Traceback" "$work/server.log" | head -60 >&2
  status=1
fi
if [[ $requests -lt $MIN_REQUESTS ]]; then status=1; fi
exit "$status"
