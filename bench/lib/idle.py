"""Opens N connections to 127.0.0.1:PORT and holds them idle until told to close.

Run by bench/lib/clients.py (IdleConnections) as its own process, so the
client's memory never mixes with the server's:
    python3 bench/lib/idle.py PORT COUNT http|echo|ws|tcp [PATH] [TIMEOUT_S]
`http` sends one keep-alive GET PATH on each connection and reads the answer, so
the server holds a live HTTP connection between requests; `echo` sends one line
and reads its echo; `ws` opens a WebSocket on PATH and has one text message
echoed; `tcp` only connects. Prints `open N` (N may fall short of
COUNT, e.g. at a connection limit) and waits for `close` on stdin, or TIMEOUT_S.
Plain blocking sockets, one connection at a time: simple, and quick on loopback.
"""

import select
import socket
import sys
import time


def http_exchange(sock, path):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("closed before the response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise OSError(f"unexpected answer {head[:40]!r}")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("closed mid-body")
        body += chunk


def echo_exchange(sock):
    sock.sendall(b"idle\n")
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("closed before the echo")
        data += chunk
    if b"idle" not in data:  # e.g. `error: server busy` at the connection limit
        raise OSError(f"unexpected answer {data[:60]!r}")


def ws_exchange(sock, path):
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
                  "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("closed before the handshake's answer")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise OSError(f"unexpected answer {head[:40]!r}")
    # One masked text frame (RFC 6455 5.2: a client masks), and its echo,
    # which comes back unmasked: 0x81, the length, the payload.
    mask = b"\x37\xfa\x21\x3d"
    payload = b"idle"
    sock.sendall(b"\x81" + bytes([0x80 | len(payload)]) + mask
                 + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    want = b"\x81" + bytes([len(payload)]) + payload
    while len(rest) < len(want):
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("closed before the echo")
        rest += chunk
    if rest[:len(want)] != want:
        raise OSError(f"unexpected frame {rest[:20]!r}")


def main():
    port, count, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    path = sys.argv[4] if len(sys.argv) > 4 else "/fast"
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 120.0
    deadline = time.monotonic() + timeout
    held, failures, last_error = [], 0, ""
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if kind == "http":
                http_exchange(sock, path)
            elif kind == "echo":
                echo_exchange(sock)
            elif kind == "ws":
                ws_exchange(sock, path)
            held.append(sock)
        except OSError as e:
            failures += 1
            last_error = str(e)
            if failures > 100:
                break
    print(f"open {len(held)}", flush=True)
    if failures:
        print(f"idle: {failures} connections failed, last: {last_error}", file=sys.stderr)
    # Hold until told to close (or the deadline): the server's memory is read meanwhile.
    select.select([sys.stdin], [], [], max(1.0, deadline - time.monotonic()))
    for sock in held:
        sock.close()


if __name__ == "__main__":
    main()
