#!/usr/bin/env bash
# The asynclab benchmark suite, in one command:
#
#   bench/run.sh [scenario...]     # default: all of them (about 25 minutes)
#
# Scenarios: fast slow limited files echo idle loadgen startup (issue 8 lists them),
# ws (issue 24: WebSocket echo, `load ws://` and idle WebSockets),
# instructions (callgrind's count per request, the view that noise cannot blur),
# and https (TLS: /fast vs bare hyper + rustls and nginx, handshakes/s, load vs wrk and oha).
# It installs what it needs (wrk, nginx-light, python3 from Debian; or names them),
# builds asynclab and the bare baselines in release mode, starts every server on a
# free loopback port, alternates the contenders (A B, B A, ..., BENCH_REPS=5 rounds),
# stops each process it started by PID (an EXIT trap catches crashes and ctrl-c),
# and rewrites bench/results/REPORT.md with its SVG charts.
#
# Knobs: BENCH_REPS (5), BENCH_DURATION (3 s per load run), BENCH_MAX_SECONDS
# (3600: the whole run is stopped past it), BENCH_IDLE_CONNECTIONS and
# BENCH_SLOW_REQUESTS (10000), BENCH_KEEP_TMP=1 keeps the scratch folder (logs).
# Not part of CI: it takes far too long.
set -euo pipefail
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

bench_prepare
bench_log "scratch folder $BENCH_TMP"
bench_python "${BENCH_MAX_SECONDS:-3600}" "$BENCH_ROOT/bench/lib/suite.py" "$@"
