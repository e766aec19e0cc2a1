"""Processes the benchmark starts: servers and clients, each stopped by PID.

Every process started here is written to $BENCH_PIDS ("PID STARTTIME" per line)
the moment it exists, so the shell's EXIT trap (bench/lib/common.sh) can stop it
even if this driver crashes. Memory and descriptors are read from /proc:
`VmRSS`/`VmHWM` in /proc/PID/status, the entries of /proc/PID/fd.
"""

import os
import signal
import socket
import subprocess
import threading
import time

PAGE = os.sysconf("SC_PAGE_SIZE")


class BenchError(Exception):
    """A scenario could not run (a server did not start, a tool failed)."""


def free_port():
    """A loopback port nobody listens on right now (nginx needs it in its config)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def starttime(pid):
    """Field 22 of /proc/PID/stat, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def clean_env(extra=None):
    """The environment for a child: ours without ASYNCLAB_* variables, which asynclab
    would read as configuration layers; what is measured is the default config plus
    the explicit `--set` flags."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCLAB_")}
    env.update(extra or {})
    return env


def register(pid):
    path = os.environ.get("BENCH_PIDS")
    if path:
        with open(path, "a") as f:
            f.write(f"{pid} {starttime(pid)}\n")


def children(pid):
    """Direct children of `pid` (nginx workers under their master)."""
    kids = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return kids


def tree(pid):
    """`pid` and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children(p)
    return out


def status_kb(pid, field):
    """A `kB` field of /proc/PID/status (VmRSS, VmHWM), or 0 when gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pid):
    """Resident memory of a process and its children (nginx master + workers)."""
    return sum(status_kb(p, "VmRSS") for p in tree(pid))


def cpu_seconds(pid):
    """(user, kernel) CPU seconds a process has used, all its threads together
    (/proc/PID/stat `utime` and `stime`), or zeros when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    # After the command name: state is field 3, utime 14 and stime 15 (1-based).
    return int(fields[11]) / tick, int(fields[12]) / tick


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def reset_peak(pid):
    """Resets VmHWM (peak RSS) so a later read gives the peak of what follows."""
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


def peak_kb(pid):
    return sum(status_kb(p, "VmHWM") for p in tree(pid))


def listen_overflows():
    """The kernel's count of connections dropped because an accept queue was full
    (TcpExt ListenOverflows in /proc/net/netstat; the whole machine, not one process)."""
    with open("/proc/net/netstat") as f:
        lines = [line.split() for line in f if line.startswith("TcpExt:")]
    names, values = lines[0], lines[1]
    return int(values[names.index("ListenOverflows")])


class Proc:
    """One started process: registered for cleanup, stopped by PID."""

    def __init__(self, name, argv, log_path, cwd=None, env=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.started_at = time.perf_counter()
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=clean_env(env),
        )
        self.pid = self.popen.pid
        register(self.pid)

    def alive(self):
        return self.popen.poll() is None

    def tail(self, lines=15):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, sig=signal.SIGTERM, grace=10.0):
        """Signals the process, waits up to `grace`, then SIGKILLs it and any child
        left behind. Returns the seconds from the signal to the exit."""
        if not self.alive():
            self.log.close()
            return 0.0
        kids = tree(self.pid)[1:]
        sent = time.perf_counter()
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            print(f"bench: {self.name} (PID {self.pid}) still running {grace}s after "
                  f"signal {int(sig)}; SIGKILL", flush=True)
            self.popen.kill()
            self.popen.wait()
        took = time.perf_counter() - sent
        for kid in kids:  # e.g. an nginx worker orphaned by a killed master
            if starttime(kid) is not None:
                try:
                    os.kill(kid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.log.close()
        return took


def wait_tcp(port, proc, timeout=20.0):
    """Waits until something accepts connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise BenchError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.01)
    raise BenchError(f"{proc.name} did not listen on port {port} within {timeout}s:\n{proc.tail()}")


def http_get(port, path, timeout=2.0):
    """One HTTP/1.1 GET on a new connection: (status, body bytes). Raises OSError."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        raise OSError(f"not an HTTP response: {head[:40]!r}")
    return int(head.split()[1]), body


def wait_http(port, path, proc, timeout=20.0):
    """Waits until GET `path` answers 200; returns seconds since the process started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise BenchError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        try:
            if http_get(port, path)[0] == 200:
                return time.perf_counter() - proc.started_at
        except OSError:
            pass
        time.sleep(0.0005)
    raise BenchError(f"{proc.name}: GET {path} not 200 within {timeout}s:\n{proc.tail()}")


class Sampler:
    """Samples RSS (and descriptors) of a process every `interval` seconds in a
    thread; `.max_rss_kb` and `.samples` hold what it saw."""

    def __init__(self, pid, interval=0.05):
        self.pid, self.interval = pid, interval
        self.samples = []  # (seconds since start, rss kB, fds)
        self.max_rss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        t0 = time.monotonic()
        while not self._stop.is_set():
            rss = rss_kb(self.pid)
            self.max_rss_kb = max(self.max_rss_kb, rss)
            self.samples.append((time.monotonic() - t0, rss, fd_count(self.pid)))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def spawn(argv, env=None, cwd=None):
    """Starts a client in the background (registered for cleanup); see `finish`."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=clean_env(env), cwd=cwd)
    register(proc.pid)
    return proc


def finish(proc, timeout, check=True):
    """Waits for a client from `spawn`, bounded by `timeout`; returns its stdout
    (with `check`, only when it exited 0). A client that overruns is killed by PID."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise BenchError(f"{proc.args[0]} overran {timeout}s: {err.decode(errors='replace')[-500:]}")
    if check and proc.returncode != 0:
        raise BenchError(f"{' '.join(proc.args)} exited {proc.returncode}: "
                         f"{err.decode(errors='replace')[-800:]}")
    return out.decode()


def run(argv, timeout, env=None, cwd=None):
    """Runs a client to completion, bounded by `timeout`; returns its stdout."""
    return finish(spawn(argv, env, cwd), timeout)
