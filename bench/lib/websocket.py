"""The `ws` scenario (issue 24): asynclab's WebSocket echo and `asynclab load
ws://` against minimal tokio-tungstenite programs (bench/baselines/bare-ws), and
the memory an idle WebSocket costs beside an idle HTTP and echo connection.

- server: `asynclab load ws://` at 50 connections, 64-byte text messages, on
  asynclab's `/ws/echo` and on bare-ws's server, alternating (aim: ≥ 0.9×);
- client: against bare-ws's server, `asynclab load ws://` and bare-ws's client
  (one send-and-wait loop per connection), alternating (aim: ≥ 1.0×);
- idle: RSS growth per idle connection (bench/lib/idle.py), each having made
  one exchange: asynclab WebSocket, bare-ws WebSocket, asynclab HTTP keep-alive
  and asynclab echo, measured in the same run.
"""

import clients
import servers
from scenarios import (DURATION, IDLE_CONNECTIONS, REPS, WARMUP, Result, bar, idle_growth, need, ok_rate,
                       stopping, strip)
from stats import alternate, fmt, ratios, summary, verdict

CONNECTIONS = 50
SIZE = 64


def ws_load(url):
    return clients.load(url, CONNECTIONS, DURATION, warmup=WARMUP, extra=["--size", str(SIZE)])


def throughput(r):
    """Round trips per second: the two servers, then the two clients."""
    started = {}
    try:
        started["asynclab"] = servers.asynclab_http()
        started["bare ws"] = servers.bare_ws()
        urls = {"asynclab": f"ws://127.0.0.1:{started['asynclab'].port}/ws/echo",
                "bare ws": f"ws://127.0.0.1:{started['bare ws'].port}/"}

        print(f"== ws: {CONNECTIONS} connections, {SIZE} B: asynclab /ws/echo vs bare ws", flush=True)
        servers_runs = alternate(REPS, list(urls), lambda n: ws_load(urls[n]))
        r.data["raw"]["servers"] = {n: [strip(d) for d in v] for n, v in servers_runs.items()}
        rate = {n: [ok_rate(d) for d in v] for n, v in servers_runs.items()}
        sr = summary(ratios(rate["asynclab"], rate["bare ws"]))
        errors = sum(clients.errors(d) for v in servers_runs.values() for d in v)

        print("== ws: asynclab load vs bare ws client, against bare ws", flush=True)

        def client(name):
            if name == "asynclab load":
                return ok_rate(ws_load(urls["bare ws"]))
            # The same time measured: the warmup is asynclab load's only.
            return clients.bare_ws_client(urls["bare ws"], CONNECTIONS, DURATION, SIZE)["rate"]

        client_runs = alternate(REPS, ["asynclab load", "bare ws client"], client)
        r.data["raw"]["clients"] = client_runs
        cr = summary(ratios(client_runs["asynclab load"], client_runs["bare ws client"]))
    finally:
        stopping(started)

    r.table(f"WebSocket round trips per second, {CONNECTIONS} connections, {SIZE}-byte text messages",
            ["comparison", "A", "B", "A ÷ B"],
            [["server: asynclab /ws/echo (A) vs bare ws (B), driven by asynclab load",
              fmt(summary(rate["asynclab"]), "{:.0f}"), fmt(summary(rate["bare ws"]), "{:.0f}"), fmt(sr)],
             ["client: asynclab load (A) vs bare ws client (B), against bare ws",
              fmt(summary(client_runs["asynclab load"]), "{:.0f}"),
              fmt(summary(client_runs["bare ws client"]), "{:.0f}"), fmt(cr)]],
            note=f"errors in the server runs: {errors}. Both clients open every connection "
                 "first and time round trips only; each checks every echo.")
    r.aim("WebSocket echo round trips vs bare tokio-tungstenite server", "≥ 0.9×", fmt(sr) + "×",
          verdict(sr["median"] if sr else None, 0.9))
    r.aim("asynclab load ws:// vs bare tokio-tungstenite client", "≥ 1.0×", fmt(cr) + "×",
          verdict(cr["median"] if cr else None, 1.0))
    return [dict(bar("server: asynclab ÷ bare ws", sr), aim=0.9), bar("client: asynclab load ÷ bare ws", cr)]


def idle(r):
    """RSS growth per idle connection, the four kinds in one run."""
    n = IDLE_CONNECTIONS
    # Connection limits raised above the count held, as in the `idle` scenario.
    contenders = {
        "asynclab websocket": (lambda: servers.asynclab_http(sets=[f"http.max_connections={2 * n}"]),
                               "ws", "/ws/echo"),
        "bare ws": (servers.bare_ws, "ws", "/"),
        "asynclab http": (lambda: servers.asynclab_http(sets=[f"http.max_connections={2 * n}"]),
                          "http", "/fast"),
        "asynclab echo": (lambda: servers.asynclab_echo("line", sets=[f"echo.max_connections={2 * n}"]),
                          "echo", "/"),
    }

    def measure(name):
        start, kind, path = contenders[name]
        return idle_growth(name, start, kind, n, path)

    print(f"== ws: {n} idle connections", flush=True)
    runs = alternate(REPS, list(contenders), measure)
    r.data["raw"]["idle"] = runs
    per = {k: [x["per_conn_kb"] for x in v] for k, v in runs.items()}
    vs_bare = summary(ratios(per["asynclab websocket"], per["bare ws"]))
    r.table(f"RSS growth per idle connection, {n:,} held (each made one exchange first)",
            ["connection", "KB per connection", "held (min)"],
            [[k, fmt(summary(per[k]), "{:.2f}"), min(x["opened"] for x in runs[k])] for k in contenders]
            + [["asynclab websocket ÷ bare ws", fmt(vs_bare) + "×", ""]],
            note="A WebSocket keeps its connection's task, a read buffer (http.ws.read_buffer) and "
                 "tungstenite's state; KB = 1,000 bytes, from VmRSS.")
    return [dict(bar("idle WebSocket memory: asynclab ÷ bare ws", vs_bare), aim=None)]


def ws():
    r = Result("ws", "WebSocket: /ws/echo and `asynclab load ws://` vs tokio-tungstenite baselines")
    need("BENCH_BARE_WS_SERVER", "bench/baselines/bare-ws")
    need("BENCH_BARE_WS_CLIENT", "bench/baselines/bare-ws")
    bars = throughput(r) + idle(r)
    r.chart("ws.svg", "WebSocket: asynclab ÷ the bare tokio-tungstenite baselines", bars, aim=1.0,
            aim_label="client aim (server: 0.9)")
    return r
