"""ZenML Pro end to end: our control plane + the real Python zenml 0.98.0 server in Pro mode.

* :class:`ControlPlane` is ``zenpro control-plane serve`` on a temp SQLite database with a
  bootstrap super-user; :meth:`ControlPlane.admin` runs ``zenpro admin --url <cp> ...`` with its
  own ``XDG_CONFIG_HOME`` (where ``zenpro admin login`` keeps its token).
* :class:`ProWorkspace` is the open-source ``zenml[server]==0.98.0`` server (uvicorn) started with
  ``ZENML_SERVER_DEPLOYMENT_TYPE=cloud`` and the enrollment values of ``zenpro admin workspace
  create``: it starts only if ``POST /auth/login`` (client credentials) and ``PATCH
  /workspace_status`` on our control plane succeed.
* :class:`OurProWorkspace` is our ``zenpro workspace serve`` in Pro mode on a given database
  (e.g. the one an OSS server filled before); :class:`PostgresDatabase` is a fresh PostgreSQL
  database for a :class:`ControlPlane` (``database_url=``).
* :func:`device_login` runs ``zenml login <workspace> --pro-api-url <cp>/api/v1`` (the real CLI,
  OAuth2 device flow) and approves the device in a real Chromium driven by Playwright: the
  control plane's login form (``#username``, ``#password``, ``#login``), then the device page
  (``#workspace``, ``#approve``).
* :func:`store_pro_token` logs a user in at ``POST /auth/login`` (password grant) and stores the
  token in a client's credentials store exactly as the device flow would (``set_token(...,
  is_zenml_pro=True)``), for the tests that need many users without a browser each.

Processes are stopped by their PID only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import stat
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

import requests

from . import servers
from .client import ANSI, Result, ZenClient

CHROMIUM = os.environ.get("ZENPRO_COMPAT_CHROMIUM", "/usr/bin/chromium")
CP_ADMIN_USER = "admin"
CP_ADMIN_PASSWORD = "Cp-Adm1n-pw"
HTTP_TIMEOUT = 30

# `$BROWSER` for `zenml login`: record the verification URL, open nothing (the test drives Chromium).
RECORD_URL_SCRIPT = """#!/bin/sh
printf '%s\\n' "$1" >> "$ZC_VERIFY_URL_FILE"
exit 0
"""


@contextlib.contextmanager
def running(env, start=None):
    """A module fixture's environment: start it (``env.start()``, or ``start()``), and close it when
    the ``with`` block ends. A start that fails (a process that does not come up, a failed check)
    fails the test with the environment's ``report_sections()`` (logs, last commands)."""
    import pytest

    try:
        (start or env.start)()
    except BaseException as e:
        env.close()
        if not isinstance(e, (ProcessStartError, servers.ServerStartError, AssertionError)):
            raise
        sections = "\n\n".join(f"----- {title} -----\n{text}" for title, text in env.report_sections())
        pytest.fail(f"{e}\n\n{sections}", pytrace=False)
    try:
        yield env
    finally:
        env.close()


class ProcessStartError(RuntimeError):
    pass


# ----------------------------------------------------------------------------- processes
class Proc:
    """One server process we started: log in a file, ready when ``ready()`` says so, stopped by PID."""

    label = "process"

    def __init__(self, workdir: Path, port: Optional[int] = None,
                 start_timeout: Optional[float] = None) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or servers.free_port()
        self.log_path = workdir / "server.log"
        self.proc: Optional[subprocess.Popen] = None
        self._log = None
        self.start_timeout = start_timeout or float(os.environ.get("ZENPRO_COMPAT_START_TIMEOUT", "120"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> tuple[list[str], dict]:
        raise NotImplementedError

    def ready(self) -> tuple[bool, str]:
        raise NotImplementedError

    def start(self) -> "Proc":
        cmd, env = self.command()
        self._log = open(self.log_path, "ab", buffering=0)
        self._log.write(f"\n===== {' '.join(cmd)}\n".encode())
        self.proc = subprocess.Popen(cmd, env=env, cwd=str(self.workdir), stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        last = "no answer yet"
        try:
            while time.monotonic() < deadline:
                rc = self.proc.poll()
                if rc is not None:
                    raise ProcessStartError(
                        f"{self.label} exited with code {rc} before it was ready ({last})\n"
                        f"----- log ({self.log_path}) -----\n{self.log_tail()}")
                ok, last = self.ready()
                if ok:
                    return self
                time.sleep(0.2)
            raise ProcessStartError(
                f"{self.label} not ready within {self.start_timeout:.0f}s (last: {last})\n"
                f"----- log ({self.log_path}) -----\n{self.log_tail()}")
        except BaseException:
            self.stop()
            raise

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(ANSI.sub("", text).splitlines()[-lines:])


def _http_status(url: str) -> tuple[Optional[int], str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status, f"HTTP {resp.status}"
    except urllib.error.HTTPError as e:
        return e.code, f"HTTP {e.code}"
    except (urllib.error.URLError, OSError) as e:
        return None, str(e)


class ControlPlane(Proc):
    """``zenpro control-plane serve`` on ``<workdir>/cp.db``."""

    label = "control plane (zenpro control-plane serve)"

    def __init__(self, workdir: Path, database_url: Optional[str] = None) -> None:
        super().__init__(workdir)
        self.db_path = workdir / "cp.db"
        # None: SQLite at ``db_path``; else e.g. ``PostgresDatabase.create().url``.
        self.database_url = database_url
        self.admin_user = CP_ADMIN_USER
        self.admin_password = CP_ADMIN_PASSWORD
        self.xdg = workdir / "admin-config"
        self.xdg.mkdir(parents=True, exist_ok=True)
        self.admin_history: list[Result] = []
        # Known to the tests, so they can mint a correctly signed but expired token.
        self.token_secret = secrets.token_hex(32)

    @property
    def api_url(self) -> str:
        return self.url + "/api/v1"

    def command(self) -> tuple[list[str], dict]:
        binary = servers.zenpro_bin()
        if not os.access(binary, os.X_OK):
            raise ProcessStartError(f"zenpro binary not found at {binary} (cargo build -p zenpro, or set ZENPRO_BIN)")
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        env = servers._base_env(home)
        env.update({
            "ZENPRO_CP_DATABASE_URL": self.database_url or f"sqlite://{self.db_path}",  # sqlite:///abs/path.db
            "ZENPRO_CP_URL": self.url,
            "ZENPRO_CP_ADMIN_USERNAME": self.admin_user,
            "ZENPRO_CP_ADMIN_PASSWORD": self.admin_password,
            "ZENPRO_CP_TOKEN_SECRET": self.token_secret,
            "ZENPRO_CP_DEVICE_INTERVAL": "1",
        })
        cmd = [str(binary), "control-plane", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        return cmd, env

    def ready(self) -> tuple[bool, str]:
        # Any HTTP answer from the API means it listens; a login must work too.
        status, last = _http_status(self.api_url + "/users/me")
        return status is not None and status < 500, last

    # -- zenpro admin
    def admin(self, *args: str, stdin: Optional[str] = None, timeout: float = 60) -> Result:
        """``zenpro admin --url <cp> <args>`` with this control plane's admin config dir."""
        env = servers._base_env(self.workdir / "home")
        env["XDG_CONFIG_HOME"] = str(self.xdg)
        cmd = [str(servers.zenpro_bin()), "admin", "--url", self.url, *args]
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            rc, out, err = -9, str(e.stdout or ""), str(e.stderr or "") + f"\n[timed out after {timeout}s]"
        shown = ["zenpro", "admin", *args]
        shown = ["***" if i > 0 and shown[i - 1] == "--password" else a for i, a in enumerate(shown)]
        result = Result(shown, rc, ANSI.sub("", out), ANSI.sub("", err), time.monotonic() - t0)
        self.admin_history.append(result)
        return result

    def admin_ok(self, *args: str) -> Result:
        return self.admin(*args).ok()

    def admin_json(self, *args: str) -> Any:
        r = self.admin(*args).ok()
        try:
            return json.loads(r.stdout)
        except ValueError:
            # Tolerate log lines around the JSON document.
            m = re.search(r"(\{.*\}|\[.*\])", r.stdout, re.S)
            assert m, "no JSON in the output of:\n" + r.describe()
            return json.loads(m.group(1))

    def admin_login(self) -> None:
        self.admin_ok("login", "--username", self.admin_user, "--password", self.admin_password)

    # -- direct API
    def login_response(self, **form: str) -> requests.Response:
        return requests.post(self.api_url + "/auth/login", data=form, timeout=HTTP_TIMEOUT,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})

    def token(self, username: str, password: str) -> dict:
        """``POST /auth/login`` password grant -> the token response (a dict)."""
        resp = self.login_response(grant_type="password", username=username, password=password)
        assert resp.status_code == 200, f"control-plane password login of {username} failed: {describe(resp)}"
        return resp.json()

    def get(self, path: str, token: Optional[str] = None, **kw: Any) -> requests.Response:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.get(self.api_url + path, headers=headers, timeout=HTTP_TIMEOUT, **kw)

    def request(self, method: str, path: str, token: Optional[str] = None, **kw: Any) -> requests.Response:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.api_url + path, headers=headers, timeout=HTTP_TIMEOUT, **kw)

    def admin_token(self) -> str:
        return self.token(self.admin_user, self.admin_password)["access_token"]

    def admin_transcript(self, last: int = 5) -> str:
        return "\n\n".join(r.describe() for r in self.admin_history[-last:])


class ProWorkspace(Proc):
    """The Python zenml 0.98.0 server in Pro mode, enrolled with ``enrollment`` (the JSON of
    ``zenpro admin workspace create --output json``) on a fresh SQLite database."""

    label = "Python zenml 0.98.0 workspace server (Pro mode)"

    def __init__(self, workdir: Path, port: int, cp: ControlPlane, enrollment: dict) -> None:
        super().__init__(workdir, port=port)
        self.cp = cp
        self.enrollment = enrollment
        self.db_path = workdir / "zenml.db"
        self.jwt_secret = "pro-workspace-jwt-" + secrets.token_hex(16)

    @property
    def name(self) -> str:
        return self.enrollment["workspace_name"]

    @property
    def id(self) -> str:
        return self.enrollment["workspace_id"]

    def command(self) -> tuple[list[str], dict]:
        home, stores, config = (self.workdir / d for d in ("home", "stores", "config"))
        for d in (home, stores, config):
            d.mkdir(parents=True, exist_ok=True)
        e = self.enrollment
        api_url = (e.get("api_url") or self.cp.api_url).rstrip("/")
        env = servers._base_env(home)
        env.update({
            "ZENML_SERVER": "true",
            "ZENML_CONFIG_PATH": str(config),
            "ZENML_STORE_URL": f"sqlite:///{self.db_path}",
            "ZENML_LOCAL_STORES_PATH": str(stores),
            "ZENML_SECRETS_STORE_TYPE": "sql",
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_LOGGING_COLORS_DISABLED": "true",
            "ZENML_SERVER_JWT_SECRET_KEY": self.jwt_secret,
            "ZENML_SERVER_SERVER_URL": self.url,
            "ZENML_SERVER_DEPLOYMENT_TYPE": "cloud",
            "ZENML_SERVER_PRO_API_URL": api_url,
            "ZENML_SERVER_PRO_DASHBOARD_URL": (e.get("dashboard_url") or self.cp.url).rstrip("/"),
            "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET": e["enrollment_key"],
            "ZENML_SERVER_PRO_OAUTH2_AUDIENCE": api_url,
            "ZENML_SERVER_PRO_ORGANIZATION_ID": e["organization_id"],
            "ZENML_SERVER_PRO_ORGANIZATION_NAME": e["organization_name"],
            "ZENML_SERVER_PRO_WORKSPACE_ID": e["workspace_id"],
            "ZENML_SERVER_PRO_WORKSPACE_NAME": e["workspace_name"],
        })
        cmd = [str(servers.venv_bin() / "uvicorn"), "zenml.zen_server.zen_server_api:app",
               "--host", "127.0.0.1", "--port", str(self.port), "--no-server-header", "--log-level", "info"]
        return cmd, env

    def ready(self) -> tuple[bool, str]:
        status, last = _http_status(self.url + "/health")
        return status == 200, last


def pro_settings(cp: ControlPlane, enrollment: dict) -> dict:
    """The ``ZENML_SERVER_DEPLOYMENT_TYPE=cloud`` + ``ZENML_SERVER_PRO_*`` environment of a
    workspace enrolled with ``enrollment`` (the JSON of ``zenpro admin workspace create``)."""
    e = enrollment
    api_url = (e.get("api_url") or cp.api_url).rstrip("/")
    return {
        "ZENML_SERVER_DEPLOYMENT_TYPE": "cloud",
        "ZENML_SERVER_PRO_API_URL": api_url,
        "ZENML_SERVER_PRO_DASHBOARD_URL": (e.get("dashboard_url") or cp.url).rstrip("/"),
        "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET": e["enrollment_key"],
        "ZENML_SERVER_PRO_OAUTH2_AUDIENCE": api_url,
        "ZENML_SERVER_PRO_ORGANIZATION_ID": e["organization_id"],
        "ZENML_SERVER_PRO_ORGANIZATION_NAME": e["organization_name"],
        "ZENML_SERVER_PRO_WORKSPACE_ID": e["workspace_id"],
        "ZENML_SERVER_PRO_WORKSPACE_NAME": e["workspace_name"],
    }


class OurProWorkspace(Proc):
    """Our ``zenpro workspace serve`` in Pro mode on ``db`` (a :class:`servers.Database`, e.g. one
    an OSS server already filled), enrolled with ``enrollment`` (``zenpro admin workspace create
    --output json``). It keeps the database's JWT key and secrets encryption key, so what the
    OSS server wrote stays readable. ``extra_env`` goes last (e.g. ``ZENPRO_PRO_CACHE_SECONDS``).
    """

    label = "zenpro workspace server (Pro mode)"

    def __init__(self, workdir: Path, port: int, cp: ControlPlane, enrollment: dict,
                 db: "servers.Database", extra_env: Optional[dict] = None) -> None:
        super().__init__(workdir, port=port)
        self.cp = cp
        self.enrollment = enrollment
        self.db = db
        self.extra_env = dict(extra_env or {})

    @property
    def name(self) -> str:
        return self.enrollment["workspace_name"]

    @property
    def id(self) -> str:
        return self.enrollment["workspace_id"]

    def command(self) -> tuple[list[str], dict]:
        binary = servers.zenpro_bin()
        if not os.access(binary, os.X_OK):
            raise ProcessStartError(f"zenpro binary not found at {binary} (cargo build -p zenpro, or set ZENPRO_BIN)")
        home, stores, data = (self.workdir / d for d in ("home", "stores", "data"))
        for d in (home, stores, data):
            d.mkdir(parents=True, exist_ok=True)
        env = servers._base_env(home)
        env.update({
            "ZENML_STORE_URL": self.db.url,
            "ZENML_SERVER_JWT_SECRET_KEY": self.db.jwt_secret,
            "ZENML_LOCAL_STORES_PATH": str(stores),
            "ZENML_SECRETS_STORE_TYPE": "sql",
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_SERVER_SERVER_URL": self.url,
            "ZENPRO_DATA_DIR": str(data),
        })
        if self.db.encryption_key:
            env["ZENML_SECRETS_STORE_ENCRYPTION_KEY"] = self.db.encryption_key
        env.update(pro_settings(self.cp, self.enrollment))
        env.update(self.extra_env)
        cmd = [str(binary), "workspace", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        return cmd, env

    def ready(self) -> tuple[bool, str]:
        status, last = _http_status(self.url + "/health")
        return status == 200, last


class PostgresDatabase:
    """A fresh PostgreSQL database ``zcp_<random>`` (for the control plane), made and dropped
    with ``psql`` as the trusted ``postgres`` user at ``$ZENPRO_COMPAT_PG_HOST:PORT``
    (127.0.0.1:5432)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.host = os.environ.get("ZENPRO_COMPAT_PG_HOST", "127.0.0.1")
        self.port = int(os.environ.get("ZENPRO_COMPAT_PG_PORT", "5432"))
        self.user = os.environ.get("ZENPRO_COMPAT_PG_USER", "postgres")
        self.dropped = False

    @property
    def url(self) -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{self.name}"

    @staticmethod
    def unreachable_reason() -> Optional[str]:
        """None when ``psql`` can reach the server, else why not."""
        try:
            PostgresDatabase("postgres")._psql("SELECT 1")
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
            return f"PostgreSQL not usable for the control plane: {e}"
        return None

    def _psql(self, sql: str) -> str:
        p = subprocess.run(["psql", "-h", self.host, "-p", str(self.port), "-U", self.user, "-d", "postgres",
                            "-v", "ON_ERROR_STOP=1", "-Atc", sql],
                           capture_output=True, text=True, timeout=60, env={**os.environ, "PGCONNECT_TIMEOUT": "5"})
        if p.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed ({p.returncode}): {p.stderr.strip()}")
        return p.stdout

    @classmethod
    def create(cls) -> "PostgresDatabase":
        db = cls("zcp_" + secrets.token_hex(6))
        db._psql(f'CREATE DATABASE "{db.name}"')
        return db

    def drop(self) -> None:
        if not self.dropped:
            self.dropped = True
            self._psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def describe(resp: requests.Response) -> str:
    req = resp.request
    body = req.body
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    if body:
        body = re.sub(r"(password|client_secret)=[^&]*", r"\1=***", str(body))
    return f"{req.method} {req.url} [{(body or '')[:300]}] -> {resp.status_code} {resp.text[:800]}"


# ----------------------------------------------------------------------------- admin helpers
def find_assignments(listing: Any, *needles: str) -> list[dict]:
    """Role assignments (``zenpro admin role list --output json``) that mention every needle
    (a user name/id, a role, a workspace name/id) among their (nested) string values."""
    items = listing
    if isinstance(listing, dict):
        items = listing.get("items") or listing.get("role_assignments") or listing.get("assignments") or []
    found = []
    for item in items:
        values: set[str] = set()

        def walk(v: Any) -> None:
            if isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
            elif v is not None:
                values.add(str(v))

        walk(item)
        if all(n in values for n in needles):
            found.append(item)
    return found


# ----------------------------------------------------------------------------- client logins
def _write_browser_script(client: ZenClient) -> Path:
    path = client.home / "record-url.sh"
    path.write_text(RECORD_URL_SCRIPT)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


class BrowserApproval:
    """What the scripted browser saw: the pages' text after each step."""

    def __init__(self) -> None:
        self.steps: list[str] = []

    def add(self, what: str, page: Any) -> None:
        try:
            text = page.inner_text("body")[:600]
        except Exception as e:  # noqa: BLE001
            text = f"(no text: {e})"
        self.steps.append(f"[{what}] {page.url}\n{text}")

    def __str__(self) -> str:
        return "\n\n".join(self.steps)


def approve_in_chromium(url: str, username: str, password: str, workspace: Optional[dict] = None,
                        approve: bool = True, timeout_ms: int = 30000) -> BrowserApproval:
    """Open ``url`` in a real headless Chromium (Playwright), log in with the control plane's
    form (``#username``, ``#password``, ``#login``) if asked to, choose ``workspace``
    (``{"id", "name"}``) in ``#workspace`` and click ``#approve`` (or ``#deny``)."""
    from playwright.sync_api import sync_playwright

    seen = BrowserApproval()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(timeout_ms)
            page.goto(url)
            page.wait_for_selector("#username, #approve, #deny")
            seen.add("opened", page)
            if page.locator("#username").count():
                page.fill("#username", username)
                page.fill("#password", password)
                page.click("#login")
                page.wait_for_selector("#approve, #deny")
                seen.add("logged in", page)
            if workspace is not None and page.locator("#workspace").count():
                values = page.eval_on_selector_all(
                    "#workspace option", "os => os.map(o => [o.value, o.textContent])")
                choice = next((v for v, t in values if v in (workspace["id"], workspace["name"])), None)
                if choice is None:
                    choice = next((v for v, t in values if workspace["name"] in (t or "")), None)
                assert choice is not None, f"workspace {workspace} not offered on the device page: {values}\n{seen}"
                page.select_option("#workspace", value=choice)
            page.click("#approve" if approve else "#deny")
            page.wait_for_load_state()
            try:  # zenpro's result page says what happened (`#result`); not required
                page.wait_for_selector("#result", timeout=5000)
            except Exception:  # noqa: BLE001
                pass
            seen.add("approved" if approve else "denied", page)
        finally:
            browser.close()
    return seen


def device_login(client: ZenClient, cp: ControlPlane, workspace: Optional[dict], username: str,
                 password: str, server_arg: Optional[str] = None, approve: bool = True,
                 timeout: float = 180, login_args: Optional[list[str]] = None) -> tuple[Result, BrowserApproval, str]:
    """``zenml login <server_arg or workspace name> --pro-api-url <cp>/api/v1`` with the device
    page approved in Chromium. Returns the CLI result, what the browser saw, and the
    verification URL the CLI opened."""
    url_file = client.home / "verification-url.txt"
    url_file.unlink(missing_ok=True)
    script = _write_browser_script(client)
    env = client.env(BROWSER=str(script), ZC_VERIFY_URL_FILE=str(url_file), ZENML_PRO_API_URL=cp.api_url)
    arg = server_arg or (workspace["name"] if workspace else None)
    args = login_args if login_args is not None else [*([arg] if arg else []), "--pro-api-url", cp.api_url]
    cmd = [str(servers.venv_bin() / "zenml"), "login", *args]
    out_path, err_path = client.home / "login.stdout", client.home / "login.stderr"
    t0 = time.monotonic()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(cmd, env=env, cwd=str(client.home), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, start_new_session=True)
        seen = BrowserApproval()
        verification_url = ""
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                if url_file.exists() and url_file.read_text().strip():
                    verification_url = url_file.read_text().strip().splitlines()[0]
                    break
                time.sleep(0.2)
            if not verification_url and proc.poll() is None:
                # Fall back to the URL the CLI prints.
                m = re.search(r"https?://\S+devices\S*", out_path.read_text() + err_path.read_text())
                verification_url = m.group(0) if m else ""
            if verification_url:
                try:
                    seen = approve_in_chromium(verification_url, username, password, workspace, approve=approve)
                except Exception as e:  # noqa: BLE001 - reported with the CLI output
                    seen.steps.append(f"browser failed: {type(e).__name__}: {e}")
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    shown = ["zenml", "login", *args]
    result = Result(shown, proc.returncode, ANSI.sub("", out_path.read_text()),
                    ANSI.sub("", err_path.read_text()) + f"\n----- browser -----\n{seen}\nverification URL: {verification_url}",
                    time.monotonic() - t0)
    client.history.append(result)
    return result, seen, verification_url


STORE_TOKEN_SNIPPET = """
import requests
from zenml.login.credentials_store import get_credentials_store
from zenml.models import OAuthTokenResponse
resp = requests.post({api!r} + "/auth/login", data={{"grant_type": "password", "username": {user!r},
                     "password": {password!r}}}, timeout=30)
print("OUT status=" + str(resp.status_code))
resp.raise_for_status()
get_credentials_store().set_token({api!r}, OAuthTokenResponse(**resp.json()), is_zenml_pro=True)
print("OUT stored=yes")
"""


def store_pro_token(client: ZenClient, cp: ControlPlane, username: str, password: str) -> Result:
    """Log ``username`` in at the control plane (password grant) and keep the token in the
    client's credentials store as the device flow does."""
    return client.python(STORE_TOKEN_SNIPPET.format(api=cp.api_url, user=username, password=password))


CONNECT_SNIPPET = """
from zenml.config.global_config import GlobalConfiguration
from zenml.zen_stores.rest_zen_store import RestZenStoreConfiguration
GlobalConfiguration().set_store(RestZenStoreConfiguration(url={url!r}))
from zenml.client import Client
c = Client()
print("OUT user=" + c.active_user.name)
print("OUT stacks=" + ",".join(s.name for s in c.list_stacks(size=100).items))
"""


def connect_with_pro_token(client: ZenClient, ws: ProWorkspace) -> Result:
    """Point the client at the workspace; it exchanges its stored Pro token at the workspace
    (``POST /api/v1/login``, zenml-external), which asks our ``/users/authorize_server``."""
    return client.python(CONNECT_SNIPPET.format(url=ws.url))


# ----------------------------------------------------------------------------- the environment
ORG = "acme-e2e"
WORKSPACE = "ws-e2e"


class ProEnv:
    """One control plane, one organization, one enrolled Python workspace server (per module)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.cp = ControlPlane(workdir / "cp")
        self.ws: Optional[ProWorkspace] = None
        self.enrollment: dict = {}
        self.passwords: dict[str, str] = {}
        self._admin_token: Optional[str] = None

    def start(self) -> "ProEnv":
        self.cp.start()
        self.cp.admin_login()
        self.cp.admin_ok("org", "create", ORG)
        ws_port = servers.free_port()
        self.enrollment = self.cp.admin_json(
            "workspace", "create", WORKSPACE, "--org", ORG, "--url", f"http://127.0.0.1:{ws_port}",
            "--output", "json")
        self.ws = ProWorkspace(self.workdir / "ws", ws_port, self.cp, self.enrollment).start()
        return self

    def close(self) -> None:
        for proc in (self.ws, self.cp):
            if proc is not None:
                proc.stop()
        servers.remove_workdir(self.workdir)

    @property
    def workspace(self) -> dict:
        return {"id": self.enrollment["workspace_id"], "name": self.enrollment["workspace_name"]}

    def admin_token(self) -> str:
        if self._admin_token is None:
            self._admin_token = self.cp.admin_token()
        return self._admin_token

    def user(self, name: str, role: Optional[str] = None) -> str:
        """Create a control-plane user (password login) and grant it ``role`` on the workspace."""
        password = f"Pw-{name}-" + secrets.token_hex(6)
        self.cp.admin_ok("user", "create", name, "--password", password)
        self.passwords[name] = password
        if role:
            self.grant(name, role)
        return password

    def grant(self, principal: str, role: str, scope: tuple[str, str] = ("--workspace", WORKSPACE)) -> Result:
        return self.cp.admin_ok("role", "grant", "--user", principal, *scope, "--role", role)

    def principal_id(self, name: str) -> Optional[str]:
        resp = self.cp.get(f"/users/{name}", self.admin_token())
        if resp.status_code == 200:
            return resp.json().get("id")
        return None

    def assignment_ids(self, principal: str, role: str) -> list[str]:
        listing = self.cp.admin_json("role", "list", "--output", "json")
        found = find_assignments(listing, principal, role)
        if not found:
            pid = self.principal_id(principal)
            if pid:
                found = find_assignments(listing, pid, role)
        return [str(a["id"]) for a in found]

    def revoke(self, principal: str, role: str) -> list[str]:
        ids = self.assignment_ids(principal, role)
        assert ids, (f"no {role!r} assignment of {principal!r} in `zenpro admin role list --output json`:\n"
                     + self.cp.admin_transcript(2))
        for aid in ids:
            self.cp.admin_ok("role", "revoke", aid)
        return ids

    def workspace_token(self, workspace_id: Optional[str] = None, key: Optional[str] = None) -> str:
        resp = self.cp.login_response(grant_type="client_credentials",
                                      client_id=workspace_id or self.enrollment["workspace_id"],
                                      client_secret=key or self.enrollment["enrollment_key"],
                                      audience=self.cp.api_url)
        assert resp.status_code == 200, "workspace client-credentials login failed: " + describe(resp)
        return resp.json()["access_token"]

    def report_sections(self) -> list[tuple[str, str]]:
        sections = []
        for proc in (self.cp, self.ws):
            if proc is not None:
                sections.append((f"log: {proc.label}", proc.log_tail(60)))
        if self.cp.admin_history:
            sections.append(("zenpro admin: last commands", self.cp.admin_transcript(4)))
        return sections
