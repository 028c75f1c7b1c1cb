#!/usr/bin/env bash
# Create (idempotently) the virtualenv used by the compatibility tests:
# the real zenml 0.98.0 client + server, pytest, pytest-timeout and pytest-xdist.
#
#   tests/compat/setup.sh            -> venv at tests/compat/.venv (or $ZENPRO_COMPAT_VENV)
#
# A marker file inside the venv records the pinned requirements; when it matches,
# nothing is installed and the script returns in well under a second.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${ZENPRO_COMPAT_VENV:-$HERE/.venv}"
PYTHON="${ZENPRO_COMPAT_PYTHON:-python3}"

# Pinned requirements. Changing this list re-runs the install.
REQUIREMENTS=(
  "zenml[server]==0.98.0"
  "bcrypt==4.0.1"          # passlib 1.7.4 (used by the zenml server) breaks with bcrypt>=4.1
  "pytest==9.2.0"
  "pytest-timeout==2.4.0"
  "pytest-xdist==3.8.0"    # run.sh runs the suite's files on 2 workers (--dist loadfile)
  "playwright==1.65.2"     # drives Debian's /usr/bin/chromium (no browser download) in the Pro tests
)
MARKER="$VENV/.zenpro-compat-requirements"
WANT="$(printf '%s\n' "${REQUIREMENTS[@]}")"

# The Pro tests' browser: Debian's chromium (Playwright's own browser builds cannot be fetched).
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "setup.sh: installing chromium (Debian) for the control plane browser tests" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } \
    || echo "setup.sh: could not install chromium; the browser test will fail" >&2
fi

if [ -x "$VENV/bin/python" ] && [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$WANT" ]; then
  exit 0
fi

if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 10) else 1)'; then
  echo "setup.sh: $PYTHON is too old; zenml 0.98.0 needs Python >= 3.10" >&2
  exit 1
fi

echo "setup.sh: creating the compat virtualenv at $VENV (zenml[server]==0.98.0; takes a few minutes once)" >&2
rm -f "$MARKER"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}"
# Import check: the server app, the client and the MySQL driver must all load.
CHECK_CFG="$(mktemp -d)"
ZENML_CONFIG_PATH="$CHECK_CFG" ZENML_ANALYTICS_OPT_IN=false "$VENV/bin/python" - <<'PY'
import importlib
for mod in ("zenml.zen_server.zen_server_api", "zenml.client", "pymysql", "pytest_timeout", "xdist", "requests",
            "playwright.sync_api"):
    importlib.import_module(mod)
import zenml
assert zenml.__version__ == "0.98.0", zenml.__version__
PY
rm -rf "$CHECK_CFG"
printf '%s\n' "${REQUIREMENTS[@]}" > "$MARKER"
echo "setup.sh: virtualenv ready" >&2
