#!/bin/bash
# What the load generator itself costs per request, counted rather than timed:
# `asynclab load` and wrk, each against the bare hyper server (50 connections,
# 2 threads), measured two ways that machine noise cannot blur:
#
#   instructions  callgrind's user-space instructions in the client process: two
#                 runs of different length, the difference of the totals divided by
#                 the difference of the request counts (start-up and exit cancel out)
#   syscalls      `strace -f -c` of the client, the same difference, by syscall
#
# Under callgrind a run takes about 50 times as long, so work done once per second
# weighs 50 times more per request than at full speed: asynclab's timeline (a tick a
# second, adding up every shard's window) is counted once as it runs and once with
# `--interval 1h`, which leaves no tick inside either run, for the per-request path.
#
# On a 2-core machine the client and the server share the CPUs, so the client's cost
# per request is the server's lost rate. Figures are in docs/performance.md.
#
#   CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_RELEASE_STRIP=false \
#     cargo build --release -p asynclab
#   (cd bench/baselines/bare-hyper && CARGO_TARGET_DIR=../../../target/bare-hyper cargo build --release)
#   bench/loadgen-cost.sh
#
# With COST_TLS=1 both clients speak HTTPS (HTTP/1.1) to bench/baselines/bare-hyper-tls
# instead, with a certificate made as the https benchmark makes it (asynclab load checks it with
# --cacert; wrk checks none); build that baseline like bare-hyper above.
#
# Knobs: COST_ASYNCLAB, COST_BARE_HYPER, COST_BARE_HYPER_TLS (the binaries, defaults as built above),
# COST_REQUESTS (20000: asynclab's extra requests in the longer run), COST_WRK_S
# (wrk's seconds for the shorter and longer run, "2 8"; "5 15" with TLS, whose 50
# handshakes take seconds under callgrind), COST_KEEP=1 keeps the
# scratch folder (the callgrind files, for callgrind_annotate).
# Every process it starts is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
ASYNCLAB=${COST_ASYNCLAB:-target/release/asynclab}
BARE=${COST_BARE_HYPER:-target/bare-hyper/release/bare-hyper}
REQUESTS=${COST_REQUESTS:-20000}
TLS=${COST_TLS:-}
if [ -n "$TLS" ]; then
  BARE=${COST_BARE_HYPER_TLS:-target/bare-hyper-tls/release/bare-hyper-tls}
  read -r WRK_SHORT WRK_LONG <<<"${COST_WRK_S:-5 15}"
else
  read -r WRK_SHORT WRK_LONG <<<"${COST_WRK_S:-2 8}"
fi
WARM=2000
for tool in valgrind strace wrk "$ASYNCLAB" "$BARE"; do
  command -v "$tool" >/dev/null || { echo "loadgen-cost: $tool not found (see the header)" >&2; exit 1; }
done
TMP=$(mktemp -d -t loadgen-cost.XXXXXX)
SERVER=""
cleanup() {
  # The server ends by our SIGTERM (status 143): not the script's failure.
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && { wait "$SERVER" 2>/dev/null || true; }
  if [ -n "${COST_KEEP:-}" ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

# The server on a port of the kernel's choosing; its first line names it.
TLS_ARGS=()
LOAD_TLS=()
if [ -n "$TLS" ]; then
  # The https benchmark's certificate maker (bench/lib/https.py), in our scratch folder.
  read -r CERT KEY < <(BENCH_TMP="$TMP" python3 -c \
    'import sys; sys.path.insert(0, "bench/lib"); from https import make_cert; print(*make_cert())')
  TLS_ARGS=("$CERT" "$KEY")
  LOAD_TLS=(--cacert "$CERT")
fi
"$BARE" 127.0.0.1:0 "${TLS_ARGS[@]}" >"$TMP/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do
  URL=$(sed -n 's/.*listening on \(https\{0,1\}:[^ ]*\).*/\1/p' "$TMP/server.log")
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { echo "loadgen-cost: the server did not start" >&2; exit 1; }
URL="$URL/"
# The certificate is for localhost, not the address.
[ -n "$TLS" ] && URL=${URL/127.0.0.1/localhost}

# Each tool's run: argument 1 is the run's size (requests for asynclab, seconds for
# wrk); the rest is the wrapper (valgrind or strace). Prints the requests it made.
LOAD_EXTRA=()
load_run() {
  local n=$1
  shift
  "$@" "$ASYNCLAB" load "$URL" -c 50 --threads 2 -n "$n" --warmup 0 --no-progress --json \
    "${LOAD_TLS[@]}" "${LOAD_EXTRA[@]}" >"$TMP/load.json" 2>/dev/null
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"]["started"])' "$TMP/load.json"
}
wrk_run() {
  local s=$1
  shift
  "$@" wrk -t 2 -c 50 -d "${s}s" "$URL" >"$TMP/wrk.txt" 2>&1
  awk '/requests in/{print $1}' "$TMP/wrk.txt"
}

# callgrind: the total of user-space instructions of one run.
instructions() {
  local run=$1 size=$2 out="$TMP/callgrind.$1.$2.${#LOAD_EXTRA[@]}"
  local done
  done=$("$run" "$size" valgrind --tool=callgrind --callgrind-out-file="$out")
  echo "$done $(awk '/^summary:/{print $2}' "$out")"
}
# strace: calls by syscall, as "name count" lines, and "total count".
syscalls() {
  local run=$1 size=$2 out="$TMP/strace.$1.$2"
  local done
  done=$("$run" "$size" strace -f -c -o "$out")
  echo "requests $done"
  awk '$1 ~ /^[0-9.]+$/ && NF >= 5 {print $NF, $4}' "$out"
}
# Per request: (long - short) / (requests long - requests short), by line name.
per_request() {
  python3 - "$1" "$2" <<'PY'
import sys
def read(path):
    return dict((k, int(v)) for k, v in (line.split() for line in open(path)))
a, b = read(sys.argv[1]), read(sys.argv[2])
n = b.pop("requests") - a.pop("requests")
rows = sorted(b, key=lambda k: -(b[k] - a.get(k, 0)))
for k in rows:
    d = (b[k] - a.get(k, 0)) / n
    if d >= 0.005 or k == "total":
        print(f"  {k:<16} {d:8.3f}")
PY
}

for tool in load "load --interval 1h" wrk; do
  LOAD_EXTRA=()
  case $tool in
    load) short=$WARM long=$((WARM + REQUESTS)) run=load_run ;;
    load\ *) short=$WARM long=$((WARM + REQUESTS)) run=load_run LOAD_EXTRA=(--interval 1h) ;;
    wrk) short=$WRK_SHORT long=$WRK_LONG run=wrk_run ;;
  esac
  read -r n1 i1 < <(instructions $run "$short")
  read -r n2 i2 < <(instructions $run "$long")
  echo "== $tool: user-space instructions per request: $(python3 -c "print(f'{($i2-$i1)/($n2-$n1):,.0f}')") (callgrind, $((n2 - n1)) requests between the two runs)"
  # The timeline changes no syscall on the request path: one strace for asynclab.
  [ "$tool" = "load --interval 1h" ] && continue
  syscalls $run "$short" >"$TMP/sys.$tool.1"
  syscalls $run "$long" >"$TMP/sys.$tool.2"
  echo "== $tool: syscalls per request (strace -f -c)"
  per_request "$TMP/sys.$tool.1" "$TMP/sys.$tool.2"
done
