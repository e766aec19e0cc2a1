"""The clients that put load on a server: `asynclab load --json`, wrk, a
10,000-idle-connection holder (bench/lib/idle.py, its own process) and a
one-connection 1 GiB echo stream. Each run is bounded in time."""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

import procs
import servers

# Both generators get the same number of threads (one per core); see the report.
THREADS = os.cpu_count() or 2


def ms(seconds):
    """A duration the way asynclab's flags read it (`1500ms`)."""
    return f"{round(seconds * 1000)}ms"


def load_argv(url, connections, duration=None, requests=None, warmup=1.0, rate=None,
              extra=(), threads=THREADS, timeout_s=30):
    """The `asynclab load --json` command line, and how long it may take at most."""
    argv = [servers.binary("BENCH_ASYNCLAB"), "load", url, "-c", str(connections), "--json",
            "--no-progress", "--threads", str(threads), "--warmup", ms(warmup),
            "--timeout", ms(timeout_s)]
    if duration is not None:
        argv += ["-d", ms(duration)]
    if requests is not None:
        argv += ["-n", str(requests)]
    if rate is not None:
        argv += ["-r", str(rate)]
    return argv + list(extra), warmup + (duration or 0) + timeout_s + 30


def load(url, connections, duration=None, **kw):
    """One `asynclab load` run; returns its --json document (docs/load.md)."""
    argv, bound = load_argv(url, connections, duration, **kw)
    return json.loads(procs.run(argv, timeout=bound))


def errors(doc):
    """Failed requests of an `asynclab load` run, all kinds together."""
    return doc["requests"]["errors"]


_UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6}


def _us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url, connections, duration, threads=THREADS):
    """One wrk run with --latency: rate, p50 and p99 (microseconds), errors."""
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s",
            "--latency", "--timeout", "10s", url]
    out = procs.run(argv, timeout=duration + 40)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = dict(re.findall(r"^\s+(\d+)%\s+(\S+)", out, re.M))
    errs = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rate": rate, "p50_us": _us(pct["50"]), "p99_us": _us(pct["99"]),
            "errors": errs + (int(non2xx.group(1)) if non2xx else 0), "raw": out}


def hey(url, connections, duration):
    """One hey run (Go, one goroutine per connection, all cores): rate, p50 and
    p99 (microseconds), errors (failed requests and non-2xx answers)."""
    argv = ["hey", "-z", f"{max(1, round(duration))}s", "-c", str(connections), "-t", "10", url]
    out = procs.run(argv, timeout=duration + 40)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = {p: float(s) * 1e6 for p, s in re.findall(r"^\s+(\d+)%+ in ([\d.]+) secs", out, re.M)}
    answers = {int(c): int(n) for c, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", out)}
    failed = sum(int(n) for n in re.findall(r"^\s+\[(\d+)\]\s+Get ", out, re.M))
    errs = failed + sum(n for c, n in answers.items() if not 200 <= c < 300)
    return {"rate": rate, "p50_us": pct["50"], "p99_us": pct["99"], "errors": errs, "raw": out}


def oha(url, connections, duration, extra=()):
    """One oha run (Rust, `cargo install oha`), JSON output: rate, p50 and p99
    (microseconds), errors. `extra`: more flags (`--cacert FILE` over HTTPS)."""
    argv = ["oha", "-z", f"{max(1, round(duration))}s", "-c", str(connections), "--no-tui",
            "--output-format", "json", *extra, url]
    d = json.loads(procs.run(argv, timeout=duration + 40))
    pct = d["latencyPercentiles"]
    # The requests still in flight when -z runs out are "aborted due to
    # deadline": the end of the run, not a failure (wrk and hey drop them too).
    errs = sum(n for what, n in d.get("errorDistribution", {}).items()
               if what != "aborted due to deadline")
    errs += sum(n for c, n in d.get("statusCodeDistribution", {}).items() if not c.startswith("2"))
    return {"rate": d["summary"]["requestsPerSec"], "p50_us": pct["p50"] * 1e6,
            "p99_us": pct["p99"] * 1e6, "errors": errs}


class IdleConnections:
    """Holds `count` idle connections open from a separate process
    (bench/lib/idle.py), so the client's own memory never mixes with the server's.
    `kind` is `http` (one keep-alive GET first), `echo` (one line echoed first),
    `ws` (a WebSocket opened on `path`, one message echoed) or `tcp` (connect only)."""

    def __init__(self, port, count, kind, path="/fast", timeout=120):
        argv = [sys.executable, os.path.join(os.path.dirname(__file__), "idle.py"),
                str(port), str(count), kind, path, str(timeout)]
        self.popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
        procs.register(self.popen.pid)
        self.timeout = timeout

    def wait_open(self):
        """Blocks until the client has opened what it could; returns that number."""
        line = self.popen.stdout.readline()
        if not line.startswith("open "):
            raise procs.BenchError(f"idle client failed: {line}{self.popen.stderr.read()[-800:]}")
        return int(line.split()[1])

    def close(self):
        """Closes every connection, ends the holder; returns its complaints, if any."""
        try:
            self.popen.stdin.write("close\n")
            self.popen.stdin.flush()
        except OSError:
            pass
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        # What the holder said about connections that failed (empty when none did).
        return self.popen.stderr.read().strip()


def bare_ws_client(url, connections, duration, size):
    """One run of bench/baselines/bare-ws's client: its JSON line (round trips/s)."""
    argv = [servers.binary("BENCH_BARE_WS_CLIENT"), url, str(connections), str(duration), str(size)]
    return json.loads(procs.run(argv, timeout=duration + 60))


def echo_stream(port, total=1 << 30, chunk=1 << 20, timeout=120):
    """Streams `total` bytes through an echo server over one connection, reading the
    echo back at the same time (a writer thread and this reader); returns MB/s."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    block = bytes(range(256)) * (chunk // 256)
    failure = []

    def writer():
        try:
            left = total
            while left > 0:
                n = min(left, len(block))
                sock.sendall(block[:n] if n < len(block) else block)
                left -= n
        except OSError as e:
            failure.append(e)

    t0 = time.perf_counter()
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    got = 0
    buf = bytearray(chunk)
    deadline = time.monotonic() + timeout
    while got < total and time.monotonic() < deadline:
        n = sock.recv_into(buf)
        if n == 0:
            break
        got += n
    elapsed = time.perf_counter() - t0
    thread.join(timeout=5)
    sock.close()
    if got != total or failure:
        raise procs.BenchError(f"echo stream: {got} of {total} bytes came back {failure}")
    return total / elapsed / 1e6
