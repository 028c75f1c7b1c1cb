"""One control plane, one organization, two enrolled workspaces side by side.

* ``ws-py``: the Python zenml 0.98.0 server in Pro mode (:class:`pro.ProWorkspace`, own SQLite);
* ``ws-rs``: our ``zenpro workspace serve`` in Pro mode (:class:`pro.OurProWorkspace`, own SQLite).

The control plane logs one JSON line per request it finished (``ZENPRO_LOG_FORMAT=json``,
``tower_http=debug``: the ``request`` span with method and path, and the status), so
:meth:`SideBySide.cp_requests` can count what the workspaces (and clients) asked of it between two
points. Used by ``test_pro_side_by_side.py`` and ``tools/pro_cp_requests.py``.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from pathlib import Path
from typing import Optional

from . import servers
from .pro import ControlPlane, OurProWorkspace, ProWorkspace

ORG = "acme-sbs"
WS_PY = "ws-py"
WS_RS = "ws-rs"


class LoggingControlPlane(ControlPlane):
    """``zenpro control-plane serve`` logging every finished request as a JSON line."""

    def command(self) -> tuple[list[str], dict]:
        cmd, env = super().command()
        env["ZENPRO_LOG"] = "info,sqlx=warn,tower_http=debug"
        env["ZENPRO_LOG_FORMAT"] = "json"
        return cmd, env

    def log_offset(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def requests_since(self, offset: int) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request finished after byte ``offset`` of the log."""
        out = []
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            for raw in f:
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                fields = line.get("fields") or {}
                if fields.get("message") != "finished processing request":
                    continue
                span = line.get("span") or {}
                out.append((span.get("method", "?"), span.get("path", "?"), int(fields.get("status", 0))))
        return out


def summarize(requests: list[tuple[str, str, int]]) -> str:
    """``N  METHOD path`` lines, most frequent first, ids folded to ``{id}``."""
    def fold(path: str) -> str:
        return "/".join("{id}" if len(p) == 36 and p.count("-") == 4 else p for p in path.split("/"))

    counts = Counter(f"{m} {fold(p)}" + ("" if s < 400 else f" -> {s}") for m, p, s in requests)
    return "\n".join(f"{n:4d}  {what}" for what, n in counts.most_common())


class SideBySide:
    """The control plane, the organization and both workspaces (start/close per module)."""

    def __init__(self, workdir: Path, our_env: Optional[dict] = None) -> None:
        self.workdir = workdir
        self.cp = LoggingControlPlane(workdir / "cp")
        self.our_env = dict(our_env or {})
        self.py: Optional[ProWorkspace] = None
        self.rs: Optional[OurProWorkspace] = None
        self.db: Optional[servers.Database] = None
        self.enrollments: dict[str, dict] = {}
        self.passwords: dict[str, str] = {}

    def _enroll(self, name: str) -> tuple[int, dict]:
        port = servers.free_port()
        e = self.cp.admin_json("workspace", "create", name, "--org", ORG, "--url", f"http://127.0.0.1:{port}",
                               "--output", "json")
        self.enrollments[name] = e
        return port, e

    def start(self) -> "SideBySide":
        self.cp.start()
        self.cp.admin_login()
        self.cp.admin_ok("org", "create", ORG)
        py_port, py_e = self._enroll(WS_PY)
        rs_port, rs_e = self._enroll(WS_RS)
        self.db = servers.Database.create(servers.SQLITE, self.workdir / "rs-db")
        self.rs = OurProWorkspace(self.workdir / "rs", rs_port, self.cp, rs_e, self.db, self.our_env).start()
        self.py = ProWorkspace(self.workdir / "py", py_port, self.cp, py_e).start()
        return self

    def close(self) -> None:
        for proc in (self.py, self.rs, self.cp):
            if proc is not None:
                proc.stop()
        servers.remove_workdir(self.workdir)

    def workspace(self, name: str):
        return {WS_PY: self.py, WS_RS: self.rs}[name]

    def user(self, name: str, role: str = "Admin") -> str:
        """A control-plane user with ``role`` on both workspaces; its password."""
        password = f"Pw-{name}-" + secrets.token_hex(6)
        self.cp.admin_ok("user", "create", name, "--password", password)
        for ws in (WS_PY, WS_RS):
            self.cp.admin_ok("role", "grant", "--user", name, "--workspace", ws, "--role", role)
        self.passwords[name] = password
        return password

    def report_sections(self) -> list[tuple[str, str]]:
        return [(f"log: {p.label}", p.log_tail(60)) for p in (self.cp, self.py, self.rs) if p is not None]


RUN_IDS_SNIPPET = """
from zenml.client import Client
c = Client()
print("OUT workspace=" + str(c.zen_store.get_store_info().pro_workspace_name))
print("OUT runs=" + ",".join(sorted(str(r.id) for r in c.list_pipeline_runs(size=100).items)))
"""
