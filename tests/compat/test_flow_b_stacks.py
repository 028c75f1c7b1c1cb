"""Flow b: stacks and stack components with the real zenml 0.98.0 CLI and ``Client()``.

See SUMMARY.md "What the flows do" (b) and console/flow-b.log: flavor lists, component and stack
registration (with the duplicate-name failures), labels/description through ``Client()``, describe
and list, the deletes the server refuses (a component that is part of a stack, the default stack,
a default component), and the clean-up. One server per backend; the CLI steps run in one test so
they share the server start.
"""

from __future__ import annotations

import re

from zenpro_compat.api import Api, describe, error_detail
from zenpro_compat.client import password_login_snippet

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PAGE_RE = re.compile(r"Page \((\d+)/(\d+)\), (\d+) items found")
SERVER_ERROR_MARKERS = ("Internal Server Error", "status code 500", "panicked")

# What the reference (zenml[server]==0.98.0) lists: the flavors it syncs into the database.
ORCHESTRATOR_FLAVORS = 19
ARTIFACT_STORE_FLAVORS = 6


def table_rows(stdout: str) -> dict:
    """{name: (is_active, cells after the name)} of a `zenml stack|<component> list` table
    (columns: active, ID, NAME, ...)."""
    rows = {}
    for line in stdout.splitlines():
        cells = line.split()
        for i, cell in enumerate(cells):
            if UUID_RE.fullmatch(cell) and i + 1 < len(cells):
                rows[cells[i + 1]] = ("●" in cells[:i], cells[i + 2:])
                break
    return rows


def flavor_rows(stdout: str) -> dict:
    """{flavor: integration} of a `zenml <component> flavor list` table."""
    rows, in_table = {}, False
    for line in stdout.splitlines():
        stripped = line.strip()
        if stripped and set(stripped) <= {"─"}:
            in_table = True
            continue
        if not in_table:
            continue
        if not stripped or PAGE_RE.search(line):
            break
        cells = stripped.split()
        rows[cells[0]] = cells[1] if len(cells) > 1 else ""
    return rows


def items_found(result) -> int:
    m = PAGE_RE.search(result.out)
    assert m, "no 'Page (x/y), N items found' line:\n" + result.describe()
    return int(m.group(3))


def refused(result, *needles: str) -> str:
    """A CLI call that must fail with a clean error naming ``needles`` (no server crash)."""
    result.failed()
    for needle in needles:
        assert needle in result.out, f"expected {needle!r} in the error:\n" + result.describe()
    for marker in SERVER_ERROR_MARKERS:
        assert marker not in result.out, f"output mentions {marker!r}:\n" + result.describe()
    return result.out


def test_stacks_and_components(zenpro_server, client_factory, tmp_path):
    srv = zenpro_server
    c = client_factory.new("stacks", srv)
    r = c.python(password_login_snippet(srv.url, srv.admin_user, srv.admin_password)).ok()
    assert r.values()["stack"] == "default", r.describe()
    alt = tmp_path / "alt-artifacts"
    alt.mkdir()

    # --- flavors -------------------------------------------------------------------------------
    r = c.zenml("orchestrator", "flavor", "list").ok()
    flavors = flavor_rows(r.out)
    assert items_found(r) == ORCHESTRATOR_FLAVORS, r.describe()
    assert len(flavors) == ORCHESTRATOR_FLAVORS, f"{sorted(flavors)}\n" + r.describe()
    assert flavors.get("local") == "built-in" and flavors.get("local_docker") == "built-in", r.describe()
    assert flavors.get("kubernetes") == "kubernetes" and flavors.get("sagemaker") == "aws", r.describe()
    assert flavors.get("vertex") == "gcp" and flavors.get("airflow") == "airflow", r.describe()

    r = c.zenml("artifact-store", "flavor", "list").ok()
    flavors = flavor_rows(r.out)
    assert items_found(r) == ARTIFACT_STORE_FLAVORS, r.describe()
    assert flavors == {"local": "built-in", "gcp": "gcp", "b2": "b2", "digitalocean": "digitalocean",
                       "azure": "azure", "s3": "s3"}, f"{flavors}\n" + r.describe()

    # --- components and a stack ------------------------------------------------------------------
    r = c.zenml("artifact-store", "register", "trace_store", "--flavor=local", f"--path={alt}").ok()
    assert "Successfully registered artifact_store `trace_store`." in r.out, r.describe()
    store_id = UUID_RE.search(r.out.split("Successfully registered", 1)[1])
    assert store_id, r.describe()
    store_id = store_id.group(0)

    r = c.zenml("artifact-store", "register", "trace_store", "--flavor=local", f"--path={alt}")
    refused(r, "EntityExistsError", "trace_store", "existing component")

    r = c.zenml("orchestrator", "register", "trace_orch", "--flavor=local").ok()
    assert "Successfully registered orchestrator `trace_orch`." in r.out, r.describe()

    r = c.zenml("stack", "register", "trace_stack", "-a", "trace_store", "-o", "trace_orch").ok()
    assert "Stack 'trace_stack' successfully registered!" in r.out, r.describe()
    assert "trace_store" in r.out and "trace_orch" in r.out, r.describe()
    assert f"is owned by user {srv.admin_user}." in r.out, r.describe()

    r = c.zenml("stack", "set", "trace_stack").ok()
    assert "Active global stack set to: 'trace_stack'" in r.out, r.describe()

    # --- Client(): labels, description, duplicate stack, read back (snippet from a file:
    # create_stack needs a source root) -------------------------------------------------------------
    r = c.script("""
        from zenml.client import Client
        from zenml.enums import StackComponentType
        c = Client()
        s = c.update_stack("trace_stack", labels={"env": "trace"}, description="stack for tracing")
        print("OUT stack_labels=" + repr(s.labels))
        print("OUT stack_description=" + repr(s.description))
        comp = c.update_stack_component("trace_orch", StackComponentType.ORCHESTRATOR, labels={"env": "trace"})
        print("OUT component_labels=" + repr(comp.labels))
        try:
            c.create_stack(name="trace_stack", components={
                StackComponentType.ARTIFACT_STORE: "trace_store",
                StackComponentType.ORCHESTRATOR: "trace_orch"})
            print("OUT duplicate=created")
        except Exception as e:
            print("OUT duplicate=" + type(e).__name__ + ": " + str(e).replace("\\n", " "))
        # Read back what the server stored (fresh GETs).
        s = c.get_stack("trace_stack")
        print("OUT active=" + c.active_stack_model.name)
        print("OUT labels=" + repr(s.labels))
        print("OUT description=" + repr(s.description))
        print("OUT components=" + repr(sorted((str(t), v[0].name) for t, v in s.components.items())))
        o = c.get_stack_component(StackComponentType.ORCHESTRATOR, "trace_orch")
        print("OUT orch_labels=" + repr(o.labels))
        a = c.get_stack_component(StackComponentType.ARTIFACT_STORE, "trace_store")
        print("OUT store_labels=" + repr(a.labels))
        print("OUT store_path=" + a.configuration["path"])
        print("OUT store_flavor=" + a.flavor_name)
    """).ok()
    v = r.values()
    duplicate = v.pop("duplicate", "")
    assert duplicate.startswith("EntityExistsError: "), r.describe()
    assert "trace_stack" in duplicate and "existing stack" in duplicate, r.describe()
    assert v == {
        "stack_labels": "{'env': 'trace'}",
        "stack_description": "'stack for tracing'",
        "component_labels": "{'env': 'trace'}",
        "active": "trace_stack",
        "labels": "{'env': 'trace'}",
        "description": "'stack for tracing'",
        "components": "[('artifact_store', 'trace_store'), ('orchestrator', 'trace_orch')]",
        "orch_labels": "{'env': 'trace'}",
        "store_labels": "{}",
        "store_path": str(alt),
        "store_flavor": "local",
    }, r.describe()

    # --- describe / list ---------------------------------------------------------------------------
    for args in (("stack", "describe", "trace_stack"), ("stack", "describe")):
        r = c.zenml(*args).ok()
        assert "'trace_stack' stack (ACTIVE)" in r.out, r.describe()
        assert re.search(r"ARTIFACT_STORE\s*│\s*trace_store\b", r.out), r.describe()
        assert re.search(r"ORCHESTRATOR\s*│\s*trace_orch\b", r.out), r.describe()
        assert re.search(r"│\s*env\s*│\s*trace\s*│", r.out), r.describe()
        assert f"Stack 'trace_stack' with id" in r.out and f"is owned by user {srv.admin_user}." in r.out, r.describe()

    r = c.zenml("stack", "list").ok()
    rows = table_rows(r.out)
    assert sorted(rows) == ["default", "trace_stack"], r.describe()
    assert rows["trace_stack"][0] is True and rows["default"][0] is False, r.describe()
    assert rows["trace_stack"][1][:3] == [srv.admin_user, "trace_store", "trace_orch"], r.describe()
    assert items_found(r) == 2, r.describe()

    r = c.zenml("artifact-store", "list").ok()
    rows = table_rows(r.out)
    assert sorted(rows) == ["default", "trace_store"], r.describe()
    assert rows["trace_store"] == (True, ["local", srv.admin_user]), r.describe()
    assert rows["default"][0] is False and rows["default"][1][0] == "local", r.describe()

    r = c.zenml("orchestrator", "list").ok()
    rows = table_rows(r.out)
    assert sorted(rows) == ["default", "trace_orch"], r.describe()
    assert rows["trace_orch"] == (True, ["local", srv.admin_user]), r.describe()

    r = c.zenml("artifact-store", "describe", "trace_store").ok()
    assert (f"Artifact_Store 'trace_store' of flavor 'local' with id '{store_id}' is owned by user "
            f"'{srv.admin_user}'.") in r.out, r.describe()
    assert re.search(rf"PATH\s*│\s*{re.escape(str(alt))}\s*│", r.out), r.describe()
    assert "No labels are set for this component." in r.out, r.describe()

    r = c.zenml("orchestrator", "describe", "trace_orch").ok()
    assert "Orchestrator 'trace_orch' of flavor 'local'" in r.out, r.describe()
    assert re.search(r"│\s*env\s*│\s*trace\s*│", r.out), r.describe()

    # --- what the server refuses ------------------------------------------------------------------
    # A component that is part of a stack.
    r = c.zenml("orchestrator", "delete", "trace_orch")
    refused(r, "trace_orch", "cannot be deleted as it is part of 1 stacks")
    # The default stack (not active here, so the client asks the server).
    r = c.zenml("stack", "delete", "default", "-y")
    refused(r, "The default stack cannot be deleted.")
    # A default component.
    r = c.zenml("artifact-store", "delete", "default")
    refused(r, "The default artifact_store cannot be deleted.")
    # The same through REST: 403 IllegalOperationError, and nothing was deleted.
    api = Api.password(srv.url, srv.admin_user, srv.admin_password)
    default_stack = api.ok("GET", "/api/v1/stacks", params={"name": "equals:default"})["items"][0]
    resp = api.delete(f"/api/v1/stacks/{default_stack['id']}")
    assert resp.status_code == 403 and error_detail(resp)[0] == "IllegalOperationError", describe(resp)
    orch = api.ok("GET", "/api/v1/components", params={"name": "equals:trace_orch"})["items"][0]
    resp = api.delete(f"/api/v1/components/{orch['id']}")
    assert resp.status_code == 403 and error_detail(resp)[0] == "IllegalOperationError", describe(resp)
    assert sorted(api.list_names("/api/v1/stacks")) == ["default", "trace_stack"]

    # --- clean-up ----------------------------------------------------------------------------------
    r = c.zenml("stack", "set", "default").ok()
    assert "Active global stack set to: 'default'" in r.out, r.describe()
    r = c.zenml("stack", "delete", "trace_stack", "-y").ok()
    assert "Deleted stack 'trace_stack'." in r.out, r.describe()
    r = c.zenml("orchestrator", "delete", "trace_orch").ok()
    assert "Deleted orchestrator: trace_orch" in r.out, r.describe()
    r = c.zenml("artifact-store", "delete", "trace_store").ok()
    assert "Deleted artifact store: trace_store" in r.out, r.describe()

    r = c.zenml("stack", "list").ok()
    assert sorted(table_rows(r.out)) == ["default"], r.describe()
    assert table_rows(r.out)["default"][0] is True, r.describe()
    names = api.list_names("/api/v1/components")
    assert names and set(names) == {"default"}, names
