#!/usr/bin/env bash
# Memory of open dashboards: two `asynclab serve` processes under the same steady
# load for DASH_SECONDS (600 by default), one of them with 50 dashboard streams open
# (50 SSE clients reading GET /dashboard/stream, as 50 open pages would), their RSS
# sampled every 5 s. The claim (issue 26): the RSS of the one with 50 dashboards stays
# within a few MiB of the one without.
#
#   bench/dashboard.sh                          # 600 s, the binary of the last commit
#   DASH_SECONDS=120 bench/dashboard.sh         # a short try
#   BENCH_ASYNCLAB=target/release/asynclab DASH_SECONDS=120 bench/dashboard.sh
#
# Also shown: each one's RSS after a warm-up (a fifth of the run) against its end.
# Exit status 0 when the difference of the last minute's medians is under 5 MiB and
# every stream kept receiving snapshots; 1 otherwise. Prints a Markdown table.
set -euo pipefail
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

if [ -n "${BENCH_ASYNCLAB:-}" ]; then
  BENCH_ASYNCLAB=$(realpath "$BENCH_ASYNCLAB")
  export BENCH_ASYNCLAB
else
  bench_build
fi
bench_scratch
seconds=${DASH_SECONDS:-600}
bench_log "dashboards' memory for ${seconds}s with $BENCH_ASYNCLAB"
bench_python "$((${seconds%.*} + 300))" "$BENCH_ROOT/bench/lib/dashboard.py"
