# syntax=docker/dockerfile:1
#
# zenpro: one static (musl) binary on a distroless base, running as a non-root user.
#
#   docker build -t zenpro .
#   docker run -p 8237:8237 -e ZENML_SERVER_AUTO_ACTIVATE=true -e ZENML_DEFAULT_USER_PASSWORD=pw \
#     -v zenpro-data:/zenpro/data zenpro                          # workspace server on :8237
#   docker run -p 8080:8080 -e ZENPRO_CP_ADMIN_PASSWORD=pw zenpro control-plane serve   # :8080
#
# Build arguments:
#   RUST_IMAGE     builder image (default rust:1.95-bookworm; the workspace needs Rust >= 1.94)
#   RUNTIME_IMAGE  base of the final image (default gcr.io/distroless/static-debian12:nonroot:
#                  no shell, CA certificates and tzdata included, uid/gid 65532). `scratch` works
#                  too but has no CA bundle: the control-plane / Vault / STS clients verify TLS
#                  against the system store, so mount one at /etc/ssl/certs/ca-certificates.crt.
#   PROFILE        cargo profile: release (default; thin LTO) or dev (faster to build, larger)
#
# The binary is built for the build platform's architecture (x86_64 or aarch64) with
# `<arch>-unknown-linux-musl` and Debian's musl-tools (musl-gcc compiles the bundled SQLite).
# The same build outside Docker: rustup target add x86_64-unknown-linux-musl;
# apt-get install musl-tools; cargo build --release --target x86_64-unknown-linux-musl -p zenpro.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${RUST_IMAGE} AS build
ARG PROFILE=release
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add "$(uname -m)-unknown-linux-musl"
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    set -eu; \
    target="$(uname -m)-unknown-linux-musl"; \
    dir="$PROFILE"; [ "$PROFILE" = dev ] && dir=debug; \
    cargo build --locked --profile "$PROFILE" --target "$target" -p zenpro; \
    install -D -m 0755 "target/$target/$dir/zenpro" /out/usr/local/bin/zenpro; \
    mkdir -p /out/zenpro/data; \
    /out/usr/local/bin/zenpro --version

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/usr/local/bin/zenpro /usr/local/bin/zenpro
COPY --from=build --chown=65532:65532 /out/zenpro /zenpro
USER 65532:65532
WORKDIR /zenpro
# Listen on all interfaces in the container (the binary's default is 127.0.0.1); data (SQLite
# files, a generated key) under /zenpro/data, which the Helm charts mount as a volume.
ENV ZENPRO_HOST=0.0.0.0 \
    ZENPRO_DATA_DIR=/zenpro/data
VOLUME ["/zenpro/data"]
EXPOSE 8237 8080
ENTRYPOINT ["/usr/local/bin/zenpro"]
CMD ["workspace", "serve"]
