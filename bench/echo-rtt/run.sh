#!/usr/bin/env bash
# The echo server's figures (issue 2), in one run on this machine:
#
#   bench/echo-rtt/run.sh
#
# 1. Round trips per second, 64-byte messages, 50 and 500 connections: asynclab
#    echo in raw and line mode against bench/baselines/bare-echo, alternated
#    (bare, raw, line, bare, raw, line, ...) REPS times, SECONDS each.
# 2. RSS growth per idle connection with IDLE connections (one exchange each,
#    then silent), each server freshly started.
#
# Release builds only. Every process started here is stopped by its PID.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
reps=${REPS:-3}
seconds=${SECONDS_PER_RUN:-5}
idle=${IDLE:-10000}

(cd "$root" && cargo build --release --quiet -p asynclab)
(cd "$root/bench/baselines/bare-echo" && CARGO_TARGET_DIR=$target cargo build --release --quiet)
(cd "$root/bench/echo-rtt" && CARGO_TARGET_DIR=$target cargo build --release --quiet)
asynclab=$target/release/asynclab
bare=$target/release/bare-echo
client=$target/release/echo-rtt

pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# start NAME PORT: starts a server in the background; its PID goes in $pid.
start() {
  local port=$2
  case $1 in
    bare) "$bare" "127.0.0.1:$port" >/dev/null & ;;
    raw | line) "$asynclab" echo --set "echo.addr=127.0.0.1:$port" --set "echo.mode=$1" \
      --set echo.max_connections=20000 >/dev/null 2>&1 & ;;
  esac
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return
    sleep 0.1
  done
  echo "server $1 did not start on port $port" >&2
  exit 1
}

mode_of() { [ "$1" = line ] && echo line || echo raw; }

declare -A port=([bare]=17101 [raw]=17102 [line]=17103)
echo "== round trips per second, 64-byte messages, ${seconds}s per run, $reps reps"
declare -A pidof
for name in bare raw line; do
  start "$name" "${port[$name]}"
  pidof[$name]=$pid
done
for rep in $(seq "$reps"); do
  for c in 50 500; do
    for name in bare raw line; do
      printf 'rep=%s server=%-4s ' "$rep" "$name"
      "$client" rtt "127.0.0.1:${port[$name]}" "$c" "$seconds" "$(mode_of "$name")" "${pidof[$name]}"
    done
  done
done
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()

echo "== RSS per idle connection, $idle connections"
for rep in $(seq "$reps"); do
  for name in bare raw line; do
    start "$name" "${port[$name]}"
    printf 'rep=%s server=%-4s ' "$rep" "$name"
    "$client" idle "127.0.0.1:${port[$name]}" "$idle" "$pid" "$(mode_of "$name")"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  done
done
