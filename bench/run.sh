#!/usr/bin/env bash
# The zenpro benchmark: our server against the Python reference server (zenml 0.98.0) on one seeded DB.
#
#   bench/run.sh [--backend sqlite|mariadb|both] [--runs N] [--quick] [--large N] [more options of bench.py]
#   bench/run.sh dashboard [--debug] [--backend sqlite|mariadb] [--runs N] [--reps N] [--timeout S] [--keep]
#                the dashboard page render times (dashboard.py, issue 7); --debug: the debug binary, no build
#
#   --backend    which database (default sqlite); mariadb needs MariaDB on 127.0.0.1:3306, root without password
#   --runs N     seeded pipeline runs for the main measurements (default 10000)
#   --quick      smoke run: 1,000 runs, 3 s per endpoint, one timed pipeline run (a few minutes)
#   --large N    also seed up to N runs (e.g. 100000) and measure GET /runs there (list flatness)
#   --no-build   use the existing target/release/zenpro
#   --recapture  re-run the template pipeline through the reference server (fixtures/template.json)
#   --keep       keep databases and server/client logs (the folder is printed)
#   other options go to bench.py (see `bench/run.sh --help`): --duration, --ref-duration, --connections, ...
#
# Environment: ZENPRO_BENCH_VENV (default: the compat suite's tests/compat/.venv, made by its setup.sh),
#              CARGO_TARGET_DIR (the binary is $CARGO_TARGET_DIR/release/zenpro, default target/).
# Results: printed, and written to bench/results/<time>-<backend>-<runs>runs.{json,md}.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
VENV="${ZENPRO_BENCH_VENV:-$REPO/tests/compat/.venv}"

BUILD=1
RECAPTURE=0
SCRIPT=bench.py
PROFILE=release
PASS=()
if [ "${1:-}" = dashboard ]; then
  SCRIPT=dashboard.py
  shift
fi
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    --debug) PROFILE=debug; BUILD=0 ;;
    --recapture) RECAPTURE=1 ;;
    *) PASS+=("$arg") ;;
  esac
done

# The virtualenv: zenml[server]==0.98.0 (client + reference server + pymysql), made once by setup.sh.
ZENPRO_COMPAT_VENV="$VENV" "$REPO/tests/compat/setup.sh"

if [ "$SCRIPT" = bench.py ] && ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing wrk (apt-get)" >&2
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else
    echo "bench: wrk is needed (apt-get install wrk / brew install wrk)" >&2
    exit 2
  fi
fi

BIN="${CARGO_TARGET_DIR:-$REPO/target}/$PROFILE/zenpro"
if [ "$BUILD" = 1 ]; then
  echo "bench: cargo build --release -p zenpro" >&2
  (cd "$REPO" && cargo build --release -p zenpro)
fi
if [ ! -x "$BIN" ]; then
  echo "bench: no $PROFILE binary at $BIN" >&2
  exit 2
fi

TEMPLATE="$HERE/fixtures/template.json"
if [ "$RECAPTURE" = 1 ] || [ ! -f "$TEMPLATE" ]; then
  (cd "$HERE" && "$VENV/bin/python" capture_template.py --venv "$VENV" --out "$TEMPLATE")
fi

cd "$HERE"
if [ "$SCRIPT" = dashboard.py ]; then
  exec "$VENV/bin/python" dashboard.py --venv "$VENV" --zenpro-bin "$BIN" --build "$PROFILE" --template "$TEMPLATE" "${PASS[@]}"
fi
exec "$VENV/bin/python" bench.py --venv "$VENV" --zenpro-bin "$BIN" --template "$TEMPLATE" "${PASS[@]}"
