#!/usr/bin/env bash
# loadbench.sh BINARY [BATCHES] [PAYLOAD] [TEXT] — starts BINARY serve on a
# fresh data folder, sends BATCHES ingest batches (100 runs × 10 steps, PAYLOAD
# bytes of input and of output per step, TEXT prose or repeat: `load --text`)
# with `BINARY load`, prints the rate and the sizes of the files written, and
# cleans up. Run it for two builds in turn to
# compare them in the same period: this VM's speed drifts between hours.
#
#   go build -o /tmp/at ./cmd/agenttrace && scripts/loadbench.sh /tmp/at 200 1024
set -euo pipefail
bin=${1:?usage: loadbench.sh BINARY [BATCHES] [PAYLOAD] [TEXT]}
batches=${2:-200}
payload=${3:-1024}
text=${4:-prose}
port=${PORT:-7199}
key=at_loadbench_0123456789abcdef0123456789
data=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
AGENTTRACE_BOOTSTRAP_KEY=$key "$bin" serve --data "$data" --addr 127.0.0.1:$port --log-level warn >"$data/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	curl -fs 127.0.0.1:$port/readyz >/dev/null && break
	sleep 0.1
done
"$bin" load --url http://127.0.0.1:$port --key $key --batches "$batches" --payload "$payload" --text "$text"
kill $pid
wait $pid 2>/dev/null || true
du -b "$data"/agenttrace.db* | sed 's|'"$data"'/||'
