#!/usr/bin/env bash
# Run the zenml 0.98.0 compatibility suite.
#
#   tests/compat/run.sh [pytest args...]
#
# Environment:
#   ZENPRO_BIN                  our binary (default: $CARGO_TARGET_DIR/debug/zenpro or target/debug/zenpro)
#   ZENPRO_COMPAT_TARGET        zenpro (default) | python  - "python" runs everything against the reference
#   ZENPRO_COMPAT_BACKENDS      sqlite,mariadb (default) - subset to run on
#   ZENPRO_COMPAT_VENV          virtualenv location (default tests/compat/.venv)
#   ZENPRO_COMPAT_TEST_TIMEOUT  per-test timeout in seconds (default 900)
#   ZENPRO_COMPAT_WORKERS       pytest-xdist workers (default 2; each test file runs whole on one
#                               worker, so module-scoped servers are shared as before; 0 = no xdist)
# Exits non-zero when any test fails or errors.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${ZENPRO_COMPAT_VENV:-$HERE/.venv}"
export ZENPRO_COMPAT_VENV="$VENV"

"$HERE/setup.sh"

TARGET="${ZENPRO_COMPAT_TARGET:-zenpro}"
if [ "$TARGET" = zenpro ]; then
  if [ -z "${ZENPRO_BIN:-}" ]; then
    ZENPRO_BIN="${CARGO_TARGET_DIR:-$REPO/target}/debug/zenpro"
  fi
  case "$ZENPRO_BIN" in /*) ;; *) ZENPRO_BIN="$PWD/$ZENPRO_BIN" ;; esac
  export ZENPRO_BIN
  if [ ! -x "$ZENPRO_BIN" ]; then
    echo "compat: zenpro binary not found at $ZENPRO_BIN (cargo build -p zenpro, or set ZENPRO_BIN;" \
         "ZENPRO_COMPAT_TARGET=python runs the suite against the reference server)" >&2
    exit 2
  fi
fi

LOG="$(mktemp -t zenpro-compat.XXXXXX.log)"
trap 'rm -f "$LOG"' EXIT
start=$(date +%s)
set +e
# Test paths may be given (relative to the current directory); default: the whole suite.
paths=("$HERE")
for arg in "$@"; do
  case "$arg" in -*) ;; *) if [ -e "${arg%%::*}" ]; then paths=(); break; fi ;; esac
done
# Every test uses free ports, fresh databases and its own directories, so files run in parallel.
workers=()
if [ "${ZENPRO_COMPAT_WORKERS:-2}" != 0 ]; then
  workers=(-n "${ZENPRO_COMPAT_WORKERS:-2}" --dist loadfile)
fi
"$VENV/bin/python" -m pytest -q --timeout="${ZENPRO_COMPAT_TEST_TIMEOUT:-900}" \
    "${workers[@]}" "$@" "${paths[@]}" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
summary="$(grep -E '^(=+ )?[0-9]+ (passed|failed|error|skipped|deselected)|^(=+ )?(no tests ran|[0-9]+ errors?)' "$LOG" | tail -n 1 || true)"
echo "compat[target=$TARGET]: ${summary:-no pytest summary (exit $rc)} [$(( $(date +%s) - start ))s]"
exit "$rc"
