#!/usr/bin/env bash
# Load run for the live data plane (not part of CI): wrk posting binary-mode CloudEvents for
# DURATION against, in one run,
#   1. bare       — examples/bare_receiver.rs: axum + the same CloudEvents decoding, answers 202
#   2. run-ack    — `eventflow run`, Broker + Trigger to an `ack` binding
#   3. run-http   — `eventflow run`, Broker + Trigger to an HTTP subscriber (a second bare
#                   receiver, which counts what it receives)
# and prints req/s, p50/p99 latency, peak RSS (VmHWM from /proc) and the accounting: 202s
# answered vs `event_count{response_code="202"}` vs the summary's `accepted` vs deliveries
# (vs what the HTTP subscriber received). Nothing accepted may be lost.
#
#   scripts/load.sh                    # DURATION=10s CONNECTIONS=32 THREADS=2
#   DURATION=5s CONNECTIONS=64 QUEUE=8192 WORKERS=2 scripts/load.sh
#
# Needs wrk (Debian: apt-get install wrk). Timings on a shared machine are noisy: compare the
# rows of one run with each other, not with other runs.
set -euo pipefail

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-1}
HTTP_THREADS=${HTTP_THREADS:-2}
QUEUE=${QUEUE:-65536}
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)" >&2; exit 2; }

cargo build --release --quiet --bin eventflow --example bare_receiver
BIN=target/release/eventflow
BARE=target/release/examples/bare_receiver
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

cat >"$TMP/load.lua" <<'LUA'
-- One binary-mode CloudEvent per request, a unique ce-id per thread and request; counts the
-- status codes answered and prints one RESULT line.
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  n = 0
  statuses = {}
  wrk.method = "POST"
  wrk.body = '{"n":1}'
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["ce-specversion"] = "1.0"
  wrk.headers["ce-type"] = "com.example.load"
  wrk.headers["ce-source"] = "/wrk"
end
function request()
  n = n + 1
  wrk.headers["ce-id"] = tid .. "-" .. n
  return wrk.format()
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local s202, s429, other = 0, 0, 0
  for _, t in ipairs(threads) do
    for code, c in pairs(t:get("statuses")) do
      if code == 202 then s202 = s202 + c
      elseif code == 429 then s429 = s429 + c
      else other = other + c end
    end
  end
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d rps=%.0f p50_us=%d p99_us=%d s202=%d s429=%d other=%d errors=%d\n",
    summary.requests, summary.requests / secs, latency:percentile(50), latency:percentile(99),
    s202, s429, other, e.connect + e.read + e.write + e.status + e.timeout))
end
LUA

# Starts "$@" in the background, waits for its "listening on http://ADDR" line, sets ADDR/PID.
start() {
  local out="$TMP/out.$1"; shift
  "$@" >"$out" 2>"$out.err" &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 1 200); do
    ADDR=$(sed -n 's/^listening on http:\/\/\([^ ]*\).*/\1/p' "$out" | head -n1)
    [ -n "$ADDR" ] && return 0
    sleep 0.05
  done
  echo "no listening line from $*" >&2; cat "$out.err" >&2; exit 1
}

peak_rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
stop() { kill -TERM "$1"; wait "$1" || true; }
summary() { awk -v k="$1" '$1 == k && $2 ~ /^[0-9]+$/ {print $2}' "$2"; }

ROWS=()
row() { ROWS+=("$(printf '%-9s %9s %8s %8s %9s %9s %8s %s' "$@")"); }

bench() { # name url -> RESULT line in $R
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s -s "$TMP/load.lua" "$2" \
    >"$TMP/wrk.$1" 2>&1
  R=$(grep '^RESULT' "$TMP/wrk.$1")
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, eventflow run --workers $WORKERS --http-threads $HTTP_THREADS --queue $QUEUE, $(nproc) cores"

# 1. bare receiver
start bare "$BARE" --listen 127.0.0.1:0 --threads "$HTTP_THREADS"
bench bare "http://$ADDR/default/default"
RSS=$(peak_rss_kb "$PID")
COUNT=$(curl -s "http://$ADDR/count")
stop "$PID"
row bare "$(field rps "$R")" "$(field p50_us "$R")" "$(field p99_us "$R")" "$RSS" "$(field s202 "$R")" "$(field s429 "$R")" \
  "received=$COUNT errors=$(field errors "$R")"

# 2 and 3: eventflow run
cat >"$TMP/ack.yaml" <<YAML
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: default}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: to-sink, namespace: default}
spec:
  broker: default
  subscriber: {ref: {apiVersion: v1, kind: Service, name: sink}}
YAML

run_case() { # name manifests [extra args...]
  local name=$1 file=$2; shift 2
  start "$name" "$BIN" run -f "$file" --listen 127.0.0.1:0 --workers "$WORKERS" \
    --http-threads "$HTTP_THREADS" --queue "$QUEUE" --grace 120 "$@"
  local addr=$ADDR pid=$PID
  bench "$name" "http://$addr/default/default"
  local rss; rss=$(peak_rss_kb "$pid")
  local counted
  counted=$(curl -s "http://$addr/metrics" |
    sed -n 's/^event_count{.*name="default".*response_code="202".*} \([0-9]*\)$/\1/p')
  local t0; t0=$(date +%s.%N)
  stop "$pid"
  local drain; drain=$(echo "$(date +%s.%N) - $t0" | bc)
  local accepted deliveries
  accepted=$(summary accepted "$TMP/out.$name")
  deliveries=$(summary deliveries "$TMP/out.$name")
  EXTRA="event_count_202=$counted accepted=$accepted deliveries=$deliveries drain_s=${drain:0:5} errors=$(field errors "$R")"
  row "$name" "$(field rps "$R")" "$(field p50_us "$R")" "$(field p99_us "$R")" "$rss" "$(field s202 "$R")" "$(field s429 "$R")" "$EXTRA"
  # wrk stops counting at DURATION: requests still in flight then (at most CONNECTIONS) were
  # accepted without wrk seeing their 202. Every accepted event must be counted and delivered.
  local unseen=$(( accepted - $(field s202 "$R") ))
  [ "$unseen" -ge 0 ] && [ "$unseen" -le "$CONNECTIONS" ] && [ "$counted" -eq "$accepted" ] &&
    [ "$deliveries" -eq "$accepted" ] ||
    { echo "$name: accepted events unaccounted for: $EXTRA" >&2; FAILED=1; }
}

FAILED=0
run_case run-ack "$TMP/ack.yaml" --service sink=ack

start sub "$BARE" --listen 127.0.0.1:0 --threads 1
SUB_ADDR=$ADDR SUB_PID=$PID
sed "s|{ref: {apiVersion: v1, kind: Service, name: sink}}|{uri: \"http://$SUB_ADDR/sink\"}|" \
  "$TMP/ack.yaml" >"$TMP/http.yaml"
run_case run-http "$TMP/http.yaml"
RECEIVED=$(curl -s "http://$SUB_ADDR/count")
stop "$SUB_PID"
ROWS[-1]="${ROWS[-1]} subscriber_received=$RECEIVED"
[ "$RECEIVED" -eq "$(summary deliveries "$TMP/out.run-http")" ] ||
  { echo "run-http: the subscriber received $RECEIVED events" >&2; FAILED=1; }

echo
printf '%-9s %9s %8s %8s %9s %9s %8s %s\n' case req/s p50_us p99_us peak_kB 202s 429s accounting
printf '%s\n' "${ROWS[@]}"
exit "$FAILED"
