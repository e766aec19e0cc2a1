#!/usr/bin/env python3
"""Check that the deployment files agree with the container config.

    python3 deploy/agree.py config/container.toml Dockerfile COMPOSE.json RENDERED.yaml

COMPOSE.json is `docker compose -f deploy/compose.yaml --profile load config
--format json`; RENDERED.yaml is `kubectl kustomize deploy/k8s`. Run by
deploy/test.sh. The ports, the probe paths, the health check and the grace
periods are written in four places (the config, the Dockerfile, compose and
Kubernetes); this is what keeps them from drifting apart. Exits 1 and lists
every disagreement.
"""

import json
import re
import sys
import tomllib
from pathlib import Path

import yaml

problems = []


def check(cond, what):
    if not cond:
        problems.append(what)


def seconds(text):
    """'5s', '500ms', '1m30s' -> float seconds (the subset of humantime we use)."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)", str(text))
    if not parts or "".join(n + u for n, u in parts) != re.sub(r"\s", "", str(text)):
        raise ValueError(f"cannot read duration {text!r}")
    return sum(float(n) * units[u] for n, u in parts)


# The HTTPS port of the TLS examples (deploy/compose.tls.yaml, deploy/k8s-tls):
# off in config/container.toml, turned on there with ASYNCLAB_TLS__ADDR.
TLS_PORT = 8443


def port(addr):
    return int(str(addr).rsplit(":", 1)[1])


def main(container_toml, dockerfile, compose_json, rendered_yaml):
    container_path = Path(container_toml)
    # The container file overrides the built-in defaults; read both, as asynclab does.
    config = tomllib.loads((container_path.parent / "default.toml").read_text())
    for section, values in tomllib.loads(container_path.read_text()).items():
        config.setdefault(section, {}).update(values)
    delay = seconds(config["shutdown"]["readiness_delay"])
    grace = seconds(config["shutdown"]["grace"])
    http_port = port(config["http"]["addr"])
    echo_port = port(config["echo"]["addr"])
    drain = delay + grace
    print(f"  config: http {http_port}, echo {echo_port}, readiness_delay {delay:g}s + grace {grace:g}s = {drain:g}s")

    # --- Dockerfile
    docker = Path(dockerfile).read_text()
    exposed = {int(p) for line in re.findall(r"^EXPOSE\s+(.+)$", docker, re.M) for p in line.split()}
    check(exposed == {http_port, echo_port, TLS_PORT}, f"Dockerfile EXPOSE {sorted(exposed)} != {[http_port, echo_port, TLS_PORT]}")
    hc = re.search(r"^HEALTHCHECK.*?CMD\s+(\[.*?\])\s*$", docker, re.M | re.S)
    check(hc is not None, "Dockerfile has no HEALTHCHECK CMD [...]")
    health_cmd = json.loads(hc.group(1)) if hc else []
    check(f"http://127.0.0.1:{http_port}/readyz" in health_cmd, f"Dockerfile HEALTHCHECK {health_cmd} does not probe /readyz on {http_port}")
    env = re.search(r"ASYNCLAB_CONFIG=(\S+)", docker)
    check(env is not None, "Dockerfile sets no ASYNCLAB_CONFIG")
    image_config = env.group(1) if env else ""
    check(f"cp config/container.toml /out{image_config}" in docker, f"Dockerfile does not put config/container.toml at {image_config}")
    check(re.search(r"^STOPSIGNAL SIGTERM$", docker, re.M), "Dockerfile STOPSIGNAL is not SIGTERM")

    # --- compose
    compose = json.loads(Path(compose_json).read_text())["services"]
    server = compose["asynclab"]
    targets = {int(p["target"]) for p in server.get("ports", [])}
    check(targets == {http_port, echo_port}, f"compose asynclab ports {sorted(targets)} != {[http_port, echo_port]}")
    check(server.get("healthcheck", {}).get("test") == ["CMD", *health_cmd], "compose healthcheck differs from the Dockerfile's HEALTHCHECK")
    stop = seconds(server.get("stop_grace_period", "10s"))
    check(stop > drain, f"compose stop_grace_period {stop:g}s is not longer than the drain {drain:g}s")
    check(server.get("stop_signal", "SIGTERM") == "SIGTERM", "compose stop_signal is not SIGTERM")
    load_cmd = " ".join(compose["loadtest"].get("command", []))
    check(f"http://asynclab:{http_port}/" in load_cmd, f"compose loadtest does not target the asynclab service by name on {http_port}: {load_cmd}")
    print(f"  compose: stop_grace_period {stop:g}s")

    # --- Kubernetes
    docs = [d for d in yaml.safe_load_all(Path(rendered_yaml).read_text()) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    deploy = by_kind["Deployment"][0]
    pod = deploy["spec"]["template"]["spec"]
    tgps = pod.get("terminationGracePeriodSeconds", 30)
    check(tgps > drain, f"terminationGracePeriodSeconds {tgps} is not longer than readiness_delay + grace = {drain:g}s")
    check(deploy["spec"].get("replicas") == 3, "Deployment replicas != 3")
    container = pod["containers"][0]
    named = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    check(set(named.values()) == {http_port, echo_port}, f"containerPorts {sorted(named.values())} != {[http_port, echo_port]}")

    def probe(name, path):
        p = container.get(name, {}).get("httpGet", {})
        target = named.get(p.get("port"), p.get("port"))
        check(p.get("path") == path, f"{name} path {p.get('path')!r} != {path!r}")
        check(target == http_port, f"{name} port {p.get('port')!r} is not the http port {http_port}")
        return container.get(name, {})

    probe("livenessProbe", "/healthz")
    ready = probe("readinessProbe", "/readyz")
    unready_after = ready.get("periodSeconds", 10) * ready.get("failureThreshold", 3)
    check(unready_after <= delay, f"readiness probe notices a drain after {unready_after}s, longer than readiness_delay {delay:g}s")

    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    config_path = env.get("ASYNCLAB_CONFIG", "")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    volume, key = {}, None
    for m in container.get("volumeMounts", []):
        # Either the ConfigMap's folder is mounted, or one key with subPath.
        if m.get("subPath") and m["mountPath"] == config_path:
            volume, key = volumes.get(m["name"], {}), m["subPath"]
        elif not m.get("subPath") and config_path.startswith(m["mountPath"].rstrip("/") + "/"):
            volume, key = volumes.get(m["name"], {}), config_path[len(m["mountPath"].rstrip("/")) + 1 :]
    cm_name = volume.get("configMap", {}).get("name")
    check(cm_name is not None, f"ASYNCLAB_CONFIG={config_path!r} is not in a mounted ConfigMap")
    cms = {c["metadata"]["name"]: c for c in by_kind.get("ConfigMap", [])}
    carried = cms.get(cm_name, {}).get("data", {}).get(key)
    check(carried == container_path.read_text(), f"ConfigMap {cm_name} key {key!r} is not identical to {container_toml}")

    svc_targets = set()
    for s in by_kind.get("Service", []):
        for p in s["spec"]["ports"]:
            t = p.get("targetPort", p["port"])
            svc_targets.add(named.get(t, t))
    check(svc_targets == {http_port, echo_port}, f"Service targets {sorted(svc_targets, key=str)} != {[http_port, echo_port]}")
    for kind in ("PodDisruptionBudget", "HorizontalPodAutoscaler"):
        check(kind in by_kind, f"no {kind}")
    print(f"  kubernetes: terminationGracePeriodSeconds {tgps}, readiness unready after {unready_after}s")

    for p in problems:
        print(f"  disagreement: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
