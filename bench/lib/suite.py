"""The benchmark driver behind bench/run.sh: runs the named scenarios (all by
default), saves each one's data to bench/results/data/<scenario>.json and
rewrites bench/results/REPORT.md from every saved scenario.

    bench/run.sh                 # every scenario (about 25 minutes)
    bench/run.sh fast files      # only these; the report keeps the others' last data
    BENCH_REPS=5 BENCH_DURATION=10 bench/run.sh echo
"""

import json
import os
import platform
import signal
import subprocess
import sys
import time
import traceback

import procs
import report
import scenarios


def machine():
    """The machine notes the report opens with."""
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
        except subprocess.TimeoutExpired:
            return ""
    perf = sh("perf stat -x, -e instructions true 2>&1 >/dev/null")
    if not sh("command -v perf"):
        perf_note = "perf not installed"
    elif "<not supported>" in perf or "not counted" in perf or not perf:
        perf_note = "perf runs, but hardware counters are not available (`instructions` <not supported>: a VM)"
    else:
        perf_note = "perf stat -e instructions works"
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "memory": sh("free -h | awk '/Mem:/{print $2}'"),
        "perf": perf_note,
        "rustc": sh("rustc --version"),
        "nginx": sh("nginx -v 2>&1"),
        "wrk": sh("wrk --version 2>&1 | head -1 | cut -d' ' -f1-2"),
        "python": platform.python_version(),
        "ulimit_n": sh("ulimit -n"),
        "load_before": sh("cut -d' ' -f1-3 /proc/loadavg"),
    }


def previous(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    return doc if "tables" in doc else None


def main(argv):
    names = argv or list(scenarios.ALL)
    unknown = [n for n in names if n not in scenarios.ALL]
    if unknown:
        print(f"bench: unknown scenario {' '.join(unknown)}; known: {' '.join(scenarios.ALL)}", file=sys.stderr)
        return 2
    # SIGTERM (from `timeout` or the shell) unwinds like ctrl-c, so every
    # `finally` below stops the servers it started.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    data_dir = os.path.join(scenarios.RESULTS, "data")
    os.makedirs(data_dir, exist_ok=True)
    notes = machine()
    with open(os.path.join(data_dir, "machine.json"), "w") as f:
        json.dump(notes, f, indent=1)
    failed = 0
    for name in names:
        t0 = time.monotonic()
        print(f"==== scenario {name}", flush=True)
        try:
            doc = scenarios.ALL[name]().data
        except scenarios.Skip as e:
            print(f"bench: {name} skipped: {e}", flush=True)
            doc = {"scenario": name, "skipped": str(e)}
        except (procs.BenchError, OSError, KeyError, ValueError) as e:
            traceback.print_exc()
            failed += 1
            doc = {"scenario": name, "failed": f"{type(e).__name__}: {str(e)[:600]}"}
        doc["elapsed_s"] = round(time.monotonic() - t0, 1)
        path = os.path.join(data_dir, f"{name}.json")
        keep = previous(path) if "tables" not in doc else None
        if keep:
            # A failed or skipped attempt does not throw away the figures of the
            # last good run; the report shows both.
            keep["last_attempt"] = doc
            doc = keep
        with open(path, "w") as f:
            json.dump(doc, f, indent=1, default=str)
        print(f"==== {name} done in {doc['elapsed_s']} s", flush=True)
    report.write()
    print(f"bench: wrote {os.path.join(scenarios.RESULTS, 'REPORT.md')}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
