#!/usr/bin/env bash
# otlpbench.sh AGENTTRACE [JAEGER [JAEGER-CONFIG]] — the OTLP side by side of
# docs/benchmarks-otlp.md: 200 OTLP/HTTP requests of 50 traces × 10 GenAI
# spans (100,000 spans, ~1 KiB messages) sent by `AGENTTRACE load --otlp`,
# first to `AGENTTRACE serve` on a fresh data folder, then, when JAEGER is
# given, to that Jaeger v2 binary (in-memory, or with JAEGER-CONFIG, e.g.
# docs/jaeger-badger.yaml). Jaeger answers before it stores, so its stored
# rate is timed until its exporter has counted every span (metrics on :8888).
# TEXT=repeat in the environment sends the ten-word payloads of sessions
# 9–11 instead of prose (`load --text`).
set -euo pipefail
at=${1:?usage: otlpbench.sh AGENTTRACE [JAEGER [JAEGER-CONFIG]]}
jaeger=${2:-}
config=${3:-}
key=at_otlpbench_0123456789abcdef0123456789
load=(--batches 200 --runs 50 --steps 9 --text "${TEXT:-prose}")

data=$(mktemp -d)
AGENTTRACE_BOOTSTRAP_KEY=$key "$at" serve --data "$data" --addr 127.0.0.1:7198 --log-level warn >"$data/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs 127.0.0.1:7198/readyz >/dev/null && break; sleep 0.1; done
echo "agenttrace (acknowledged = stored): $("$at" load --otlp --url http://127.0.0.1:7198 --key $key "${load[@]}")"
kill $pid; wait $pid 2>/dev/null || true
rm -rf "$data"
[ -n "$jaeger" ] || exit 0

rm -rf /tmp/jaeger-badger # docs/jaeger-badger.yaml keeps its files there
if [ -n "$config" ]; then "$jaeger" --config "$config" >/tmp/jaeger.log 2>&1 & else "$jaeger" >/tmp/jaeger.log 2>&1 & fi
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs 127.0.0.1:8888/metrics >/dev/null && break; sleep 0.2; done
sleep 1
start=$(date +%s.%N)
echo "jaeger ${config:-in-memory} (acknowledged): $("$at" load --otlp --otlp-url http://127.0.0.1:4318/v1/traces "${load[@]}")"
sent=0
for _ in $(seq 1200); do
	sent=$(curl -fs 127.0.0.1:8888/metrics | awk '/^otelcol_exporter_sent_spans_total/ {s += $NF} END {printf "%d", s}')
	[ "$sent" -ge 100000 ] && break
	sleep 0.05
done
end=$(date +%s.%N)
echo "jaeger ${config:-in-memory} (stored): $sent spans in $(echo "$end - $start" | bc) s: $(echo "$sent / ($end - $start)" | bc) spans/s"
