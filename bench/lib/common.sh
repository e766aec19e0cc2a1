# shellcheck shell=bash
# Shared by bench/run.sh and bench/soak.sh: find or install the tools, build the
# release binaries, make a scratch folder, and make sure that every process the
# benchmark started is stopped, by PID, however the run ends.
#
# Sourced, not run. After `bench_prepare`, these are set:
#   BENCH_ROOT   the repository root
#   BENCH_TMP    a scratch folder (nginx prefixes, generated files, logs), removed at exit
#   BENCH_PIDS   "$BENCH_TMP/pids": one "PID STARTTIME" line per process started;
#                the Python side appends to it, the EXIT trap below reads it
#   BENCH_ASYNCLAB, BENCH_BARE_HYPER, BENCH_BARE_ECHO, BENCH_BARE_HYPER_TLS,
#   BENCH_BARE_WS_SERVER, BENCH_BARE_WS_CLIENT   release binaries (the bare ones may be empty)
#   BENCH_COMMIT, BENCH_SRC   the commit measured and the source folder it was built from

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

bench_log() { printf '== %s\n' "$*" >&2; }

# The Debian packages the suite drives, and what each is for. Installed when
# running as root with apt-get; otherwise the missing ones are named and we stop.
bench_need_tools() {
  local missing=() tool pkg
  for pair in wrk:wrk hey:hey nginx:nginx-light python3:python3 curl:curl; do
    tool=${pair%%:*} pkg=${pair#*:}
    command -v "$tool" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    bench_log "installing ${missing[*]} (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "bench: missing ${missing[*]}; on Debian/Ubuntu: sudo apt-get install -y ${missing[*]}" >&2
    echo "bench: (wrk and hey are the load generators asynclab load is compared with, nginx-light the reference server," >&2
    echo "bench:  python3 drives the scenarios and writes the report)" >&2
    exit 1
  fi
}

# Release builds only: debug numbers would say nothing about the servers.
# What is built is the last commit, copied to target/bench-src (BENCH_TREE=1
# builds the working tree instead, to try a change before committing it): in a
# checkout others edit at the same time, the working tree may be half-way through
# someone's change. Own target folders, so these builds never wait on (or block)
# a build of the workspace. The bare baselines are small cargo projects of their
# own; a missing one is reported and the scenarios that need it are skipped.
bench_build() {
  if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
  fi
  command -v cargo >/dev/null 2>&1 || { echo "bench: cargo not found; install Rust (rustup) first" >&2; exit 1; }
  local target_dir src
  target_dir="${CARGO_TARGET_DIR:-$BENCH_ROOT/target}"
  # BENCH_REUSE=1: measure the binaries of the previous run again, unbuilt (the
  # soak and the scenarios on one commit, while others keep committing).
  if [ -n "${BENCH_REUSE:-}" ] && [ -f "$target_dir/bench-build/COMMIT" ]; then
    BENCH_COMMIT=$(cat "$target_dir/bench-build/COMMIT")
    BENCH_SRC="$target_dir/bench-src"
    BENCH_ASYNCLAB="$target_dir/bench-build/release/asynclab"
    BENCH_BARE_HYPER="$target_dir/bench-baselines/release/bare-hyper"
    BENCH_BARE_ECHO="$target_dir/bench-baselines/release/bare-echo"
    BENCH_BARE_WS_SERVER="$target_dir/bench-baselines/release/bare-ws-server"
    BENCH_BARE_WS_CLIENT="$target_dir/bench-baselines/release/bare-ws-client"
    BENCH_BARE_HYPER_TLS="$target_dir/bench-baselines/release/bare-hyper-tls"
    bench_log "reusing the binaries built for commit $BENCH_COMMIT (BENCH_REUSE)"
    export BENCH_ASYNCLAB BENCH_BARE_HYPER BENCH_BARE_ECHO BENCH_BARE_HYPER_TLS BENCH_BARE_WS_SERVER BENCH_BARE_WS_CLIENT BENCH_COMMIT BENCH_SRC
    return 0
  fi
  if [ -n "${BENCH_TREE:-}" ]; then
    src=$BENCH_ROOT
    BENCH_COMMIT="$(git -C "$BENCH_ROOT" rev-parse --short HEAD)+working tree"
  else
    src="$target_dir/bench-src"
    mkdir -p "$src"
    BENCH_COMMIT=$(python3 -B "$BENCH_ROOT/bench/lib/snapshot.py" "$BENCH_ROOT" "$src")
  fi
  bench_log "cargo build --release -p asynclab (commit $BENCH_COMMIT)"
  (cd "$src" && CARGO_TARGET_DIR="$target_dir/bench-build" cargo build --release --quiet -p asynclab)
  BENCH_ASYNCLAB="$target_dir/bench-build/release/asynclab"
  echo "$BENCH_COMMIT" >"$target_dir/bench-build/COMMIT"
  BENCH_BARE_HYPER="" BENCH_BARE_ECHO="" BENCH_BARE_HYPER_TLS="" BENCH_BARE_WS_SERVER="" BENCH_BARE_WS_CLIENT=""
  local name dir
  for name in bare-hyper bare-echo bare-hyper-tls bare-ws; do
    dir="$src/bench/baselines/$name"
    if [ ! -f "$dir/Cargo.toml" ]; then
      bench_log "no $dir/Cargo.toml: scenarios comparing against $name are skipped"
      continue
    fi
    bench_log "cargo build --release ($name)"
    (cd "$dir" && CARGO_TARGET_DIR="$target_dir/bench-baselines" cargo build --release --quiet)
    case $name in
      bare-hyper) BENCH_BARE_HYPER="$target_dir/bench-baselines/release/bare-hyper" ;;
      bare-echo) BENCH_BARE_ECHO="$target_dir/bench-baselines/release/bare-echo" ;;
      bare-hyper-tls) BENCH_BARE_HYPER_TLS="$target_dir/bench-baselines/release/bare-hyper-tls" ;;
      bare-ws)
        BENCH_BARE_WS_SERVER="$target_dir/bench-baselines/release/bare-ws-server"
        BENCH_BARE_WS_CLIENT="$target_dir/bench-baselines/release/bare-ws-client"
        ;;
    esac
  done
  BENCH_SRC=$src
  export BENCH_ASYNCLAB BENCH_BARE_HYPER BENCH_BARE_ECHO BENCH_BARE_HYPER_TLS BENCH_BARE_WS_SERVER BENCH_BARE_WS_CLIENT BENCH_COMMIT BENCH_SRC
}

# The start time of a process (field 22 of /proc/PID/stat), so a PID the kernel has
# since handed to another process is never signalled by mistake.
bench_starttime() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  # Fields after the command name, which is in parentheses and may hold spaces.
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  echo "${20}"
}

# Stops every process listed in $BENCH_PIDS that is still the process we started:
# SIGTERM, up to 5 s to exit, then SIGKILL. Run from the EXIT trap, so it also
# cleans up after a crash or ctrl-c of the Python driver.
bench_stop_all() {
  [ -n "${BENCH_PIDS:-}" ] && [ -f "$BENCH_PIDS" ] || return 0
  local pid start alive=()
  while read -r pid start; do
    [ -n "$pid" ] || continue
    [ "$(bench_starttime "$pid")" = "$start" ] || continue
    kill -TERM "$pid" 2>/dev/null && alive+=("$pid")
  done <"$BENCH_PIDS"
  for _ in $(seq 50); do
    local still=()
    for pid in "${alive[@]}"; do kill -0 "$pid" 2>/dev/null && still+=("$pid"); done
    alive=("${still[@]}")
    [ "${#alive[@]}" -eq 0 ] && return 0
    sleep 0.1
  done
  for pid in "${alive[@]}"; do
    echo "bench: PID $pid ignored SIGTERM for 5 s; SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null
  done
}

bench_cleanup() {
  local status=$?
  trap - EXIT INT TERM
  bench_stop_all
  if [ -n "${BENCH_TMP:-}" ] && [ -d "$BENCH_TMP" ] && [ -z "${BENCH_KEEP_TMP:-}" ]; then
    rm -rf "$BENCH_TMP"
  fi
  exit "$status"
}

# The run's scratch folder and the record of the PIDs it starts, removed (and
# every process stopped) on exit, ctrl-c or SIGTERM.
bench_scratch() {
  BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/asynclab-bench.XXXXXX")"
  BENCH_PIDS="$BENCH_TMP/pids"
  : >"$BENCH_PIDS"
  export BENCH_ROOT BENCH_TMP BENCH_PIDS
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_prepare() {
  bench_need_tools
  bench_build
  bench_scratch
  # 10,000 connections need 10,000 descriptors in the server and as many in the client.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 12000 ]; then
    bench_log "ulimit -n is $(ulimit -n): the 10,000-connection scenarios will fall short (raise the hard limit)"
  fi
}

# Runs the Python driver under a time limit, so no run can go on forever: at the
# limit it gets SIGTERM (and stops what it started), 15 s later SIGKILL.
bench_python() {
  local limit=$1
  shift
  # -B: no __pycache__ folders left in the checkout.
  timeout -k 15 "$limit" python3 -B "$@"
}
