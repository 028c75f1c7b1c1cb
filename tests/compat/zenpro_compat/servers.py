"""Start and stop ZenML-compatible servers (ours and the Python reference) on test databases.

Everything here is plain stdlib + PyMySQL (which zenml[server] installs), so it runs in the
compat virtualenv made by ``tests/compat/setup.sh``.

* :class:`Database` is a fresh SQLite file or a fresh MariaDB database with its own password user
  (the Python server refuses MySQL URLs without a password).
* :class:`Server` is one server process (``zenpro workspace serve`` or uvicorn running
  ``zenml.zen_server.zen_server_api:app``) on a free 127.0.0.1 port, with its log in a file.
  It is stopped by its PID.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

REPO_ROOT = Path(__file__).resolve().parents[3]
COMPAT_DIR = Path(__file__).resolve().parents[1]

ADMIN_USER = "admin"
ADMIN_PASSWORD = "Adm1n-pw"

ZENPRO = "zenpro"
PYTHON = "python"
KINDS = (ZENPRO, PYTHON)

SQLITE = "sqlite"
MARIADB = "mariadb"
BACKENDS = (SQLITE, MARIADB)


# ----------------------------------------------------------------------------- locations
def venv_dir() -> Path:
    """The compat virtualenv (``$ZENPRO_COMPAT_VENV`` or ``tests/compat/.venv``).

    Falls back to the interpreter running the tests when neither exists.
    """
    env = os.environ.get("ZENPRO_COMPAT_VENV")
    if env:
        return Path(env).resolve()
    default = COMPAT_DIR / ".venv"
    if (default / "bin" / "python").exists():
        return default
    return Path(sys.prefix)


def venv_bin() -> Path:
    return venv_dir() / "bin"


def zenpro_bin() -> Path:
    """``$ZENPRO_BIN``, else ``$CARGO_TARGET_DIR/debug/zenpro``, else ``<repo>/target/debug/zenpro``."""
    env = os.environ.get("ZENPRO_BIN")
    if env:
        return Path(env).resolve()
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        return (Path(target) / "debug" / "zenpro").resolve()
    return REPO_ROOT / "target" / "debug" / "zenpro"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _base_env(home: Path) -> dict:
    """A minimal, clean environment (like ``env -i``) for child processes."""
    env = {
        "PATH": f"{venv_bin()}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        "NO_COLOR": "1",
    }
    for passthrough in ("RUST_LOG", "RUST_BACKTRACE"):
        if passthrough in os.environ:
            env[passthrough] = os.environ[passthrough]
    return env


# ----------------------------------------------------------------------------- databases
def mysql_params() -> dict:
    return {
        "host": os.environ.get("ZENPRO_COMPAT_MYSQL_HOST", "127.0.0.1"),
        "port": int(os.environ.get("ZENPRO_COMPAT_MYSQL_PORT", "3306")),
        "user": os.environ.get("ZENPRO_COMPAT_MYSQL_ROOT_USER", "root"),
        "password": os.environ.get("ZENPRO_COMPAT_MYSQL_ROOT_PASSWORD", ""),
    }


def mariadb_unreachable_reason() -> Optional[str]:
    """None when MariaDB answers with the admin credentials, else why not."""
    p = mysql_params()
    try:
        with socket.create_connection((p["host"], p["port"]), timeout=2):
            pass
    except OSError as e:
        return f"MariaDB not reachable at {p['host']}:{p['port']}: {e}"
    try:
        import pymysql

        pymysql.connect(connect_timeout=5, **p).close()
    except Exception as e:  # noqa: BLE001 - any failure means we cannot use it
        return f"MariaDB at {p['host']}:{p['port']} refuses {p['user']}: {e}"
    return None


def _mysql_admin(statements: list[str]) -> None:
    import pymysql

    conn = pymysql.connect(connect_timeout=10, autocommit=True, **mysql_params())
    try:
        with conn.cursor() as cur:
            for stmt in statements:
                cur.execute(stmt)
    finally:
        conn.close()


@dataclass
class Database:
    """A fresh, empty database for one test (or one module)."""

    backend: str
    url: str
    name: str
    workdir: Path
    sqlite_path: Optional[Path] = None
    mysql_user: Optional[str] = None
    mysql_password: Optional[str] = None
    # Both servers on one database must agree on these, so they live with the database.
    jwt_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    encryption_key: Optional[str] = None
    dropped: bool = False

    @classmethod
    def create(cls, backend: str, workdir: Path, encryption_key: Optional[str] = None) -> "Database":
        workdir.mkdir(parents=True, exist_ok=True)
        name = "zc_" + secrets.token_hex(6)
        if backend == SQLITE:
            path = workdir / f"{name}.db"
            return cls(backend, f"sqlite:///{path}", name, workdir, sqlite_path=path,
                       encryption_key=encryption_key)
        if backend == MARIADB:
            p = mysql_params()
            user, password = name, "pw_" + secrets.token_hex(12)
            stmts = [f"CREATE DATABASE `{name}`"]
            for host in ("localhost", "127.0.0.1", "%"):
                stmts += [
                    f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'",
                    f"GRANT ALL PRIVILEGES ON `{name}`.* TO '{user}'@'{host}'",
                ]
            _mysql_admin(stmts)
            url = f"mysql://{user}:{password}@{p['host']}:{p['port']}/{name}"
            return cls(backend, url, name, workdir, mysql_user=user, mysql_password=password,
                       encryption_key=encryption_key)
        raise ValueError(f"unknown backend {backend!r}")

    def drop(self) -> None:
        if self.dropped:
            return
        self.dropped = True
        if self.backend == MARIADB:
            stmts = [f"DROP DATABASE IF EXISTS `{self.name}`"]
            stmts += [f"DROP USER IF EXISTS '{self.mysql_user}'@'{h}'" for h in ("localhost", "127.0.0.1", "%")]
            _mysql_admin(stmts)
        elif self.sqlite_path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(self.sqlite_path) + suffix).unlink(missing_ok=True)

    def query(self, sql: str) -> list[tuple]:
        """Run a read-only query directly on the database (for assertions)."""
        if self.backend == SQLITE:
            import sqlite3

            conn = sqlite3.connect(str(self.sqlite_path))
            try:
                return list(conn.execute(sql).fetchall())
            finally:
                conn.close()
        import pymysql

        p = mysql_params()
        conn = pymysql.connect(host=p["host"], port=p["port"], user=self.mysql_user,
                               password=self.mysql_password, database=self.name, connect_timeout=10)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())
        finally:
            conn.close()


# ----------------------------------------------------------------------------- servers
class ServerStartError(RuntimeError):
    pass


class Server:
    """One server process on ``db``, listening on ``127.0.0.1:<free port>``."""

    def __init__(self, kind: str, db: Database, workdir: Path,
                 admin_user: str = ADMIN_USER, admin_password: str = ADMIN_PASSWORD,
                 start_timeout: Optional[float] = None, extra_env: Optional[dict] = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown server kind {kind!r}")
        self.kind = kind
        self.db = db
        self.workdir = workdir
        self.admin_user = admin_user
        self.admin_password = admin_password
        self.start_timeout = start_timeout or float(os.environ.get("ZENPRO_COMPAT_START_TIMEOUT", "120"))
        self.port: Optional[int] = None
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = workdir / "server.log"
        self._log_file = None
        self.starts = 0
        # Set last, over the defaults (e.g. ZENML_SECRETS_STORE_* of another secrets store).
        self.extra_env = dict(extra_env or {})

    # -- public
    @property
    def url(self) -> str:
        assert self.port is not None, "server not started"
        return f"http://127.0.0.1:{self.port}"

    @property
    def label(self) -> str:
        return f"{self.kind} server on {self.db.backend} ({self.db.name})"

    def __repr__(self) -> str:
        return f"<Server {self.label} {self.url if self.port else '(stopped)'}>"

    def start(self) -> "Server":
        assert self.proc is None, "already running"
        self.workdir.mkdir(parents=True, exist_ok=True)
        # A new port per start, so a lingering socket of a previous run can't interfere.
        self.port = free_port()
        cmd, env = self._command()
        self.starts += 1
        self._log_file = open(self.log_path, "ab", buffering=0)
        self._log_file.write(f"\n===== start #{self.starts}: {' '.join(cmd)}\n".encode())
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=str(self.workdir), stdin=subprocess.DEVNULL,
            stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the process we started (SIGTERM, then SIGKILL), by its PID only."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def restart(self) -> "Server":
        self.stop()
        return self.start()

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        text = re.sub(r"\x1b\[[0-9;?]*[ -/]*[@-~]", "", text)
        return "\n".join(text.splitlines()[-lines:])

    # -- internals
    def _command(self) -> tuple[list[str], dict]:
        home = self.workdir / "home"
        stores = self.workdir / "stores"
        for d in (home, stores):
            d.mkdir(parents=True, exist_ok=True)
        env = _base_env(home)
        env.update({
            "ZENML_STORE_URL": self.db.url,
            "ZENML_SERVER_JWT_SECRET_KEY": self.db.jwt_secret,
            "ZENML_DEFAULT_USER_NAME": self.admin_user,
            "ZENML_DEFAULT_USER_PASSWORD": self.admin_password,
            "ZENML_SERVER_AUTO_ACTIVATE": "true",
            "ZENML_LOCAL_STORES_PATH": str(stores),
            "ZENML_SECRETS_STORE_TYPE": "sql",
            "ZENML_ANALYTICS_OPT_IN": "false",
        })
        if self.db.encryption_key:
            env["ZENML_SECRETS_STORE_ENCRYPTION_KEY"] = self.db.encryption_key
        if self.kind == ZENPRO:
            binary = zenpro_bin()
            if not os.access(binary, os.X_OK):
                raise ServerStartError(
                    f"zenpro binary not found at {binary}; build it with `cargo build -p zenpro` "
                    "or set ZENPRO_BIN (or run with ZENPRO_COMPAT_TARGET=python)"
                )
            cmd = [str(binary), "workspace", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        else:
            config = self.workdir / "config"
            config.mkdir(parents=True, exist_ok=True)
            env.update({
                "ZENML_SERVER": "true",
                "ZENML_CONFIG_PATH": str(config),
                "ZENML_LOGGING_COLORS_DISABLED": "true",
            })
            cmd = [
                str(venv_bin() / "uvicorn"), "zenml.zen_server.zen_server_api:app",
                "--host", "127.0.0.1", "--port", str(self.port), "--no-server-header",
                "--log-level", "info",
            ]
        env.update(self.extra_env)
        return cmd, env

    def _ready_path(self) -> str:
        return "/health" if self.kind == ZENPRO else "/api/v1/info"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        url = self.url + self._ready_path()
        last = "no answer yet"
        while time.monotonic() < deadline:
            rc = self.proc.poll() if self.proc else None
            if rc is not None:
                raise ServerStartError(
                    f"{self.label} exited with code {rc} before answering {url}\n"
                    f"----- server log ({self.log_path}) -----\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code}"
            except (urllib.error.URLError, OSError) as e:
                last = str(e)
            time.sleep(0.2)
        raise ServerStartError(
            f"{self.label} did not answer 200 on {url} within {self.start_timeout:.0f}s (last: {last})\n"
            f"----- server log ({self.log_path}) -----\n{self.log_tail()}"
        )


def new_workdir(prefix: str) -> Path:
    base = os.environ.get("ZENPRO_COMPAT_TMP")
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def remove_workdir(path: Path) -> None:
    if os.environ.get("ZENPRO_COMPAT_KEEP_TMP"):
        return
    shutil.rmtree(path, ignore_errors=True)
