#!/usr/bin/env python3
"""Regenerate / check crates/zenpro-store/schema/connector_types.json.

The file holds the service connector type specifications the reference
ZenML 0.98.0 server answers to `GET /api/v1/service_connector_types`: the
connector types, their resource types and authentication methods with the
JSON schema of each method's configuration. In the Python server these come
from integration code (the service connector registry imports whichever
connector implementations are installed); zenpro serves them as data.

How the data is obtained, without copying any ZenML code: the script starts
the real reference server (uvicorn `zenml.zen_server.zen_server_api:app`, from
the zenml==0.98.0 package of the interpreter that runs it) on a temporary
SQLite database and a free 127.0.0.1 port, with a clean environment (only PATH,
no other ZENML_* variables, analytics off, auto-activated admin), logs in,
fetches `GET /api/v1/service_connector_types` and stops the server. The
response list is written unchanged (same order, same keys) under
"connector_types", as `json.dumps(indent=1)` without a trailing newline.

Which types the reference lists depends on the packages installed next to
zenml: a plain `pip install 'zenml[server]==0.98.0'` has the docker and oauth2
connectors only (the AWS, GCP, Azure, Kubernetes and HyperAI connectors need
their integrations' packages). Use such a plain environment.

Usage (run with a Python that has zenml[server]==0.98.0 installed, e.g.
~/.cache/zenml-ref-venv/bin/python):

  scripts/connector_types.py [check]   compare, print a unified diff, exit 1 on difference
  scripts/connector_types.py regen     rewrite the committed file in place
  ... --from-url URL [--user U --password P]
                                       read a running reference server instead of
                                       starting one (default admin / Adm1n-pw)
  ... --file PATH                      compare with / rewrite another file

Exit status: 0 identical (or regen done), 1 check found differences, 2 error.
Standard library only, apart from zenml itself.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ZENML_VERSION = "0.98.0"

REPO = Path(__file__).resolve().parent.parent
TYPES_FILE = REPO / "crates" / "zenpro-store" / "schema" / "connector_types.json"

NOTE = (
    f"GET /api/v1/service_connector_types of the zenml[server]=={ZENML_VERSION} reference "
    "server, unchanged. Regenerate/check with scripts/connector_types.py."
)

START_TIMEOUT_S = 90


class ToolError(Exception):
    """An error that stops the script with exit status 2."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, *, data: bytes | None = None, headers: dict | None = None) -> bytes:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.read()


def _login(base: str, user: str, password: str) -> str:
    form = urllib.parse.urlencode({"username": user, "password": password}).encode()
    body = _request(
        f"{base}/api/v1/login",
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return json.loads(body)["access_token"]


def fetch_types(base: str, user: str, password: str) -> list:
    """`GET /api/v1/service_connector_types` of the server at `base`."""
    try:
        token = _login(base, user, password)
        body = _request(
            f"{base}/api/v1/service_connector_types",
            headers={"Authorization": f"Bearer {token}"},
        )
    except (urllib.error.URLError, KeyError, ValueError) as e:
        raise ToolError(f"cannot read the connector types from {base}: {e}") from e
    types = json.loads(body)
    if not isinstance(types, list):
        raise ToolError(f"unexpected answer from {base}: {body[:200]!r}")
    return types


def _check_zenml() -> None:
    try:
        import zenml
    except ImportError as e:
        raise ToolError(f"zenml is not installed for {sys.executable}") from e
    if zenml.__version__ != ZENML_VERSION:
        raise ToolError(f"zenml {zenml.__version__} is installed, need {ZENML_VERSION}")


def types_from_fresh_server() -> list:
    """Start the reference server on a temporary SQLite database and read its types."""
    _check_zenml()
    port = _free_port()
    password = secrets.token_hex(12)
    with tempfile.TemporaryDirectory(prefix="zenpro-connector-types-") as tmp:
        data = Path(tmp)
        (data / "stores").mkdir()
        (data / "config").mkdir()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(data),
            "ZENML_STORE_URL": f"sqlite:///{data / 'ref.db'}",
            "ZENML_LOCAL_STORES_PATH": str(data / "stores"),
            "ZENML_CONFIG_PATH": str(data / "config"),
            "ZENML_SERVER": "true",
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_SERVER_AUTO_ACTIVATE": "true",
            "ZENML_DEFAULT_USER_NAME": "admin",
            "ZENML_DEFAULT_USER_PASSWORD": password,
            "ZENML_SERVER_JWT_SECRET_KEY": secrets.token_hex(16),
            "ZENML_SECRETS_STORE_TYPE": "sql",
            "ZENML_LOGGING_VERBOSITY": "WARN",
        }
        log_path = data / "server.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "zenml.zen_server.zen_server_api:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                env=env,
                cwd=data,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    raise ToolError(
                        f"the reference server exited with {proc.returncode}:\n"
                        + log_path.read_text(errors="replace")[-3000:]
                    )
                try:
                    _request(f"{base}/health")
                    break
                except (urllib.error.URLError, ConnectionError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise ToolError(f"the reference server did not start within {START_TIMEOUT_S} s")
                time.sleep(0.5)
            return fetch_types(base, "admin", password)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def render(types: list) -> str:
    doc = {"zenml_version": ZENML_VERSION, "note": NOTE, "connector_types": types}
    return json.dumps(doc, indent=1)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Regenerate or check the connector type specifications served by zenpro."
    )
    parser.add_argument("mode", nargs="?", choices=("check", "regen"), default="check")
    parser.add_argument("--file", type=Path, default=TYPES_FILE, help="the JSON file to check/rewrite")
    parser.add_argument("--from-url", metavar="URL", help="a running reference server to read instead")
    parser.add_argument("--user", default="admin", help="user for --from-url (default admin)")
    parser.add_argument("--password", default="Adm1n-pw", help="password for --from-url")
    args = parser.parse_args(argv)

    try:
        if args.from_url:
            types = fetch_types(args.from_url.rstrip("/"), args.user, args.password)
        else:
            types = types_from_fresh_server()
    except ToolError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    generated = render(types)
    path = args.file.resolve()
    if args.mode == "regen":
        path.write_text(generated, encoding="utf-8")
        print(f"wrote {path} ({len(types)} connector types)")
        return 0

    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    if committed == generated:
        print(f"{path.name}: identical ({len(types)} connector types)")
        return 0
    sys.stdout.writelines(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            generated.splitlines(keepends=True),
            fromfile=f"{path.name} (committed)",
            tofile=f"{path.name} (zenml {ZENML_VERSION})",
        )
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
