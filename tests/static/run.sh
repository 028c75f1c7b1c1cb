#!/usr/bin/env bash
# Static build test (issue 8): build `zenpro` for <arch>-unknown-linux-musl exactly as the
# Dockerfile does (debug profile here, to keep it cheap), check that the result is a static
# executable, and run it: --version, the workspace server and the control plane answer /health
# (and the workspace /ready) on 127.0.0.1.
#
# Needs the rustup target (added here when missing) and musl-gcc (Debian musl-tools, installed
# here as root or with sudo -n when missing); the bundled SQLite is compiled with musl-gcc.
#
# Environment: CARGO_TARGET_DIR (shared with the normal build: host build scripts and
# proc-macros are reused), ZENPRO_STATIC_PROFILE (dev | release, default dev).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"
TARGET="$(uname -m)-unknown-linux-musl"
PROFILE="${ZENPRO_STATIC_PROFILE:-dev}"
DIR="$PROFILE"; [ "$PROFILE" = dev ] && DIR=debug
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$REPO/$TARGET_DIR" ;; esac
start=$(date +%s)

if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
  echo "static: adding the rustup target $TARGET"
  rustup target add "$TARGET"
fi
if ! command -v musl-gcc >/dev/null; then
  echo "static: musl-gcc missing; installing Debian's musl-tools"
  if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo -n); fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q musl-tools >/dev/null \
    || { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null \
         && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q musl-tools >/dev/null; }
fi

cargo build --locked --profile "$PROFILE" --target "$TARGET" -p zenpro
BIN="$TARGET_DIR/$TARGET/$DIR/zenpro"
built=$(date +%s)

# Static: an ELF without a PT_INTERP program header (no dynamic loader).
python3 - "$BIN" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    h = f.read(64)
    assert h[:4] == b"\x7fELF" and h[4] == 2, "not a 64-bit ELF"
    phoff, = struct.unpack_from("<Q", h, 32)
    phentsize, phnum = struct.unpack_from("<HH", h, 54)
    f.seek(phoff)
    types = [struct.unpack_from("<I", f.read(phentsize))[0] for _ in range(phnum)]
if 3 in types:
    sys.exit(f"static: {sys.argv[1]} has a PT_INTERP header: it is dynamically linked")
print(f"static: {sys.argv[1]} is statically linked ({len(types)} program headers, no interpreter)")
PY
"$BIN" --version

tmp="$(mktemp -d "${TMPDIR:-/tmp}/zenpro-static.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ok() { # url
  local i
  for ((i = 0; i < 100; i++)); do
    if [ "$(python3 -c 'import sys,urllib.request
try: print(urllib.request.urlopen(sys.argv[1], timeout=2).status)
except Exception: print(0)' "$1")" = 200 ]; then return 0; fi
    sleep 0.2
  done
  echo "static: $1 did not answer 200" >&2
  return 1
}

ws_port=$(free_port)
ZENPRO_DATA_DIR="$tmp/ws" ZENPRO_HOST=127.0.0.1 ZENPRO_PORT="$ws_port" "$BIN" workspace serve >"$tmp/ws.log" 2>&1 &
pids+=($!)
cp_port=$(free_port)
ZENPRO_DATA_DIR="$tmp/cp" ZENPRO_CP_DATABASE_URL="sqlite:///$tmp/cp/cp.db" ZENPRO_HOST=127.0.0.1 \
  ZENPRO_PORT="$cp_port" ZENPRO_CP_ADMIN_PASSWORD=static-test "$BIN" control-plane serve >"$tmp/cp.log" 2>&1 &
pids+=($!)
wait_ok "http://127.0.0.1:$ws_port/health" || { cat "$tmp/ws.log" >&2; exit 1; }
wait_ok "http://127.0.0.1:$ws_port/ready" || { cat "$tmp/ws.log" >&2; exit 1; }
wait_ok "http://127.0.0.1:$cp_port/health" || { cat "$tmp/cp.log" >&2; exit 1; }
echo "static: the musl binary serves the workspace (:$ws_port /health, /ready) and the control plane (:$cp_port /health)"
echo "static: build $(( built - start ))s, total $(( $(date +%s) - start ))s"
