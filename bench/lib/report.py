"""Writes bench/results/REPORT.md and its SVG charts from bench/results/data/*.json
(one file per scenario, written by suite.py and soak.py) and the hand-written
reading in bench/results/reading.md. Run alone to re-render: python3 bench/lib/report.py
"""

import json
import os

import svg

# BENCH_RESULTS points a trial run elsewhere, leaving the committed report alone.
RESULTS = os.environ.get("BENCH_RESULTS") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "../results"))
ORDER = ["fast", "cost", "slow", "limited", "files", "echo", "idle", "ws", "loadgen", "startup", "soak", "instructions", "layers", "https"]
MACHINE = [("cores", "CPU cores"), ("cpu", "CPU"), ("memory", "memory"), ("kernel", "kernel"),
           ("perf", "perf"), ("rustc", "Rust"), ("nginx", "nginx"), ("wrk", "wrk"),
           ("python", "Python (driver)"), ("ulimit_n", "open files limit"),
           ("load_before", "load average at start")]


def load(name):
    try:
        with open(os.path.join(RESULTS, "data", f"{name}.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def cell(v):
    return str(v).replace("|", "\\|")


def table(t):
    out = [f"**{t['title']}**", "", "| " + " | ".join(cell(c) for c in t["columns"]) + " |",
           "|" + "---|" * len(t["columns"])]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in t["rows"]]
    if t.get("note"):
        out += ["", f"_{t['note']}_"]
    return out + [""]


def met(m):
    return {True: "✅ met", False: "❌ missed", None: "– not measured"}[m]


def write():
    docs = {n: load(n) for n in ORDER}
    machine = load("machine") or {}
    md = ["# asynclab benchmark report", "",
          "Produced by `bench/run.sh` (scenarios) and `bench/soak.sh` (soak); re-render with "
          "`python3 bench/lib/report.py`. How to run it: [docs/benchmarks.md](../../docs/benchmarks.md).", "",
          "**How to read the figures.** The machine is a small VM with 2 cores shared by the server, "
          "the load generator and whatever else runs. Absolute "
          "numbers are therefore noisy and mean little. Every comparison is a *same-run ratio*: the "
          "contenders run in turn, each round starting one further along (A B C, B C A, …), each "
          "repetition of asynclab is divided by the reference's repetition of the same round, "
          "measured seconds before or after it, and the table gives the "
          "**median of the repetitions with (min–max)**. A wide min–max means the machine was busy; "
          "trust the median, and distrust a verdict whose range straddles the aim.", ""]
    md += ["## Machine", "", "| | |", "|---|---|"]
    md += [f"| {label} | {cell(machine.get(key, '?'))} |" for key, label in MACHINE]
    md += [""]

    md += ["## Aims at a glance", "", "| scenario | measure | aim | measured: median (min–max) | verdict |",
           "|---|---|---|---|---|"]
    missing = []
    for n in ORDER:
        d = docs[n]
        if not d or "tables" not in d:
            missing.append((n, (d or {}).get("skipped") or (d or {}).get("failed") or "not run yet"))
            continue
        md += [f"| {n} | {cell(a['what'])} | {cell(a['aim'])} | {cell(a['got'])} | {met(a['met'])} |"
               for a in d["aims"]]
    md += [""]
    if missing:
        md += ["**Not in this report:**", ""]
        md += [f"- `{n}`: {why}" for n, why in missing]
        md += [""]

    reading = os.path.join(RESULTS, "reading.md")
    if os.path.exists(reading):
        with open(reading) as f:
            md += [f.read().rstrip(), ""]

    for n in ORDER:
        d = docs[n]
        if not d or "tables" not in d:
            continue
        md += [f"## {n}: {d['title']}", "",
               f"_Run {d['when']} at commit `{d['commit']}`, "
               + (f"{d['reps']} alternated repetitions" if d["reps"] > 1 else "one run")
               + (f" of {d['duration_s']:g} s" if d.get("duration_s") else "")
               + f"; `{d['command']}`; took {d.get('elapsed_s', '?')} s._", ""]
        if d.get("last_attempt"):
            la = d["last_attempt"]
            md += [f"> The latest attempt did not complete ({la.get('skipped') or la.get('failed')}); "
                   "the figures below are from the run named above.", ""]
        for t in d["tables"]:
            md += table(t)
        for c in d["charts"]:
            if c.get("kind") == "series":
                svg.series(os.path.join(RESULTS, c["file"]), c["title"], c["xs"], c["lines"])
            else:
                svg.ratio_bars(os.path.join(RESULTS, c["file"]), c["title"], c["bars"], c.get("aim"),
                               c.get("unit", "×"), c.get("aim_label", "aim"), c.get("lower", False))
            md += [f"![{c['title']}]({c['file']})", ""]
        md += [f"- {note}" for note in d["notes"]]
        md += [""]
    with open(os.path.join(RESULTS, "REPORT.md"), "w") as f:
        f.write("\n".join(md).rstrip() + "\n")


if __name__ == "__main__":
    write()
