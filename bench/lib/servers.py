"""The servers under test, each started on a free loopback port and stopped by PID.

`start(kind, ...)` returns a `Server` once it answers: asynclab (HTTP, echo in line
or raw mode, or both with `serve`), the bare baselines under bench/baselines/,
and nginx from a config under bench/nginx/ rendered into a scratch prefix (nginx
wants its port and paths written in its config).
"""

import os
import time

import procs

ROOT = os.environ.get("BENCH_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
TMP = os.environ.get("BENCH_TMP", "/tmp")


def binary(var):
    path = os.environ.get(var, "")
    if not path or not os.access(path, os.X_OK):
        return None
    return path


class Server:
    def __init__(self, name, proc, port, ports=None):
        self.name, self.proc, self.port = name, proc, port
        self.ports = ports or {}
        self.pid = proc.pid
        self.ready_s = None

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def https(self, path):
        """The server's HTTPS URL, by the name its certificate is for."""
        return f"https://localhost:{self.ports.get('https', self.port)}{path}"

    def stop(self):
        return self.proc.stop()


def _log(name):
    os.makedirs(os.path.join(TMP, "logs"), exist_ok=True)
    return os.path.join(TMP, "logs", f"{name}-{time.monotonic_ns()}.log")


def asynclab_http(sets=(), name="asynclab", wrap=()):
    """`asynclab http` with the default configuration (middleware, tracing at info,
    metrics: everything on), only the address changed. `wrap` goes before the
    command (e.g. valgrind and its options)."""
    port = procs.free_port()
    argv = [*wrap, binary("BENCH_ASYNCLAB"), "http", "--set", f"http.addr=127.0.0.1:{port}"]
    for s in sets:
        argv += ["--set", s]
    proc = procs.Proc(name, argv, _log(name), cwd=ROOT)
    srv = Server(name, proc, port)
    srv.ready_s = procs.wait_http(port, "/readyz", proc)
    return srv


def asynclab_serve(sets=(), name="asynclab-serve"):
    """`asynclab serve`: the HTTP and echo servers in one process."""
    http, echo = procs.free_port(), procs.free_port()
    argv = [binary("BENCH_ASYNCLAB"), "serve", "--set", f"http.addr=127.0.0.1:{http}",
            "--set", f"echo.addr=127.0.0.1:{echo}"]
    for s in sets:
        argv += ["--set", s]
    proc = procs.Proc(name, argv, _log(name), cwd=ROOT)
    srv = Server(name, proc, http, {"echo": echo})
    srv.ready_s = procs.wait_http(http, "/readyz", proc)
    procs.wait_tcp(echo, proc)
    return srv


def asynclab_echo(mode, sets=(), name=None, wrap=()):
    name = name or f"asynclab-echo-{mode}"
    port = procs.free_port()
    argv = [*wrap, binary("BENCH_ASYNCLAB"), "echo", "--set", f"echo.addr=127.0.0.1:{port}",
            "--set", f"echo.mode={mode}"]
    for s in sets:
        argv += ["--set", s]
    proc = procs.Proc(name, argv, _log(name), cwd=ROOT)
    procs.wait_tcp(port, proc)
    return Server(name, proc, port)


def bare_hyper(name="bare-hyper", wrap=()):
    """bench/baselines/bare-hyper: 13 bytes to every request, `/slow?delay=` too."""
    port = procs.free_port()
    proc = procs.Proc(name, [*wrap, binary("BENCH_BARE_HYPER"), f"127.0.0.1:{port}"], _log(name), cwd=ROOT)
    srv = Server(name, proc, port)
    srv.ready_s = procs.wait_http(port, "/", proc)
    return srv


def asynclab_https(cert, key, sets=(), name="asynclab-https", wrap=()):
    """`asynclab http` with HTTPS beside HTTP (tls.addr), serving `cert`/`key`."""
    http, https = procs.free_port(), procs.free_port()
    argv = [*wrap, binary("BENCH_ASYNCLAB"), "http", "--set", f"http.addr=127.0.0.1:{http}",
            "--set", f"tls.addr=127.0.0.1:{https}", "--set", f"tls.cert={cert}",
            "--set", f"tls.key={key}"]
    for s in sets:
        argv += ["--set", s]
    proc = procs.Proc(name, argv, _log(name), cwd=ROOT)
    srv = Server(name, proc, http, {"https": https})
    srv.ready_s = procs.wait_http(http, "/readyz", proc)
    procs.wait_tcp(https, proc)
    return srv


def bare_hyper_tls(cert, key, name="bare-hyper-tls", wrap=()):
    """bench/baselines/bare-hyper-tls: bare-hyper behind rustls, h2 or HTTP/1.1 by ALPN."""
    port = procs.free_port()
    argv = [*wrap, binary("BENCH_BARE_HYPER_TLS"), f"127.0.0.1:{port}", cert, key]
    proc = procs.Proc(name, argv, _log(name), cwd=ROOT)
    procs.wait_tcp(port, proc)
    return Server(name, proc, port, {"https": port})


def bare_echo(name="bare-echo", wrap=()):
    """bench/baselines/bare-echo: read into a buffer, write it back."""
    port = procs.free_port()
    proc = procs.Proc(name, [*wrap, binary("BENCH_BARE_ECHO"), f"127.0.0.1:{port}"], _log(name), cwd=ROOT)
    procs.wait_tcp(port, proc)
    return Server(name, proc, port)


def bare_ws(name="bare-ws", wrap=()):
    """bench/baselines/bare-ws's server: tokio-tungstenite's echo, on any path."""
    port = procs.free_port()
    proc = procs.Proc(name, [*wrap, binary("BENCH_BARE_WS_SERVER"), f"127.0.0.1:{port}"], _log(name), cwd=ROOT)
    procs.wait_tcp(port, proc)
    return Server(name, proc, port)


def nginx(config, workers=1, sendfile="on", root=None, name=None, wrap=(), cert="", key=""):
    """nginx from bench/nginx/`config`, with `@PORT@`, `@PREFIX@`, `@WORKERS@`,
    `@SENDFILE@` and `@ROOT@` filled in; runs in the foreground (`daemon off`)
    with its own prefix, so it needs no system-wide setup and leaves nothing behind.
    With `wrap` (valgrind), one process serves alone (`master_process off`), so
    the wrapper sees the process that does the work."""
    name = name or f"nginx-{os.path.splitext(config)[0]}-w{workers}" + (
        f"-sendfile-{sendfile}" if root else "")
    port = procs.free_port()
    prefix = os.path.join(TMP, f"{name}-{time.monotonic_ns()}")
    os.makedirs(os.path.join(prefix, "logs"))
    with open(os.path.join(ROOT, "bench/nginx", config)) as f:
        text = f.read()
    for field, value in {"PORT": port, "PREFIX": prefix, "WORKERS": workers,
                         "SENDFILE": sendfile, "ROOT": root or "", "CERT": cert, "KEY": key}.items():
        text = text.replace(f"@{field}@", str(value))
    if wrap:
        text = text.replace("master_process on;", "master_process off;")
        workers = 0
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(text)
    argv = [*wrap, "nginx", "-c", conf, "-p", prefix + "/", "-e", os.path.join(prefix, "logs/error.log")]
    proc = procs.Proc(name, argv, _log(name))
    procs.wait_tcp(port, proc)
    # The master accepts nothing itself: wait until every worker is up, so a
    # 2-worker run is not measured with one.
    deadline = time.monotonic() + 10
    while len(procs.children(proc.pid)) < workers and time.monotonic() < deadline:
        time.sleep(0.01)
    return Server(name, proc, port)
