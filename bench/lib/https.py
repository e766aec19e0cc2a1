"""The `https` scenario: HTTPS `GET /fast` at 50 connections, asynclab against
bench/baselines/bare-hyper-tls (hyper + rustls, the cost floor) and nginx with
TLS (bench/nginx/return200-tls.conf); TLS handshakes per second with
`--no-keepalive` (full handshakes with `--no-resume`, and resumed ones); and
`asynclab load` against wrk, both loading the same asynclab HTTPS server.

All three servers serve one ECDSA P-256 certificate made here with openssl;
the clients trust it with `--cacert` (wrk checks no certificate). oha is not
run: `cargo install oha` compiles its whole dependency tree, too long for this
suite on a shared two-core machine.
"""

import os
import subprocess

import clients
import servers
from scenarios import (DURATION, REPS, WARMUP, Result, bar, need, ok_rate, p99_ms, stopping,
                       strip)
from stats import alternate, fmt, ratios, summary, verdict

CONNECTIONS = 50


def make_cert():
    """A self-signed ECDSA P-256 certificate for `localhost` in the scratch folder."""
    folder = os.path.join(servers.TMP, "https-cert")
    os.makedirs(folder, exist_ok=True)
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost",
                    # Not a CA: openssl's default for -x509 is CA:TRUE, and rustls
                    # (webpki) refuses a CA certificate as a server's own.
                    "-addext", "basicConstraints=critical,CA:FALSE", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def https():
    r = Result("https", "HTTPS GET /fast: asynclab vs bare hyper + rustls vs nginx with TLS; "
                        "handshakes/s; asynclab load vs wrk over HTTPS")
    need("BENCH_BARE_HYPER_TLS", "bench/baselines/bare-hyper-tls")
    cert, key = make_cert()
    tls = ["--cacert", cert]
    started = {}
    try:
        started["asynclab"] = servers.asynclab_https(cert, key)
        started["bare hyper tls"] = servers.bare_hyper_tls(cert, key)
        started["nginx 1w"] = servers.nginx("return200-tls.conf", workers=1, cert=cert, key=key,
                                            name="nginx-tls-w1")
        path = {"asynclab": "/fast", "bare hyper tls": "/", "nginx 1w": "/fast"}
        names = list(started)
        url = {n: started[n].https(path[n]) for n in names}

        rows, vs_bare = [], []
        for label, extra in (("HTTP/1.1", []), ("h2 (ALPN)", ["--http2"])):
            print(f"== https: {CONNECTIONS} connections, {label} (asynclab load)", flush=True)
            runs = alternate(REPS, names, lambda n: clients.load(
                url[n], CONNECTIONS, DURATION, warmup=WARMUP, extra=tls + extra))
            r.data["raw"][f"load-{label}"] = {n: [strip(d) for d in runs[n]] for n in names}
            rate = {n: [ok_rate(d) for d in runs[n]] for n in names}
            rb = summary(ratios(rate["asynclab"], rate["bare hyper tls"]))
            rn = summary(ratios(rate["asynclab"], rate["nginx 1w"]))
            rows.append([label] + [fmt(summary(rate[n]), "{:.0f}") for n in names]
                        + [fmt(rb), fmt(rn),
                           sum(clients.errors(d) for n in names for d in runs[n])])
            vs_bare.append(bar(label, rb))
            r.aim(f"HTTPS /fast req/s vs bare hyper + rustls, {label}, {CONNECTIONS} conns",
                  "≥ 0.9×", fmt(rb) + "×", verdict(rb["median"], 0.9) if rb else None)
        r.table(f"HTTPS requests per second, {CONNECTIONS} connections, keep-alive "
                "(asynclab load, median (min–max))",
                ["protocol"] + names + ["asynclab ÷ bare hyper tls", "asynclab ÷ nginx 1w", "errors"],
                rows)
        r.chart("https-vs-bare-hyper-tls.svg", "HTTPS /fast req/s, asynclab ÷ bare hyper + rustls",
                vs_bare, aim=0.9)

        rows = []
        for label, extra in (("full (--no-resume)", ["--no-resume"]), ("resumed", [])):
            print(f"== https: handshakes per second, {label}", flush=True)
            runs = alternate(REPS, names, lambda n: clients.load(
                url[n], CONNECTIONS, DURATION, warmup=WARMUP,
                extra=tls + ["--no-keepalive"] + extra))
            r.data["raw"][f"handshakes-{label}"] = {
                n: [dict(strip(d), tls={k: v for k, v in (d.get("tls") or {}).items()
                                        if not k.endswith("histogram")}) for d in runs[n]]
                for n in names}
            # One handshake per request: requests per second are handshakes per second.
            rate = {n: [ok_rate(d) for d in runs[n]] for n in names}
            resumed = {n: sum((d.get("tls") or {}).get("resumed", 0) for d in runs[n]) for n in names}
            total = {n: sum((d.get("tls") or {}).get("handshakes", 0) for d in runs[n]) for n in names}
            rn = summary(ratios(rate["asynclab"], rate["nginx 1w"]))
            rows.append([label] + [fmt(summary(rate[n]), "{:.0f}") for n in names] + [fmt(rn)]
                        + [", ".join(f"{n}: {resumed[n]}/{total[n]}" for n in names)])
            r.aim(f"handshakes/s with --no-keepalive, {label}, vs nginx", "reported",
                  fmt(rn) + "×", None)
        r.table("TLS handshakes per second (`--no-keepalive`: a new connection and handshake "
                f"per request, {CONNECTIONS} connections)",
                ["handshakes"] + names + ["asynclab ÷ nginx 1w", "resumed / all (every rep)"], rows)

        print(f"== https: asynclab load vs wrk, {CONNECTIONS} connections", flush=True)
        target = url["asynclab"]
        gens = {"asynclab load": lambda: clients.load(target, CONNECTIONS, DURATION, warmup=WARMUP,
                                                      extra=tls),
                "wrk": lambda: clients.wrk(target, CONNECTIONS, DURATION)}
        runs = alternate(REPS, list(gens), lambda g: gens[g]())
        rate = {"asynclab load": [ok_rate(d) for d in runs["asynclab load"]],
                "wrk": [d["rate"] for d in runs["wrk"]]}
        p50 = {"asynclab load": [d["latency_us"]["p50"] / 1000 for d in runs["asynclab load"]],
               "wrk": [d["p50_us"] / 1000 for d in runs["wrk"]]}
        p99 = {"asynclab load": [p99_ms(d) for d in runs["asynclab load"]],
               "wrk": [d["p99_us"] / 1000 for d in runs["wrk"]]}
        rr = summary(ratios(rate["asynclab load"], rate["wrk"]))
        r.table("Load generators over HTTPS against the same asynclab server (HTTP/1.1, "
                f"{CONNECTIONS} connections, same threads)",
                ["generator", "req/s", "p50 ms", "p99 ms"],
                [[g, fmt(summary(rate[g]), "{:.0f}"), fmt(summary(p50[g])), fmt(summary(p99[g]))]
                 for g in gens],
                note=f"asynclab load ÷ wrk, req/s: {fmt(rr)}.")
        r.aim("asynclab load req/s vs wrk over HTTPS", "≥ 1.0×", fmt(rr) + "×",
              verdict(rr["median"], 1.0) if rr else None)
        r.data["raw"]["generators"] = {"asynclab load": [strip(d) for d in runs["asynclab load"]],
                                       "wrk": [{k: v for k, v in d.items() if k != "raw"}
                                               for d in runs["wrk"]]}
    finally:
        stopping(started)
    r.note("The bare server answers `/` with 13 bytes, asynclab's `/fast` and nginx 14. wrk sends "
           "no ALPN (HTTP/1.1) and checks no certificate. oha was not run (see bench/lib/https.py).")
    return r
