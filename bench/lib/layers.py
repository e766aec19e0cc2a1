"""The `layers` scenario: what each layer of the HTTP server's tower stack costs,
in user-space instructions per `GET /fast` request (callgrind).

The stack is built in one function (`crates/asynclab-http/src/stack.rs`, `app()`),
one line per layer. For each layer this builds the server once more with that
line taken out of a copy of the source, counts the instructions per request of
both servers with callgrind (the same warm-up and request count as the
`instructions` scenario), and reports the difference. These builds skip
whole-program LTO (`lto = off`, 16 codegen units) so that each rebuild takes
seconds, not minutes: the absolute counts are a little higher than the shipped
binary's, the differences between two builds are what the table is about.

tower-http's catch-panic layer and the error mapping below it (`map_result`)
are not taken out: the rest of the stack's types depend on them.
"""

import os
import re
import shutil
import subprocess

import servers
from scenarios import Result, Skip, callgrind_per_request, need

# Each layer, as the text its line(s) in `app()` start with; the replacement
# keeps the types of the stack intact where taking a layer out would not.
LAYERS = [
    ("request id (ours)", [".layer(RequestIdLayer::"], None),
    ("error format (ours)", [".layer(ErrorFormatLayer)"],
     ".map_response(|res: Response<StackBody>| res.map(Either::Left))"),
    ("access log (ours)", [".layer(AccessLogLayer::"], None),
    ("metrics (ours)", [".layer(MetricsLayer::"], None),
    ("shutdown cut (ours)", [".layer(CutLayer::"], None),
    ("in-flight limit (tower load_shed + global concurrency limit)",
     [".layer(LoadShedLayer::", ".layer(GlobalConcurrencyLimitLayer::"],
     ".map_err(|never: std::convert::Infallible| -> BoxError { match never {} })"),
    ("request timeout and body rate (ours)", [".layer(RequestTimeoutLayer::"], None),
    ("Host check (ours)", [".layer(HostLayer)"], None),
    ("faults, off (ours)", [".layer(FaultLayer::"], None),
]

STACK = "crates/asynclab-http/src/stack.rs"


def cut_call(text, start):
    """Removes the method call starting at `start` (balanced parentheses) and
    the rest of its line; returns the new text."""
    i = text.index("(", start)
    depth = 0
    while True:
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
        if depth == 0:
            break
    end = text.index("\n", i) + 1
    line_start = text.rindex("\n", 0, start) + 1
    return text[:line_start] + text[end:]


def variant(source, prefixes, replacement):
    """The stack's source without the layers whose lines start with `prefixes`."""
    text = source
    for n, prefix in enumerate(prefixes):
        at = text.find(prefix)
        if at < 0:
            raise ValueError(f"{prefix} not found in {STACK}")
        if n == 0 and replacement:
            line_start = text.rindex("\n", 0, at) + 1
            indent = re.match(r"\s*", text[line_start:]).group(0)
            text = text[:line_start] + indent + replacement + "\n" + text[line_start:]
            at = text.find(prefix)
        text = cut_call(text, at)
    return text


def build(src, target, out):
    env = dict(os.environ, CARGO_TARGET_DIR=target, CARGO_PROFILE_RELEASE_LTO="off",
               CARGO_PROFILE_RELEASE_CODEGEN_UNITS="16", CARGO_INCREMENTAL="1")
    done = subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "asynclab"],
                          cwd=src, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        return done.stderr[-2000:]
    shutil.copy(os.path.join(target, "release", "asynclab"), out)
    return None


def count(binary):
    """Instructions per /fast request of the server `binary`."""
    saved = os.environ.get("BENCH_ASYNCLAB")
    os.environ["BENCH_ASYNCLAB"] = binary
    try:
        return callgrind_per_request(lambda w: servers.asynclab_http(wrap=w),
                                     "http://127.0.0.1:PORT/fast")
    finally:
        os.environ["BENCH_ASYNCLAB"] = saved or ""


def layers():
    r = Result("layers", "GET /fast: what each layer of the tower stack costs (callgrind)")
    need("BENCH_SRC", "the source folder bench/run.sh builds from")
    if not shutil.which("valgrind"):
        raise Skip("valgrind is not installed (Debian: apt-get install valgrind)")
    src = os.path.join(servers.TMP, "layers-src")
    shutil.copytree(os.environ["BENCH_SRC"], src, dirs_exist_ok=True)
    target = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(src, "target")),
                          "bench-layers")
    stack = os.path.join(src, STACK)
    with open(stack) as f:
        source = f.read()
    bins = os.path.join(servers.TMP, "layers-bin")
    os.makedirs(bins, exist_ok=True)
    print("== layers: the full stack", flush=True)
    failed = build(src, target, os.path.join(bins, "full"))
    if failed:
        raise Skip(f"the full stack did not build without LTO: {failed}")
    full = count(os.path.join(bins, "full"))
    rows, raw = [["all layers", f"{full:,.0f}", ""]], {"all layers": full}
    try:
        for n, (name, prefixes, replacement) in enumerate(LAYERS):
            print(f"== layers: without {name}", flush=True)
            with open(stack, "w") as f:
                f.write(variant(source, prefixes, replacement))
            out = os.path.join(bins, f"without-{n}")
            failed = build(src, target, out)
            if failed:
                rows.append([f"without {name}", "did not build", ""])
                raw[name] = None
                continue
            without = count(out)
            raw[name] = without
            rows.append([f"without {name}", f"{without:,.0f}", f"{full - without:,.0f}"])
    finally:
        with open(stack, "w") as f:
            f.write(source)
    r.data["raw"]["instructions"] = raw
    r.data["reps"], r.data["duration_s"] = 1, None
    r.table("User-space instructions per /fast request, server only (builds without LTO)",
            ["stack", "instructions", "the layer's cost"], rows,
            note="Each row takes one layer out of `app()` and rebuilds; the cost is the full "
                 "stack's count minus that build's. callgrind counts are the same from run to "
                 "run, whatever else the machine does.")
    return r
