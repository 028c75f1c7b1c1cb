"""Flow i: projects with the real zenml 0.98.0 CLI (SUMMARY.md "What the flows do" (i), G10)."""

from __future__ import annotations

import re

from zenpro_compat.api import Api
from zenpro_compat.client import password_login_snippet

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def project_rows(stdout: str) -> dict:
    """{name: is_active} from `zenml project list` (columns: active, ID, NAME, ...)."""
    rows = {}
    for line in stdout.splitlines():
        cells = line.split()
        for i, cell in enumerate(cells):
            if UUID_RE.fullmatch(cell) and i + 1 < len(cells):
                rows[cells[i + 1]] = "●" in cells[:i]
                break
    return rows


def test_projects(zenpro_server, client_factory):
    srv = zenpro_server
    c = client_factory.new("projects", srv)
    c.python(password_login_snippet(srv.url, srv.admin_user, srv.admin_password)).ok()

    r = c.zenml("project", "list").ok()
    assert project_rows(r.out) == {"default": True}, r.describe()

    r = c.zenml("project", "register", "trace-proj", "--display-name", "Trace Project").ok()
    assert "Project created successfully" in r.out, r.describe()

    r = c.zenml("project", "set", "trace-proj").ok()
    assert "The active project has been set to trace-proj" in r.out, r.describe()

    r = c.zenml("project", "describe").ok()
    row = next((line for line in r.out.splitlines() if "trace-proj" in line.split()), None)
    assert row is not None, r.describe()
    assert "Trace Project" in row, r.describe()

    r = c.zenml("status").ok()
    assert "The active project is: 'trace-proj'" in r.out, r.describe()

    r = c.zenml("project", "list").ok()
    assert project_rows(r.out) == {"default": False, "trace-proj": True}, r.describe()

    # Stacks are not project-scoped: the default stack is still there inside trace-proj.
    r = c.zenml("stack", "list").ok()
    assert "default" in r.out.split(), r.describe()

    r = c.zenml("project", "set", "default").ok()
    assert "The active project has been set to default" in r.out, r.describe()
    r = c.python("""
        from zenml.client import Client
        c = Client()
        print("OUT active=" + c.active_project.name)
        p = c.get_project("trace-proj")
        print("OUT display_name=" + p.display_name)
    """).ok()
    assert r.values() == {"active": "default", "display_name": "Trace Project"}, r.describe()

    # The server agrees (REST): both projects, and GET /projects/{name} resolves names.
    api = Api.password(srv.url, srv.admin_user, srv.admin_password)
    assert sorted(api.list_names("/api/v1/projects")) == ["default", "trace-proj"]
    body = api.ok("GET", "/api/v1/projects/trace-proj", params={"hydrate": "True"})
    assert body["name"] == "trace-proj"
    assert body["body"]["display_name"] == "Trace Project"
