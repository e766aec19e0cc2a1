"""The `https` scenario: HTTPS `GET /fast` at 50 connections, asynclab against
bench/baselines/bare-hyper-tls (hyper + rustls, the cost floor) and nginx with
TLS (bench/nginx/return200-tls.conf); TLS handshakes per second with
`--no-keepalive` (full handshakes with `--no-resume`, and resumed ones); and
`asynclab load` against wrk and oha, all loading the same asynclab HTTPS server.

All three servers serve one ECDSA P-256 certificate made here with openssl;
the clients trust it with `--cacert` (wrk checks no certificate). oha runs
only where it is installed (`cargo install oha` compiles its whole dependency
tree, too long to do here on a shared two-core machine), as in the loadgen
scenario.
"""

import os
import shutil
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
                        "handshakes/s; asynclab load vs wrk and oha over HTTPS")
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

        generators(r, url["asynclab"], tls)
    finally:
        stopping(started)
    r.note("The bare server answers `/` with 13 bytes, asynclab's `/fast` and nginx 14. wrk sends "
           "no ALPN (HTTP/1.1) and checks no certificate; oha checks it (`--cacert`)"
           + ("." if shutil.which("oha") else ", but is not installed here, so was not run "
              "(`cargo install oha`)."))
    return r


def generators(r, target, tls):
    """`asynclab load` against wrk (required) and oha (where installed), taking turns
    on the same asynclab HTTPS server: rate, p50 and p99, and the ratios the aims
    name."""
    others = ["wrk"] + (["oha"] if shutil.which("oha") else [])
    print(f"== https: asynclab load vs {', '.join(others)}, {CONNECTIONS} connections", flush=True)
    gens = {"asynclab load": lambda: clients.load(target, CONNECTIONS, DURATION, warmup=WARMUP,
                                                  extra=tls),
            "wrk": lambda: clients.wrk(target, CONNECTIONS, DURATION),
            "oha": lambda: clients.oha(target, CONNECTIONS, DURATION, extra=tls)}
    names = ["asynclab load"] + others
    runs = alternate(REPS, names, lambda g: gens[g]())

    def measures(g, d):
        """One run as rate (ok answers/s), p50 and p99 in ms, and errors."""
        if g == "asynclab load":
            return {"rate": ok_rate(d), "p50": d["latency_us"]["p50"] / 1000, "p99": p99_ms(d),
                    "errors": clients.errors(d)}
        return {"rate": d["rate"], "p50": d["p50_us"] / 1000, "p99": d["p99_us"] / 1000,
                "errors": d["errors"]}
    got = {g: [measures(g, d) for d in runs[g]] for g in names}
    series = {(g, k): [m[k] for m in got[g]] for g in names for k in ("rate", "p50", "p99")}
    rr = {t: summary(ratios(series[("asynclab load", "rate")], series[(t, "rate")])) for t in others}
    r.table("Load generators over HTTPS against the same asynclab server (HTTP/1.1, "
            f"{CONNECTIONS} connections; asynclab load and wrk {clients.THREADS} threads, oha "
            "its default runtime on every core)",
            ["generator", "req/s", "p50 ms", "p99 ms", "errors"],
            [[g, fmt(summary(series[(g, "rate")]), "{:.0f}"), fmt(summary(series[(g, "p50")])),
              fmt(summary(series[(g, "p99")])), sum(m["errors"] for m in got[g])] for g in names],
            note="asynclab load ÷ " + ", ÷ ".join(f"{t}, req/s: {fmt(rr[t])}" for t in others) + ".")
    for t in others:
        r.aim(f"asynclab load req/s vs {t} over HTTPS", "≥ 1.0×", fmt(rr[t]) + "×",
              verdict(rr[t]["median"], 1.0) if rr[t] else None)
    for k in ("p50", "p99"):
        rk = summary(ratios(series[("asynclab load", k)], series[("wrk", k)]))
        r.aim(f"asynclab load {k} vs wrk over HTTPS", "within 25%", fmt(rk) + "×",
              abs(rk["median"] - 1) <= 0.25 if rk else None)
    r.data["raw"]["generators"] = {
        g: [strip(d) if g == "asynclab load" else {k: v for k, v in d.items() if k != "raw"}
            for d in runs[g]]
        for g in names}
