"""``zenpro up``: the control plane and one workspace server in one process, as a user meets it.

From a fresh data folder: start ``zenpro up --data-dir … --port … --workspace-port …``, read what
it prints (dashboard URL, admin password, the ``zenml login`` command), run that exact command
with the real zenml 0.98.0 CLI (device flow approved in Chromium as the printed admin), run a
pipeline on the workspace; stop the process by PID (SIGTERM: clean exit), start it again on the
same folder: ready at once, the password is not printed again (its file is 0600), a new login
sees the earlier run.

Runs once (not per database backend): ``zenpro up`` is SQLite files in its data folder. Our binary
only (there is no reference ``zenpro up``).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import stat
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import pytest

from zenpro_compat import servers
from zenpro_compat.client import ANSI, ZenClient
from zenpro_compat.pro import device_login
from zenpro_compat.runs import run_pipeline

pytestmark = pytest.mark.pro

BANNER_END = "Press Ctrl-C to stop."


class Up:
    """One ``zenpro up`` process at a time on one data folder; stdout and stderr in files."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.port = servers.free_port()
        self.workspace_port = servers.free_port()
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0
        self.stdout_path = workdir / "up.stdout"
        self.stderr_path = workdir / "up.stderr"
        self.banner = ""
        self.wall_seconds = 0.0
        self.clients: list[ZenClient] = []

    def start(self, timeout: float = 60) -> str:
        self.starts += 1
        self.stdout_path = self.workdir / f"up{self.starts}.stdout"
        self.stderr_path = self.workdir / f"up{self.starts}.stderr"
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        cmd = [str(servers.zenpro_bin()), "up", "--data-dir", str(self.data_dir),
               "--port", str(self.port), "--workspace-port", str(self.workspace_port)]
        t0 = time.monotonic()
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, env=servers._base_env(home), cwd=str(self.workdir),
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.stdout_path.read_text(errors="replace")
            if BANNER_END in text:
                self.wall_seconds = time.monotonic() - t0
                self.banner = ANSI.sub("", text)
                return self.banner
            rc = self.proc.poll()
            if rc is not None:
                self.proc = None
                pytest.fail(f"zenpro up exited with code {rc} before it was ready\n" + self.logs(), pytrace=False)
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"zenpro up printed no '{BANNER_END}' within {timeout}s\n" + self.logs(), pytrace=False)

    def stop(self) -> Optional[int]:
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                return proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
                return None
        return proc.returncode

    def logs(self, lines: int = 60) -> str:
        parts = []
        for path in (self.stdout_path, self.stderr_path):
            try:
                text = ANSI.sub("", path.read_text(errors="replace"))
            except OSError:
                text = "(none)"
            parts.append(f"----- {path.name} -----\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts)

    def field(self, label: str) -> str:
        m = re.search(rf"^{re.escape(label)}:\s+(.*)$", self.banner, re.M)
        assert m, f"no '{label}:' line in the output of zenpro up:\n{self.banner}"
        return m.group(1).strip()

    def login_command(self) -> list[str]:
        lines = [ln.strip() for ln in self.banner.splitlines() if ln.strip().startswith("zenml login ")]
        assert len(lines) == 1, f"expected one `zenml login` command in the output:\n{self.banner}"
        return shlex.split(lines[0])

    def client(self, name: str) -> ZenClient:
        c = ZenClient(name, self.workdir / "clients" / f"{len(self.clients):02d}-{name}")
        self.clients.append(c)
        return c

    def report_sections(self) -> list[tuple[str, str]]:
        sections = [("zenpro up", self.logs())]
        for c in self.clients[-2:]:
            if c.history:
                sections.append((f"client {c.name}: last commands", "\n\n".join(r.describe() for r in c.history[-3:])))
        return sections


@pytest.fixture(scope="module")
def up(target_kind: str):
    if target_kind == servers.PYTHON:
        pytest.skip("`zenpro up` is ours only (no reference)")
    if not os.access(servers.zenpro_bin(), os.X_OK):
        pytest.skip(f"zenpro binary not found at {servers.zenpro_bin()}")
    u = Up(servers.new_workdir("zc-up-"))
    yield u
    u.stop()
    servers.remove_workdir(u.workdir)


def login(up: Up, name: str, password: str) -> ZenClient:
    """Run the printed ``zenml login`` command with the device approved in Chromium as admin."""
    cmd = up.login_command()
    assert cmd[:2] == ["zenml", "login"], cmd
    api_url = cmd[cmd.index("--pro-api-url") + 1]
    workspace = cmd[-1]
    client = up.client(name)
    r, seen, _ = device_login(client, SimpleNamespace(api_url=api_url), {"id": workspace, "name": workspace},
                              "admin", password, login_args=cmd[2:], timeout=120)
    r.ok()
    assert f"Connected to ZenML Pro server: {workspace}" in r.out, r.describe()
    return client


RUN_SNIPPET = """
from zenml.client import Client
c = Client()
run = c.get_pipeline_run({run_id!r})
print("OUT status=" + str(run.status.value))
print("OUT user=" + (run.user.name if run.user else ""))
print("OUT runs=" + ",".join(str(r.id) for r in c.list_pipeline_runs(size=50).items))
"""


def test_fresh_start_login_run_restart(up: Up):
    # --- first start from an empty folder
    assert not up.data_dir.exists()
    banner = up.start()
    password = re.search(r"^Admin password:\s+(\S+)\s*$", banner, re.M)
    assert password, f"the first start must print the admin password:\n{banner}"
    password = password.group(1)
    assert up.field("Admin user") == "admin"
    cp_url = f"http://127.0.0.1:{up.port}"
    assert up.field("Dashboard") == cp_url, banner
    assert up.field("Control plane") == cp_url + "/api/v1", banner
    assert f"http://127.0.0.1:{up.workspace_port}" in up.field("Workspace"), banner
    assert up.login_command() == ["zenml", "login", "--pro-api-url", cp_url + "/api/v1", "default"], banner

    pw_file = up.data_dir / "admin-password"
    assert stat.S_IMODE(pw_file.stat().st_mode) == 0o600
    assert pw_file.read_text().strip() == password
    assert stat.S_IMODE(up.data_dir.stat().st_mode) == 0o700
    for db in ("control-plane/cp.db", "workspace/zenml.db"):
        assert (up.data_dir / db).is_file(), db
    stderr = up.stderr_path.read_text(errors="replace")
    assert password not in stderr, "the admin password must not be logged"

    # --- the printed login command, then a pipeline run on the workspace
    first = login(up, "first", password)
    values = run_pipeline(first, "basic", timeout=240)
    run_id = values["run_id"]
    got = first.python(RUN_SNIPPET.format(run_id=run_id)).ok().values()
    assert got["status"] == "completed" and got["user"] == "admin", got

    # --- stop by PID: a clean exit
    t0 = time.monotonic()
    rc = up.stop()
    stop_seconds = time.monotonic() - t0
    assert rc == 0, f"zenpro up did not exit cleanly on SIGTERM (code {rc})\n" + up.logs()

    # --- restart: same data, no password shown, ready at once
    banner = up.start()
    ready_ms = int(re.search(r"ready in (\d+) ms", banner).group(1))
    print(f"zenpro up restart: ready in {ready_ms} ms (process), {up.wall_seconds:.2f} s wall "
          f"including process start; SIGTERM to exit {stop_seconds:.2f} s")
    assert ready_ms < 1000, banner
    assert password not in banner, banner
    assert "stored in" in up.field("Admin password") and str(pw_file) in banner, banner
    assert password not in up.stderr_path.read_text(errors="replace")
    assert stat.S_IMODE(pw_file.stat().st_mode) == 0o600
    assert pw_file.read_text().strip() == password

    # A second `zenpro up` on the same folder is refused (it would rotate the enrollment key).
    second_up = subprocess.run(
        [str(servers.zenpro_bin()), "up", "--data-dir", str(up.data_dir), "--port", str(servers.free_port()),
         "--workspace-port", str(servers.free_port())],
        env=servers._base_env(up.workdir / "home"), capture_output=True, text=True, timeout=60)
    assert second_up.returncode != 0 and "another `zenpro up`" in second_up.stderr, second_up

    # A new client logs in with the same command and password and sees the earlier run.
    second = login(up, "second", password)
    got = second.python(RUN_SNIPPET.format(run_id=run_id)).ok().values()
    assert got["status"] == "completed" and run_id in got["runs"].split(","), got
    # The first client's session survived the restart too (keys kept in the data folder).
    r = first.zenml("pipeline", "runs", "list").ok()
    assert run_id in r.out or values["run_name"] in r.out, r.describe()

    assert up.stop() == 0, up.logs()
