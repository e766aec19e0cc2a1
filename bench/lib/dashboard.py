"""The measurement behind bench/dashboard.sh: does an open dashboard cost memory?

Two `asynclab serve` processes run side by side for DASH_SECONDS, each under the
same steady load (`asynclab load --rate`: /fast, /status/503 and /limited, so every
figure on the page moves). One of them also has DASH_VIEWERS (50) streams of
GET /dashboard/stream open the whole time, read by one thread here as 50 browser
tabs would read them. Both processes' RSS is sampled every DASH_INTERVAL seconds.

Pass when the median RSS of the last minute (or fifth of a short run) differs by
less than 5 MiB between the two, and every stream received snapshots until the end
(at least one per two seconds on average).
"""

import os
import selectors
import socket
import statistics
import sys
import threading
import time

import clients
import procs
import servers

SECONDS = float(os.environ.get("DASH_SECONDS", "600"))
VIEWERS = int(os.environ.get("DASH_VIEWERS", "50"))
INTERVAL = float(os.environ.get("DASH_INTERVAL", "5" if SECONDS >= 120 else "1"))
WINDOW = min(60.0, SECONDS * 0.2)
# After this, RSS should stay flat: the growth from then to the end is reported too.
WARMUP = SECONDS * 0.2
LIMIT_MIB = 5.0

# (path, rate/s, connections)
LOADS = [("/fast", 300, 8), ("/status/503", 20, 2), ("/limited?work=50ms", 50, 20)]


class Viewers:
    """`n` open dashboard streams on one port, read in one thread until stopped;
    counts the snapshots each one received."""

    def __init__(self, port, n):
        self.snapshots = [0] * n
        self.closed = 0
        self._stop = threading.Event()
        self._sel = selectors.DefaultSelector()
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /dashboard/stream HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
            s.setblocking(False)
            self._sel.register(s, selectors.EVENT_READ, i)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        tails = {}
        while not self._stop.is_set():
            for key, _ in self._sel.select(timeout=0.5):
                try:
                    data = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self._sel.unregister(key.fileobj)
                    key.fileobj.close()
                    self.closed += 1
                    continue
                # Count the event lines, including one split across two reads.
                text = tails.get(key.data, b"") + data
                self.snapshots[key.data] += text.count(b"event: snapshot\n")
                tails[key.data] = text[-20:] if not text.endswith(b"\n") else b""

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        for key in list(self._sel.get_map().values()):
            key.fileobj.close()


def median_mib(samples, start, end):
    window = [rss for t, rss in samples if start <= t <= end]
    return statistics.median(window) / 1024 if window else 0.0


def main():
    plain = servers.asynclab_serve(name="asynclab-no-dashboard")
    watched = servers.asynclab_serve(name="asynclab-50-dashboards")
    running, viewers = [], None
    samples = {plain.pid: [], watched.pid: []}
    try:
        time.sleep(0.5)
        start_kb = {pid: procs.rss_kb(pid) for pid in samples}
        viewers = Viewers(watched.port, VIEWERS)
        for srv in (plain, watched):
            for path, rate, conns in LOADS:
                argv, bound = clients.load_argv(srv.url(path), conns, SECONDS, warmup=0, rate=rate,
                                                threads=1, timeout_s=10)
                running.append((procs.spawn(argv), bound))
        print(f"== {VIEWERS} dashboards on one of two servers, {SECONDS:g} s, "
              f"RSS every {INTERVAL:g} s", flush=True)
        t0 = time.monotonic()
        while time.monotonic() - t0 < SECONDS:
            t = round(time.monotonic() - t0, 1)
            for pid in samples:
                samples[pid].append((t, procs.rss_kb(pid)))
            for srv in (plain, watched):
                if not srv.proc.alive():
                    raise procs.BenchError(f"{srv.name} died:\n{srv.proc.tail()}")
            time.sleep(INTERVAL)
        for p, bound in running:
            procs.finish(p, bound, check=False)
        running = []
    finally:
        if viewers:
            viewers.stop()
        for p, _ in running:
            p.kill()
            p.wait()
        plain.stop()
        watched.stop()

    end = max(t for t, _ in samples[plain.pid])
    rows = []
    for srv in (plain, watched):
        s = samples[srv.pid]
        rows.append((srv.name, start_kb[srv.pid] / 1024, median_mib(s, WARMUP, WARMUP + WINDOW),
                     median_mib(s, end - WINDOW, end), max(rss for _, rss in s) / 1024))
    diff = rows[1][3] - rows[0][3]
    fewest = min(viewers.snapshots)
    streams_ok = viewers.closed == 0 and fewest >= SECONDS / 2
    print(f"\n| server | RSS at start | RSS, median of {WARMUP:g}-{WARMUP + WINDOW:g} s "
          f"| RSS, median of the last {WINDOW:g} s | RSS highest |")
    print("|---|---|---|---|---|")
    for name, start, settled, last, top in rows:
        print(f"| {name} | {start:.1f} MiB | {settled:.1f} MiB | {last:.1f} MiB | {top:.1f} MiB |")
    print(f"\ndifference (50 dashboards − none), last {WINDOW:g} s: {diff:+.2f} MiB "
          f"(aim: within {LIMIT_MIB:g} MiB)")
    print(f"snapshots per stream: fewest {fewest}, most {max(viewers.snapshots)}; "
          f"streams closed early: {viewers.closed}")
    ok = abs(diff) < LIMIT_MIB and streams_ok
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
