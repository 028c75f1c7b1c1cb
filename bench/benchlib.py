"""Shared helpers of the benchmark: servers (ours and the Python reference), databases, HTTP, RSS.

Everything here runs with the benchmark's virtualenv (zenml[server]==0.98.0, which brings pymysql and
requests). Processes are started in their own session and stopped by their pid only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent

ADMIN_USER = "default"
ADMIN_PASSWORD = "Bench-pw-0123"
JWT_KEY = "zenpro-bench-jwt-key-0123456789abcdef0123456789"

MARIADB_ROOT = dict(host="127.0.0.1", port=3306, user="root", password="")
MARIADB_USER = "zenpro_bench"
MARIADB_PASSWORD = "Bench-db-pw-0123"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------------- HTTP
def http(method: str, url: str, token: Optional[str] = None, body=None, form=None, timeout: float = 600):
    """One request; returns (status, parsed JSON or text)."""
    headers = {"Accept": "application/json"}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        raw = e.read()
        status = e.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


# ----------------------------------------------------------------------------------- servers
@dataclass
class Server:
    kind: str  # "ours" | "reference"
    proc: subprocess.Popen
    port: int
    log_path: Path
    started_at: float
    startup_s: Optional[float] = None
    token: Optional[str] = None
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_kb(self) -> int:
        return _proc_status_kb(self.pid, "VmRSS")

    def hwm_kb(self) -> int:
        return _proc_status_kb(self.pid, "VmHWM")

    def wait_ready(self, timeout: float = 300) -> float:
        """Poll GET /api/v1/info until 200; returns seconds since the process was started."""
        deadline = self.started_at + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited with {self.proc.returncode}; see {self.log_path}:\n"
                                   + tail(self.log_path))
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/info", timeout=5) as r:
                    if r.status == 200:
                        self.startup_s = time.monotonic() - self.started_at
                        return self.startup_s
            except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
                pass
            time.sleep(0.005)
        raise RuntimeError(f"{self.kind} server not ready after {timeout}s; see {self.log_path}:\n" + tail(self.log_path))

    def login(self) -> str:
        status, body = http("POST", f"{self.url}/api/v1/login",
                            form={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
        if status != 200:
            raise RuntimeError(f"{self.kind}: login failed: {status} {body}")
        self.token = body["access_token"]
        return self.token

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # own session: pgid == pid
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)


def _proc_status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-n:])
    except FileNotFoundError:
        return ""


def _base_env(home: Path) -> dict:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }


def start_ours(binary: Path, db_url: str, port: int, workdir: Path, auto_activate: bool = True) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    env = _base_env(workdir)
    env.update({
        "ZENML_STORE_URL": db_url,
        "ZENPRO_DATA_DIR": str(workdir / "data"),
        "ZENML_LOCAL_STORES_PATH": str(workdir / "stores"),
        "ZENML_SERVER_JWT_SECRET_KEY": JWT_KEY,
        "ZENML_DEFAULT_USER_NAME": ADMIN_USER,
        "ZENML_DEFAULT_USER_PASSWORD": ADMIN_PASSWORD,
        "ZENML_SERVER_AUTO_ACTIVATE": "true" if auto_activate else "false",
        "ZENML_ANALYTICS_OPT_IN": "false",
    })
    log_path = workdir / f"ours-{port}.log"
    logf = open(log_path, "ab")
    t0 = time.monotonic()
    proc = subprocess.Popen([str(binary), "workspace", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    return Server("ours", proc, port, log_path, t0)


def start_reference(venv: Path, db_url: str, port: int, workdir: Path) -> Server:
    """The Python reference server: uvicorn zenml.zen_server.zen_server_api:app, as the zenml image runs it
    (one process; access log off, so the reference is not charged for logging)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "stores").mkdir(exist_ok=True)
    (workdir / "config").mkdir(exist_ok=True)
    env = _base_env(workdir)
    env["PATH"] = f"{venv}/bin:" + env["PATH"]
    env.update({
        "ZENML_STORE_URL": db_url,
        "ZENML_LOCAL_STORES_PATH": str(workdir / "stores"),
        "ZENML_CONFIG_PATH": str(workdir / "config"),
        "ZENML_SERVER": "true",
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_SERVER_AUTO_ACTIVATE": "true",
        "ZENML_DEFAULT_USER_NAME": ADMIN_USER,
        "ZENML_DEFAULT_USER_PASSWORD": ADMIN_PASSWORD,
        "ZENML_SERVER_JWT_SECRET_KEY": JWT_KEY,
        "ZENML_SECRETS_STORE_TYPE": "sql",
        "ZENML_SERVER_ALLOW_LOCAL_FILE_ACCESS": "true",
        "ZENML_LOGGING_VERBOSITY": "WARN",
    })
    log_path = workdir / f"reference-{port}.log"
    logf = open(log_path, "ab")
    t0 = time.monotonic()
    proc = subprocess.Popen([str(venv / "bin" / "python"), "-m", "uvicorn", "zenml.zen_server.zen_server_api:app",
                             "--host", "127.0.0.1", "--port", str(port), "--no-server-header", "--no-access-log",
                             "--log-level", "warning"],
                            env=env, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, cwd=str(workdir))
    return Server("reference", proc, port, log_path, t0)


class RssSampler:
    """Samples a process's VmRSS every `interval` seconds in a thread; `peak_kb` is the largest sample."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.pid, self.interval, self.peak_kb = pid, interval, 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, _proc_status_kb(self.pid, "VmRSS"))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak_kb = max(self.peak_kb, _proc_status_kb(self.pid, "VmRSS"))


# ----------------------------------------------------------------------------------- databases
class Database:
    """One benchmark database: a SQLite file or a fresh MariaDB database with its own user."""

    def __init__(self, backend: str, workdir: Path, name: str = "zenpro_bench"):
        self.backend = backend
        self.workdir = workdir
        if backend == "sqlite":
            self.path = workdir / "zenml.db"
            self.url = f"sqlite:///{self.path}"  # absolute path: sqlite:////abs/path.db
        elif backend == "mariadb":
            self.name = f"{name}_{os.getpid()}"
            self.url = f"mysql://{MARIADB_USER}:{MARIADB_PASSWORD}@127.0.0.1:3306/{self.name}"
        else:
            raise ValueError(backend)

    def create(self) -> None:
        if self.backend == "sqlite":
            self.workdir.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            return
        import pymysql
        con = pymysql.connect(**MARIADB_ROOT, autocommit=True)
        with con.cursor() as c:
            c.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
            c.execute(f"CREATE DATABASE `{self.name}`")
            for host in ("localhost", "127.0.0.1", "%"):
                c.execute(f"CREATE USER IF NOT EXISTS '{MARIADB_USER}'@'{host}' IDENTIFIED BY '{MARIADB_PASSWORD}'")
                c.execute(f"ALTER USER '{MARIADB_USER}'@'{host}' IDENTIFIED BY '{MARIADB_PASSWORD}'")
                c.execute(f"GRANT ALL PRIVILEGES ON `{self.name}`.* TO '{MARIADB_USER}'@'{host}'")
        con.close()

    def drop(self) -> None:
        if self.backend == "sqlite":
            return
        import pymysql
        con = pymysql.connect(**MARIADB_ROOT, autocommit=True)
        with con.cursor() as c:
            c.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
            # The user is shared by concurrent benchmarks only by name; drop it when no bench DB is left.
            c.execute("SHOW DATABASES LIKE 'zenpro\\_bench\\_%'")
            if not c.fetchall():
                for host in ("localhost", "127.0.0.1", "%"):
                    c.execute(f"DROP USER IF EXISTS '{MARIADB_USER}'@'{host}'")
        con.close()

    def connect(self):
        """A DB-API connection (sqlite3 or pymysql) for seeding and checks."""
        if self.backend == "sqlite":
            import sqlite3
            con = sqlite3.connect(str(self.path), timeout=60)
            con.execute("PRAGMA foreign_keys=ON")
            return con
        import pymysql
        return pymysql.connect(host="127.0.0.1", port=3306, user=MARIADB_USER, password=MARIADB_PASSWORD,
                               database=self.name, autocommit=False, charset="utf8mb4")

    def size_bytes(self) -> int:
        if self.backend == "sqlite":
            return self.path.stat().st_size
        con = self.connect()
        with con.cursor() as c:
            c.execute("SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables "
                      "WHERE table_schema = %s", (self.name,))
            (n,) = c.fetchone()
        con.close()
        return int(n)


def client_env(venv: Path, server_url: str, config_dir: Path) -> dict:
    """Environment of the real zenml client talking to `server_url` as the admin (no config file needed)."""
    return {
        "PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(config_dir),
        "LANG": "C.UTF-8",
        "ZENML_CONFIG_PATH": str(config_dir / "config"),
        "ZENML_STORE_URL": server_url,
        "ZENML_STORE_USERNAME": ADMIN_USER,
        "ZENML_STORE_PASSWORD": ADMIN_PASSWORD,
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_LOGGING_VERBOSITY": "WARN",
        "ZENML_ENABLE_RICH_TRACEBACK": "false",
        "AUTO_OPEN_DASHBOARD": "false",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
