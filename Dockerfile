# The asynclab image: the `asynclab` binary on an empty base, running as a non-root
# user, with the container config selected by default.
#
#   docker build -t asynclab .
#   docker run --rm -p 8080:8080 -p 7000:7000 asynclab          # serve
#   docker run --rm -p 8443:8443 -v "$PWD/tls:/etc/asynclab/tls:ro" \
#     -e ASYNCLAB_TLS__ADDR=0.0.0.0:8443 -e ASYNCLAB_TLS__CERT=/etc/asynclab/tls/tls.crt \
#     -e ASYNCLAB_TLS__KEY=/etc/asynclab/tls/tls.key asynclab       # HTTPS too
#   docker run --rm asynclab load http://host.docker.internal:8080/fast -d 5s
#
# Three stages:
#   deps   - compiles every dependency against a skeleton of the workspace (the
#            manifests, the lock file and stub sources), so a change to our own
#            code reuses this layer and only recompiles asynclab's crates;
#   build  - compiles the real sources and gathers the runtime files into /out;
#   final  - `scratch` plus /out: the binary, the few glibc/libgcc shared objects
#            it links, /etc/nsswitch.conf (so a compose or Kubernetes service name
#            resolves through /etc/hosts and DNS), passwd/group entries for the
#            non-root user, config/container.toml, and next to it the demo files
#            served under /files/ (files.root = "public" resolves against the
#            config file's folder). No shell, no package manager.
#
# Deliberately no `# syntax=` line and no BuildKit-only flags: the file builds with
# the classic builder, BuildKit and podman/buildah alike, offline from a registry
# once the two base images are present.

ARG RUST_VERSION=1.95.0

# ---------------------------------------------------------------------------
# The workspace skeleton: Cargo manifests, Cargo.lock and stub sources.
# Its output changes only when a manifest, the lock file or the set of source
# files changes, so the `deps` layer below is rebuilt only then.
FROM rust:${RUST_VERSION}-slim-bookworm AS skeleton
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY . .
# Every lib.rs becomes empty and every other .rs file (main.rs, bins, tests,
# build scripts) a bare `fn main() {}`: enough for cargo to see the same
# targets and resolve the same dependency graph.
RUN mkdir /skeleton \
 && find . -path ./target -prune -o \( -name Cargo.toml -o -name Cargo.lock \) \
      -exec cp --parents -t /skeleton {} + \
 && find . -path ./target -prune -o -name '*.rs' -print | while read -r f; do \
      mkdir -p "/skeleton/$(dirname "$f")"; \
      if [ "$(basename "$f")" = lib.rs ]; then : > "/skeleton/$f"; \
      else echo 'fn main() {}' > "/skeleton/$f"; fi; \
    done

# ---------------------------------------------------------------------------
# Dependencies only: the slow part, cached across source changes.
FROM rust:${RUST_VERSION}-slim-bookworm AS deps
WORKDIR /src
COPY --from=skeleton /skeleton/ ./
RUN cargo build --release --locked -p asynclab

# ---------------------------------------------------------------------------
# The real build, and the runtime file tree for the final stage.
FROM deps AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY . .
# COPY keeps the files' own modification times, which can be older than the stub
# build; touching them makes cargo rebuild our crates (and only those).
RUN find crates tests config -type f -exec touch {} + \
 && cargo build --release --locked -p asynclab \
 && mkdir -p /out/usr/local/bin /out/etc/asynclab /out/tmp \
 && cp target/release/asynclab /out/usr/local/bin/asynclab \
 && ldd target/release/asynclab | grep -o '/[^ ]*' | sort -u \
      | xargs -r cp --parents -L -t /out \
 && cp config/container.toml /out/etc/asynclab/container.toml \
 && if [ -d public ]; then cp -r public /out/etc/asynclab/public; fi \
 && printf 'hosts: files dns\n' > /out/etc/nsswitch.conf \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /out/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' > /out/etc/group \
 && chmod 1777 /out/tmp

# ---------------------------------------------------------------------------
# The image that ships.
FROM scratch

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="asynclab" \
      org.opencontainers.image.description="Async network servers you can run, curl, load-test and deploy: HTTP on 8080, TCP echo on 7000, HTTPS on 8443 when turned on." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/asynclab/asynclab" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"

COPY --from=build /out/ /

# The container config binds 0.0.0.0, logs JSON, and keeps serving with /readyz
# at 503 for shutdown.readiness_delay before it drains (see config/container.toml).
ENV ASYNCLAB_CONFIG=/etc/asynclab/container.toml \
    PATH=/usr/local/bin

# A numeric UID, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
# 8443: HTTPS, when turned on (ASYNCLAB_TLS__ADDR=0.0.0.0:8443 and a mounted
# certificate: deploy/compose.tls.yaml, deploy/k8s-tls, docs/containers.md).
EXPOSE 8080 7000 8443

# What `docker stop` and Kubernetes send; asynclab turns it into a graceful
# shutdown (readiness off, drain, exit 0), so say so explicitly.
STOPSIGNAL SIGTERM

# No shell or curl in here: the binary probes itself.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["asynclab", "check", "http://127.0.0.1:8080/readyz"]

ENTRYPOINT ["asynclab"]
CMD ["serve"]
