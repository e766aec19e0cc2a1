#!/usr/bin/env bash
# The asynclab soak: `asynclab serve` under 10 minutes of steady mixed load
# (/fast, /slow, /limited, files, POST /echo, TCP echo), far below capacity, with
# its RSS and open file descriptors sampled every 5 s.
#
#   bench/soak.sh                    # 600 s
#   SOAK_SECONDS=60 bench/soak.sh    # a short try
#
# Pass: no errors other than the deliberate 503s of /limited, RSS after the warm-up
# drifting less than 5%, descriptors back to their baseline once the load stops.
# Exit status 0 on pass, 1 on fail. The result goes into bench/results/REPORT.md.
set -euo pipefail
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

bench_prepare
seconds=${SOAK_SECONDS:-600}
bench_log "soak for ${seconds}s; scratch folder $BENCH_TMP"
bench_python "$((${seconds%.*} + 300))" "$BENCH_ROOT/bench/lib/soak.py"
