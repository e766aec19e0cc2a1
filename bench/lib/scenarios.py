"""The scenarios of issue 8. Each starts what it needs, alternates the contenders
(A B C, B C A, ..., `REPS` rounds), stops everything it started, and returns a
`Result`: tables, charts and aims as data, which bench/lib/report.py renders.

Every figure that compares two servers is a same-run ratio: repetition i of one
over repetition i of the other, measured seconds apart on the same busy machine.
"""

import datetime
import json
import os
import shutil
import subprocess
import time

import clients
import procs
import report
import servers
from stats import alternate, fmt, ratios, summary, verdict

# Short runs, many repetitions: a pair of runs to be compared is then only seconds
# apart, which is what cancels the load from other work on a shared machine.
REPS = int(os.environ.get("BENCH_REPS", "5"))
DURATION = float(os.environ.get("BENCH_DURATION", "3"))
WARMUP = 1.0
RESULTS = report.RESULTS
IDLE_CONNECTIONS = int(os.environ.get("BENCH_IDLE_CONNECTIONS", "10000"))
SLOW_REQUESTS = int(os.environ.get("BENCH_SLOW_REQUESTS", "10000"))


class Skip(Exception):
    """The scenario cannot run here (a baseline is missing); the reason goes in the report."""


class Result:
    def __init__(self, name, title, command=None):
        commit = os.environ.get("BENCH_COMMIT") or subprocess.run(
            ["git", "-C", servers.ROOT, "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True).stdout.strip() + "+working tree"
        self.data = {"scenario": name, "title": title,
                     "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                     "commit": commit,
                     "reps": REPS, "duration_s": DURATION, "command": command or f"bench/run.sh {name}",
                     "tables": [], "charts": [], "aims": [], "notes": [], "raw": {}}

    def table(self, title, columns, rows, note=None):
        self.data["tables"].append({"title": title, "columns": columns, "rows": rows, "note": note})

    def chart(self, file, title, bars, aim=None, unit="×", aim_label="aim", lower=False):
        self.data["charts"].append({"file": file, "title": title, "bars": bars, "aim": aim,
                                    "unit": unit, "aim_label": aim_label, "lower": lower})

    def aim(self, what, aim, got, met):
        self.data["aims"].append({"what": what, "aim": aim, "got": got, "met": met})

    def note(self, text):
        self.data["notes"].append(text)


def need(var, what):
    if not servers.binary(var):
        raise Skip(f"{what} is not built (bench/baselines/ missing or failed to build)")


def bar(label, s):
    return {"label": label, "median": s["median"], "min": s["min"], "max": s["max"]}


def ok_rate(doc):
    """Successful answers per second (HTTP status below 400, or a correct echo)."""
    return doc["requests"]["ok"] / doc["duration_s"] if doc["duration_s"] else 0.0


def p99_ms(doc):
    lat = doc.get("latency_us")
    return lat["p99"] / 1000 if lat else None


def stopping(started):
    """Stops every server in `started` (a dict or list), whatever happened."""
    for srv in (started.values() if isinstance(started, dict) else started):
        srv.stop()


# ---------------------------------------------------------------------------
def start_fast_contenders(started):
    """asynclab, the bare hyper server and nginx with 1 and 2 workers, into
    `started` (so the caller stops whatever did start); returns each one's path."""
    started["asynclab"] = servers.asynclab_http()
    started["bare hyper"] = servers.bare_hyper()
    started["nginx 1w"] = servers.nginx("return200.conf", workers=1)
    started["nginx 2w"] = servers.nginx("return200.conf", workers=2)
    return {"asynclab": "/fast", "bare hyper": "/", "nginx 1w": "/fast", "nginx 2w": "/fast"}


def fast():
    r = Result("fast", "GET /fast: asynclab (full default middleware) vs bare hyper vs nginx `return 200`")
    need("BENCH_BARE_HYPER", "bench/baselines/bare-hyper")
    started = {}
    try:
        path = start_fast_contenders(started)
        names = list(started)
        rows, p99rows, vs_bare, vs_nginx = [], [], [], []
        for c in (50, 256, 1000):
            print(f"== fast: {c} connections (asynclab load)", flush=True)
            runs = alternate(REPS, names, lambda n: clients.load(
                started[n].url(path[n]), c, DURATION, warmup=WARMUP))
            r.data["raw"][f"load-c{c}"] = {n: [strip(d) for d in runs[n]] for n in names}
            rate = {n: [ok_rate(d) for d in runs[n]] for n in names}
            p99 = {n: [p99_ms(d) for d in runs[n]] for n in names}
            best = max(("nginx 1w", "nginx 2w"), key=lambda n: summary(rate[n])["median"])
            rb = summary(ratios(rate["asynclab"], rate["bare hyper"]))
            rn = summary(ratios(rate["asynclab"], rate[best]))
            errs = {n: sum(clients.errors(d) for d in runs[n]) for n in names}
            rows.append([c] + [fmt(summary(rate[n]), "{:.0f}") for n in names]
                        + [fmt(rb), f"{fmt(rn)} ({best})",
                           ", ".join(f"{n}: {e}" for n, e in errs.items() if e) or "0"])
            p99rows.append([c] + [fmt(summary(p99[n]), "{:.2f}") for n in names]
                           + [fmt(summary(ratios(p99["asynclab"], p99["bare hyper"]))),
                              fmt(summary(ratios(p99["asynclab"], p99[best])))])
            vs_bare.append(bar(f"{c} connections", rb))
            vs_nginx.append(bar(f"{c} connections (vs {best})", rn))
            r.aim(f"/fast req/s vs bare hyper, {c} conns", "≥ 0.9×", fmt(rb) + "×",
                  verdict(rb["median"], 0.9))
            r.aim(f"/fast req/s vs nginx return 200 ({best}), {c} conns", "≥ 1.0×", fmt(rn) + "×",
                  verdict(rn["median"], 1.0))
        r.table("Requests per second (asynclab load, keep-alive, median (min–max))",
                ["connections"] + names + ["asynclab ÷ bare hyper", "asynclab ÷ best nginx", "errors"],
                rows)
        r.table("p99 latency, ms (asynclab load)",
                ["connections"] + names + ["asynclab ÷ bare hyper", "asynclab ÷ best nginx"], p99rows,
                note="Closed loop (each connection waits for its answer): p99 mostly mirrors throughput.")
        r.chart("fast-vs-bare-hyper.svg", "/fast req/s, asynclab ÷ bare hyper (same run)", vs_bare, aim=0.9)
        r.chart("fast-vs-nginx.svg", "/fast req/s, asynclab ÷ best nginx return 200", vs_nginx, aim=1.0)

        print("== fast: 50 connections (wrk cross-check)", flush=True)
        runs = alternate(REPS, names, lambda n: clients.wrk(started[n].url(path[n]), 50, DURATION))
        r.data["raw"]["wrk-c50"] = {n: [{k: v for k, v in d.items() if k != "raw"} for d in runs[n]]
                                    for n in names}
        rate = {n: [d["rate"] for d in runs[n]] for n in names}
        best = max(("nginx 1w", "nginx 2w"), key=lambda n: summary(rate[n])["median"])
        wb = summary(ratios(rate["asynclab"], rate["bare hyper"]))
        r.table("Cross-check with wrk, 50 connections, req/s",
                names + ["asynclab ÷ bare hyper", "asynclab ÷ best nginx", "wrk errors"],
                [[fmt(summary(rate[n]), "{:.0f}") for n in names]
                 + [fmt(wb),
                    f"{fmt(summary(ratios(rate['asynclab'], rate[best])))} ({best})",
                    sum(d["errors"] for n in names for d in runs[n])]])
        # The tower-stack issue measures its aim with wrk: the stack's cost, with the
        # client that is not ours.
        r.aim("/fast req/s vs bare hyper, wrk, 50 conns", "≥ 0.95×", fmt(wb) + "×",
              verdict(wb["median"], 0.95))
    finally:
        stopping(started)
    r.note("The bare hyper server answers `/` with 13 bytes; asynclab's `/fast` and nginx answer "
           "`Fast response\\n` (14 bytes). nginx runs with `access_log off` (asynclab logs successes "
           "at debug, i.e. not by default) and `keepalive_requests` lifted (hyper has no such limit).")
    return r


PERF_EVENTS = "task-clock,context-switches,raw_syscalls:sys_enter"


def perf_per_request(url, connections, pids):
    """One wrk run with `perf stat` attached to the server's `pids`: the server's
    CPU time, context switches and system calls per request served."""
    perf = subprocess.Popen(["perf", "stat", "-x,", "-e", PERF_EVENTS, "-p", ",".join(map(str, pids))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    procs.register(perf.pid)
    try:
        time.sleep(0.2)
        before = [procs.cpu_seconds(p) for p in pids]
        doc = clients.wrk(url, connections, DURATION)
        after = [procs.cpu_seconds(p) for p in pids]
    finally:
        perf.send_signal(2)
        err = perf.communicate(timeout=30)[1]
    user, kernel = (sum(a[i] - b[i] for a, b in zip(after, before)) for i in (0, 1))
    counts = {}
    for line in err.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[0].replace(".", "", 1).isdigit():
            counts[fields[2]] = float(fields[0])
    served = doc["rate"] * DURATION
    return {"rate": doc["rate"], "cpu_us": counts.get("task-clock", 0) * 1000 / served,
            # The user/kernel split, from /proc (10 ms ticks: about 300 per run).
            "user_share": user / (user + kernel) if user + kernel else 0,
            "cs": counts.get("context-switches", 0) / served,
            "syscalls": counts.get("raw_syscalls:sys_enter", 0) / served}


def cost():
    r = Result("cost", "GET /fast: what each request costs the server (CPU time, system calls, "
                       "context switches), by perf stat under wrk")
    need("BENCH_BARE_HYPER", "bench/baselines/bare-hyper")
    if not shutil.which("perf") or subprocess.run(
            ["perf", "stat", "-e", PERF_EVENTS, "true"], capture_output=True).returncode != 0:
        raise Skip("perf stat with software events and syscall tracepoints does not work here")
    started = {}
    try:
        path = start_fast_contenders(started)
        # nginx's master accepts nothing: count its workers.
        pids = {n: procs.children(s.pid) if n.startswith("nginx") else [s.pid] for n, s in started.items()}
        names = list(started)
        rows = []
        for c in (256, 1000):
            print(f"== cost: {c} connections (wrk + perf stat)", flush=True)
            runs = alternate(REPS, names, lambda n: perf_per_request(
                started[n].url(path[n]), c, pids[n]))
            r.data["raw"][f"wrk-c{c}"] = runs
            for n in names:
                rows.append([c, n, fmt(summary([d["rate"] for d in runs[n]]), "{:.0f}"),
                             fmt(summary([d["cpu_us"] for d in runs[n]])),
                             fmt(summary(ratios([d["cpu_us"] for d in runs[n]],
                                                [d["cpu_us"] for d in runs["bare hyper"]]))),
                             fmt(summary([d["user_share"] * 100 for d in runs[n]]), "{:.0f}", " %"),
                             fmt(summary([d["syscalls"] for d in runs[n]])),
                             fmt(summary([d["cs"] for d in runs[n]]), "{:.3f}")])
        r.table("Per request served (wrk, keep-alive, median (min–max))",
                ["connections", "server", "req/s", "CPU µs", "CPU ÷ bare hyper", "of it in user space",
                 "system calls", "context switches"], rows,
                note="CPU is the server's user + kernel time (`task-clock`) over requests served; "
                     "the load generator's is not counted. Where two servers make the same system "
                     "calls per request, the difference in CPU time is what each does around them.")
    finally:
        stopping(started)
    return r


def strip(doc):
    """What the report keeps of an `asynclab load` document (not the histograms)."""
    return {k: doc.get(k) for k in ("rate", "duration_s", "requests", "status", "errors",
                                    "latency_us", "bytes")}


# ---------------------------------------------------------------------------
def slow():
    n = SLOW_REQUESTS
    r = Result("slow", f"{n:,} concurrent GET /slow?delay=1s: wall time and peak RSS")
    need("BENCH_BARE_HYPER", "bench/baselines/bare-hyper")
    starts = {"asynclab": servers.asynclab_http, "bare hyper": servers.bare_hyper}

    def measure(name):
        srv = starts[name]()
        try:
            base = procs.rss_kb(srv.pid)
            procs.reset_peak(srv.pid)
            drops = procs.listen_overflows()
            doc = clients.load(srv.url("/slow?delay=1s"), n, requests=n, warmup=0)
            peak = procs.peak_kb(srv.pid)
            drops = procs.listen_overflows() - drops
        finally:
            srv.stop()
        return {"wall_s": doc["duration_s"], "peak_mb": peak / 1024, "base_mb": base / 1024, "drops": drops,
                "ok": doc["requests"]["ok"], "errors": clients.errors(doc), "status": doc["status"]}

    print(f"== slow: {n} concurrent /slow?delay=1s", flush=True)
    runs = alternate(REPS, list(starts), measure)
    r.data["raw"] = runs
    wall = {k: [x["wall_s"] for x in v] for k, v in runs.items()}
    peak = {k: [x["peak_mb"] for x in v] for k, v in runs.items()}
    rw = summary(ratios(wall["asynclab"], wall["bare hyper"]))
    rp = summary(ratios(peak["asynclab"], peak["bare hyper"]))
    rows = [[k, fmt(summary(wall[k]), "{:.2f}"), fmt(summary(peak[k]), "{:.0f}"),
             fmt(summary([x["base_mb"] for x in runs[k]]), "{:.1f}"),
             sum(x["ok"] for x in runs[k]), sum(x["errors"] for x in runs[k]),
             fmt(summary([x["drops"] for x in runs[k]]), "{:.0f}")] for k in starts]
    rows.append(["asynclab ÷ bare hyper", fmt(rw) + "×", fmt(rp) + "×", "", "", "", ""])
    r.table(f"{n:,} concurrent /slow?delay=1s (one request per connection, all at once)",
            ["server", "wall time, s", "peak RSS (VmHWM), MB", "RSS before, MB",
             f"answered 2xx (of {n * REPS:,})", "errors", "SYNs dropped, accept queue full"], rows,
            note="Both servers listen with a backlog of 4,096 (asynclab's `http.backlog`; Linux "
                 "caps it at net.core.somaxconn). With tokio's default of 128 (std's) a burst of 10,000 "
                 "connects overflows the accept queue, the kernel drops SYNs and clients retry "
                 "after 1 s, 3 s, ...: the wall time is then dominated by those retries. A non-zero "
                 "'SYNs dropped' column means that happened.")
    r.chart("slow.svg", f"{n:,} × /slow?delay=1s: asynclab ÷ bare hyper (lower is better)",
            [bar("wall time", rw), bar("peak RSS", rp)], aim=1.1, aim_label="at most", lower=True)
    r.aim(f"{n:,} /slow wall time vs bare hyper", "≤ 1.1×", fmt(rw) + "×", verdict(rw["median"], 1.1, False))
    r.aim(f"{n:,} /slow peak RSS vs bare hyper", "≤ 1.1×", fmt(rp) + "×", verdict(rp["median"], 1.1, False))
    r.note("Wall time is `asynclab load -c N -n N`'s duration: from the first connection attempt to "
           "the last answer. Peak RSS is the server's VmHWM, reset just before the burst.")
    return r


# ---------------------------------------------------------------------------
def counter(port, prefix):
    """The sum of the /metrics samples whose line starts with `prefix`."""
    body = procs.http_get(port, "/metrics")[1].decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines() if line.startswith(prefix))


def limited():
    r = Result("limited", "GET /limited: throughput = permits ÷ work, overflow answered 503")
    permits, work_ms, window = 2, 200, max(10.0, 2 * DURATION)
    expected = permits / (work_ms / 1000)
    ok200 = 'asynclab_http_requests_total{route="/limited",method="GET",status="200"}'
    srv = servers.asynclab_http([f"http.limited.permits={permits}"])
    rows, raw = [], {}
    try:
        # 8 connections, closed loop: never more than the 64 waiters, nothing refused.
        # 100 connections at 20 requests/s (open model, twice the capacity): the
        # queue fills and the excess is refused with 503, without a retry storm.
        for c, rate in ((8, None), (100, 2 * expected)):
            print(f"== limited: {c} connections" + (f", {rate:g}/s" if rate else ""), flush=True)
            runs = []
            for _ in range(min(REPS, 3)):  # exact, not noisy: three are plenty
                argv, bound = clients.load_argv(srv.url(f"/limited?work={work_ms}ms"), c, window + 4,
                                                warmup=0, rate=rate)
                p = procs.spawn(argv)
                # Counted by the server over a window in the steady state: requests that
                # queued before the window and finish inside it count, which is what
                # "throughput" means; a client-side count loses them at the edges.
                time.sleep(2)
                t1, n1 = time.monotonic(), counter(srv.port, ok200)
                time.sleep(window)
                t2, n2 = time.monotonic(), counter(srv.port, ok200)
                doc = json.loads(procs.finish(p, bound))
                runs.append({"rate": (n2 - n1) / (t2 - t1), "doc": strip(doc)})
            raw[c] = runs
            got = summary([x["rate"] for x in runs])
            ratio = summary([x["rate"] / expected for x in runs])
            rejected = [x["doc"]["status"].get("503", 0) / x["doc"]["duration_s"] for x in runs]
            other = sum(x["doc"]["requests"]["errors"] + sum(
                v for k, v in x["doc"]["status"].items() if k not in ("200", "503")) for x in runs)
            rows.append([c, f"{rate:g}/s" if rate else "closed loop", f"{expected:.1f}",
                         fmt(got, "{:.2f}"), fmt(ratio, "{:.3f}"), fmt(summary(rejected), "{:.1f}"), other])
            r.aim(f"/limited throughput, {c} conns ({permits} permits, {work_ms} ms work)",
                  f"= {expected:g}/s (±2%)", fmt(got, "{:.2f}") + "/s",
                  abs(ratio["median"] - 1) <= 0.02 and other == 0)
    finally:
        srv.stop()
    r.data["raw"] = raw
    r.data["reps"], r.data["duration_s"] = min(REPS, 3), window
    r.table(f"/limited?work={work_ms}ms with {permits} permits: 200s per second counted by the server "
            f"(/metrics) over {window:g} s of steady state",
            ["connections", "load", "expected 200/s", "measured 200/s", "measured ÷ expected",
             "503/s (client count)", "other errors"], rows,
            note="The 503s are the deliberate refusals: more than `http.limited.max_waiters` (64) "
                 "waiting, or a wait beyond `http.limited.queue_timeout` (5 s).")
    return r


# ---------------------------------------------------------------------------
SIZES = {"4k.bin": 4096, "1m.bin": 1 << 20, "1g.bin": 1 << 30}


def make_files(root, names=tuple(SIZES)):
    """The files the servers serve: 4 KiB, 1 MiB, 1 GiB of non-zero bytes."""
    os.makedirs(root, exist_ok=True)
    os.chmod(servers.TMP, 0o755)  # nginx workers run as `nobody` and must reach it
    os.chmod(root, 0o755)
    for name in names:
        size = SIZES[name]
        path = os.path.join(root, name)
        if os.path.exists(path) and os.path.getsize(path) == size:
            continue
        block = bytes(range(256)) * 4096  # 1 MiB of non-zero bytes: no sparse file
        with open(path, "wb") as f:
            left = size
            while left:
                f.write(block[:min(left, len(block))])
                left -= min(left, len(block))
        os.chmod(path, 0o644)


FILE_CASES = [("4 KiB, 50 connections", "4k.bin", 50), ("1 MiB, 16 connections", "1m.bin", 16),
              ("1 GiB, 1 connection", "1g.bin", 1)]


def warm_page_cache(path):
    """Reads `path` once, so the kernel has it in its page cache."""
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 20):
            pass


def files():
    r = Result("files", "Static files: asynclab /files/ vs nginx (1/2 workers, sendfile on/off)")
    root = os.path.join(servers.TMP, "files")
    make_files(root)
    conf = "files.conf"
    if not os.path.exists(os.path.join(servers.ROOT, "bench/nginx", conf)):
        raise Skip("bench/nginx/files.conf is missing")
    started = {}
    try:
        started["asynclab"] = servers.asynclab_http([f"files.root={root}"])
        for w in (1, 2):
            for sf in ("on", "off"):
                started[f"nginx {w}w sendfile {sf}"] = servers.nginx(conf, w, sf, root)
        names = list(started)
        nginxes = names[1:]
        rows, bars, growth, failures = [], [], {}, []
        for label, file, c in FILE_CASES:
            print(f"== files: {label}", flush=True)
            big = file == "1g.bin"

            def measure(n):
                # One failed run (nothing answered in time) is reported, not fatal.
                try:
                    return measure_once(n)
                except procs.BenchError as e:
                    failures.append(f"{label}, {n}: {str(e)[-200:]}")
                    return {"rate": None, "mbs": None, "errors": 0, "rss_growth_mb": None}

            def measure_once(n):
                url = started[n].url(f"/files/{file}")
                # Every contender starts with the file in the page cache: the
                # 1 GiB file is otherwise evicted between repetitions, and
                # whoever runs first would pay for the disk.
                warm_page_cache(os.path.join(root, file))
                if not big:
                    doc = clients.load(url, c, DURATION, warmup=WARMUP)
                    return {"rate": ok_rate(doc), "mbs": doc["bytes"]["received_per_s"] / 1e6,
                            "errors": clients.errors(doc)}
                before = procs.rss_kb(started[n].pid)
                with procs.Sampler(started[n].pid, 0.02) as s:
                    doc = clients.load(url, 1, requests=2, warmup=0, timeout_s=60)
                return {"rate": ok_rate(doc), "mbs": doc["bytes"]["received_per_s"] / 1e6,
                        "errors": clients.errors(doc), "rss_before_mb": before / 1024,
                        "rss_growth_mb": (s.max_rss_kb - before) / 1024}

            runs = alternate(REPS, names, measure)
            r.data["raw"][file] = runs
            key = "mbs" if big else "rate"
            val = {n: [x[key] for x in runs[n]] for n in names}
            best = max(nginxes, key=lambda n: summary(val[n])["median"])
            rb = summary(ratios(val["asynclab"], val[best]))
            unit = "MB/s" if big else "req/s"
            rows.append([label, unit] + [fmt(summary(val[n]), "{:.0f}") for n in names]
                        + [f"{fmt(rb)} ({best})", sum(x["errors"] for n in names for x in runs[n])])
            bars.append(bar(f"{label} (vs {best.replace('nginx ', '')})", rb))
            r.aim(f"files {label} vs best nginx", "≥ 0.8×", fmt(rb) + "×", verdict(rb["median"], 0.8))
            if big:
                growth = {n: summary([x["rss_growth_mb"] for x in runs[n]]) for n in names}
                g = growth["asynclab"]
                r.aim("RSS growth during a 1 GiB download", "< 16 MiB", fmt(g, "{:.1f}", " MiB"),
                      verdict(g["max"], 16, False))
        r.table("Throughput (median (min–max)); the ratio is against the best nginx configuration "
                "of that case, repetition by repetition",
                ["case", "unit"] + names + ["asynclab ÷ best nginx", "errors"], rows)
        r.table("RSS growth while serving the 1 GiB file (sampled every 20 ms), MiB",
                names, [[fmt(growth.get(n), "{:.1f}") for n in names]])
        r.chart("files.svg", "Files: asynclab ÷ best nginx configuration", bars, aim=0.8)
        for f in failures:
            r.note(f"A run that failed (left out of the medians): {f}")
    finally:
        stopping(started)
    r.note("The 4 KiB and 1 MiB cases report requests/s and the 1 GiB case MB/s of body received by "
           "`asynclab load`, which reads every body to the end and discards it.")
    return r


# ---------------------------------------------------------------------------
def echo():
    r = Result("echo", "TCP echo: asynclab (raw and line modes) vs a bare tokio echo server")
    need("BENCH_BARE_ECHO", "bench/baselines/bare-echo")
    started = {}
    try:
        started["bare echo"] = servers.bare_echo()
        started["asynclab raw"] = servers.asynclab_echo("raw")
        started["asynclab line"] = servers.asynclab_echo("line")
        names = list(started)
        mode = {"bare echo": "raw", "asynclab raw": "raw", "asynclab line": "line"}
        rows, bars = [], []
        for size in (64, 4096):
            for c in (50, 500):
                print(f"== echo: {size} B messages, {c} connections", flush=True)
                runs = alternate(REPS, names, lambda n: clients.load(
                    f"tcp://127.0.0.1:{started[n].port}", c, DURATION, warmup=WARMUP,
                    extra=["--mode", mode[n], "--size", str(size)]))
                r.data["raw"][f"{size}B-c{c}"] = {n: [strip(d) for d in runs[n]] for n in names}
                rate = {n: [ok_rate(d) for d in runs[n]] for n in names}
                raw_r = summary(ratios(rate["asynclab raw"], rate["bare echo"]))
                line_r = summary(ratios(rate["asynclab line"], rate["bare echo"]))
                mbs = {n: summary([d["bytes"]["received_per_s"] / 1e6 for d in runs[n]]) for n in names}
                rows.append([f"{size} B", c] + [fmt(summary(rate[n]), "{:.0f}") for n in names]
                            + [fmt(raw_r), fmt(line_r)]
                            + [fmt(mbs[n], "{:.0f}") for n in names]
                            + [sum(clients.errors(d) for n in names for d in runs[n])])
                bars += [bar(f"raw, {size} B, {c} conns", raw_r),
                         dict(bar(f"line, {size} B, {c} conns", line_r), aim=0.9)]
                r.aim(f"echo raw {size} B, {c} conns vs bare", "≥ 1.0×", fmt(raw_r) + "×",
                      verdict(raw_r["median"], 1.0))
                r.aim(f"echo line {size} B, {c} conns vs bare", "≥ 0.9×", fmt(line_r) + "×",
                      verdict(line_r["median"], 0.9))
        r.table("Round trips per second (asynclab load, one message in flight per connection)",
                ["message", "connections"] + names + ["raw ÷ bare", "line ÷ bare"]
                + [f"MB/s {n}" for n in names] + ["errors"], rows,
                note="Line mode answers `Echo: ` + the line, so it sends 6 more bytes per message; "
                     "the bare server has no line mode and is driven in raw mode with the same messages.")
        print("== echo: 1 GiB stream over one connection", flush=True)
        streams = alternate(REPS, ["bare echo", "asynclab raw"],
                            lambda n: clients.echo_stream(started[n].port))
        r.data["raw"]["stream-1GiB"] = streams
        sr = summary(ratios(streams["asynclab raw"], streams["bare echo"]))
        r.table("1 GiB streamed through one connection (written and read back at once), MB/s",
                ["bare echo", "asynclab raw", "asynclab raw ÷ bare"],
                [[fmt(summary(streams["bare echo"]), "{:.0f}"),
                  fmt(summary(streams["asynclab raw"]), "{:.0f}"), fmt(sr)]],
                note="The client is Python (a writer thread and a reader, 1 MiB calls): it costs the "
                     "same for both servers, but caps the absolute figure.")
        bars.append(bar("raw, 1 GiB stream", sr))
        r.aim("echo 1 GiB stream vs bare", "≥ 1.0×", fmt(sr) + "×", verdict(sr["median"], 1.0))
        r.chart("echo.svg", "Echo round trips/s: asynclab ÷ bare tokio echo", bars, aim=1.0,
                aim_label="raw aim (line: 0.9)")
    finally:
        stopping(started)
    return r


# ---------------------------------------------------------------------------
def idle_growth(name, start, kind, n, path="/fast"):
    """The server `start()` gives, holding `n` idle connections of `kind` (see
    `clients.IdleConnections`) from another process: its RSS before and with
    them, and the growth per connection."""
    srv = start()
    try:
        # Warm the allocator and the runtime with a first wave, closed again.
        warm = clients.IdleConnections(srv.port, 200, kind, path)
        warm.wait_open()
        warm.close()
        time.sleep(0.5)
        before = procs.rss_kb(srv.pid)
        conns = clients.IdleConnections(srv.port, n, kind, path)
        opened = conns.wait_open()
        time.sleep(1.0)
        after = procs.rss_kb(srv.pid)
        failed = conns.close()
    finally:
        srv.stop()
    if failed:
        # Kept with the figures, so a shortfall in "connections held" has its reason.
        print(f"   {name}: {failed}", flush=True)
    return {"opened": opened, "before_kb": before, "after_kb": after,
            "per_conn_kb": (after - before) * 1.024 / opened if opened else None,
            "holder_errors": failed}


def idle():
    n = IDLE_CONNECTIONS
    r = Result("idle", f"{n:,} idle connections: RSS growth per connection")
    need("BENCH_BARE_HYPER", "bench/baselines/bare-hyper")
    need("BENCH_BARE_ECHO", "bench/baselines/bare-echo")
    contenders = {
        # The servers' connection limits (10,000 by default) raised above the count
        # held: this scenario measures memory, and at the limit a connection the
        # server has not yet seen close would keep one of the holder's waiting.
        "asynclab echo": (lambda: servers.asynclab_echo(
            "line", sets=[f"echo.max_connections={2 * n}"]), "echo"),
        "bare echo": (servers.bare_echo, "echo"),
        "asynclab http": (lambda: servers.asynclab_http(sets=[f"http.max_connections={2 * n}"]), "http"),
        "bare hyper": (servers.bare_hyper, "http"),
        "nginx 1w": (lambda: servers.nginx("return200.conf", workers=1), "http"),
    }

    def measure(name):
        start, kind = contenders[name]
        return idle_growth(name, start, kind, n)

    print(f"== idle: {n} idle connections", flush=True)
    runs = alternate(REPS, list(contenders), measure)
    r.data["raw"] = runs
    per = {k: [x["per_conn_kb"] for x in v] for k, v in runs.items()}
    re = summary(ratios(per["asynclab echo"], per["bare echo"]))
    rh = summary(ratios(per["asynclab http"], per["bare hyper"]))
    rows = [[k, fmt(summary(per[k]), "{:.2f}"), min(x["opened"] for x in runs[k]),
             fmt(summary([x["before_kb"] / 1024 for x in runs[k]]), "{:.1f}"),
             fmt(summary([x["after_kb"] / 1024 for x in runs[k]]), "{:.1f}")] for k in contenders]
    r.table(f"RSS growth with {n:,} idle connections (each made one exchange first)",
            ["server", "KB per connection", "connections held (min)", "RSS before, MiB", "RSS with them, MiB"],
            rows + [["asynclab echo ÷ bare echo", fmt(re) + "×", "", "", ""],
                    ["asynclab http ÷ bare hyper", fmt(rh) + "×", "", "", ""]],
            note="HTTP connections made one keep-alive `GET /fast` (bare hyper: `/`); echo connections "
                 "one line. KB = 1,000 bytes, from VmRSS of the server (master + workers for nginx).")
    r.chart("idle.svg", "Memory per idle connection: asynclab ÷ bare (lower is better)",
            [dict(bar("echo", re), aim=1.0), bar("HTTP keep-alive", rh)], aim=1.1,
            aim_label="HTTP at most (echo: 1.0)", lower=True)
    r.aim("idle echo connection memory vs bare echo", "≤ 1.0×", fmt(re) + "×", verdict(re["median"], 1.0, False))
    r.aim("idle HTTP connection memory vs bare hyper", "≤ 1.1×", fmt(rh) + "×", verdict(rh["median"], 1.1, False))
    return r


# ---------------------------------------------------------------------------
def loadgen():
    r = Result("loadgen", "`asynclab load` vs wrk, hey and oha against the bare hyper server, 50 connections")
    need("BENCH_BARE_HYPER", "bench/baselines/bare-hyper")
    # wrk is required (bench_need_tools installs it, and hey); oha only where it
    # is installed (`cargo install oha`: a long build, so not done here).
    others = ["wrk"] + [t for t in ("hey", "oha") if shutil.which(t)]
    srv = servers.bare_hyper()
    try:
        def measure(tool):
            if tool != "asynclab load":
                d = getattr(clients, tool)(srv.url("/"), 50, DURATION)
                return {k: d[k] for k in ("rate", "p50_us", "p99_us", "errors")}
            d = clients.load(srv.url("/"), 50, DURATION, warmup=0)
            return {"rate": d["rate"], "p50_us": d["latency_us"]["p50"], "p99_us": d["latency_us"]["p99"],
                    "errors": clients.errors(d)}
        print(f"== loadgen: asynclab load vs {', '.join(others)}", flush=True)
        runs = alternate(REPS, ["asynclab load"] + others, measure)
    finally:
        srv.stop()
    r.data["raw"] = runs
    names = ["asynclab load"] + others
    rows, got = [], {}
    for k in ("rate", "p50_us", "p99_us"):
        mine = [x[k] for x in runs["asynclab load"]]
        for tool in others:
            got[(k, tool)] = summary(ratios(mine, [x[k] for x in runs[tool]]))
        rows.append([{"rate": "req/s", "p50_us": "p50, µs", "p99_us": "p99, µs"}[k]]
                    + [fmt(summary([x[k] for x in runs[n]]), "{:.0f}") for n in names]
                    + [fmt(got[(k, tool)]) for tool in others])
    r.table(f"Same server, 50 connections, {DURATION:g} s each, no warmup (wrk and asynclab load: "
            f"{clients.THREADS} threads; hey: Go's scheduler on every core)",
            ["measure"] + names + [f"asynclab load ÷ {t}" for t in others], rows,
            note="errors: " + ", ".join(f"{n} {sum(x['errors'] for x in runs[n])}" for n in names)
                 + ("" if "oha" in others else "; oha not installed (`cargo install oha`), not run"))
    got_wrk = {k: got[(k, "wrk")] for k in ("rate", "p50_us", "p99_us")}
    r.chart("loadgen.svg", "asynclab load ÷ wrk (same server, same run)",
            [bar("req/s", got_wrk["rate"]), dict(bar("p50 (aim: within 25%)", got_wrk["p50_us"]), aim=None),
             dict(bar("p99 (aim: within 25%)", got_wrk["p99_us"]), aim=None)], aim=1.0)
    for tool in others:
        r.aim(f"asynclab load req/s vs {tool}", "≥ 1.0×", fmt(got[("rate", tool)]) + "×",
              verdict(got[("rate", tool)]["median"], 1.0))
    for k, label in (("p50_us", "p50"), ("p99_us", "p99")):
        r.aim(f"asynclab load {label} vs wrk", "within 25%", fmt(got_wrk[k]) + "×",
              abs(got_wrk[k]["median"] - 1) <= 0.25)
    return r


# ---------------------------------------------------------------------------
def startup():
    r = Result("startup", "Start-up (process start to first /readyz 200) and SIGTERM to exit when idle")
    reps = max(REPS, 10)
    ready, exits, codes = [], [], []
    print(f"== startup: {reps} starts and stops of asynclab serve", flush=True)
    for _ in range(reps):
        srv = servers.asynclab_serve()
        ready.append(srv.ready_s * 1000)
        time.sleep(0.3)
        exits.append(srv.stop() * 1000)
        codes.append(srv.proc.popen.returncode)
    r.data["raw"] = {"ready_ms": ready, "exit_ms": exits, "exit_codes": codes}
    r.data["reps"], r.data["duration_s"] = reps, None
    s_ready, s_exit = summary(ready), summary(exits)
    r.table(f"`asynclab serve`, {reps} runs, ms",
            ["measure", "median (min–max)", "aim"],
            [["process start → first `GET /readyz` 200", fmt(s_ready, "{:.1f}"), "≤ 50 ms"],
             ["SIGTERM → process exit (idle)", fmt(s_exit, "{:.1f}"), "≤ 100 ms"],
             ["exit codes", ", ".join(sorted({str(c) for c in codes})), "0"]],
            note="Measured from Python: the start includes fork/exec; `/readyz` is polled on a new "
                 "connection every 0.5 ms.")
    r.aim("start-up to first /readyz 200", "≤ 50 ms", fmt(s_ready, "{:.1f}", " ms"), verdict(s_ready["median"], 50, False))
    r.aim("SIGTERM to exit when idle", "≤ 100 ms", fmt(s_exit, "{:.1f}", " ms"),
          verdict(s_exit["median"], 100, False) and set(codes) == {0})
    return r


# ---------------------------------------------------------------------------
CG_REQUESTS = int(os.environ.get("BENCH_CG_REQUESTS", "20000"))
CG_WARMUP = 2000


def callgrind_per_request(start, url, extra=()):
    """User-space instructions the server executes per request, counted by
    callgrind: two runs of the server under valgrind, one given only a warm-up
    load and one given the warm-up plus `CG_REQUESTS` requests; the difference
    divided by `CG_REQUESTS` leaves out start-up and shutdown."""
    totals = []
    for requests in (0, CG_REQUESTS):
        out = os.path.join(servers.TMP, f"callgrind-{time.monotonic_ns()}.out")
        srv = start(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"])
        port = srv.ports.get("https", srv.port) if url.startswith("https") else srv.port
        try:
            for n in (CG_WARMUP, requests):
                if n:
                    procs.run(clients.load_argv(url.replace("PORT", str(port)), 50, requests=n,
                                                warmup=0, extra=extra)[0], timeout=300)
        finally:
            srv.proc.stop(grace=60)
        with open(out) as f:
            totals.append(next(int(line.split()[1]) for line in f if line.startswith("summary:")))
    return (totals[1] - totals[0]) / CG_REQUESTS


def instructions():
    r = Result("instructions", "Instructions per request, counted by callgrind (the noise-free view)")
    need("BENCH_BARE_HYPER", "bench/baselines/bare-hyper")
    need("BENCH_BARE_ECHO", "bench/baselines/bare-echo")
    if not shutil.which("valgrind"):
        raise Skip("valgrind is not installed (Debian: apt-get install valgrind)")
    cases = [
        ("echo, 64 B messages", "tcp://127.0.0.1:PORT", "bare echo", [
            ("asynclab raw", lambda w: servers.asynclab_echo("raw", wrap=w), ["--mode", "raw"]),
            ("asynclab line", lambda w: servers.asynclab_echo("line", wrap=w), ["--mode", "line"]),
            ("bare echo", lambda w: servers.bare_echo(wrap=w), ["--mode", "raw"]),
        ]),
        ("GET /fast", "http://127.0.0.1:PORT/fast", "bare hyper", [
            ("asynclab", lambda w: servers.asynclab_http(wrap=w), []),
            ("bare hyper", lambda w: servers.bare_hyper(wrap=w), []),
            ("nginx return 200", lambda w: servers.nginx("return200.conf", wrap=w), []),
        ]),
    ]
    if servers.binary("BENCH_BARE_HYPER_TLS"):
        # Imported here: `https` imports this module.
        from https import make_cert
        cert, key = make_cert()
        for label, flag in (("HTTP/1.1", []), ("h2", ["--http2"])):
            cases.append((f"GET /fast over HTTPS, {label}", "https://localhost:PORT/fast",
                          "bare hyper + rustls", [
                              ("asynclab", lambda w: servers.asynclab_https(cert, key, wrap=w),
                               ["--cacert", cert] + flag),
                              ("bare hyper + rustls", lambda w: servers.bare_hyper_tls(cert, key, wrap=w),
                               ["--cacert", cert] + flag),
                          ]))
    rows = []
    for what, url, base, contenders in cases:
        counts = {}
        for name, start, extra in contenders:
            print(f"== instructions: {what}, {name}", flush=True)
            counts[name] = callgrind_per_request(start, url, ["--size", "64"] + extra
                                                 if url.startswith("tcp") else extra)
        for name, _, _ in contenders:
            rows.append([what, name, f"{counts[name]:,.0f}",
                         f"{counts[name] / counts[base]:.2f}×" if name != base else ""])
        r.data["raw"][what] = counts
    r.data["reps"], r.data["duration_s"] = 1, None
    r.table(f"User-space instructions per request ({CG_REQUESTS:,} requests from 50 connections, "
            "after a warm-up), server only", ["load", "server", "instructions", "÷ bare"], rows,
            note="callgrind counts the instructions the server process executes in user space (its "
                 "code, the libraries, libc), not the kernel's share (the socket calls), and not "
                 "time. The count is the same from run to run whatever else the machine does, which "
                 "makes it the way to see a change's effect on this shared machine. nginx runs as "
                 "one process (`master_process off`) under callgrind.")
    return r


ALL = {"fast": fast, "cost": cost, "slow": slow, "limited": limited, "files": files, "echo": echo,
       "idle": idle, "loadgen": loadgen, "startup": startup, "instructions": instructions}


def _layers():
    # Imported here: `layers` imports this module.
    import layers
    return layers.layers()


def _ws():
    # Imported here, as `layers`: `websocket` imports this module.
    import websocket
    return websocket.ws()


ALL["layers"] = _layers
ALL["ws"] = _ws


def _https():
    # Imported here: `https` imports this module.
    import https
    return https.https()


ALL["https"] = _https
