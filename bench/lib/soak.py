"""The soak behind bench/soak.sh: `asynclab serve` under a steady mixed load for
SOAK_SECONDS (600 by default), its RSS and open descriptors sampled throughout.

Every route at once, each from its own `asynclab load --rate` process (open model,
far below capacity): /fast, /slow, /limited (deliberately over its permits, so
503s are expected there and only there), a 4 KiB and a 1 MiB file, POST /echo,
and the TCP echo server. Pass when:
  - no request failed and no status other than 2xx came back, except 503 from /limited;
  - RSS after the warm-up drifts by less than 5%: the median RSS of the first
    minute after the warm-up against the median of the last minute. The warm-up is
    a fifth of the soak (120 s of the 10 minutes): RSS reaches its working level
    only once every load has met its busiest moments (1 MiB file buffers come and
    go with the concurrency of the moment), which took 90-120 s here. Minute-long
    medians, not single samples: one 1 MiB buffer is 5% of this process.
  - open descriptors come back to their count before the load once it stops.
"""

import json
import os
import statistics
import sys
import time

import clients
import procs
import report
import scenarios
import servers

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
WARMUP = SECONDS * 0.2
# The windows compared for the drift: a minute, or a fifth of a short soak.
WINDOW = min(60.0, SECONDS * 0.2)
INTERVAL = float(os.environ.get("SOAK_INTERVAL", "5" if SECONDS >= 120 else "1"))

# (label, path or None for TCP echo, rate/s, connections, extra flags, 503 allowed)
LOADS = [
    ("GET /fast", "/fast", 200, 10, [], False),
    ("GET /slow?delay=250ms", "/slow?delay=250ms", 20, 20, [], False),
    ("GET /limited?work=50ms (2 permits: 40/s max)", "/limited?work=50ms", 50, 80, [], True),
    ("GET /files/4k.bin", "/files/4k.bin", 100, 5, [], False),
    ("GET /files/1m.bin", "/files/1m.bin", 10, 2, [], False),
    ("POST /echo (1 KiB)", "/echo", 50, 5, ["-m", "POST", "-b", "x" * 1024], False),
    ("echo TCP, line mode, 64 B", None, 100, 10, ["--mode", "line", "--size", "64"], False),
]


def median_rss(samples):
    return statistics.median(s[1] for s in samples) if samples else 0


def main():
    r = scenarios.Result("soak", f"Soak: {SECONDS:g} s of mixed load at a steady rate, "
                                 "RSS and descriptors sampled", command=f"SOAK_SECONDS={SECONDS:g} bench/soak.sh")
    r.data["reps"] = 1
    r.data["duration_s"] = SECONDS
    started_at = time.monotonic()
    root = os.path.join(servers.TMP, "files")
    scenarios.make_files(root, ("4k.bin", "1m.bin"))
    srv = servers.asynclab_serve([f"files.root={root}"])
    running, samples, loads = [], [], LOADS
    try:
        if procs.http_get(srv.port, "/files/4k.bin")[0] == 404:
            loads = [x for x in LOADS if not (x[1] or "").startswith("/files/")]
            r.note("`asynclab serve` did not serve /files/ at this commit (not mounted yet): "
                   "the two file loads were left out of this soak.")
        time.sleep(0.5)
        fd_base, rss_start = procs.fd_count(srv.pid), procs.rss_kb(srv.pid)
        for label, path, rate, conns, extra, _ in loads:
            url = srv.url(path) if path else f"tcp://127.0.0.1:{srv.ports['echo']}"
            argv, bound = clients.load_argv(url, conns, SECONDS, warmup=0, rate=rate, threads=1,
                                            timeout_s=10, extra=extra)
            running.append((procs.spawn(argv), bound))
        print(f"== soak: {len(loads)} loads for {SECONDS:g} s, sampling every {INTERVAL:g} s", flush=True)
        t0 = time.monotonic()
        while time.monotonic() - t0 < SECONDS:
            samples.append((round(time.monotonic() - t0, 1), procs.rss_kb(srv.pid), procs.fd_count(srv.pid)))
            if not srv.proc.alive():
                raise procs.BenchError(f"the server died during the soak:\n{srv.proc.tail()}")
            time.sleep(INTERVAL)
        # A load that saw nothing succeed exits 1 but still prints its document.
        docs = [json.loads(procs.finish(p, bound, check=False) or "null") for p, bound in running]
        running = []
        # The clients have exited, so their connections are closed: the server's
        # descriptors should drop back to where they started.
        deadline, fd_end = time.monotonic() + 15, procs.fd_count(srv.pid)
        while fd_end > fd_base and time.monotonic() < deadline:
            time.sleep(0.5)
            fd_end = procs.fd_count(srv.pid)
        rss_end_idle = procs.rss_kb(srv.pid)
    finally:
        for p, _ in running:
            p.kill()
            p.wait()
        srv.stop()

    rows, bad = [], []
    for (label, _, rate, conns, _, allow503), d in zip(loads, docs):
        if d is None:
            bad.append(label)
            rows.append([label, rate, conns, "–", 0, 0, "no result (the load failed to run)", "–"])
            continue
        other = {k: v for k, v in d["status"].items() if not k.startswith("2") and not (allow503 and k == "503")}
        errs = {k: v for k, v in d["errors"].items() if v}
        if other or errs or d["requests"]["ok"] == 0:
            bad.append(label)
        lat = d.get("latency_us") or {}
        rows.append([label, rate, conns, f"{d['rate']:.1f}", d["requests"]["ok"], d["status"].get("503", 0),
                     ", ".join(f"{k}: {v}" for k, v in {**other, **errs}.items()) or "none",
                     f"{lat.get('p99', 0) / 1000:.1f}"])
    r.table("Loads (each its own `asynclab load --rate R -c C --threads 1` process; latency from the schedule)",
            ["load", "rate/s asked", "connections", "rate/s achieved", "2xx/ok", "503s",
             "other statuses and errors", "p99, ms"], rows)

    after = [s for s in samples if s[0] >= WARMUP]
    end = samples[-1][0] if samples else 0
    rss_ref = median_rss([s for s in after if s[0] < WARMUP + WINDOW])
    rss_last = median_rss([s for s in after if s[0] > end - WINDOW])
    drift = (rss_last - rss_ref) / rss_ref if rss_ref else 0
    rss_max = max(s[1] for s in after) if after else 0
    fd_peak = max(s[2] for s in samples) if samples else 0
    r.table("Server resources (`asynclab serve`, from /proc/PID/status and /proc/PID/fd)",
            ["measure", "value"],
            [["RSS before the load", f"{rss_start / 1024:.1f} MiB"],
             [f"RSS in the {WINDOW:g} s after the {WARMUP:g} s warm-up (median)", f"{rss_ref / 1024:.1f} MiB"],
             [f"RSS in the last {WINDOW:g} s of the load (median)", f"{rss_last / 1024:.1f} MiB"],
             ["RSS highest after the warm-up", f"{rss_max / 1024:.1f} MiB"],
             ["RSS drift after the warm-up", f"{drift * 100:+.2f}%"],
             ["RSS once idle again", f"{rss_end_idle / 1024:.1f} MiB"],
             ["open descriptors: before / highest / after", f"{fd_base} / {fd_peak} / {fd_end}"],
             ["samples", f"{len(samples)}, every {INTERVAL:g} s"]])
    r.data["charts"].append({"kind": "series", "file": "soak.svg",
                             "title": f"Soak: server RSS (MiB) and open descriptors over {SECONDS:g} s",
                             "xs": [s[0] for s in samples],
                             "lines": [{"label": "RSS MiB", "values": [round(s[1] / 1024, 1) for s in samples],
                                        "color": "#4c78a8"},
                                       {"label": "open fds", "values": [s[2] for s in samples],
                                        "color": "#e45756"}]})
    r.aim("soak: no errors except /limited 503s", "none", ", ".join(bad) or "none", not bad)
    r.aim("soak: RSS drift after warm-up", "< 5%", f"{drift * 100:+.2f}%", abs(drift) < 0.05)
    r.aim("soak: descriptors back to baseline", f"{fd_base}", f"{fd_end}", fd_end <= fd_base)
    if SECONDS < 600:
        r.note(f"A shortened soak ({SECONDS:g} s instead of 600 s).")
    r.data["elapsed_s"] = round(time.monotonic() - started_at, 1)
    r.data["raw"] = {"samples": samples, "loads": [d and scenarios.strip(d) for d in docs]}
    path = os.path.join(scenarios.RESULTS, "data", "soak.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(r.data, f, indent=1)
    report.write()
    verdicts = [a["met"] for a in r.data["aims"]]
    print("soak:", "PASS" if all(verdicts) else "FAIL", "; ".join(f"{a['what']}: {a['got']}" for a in r.data["aims"]))
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
