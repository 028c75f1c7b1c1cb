"""Fixtures for the zenml 0.98.0 compatibility suite.

Servers
  zenpro_server   the server under test, module-scoped, on the module's ``backend``. It is our
                  ``zenpro workspace serve`` unless ``ZENPRO_COMPAT_TARGET=python`` (or
                  ``--target=python``), which runs the Python reference server instead: the suite
                  must pass against the reference.
  python_server   the Python reference server (uvicorn), module-scoped, on the module's ``backend``.
  server_factory  start/stop servers of either kind on databases made in the test (interop).

Backends
  backend         ``sqlite`` (temp file) or ``mariadb`` (fresh database ``zc_<random>`` with its
                  own password user, dropped afterwards). Every test that uses a server runs once
                  per backend; restrict with ``ZENPRO_COMPAT_BACKENDS=sqlite`` or
                  ``--backends=sqlite``. MariaDB tests are skipped only when 127.0.0.1:3306 does
                  not answer.

Clients
  client_factory  ``client_factory.new(name, server)`` -> :class:`ZenClient` with a fresh
                  ``ZENML_CONFIG_PATH``; ``.zenml(...)`` / ``.python(code)`` return
                  (exit code, stdout, stderr) results.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from zenpro_compat import servers  # noqa: E402
from zenpro_compat.client import ZenClient  # noqa: E402
from zenpro_compat.servers import Database, Server  # noqa: E402


# ----------------------------------------------------------------------------- options
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("zenpro-compat")
    group.addoption(
        "--target", choices=servers.KINDS,
        default=os.environ.get("ZENPRO_COMPAT_TARGET", servers.ZENPRO),
        help="server under test: zenpro (ours, default) or python (the reference); "
             "env ZENPRO_COMPAT_TARGET",
    )
    group.addoption(
        "--backends", default=os.environ.get("ZENPRO_COMPAT_BACKENDS", ",".join(servers.BACKENDS)),
        help="comma-separated database backends to run on (sqlite,mariadb); env ZENPRO_COMPAT_BACKENDS",
    )


def pytest_configure(config: pytest.Config) -> None:
    target = config.getoption("--target")
    if target not in servers.KINDS:
        raise pytest.UsageError(f"ZENPRO_COMPAT_TARGET must be one of {servers.KINDS}, not {target!r}")
    backends = [b.strip() for b in config.getoption("--backends").split(",") if b.strip()]
    unknown = set(backends) - set(servers.BACKENDS)
    if unknown or not backends:
        raise pytest.UsageError(f"unknown backends {sorted(unknown)}; use a subset of {servers.BACKENDS}")
    config._zc_backends = backends  # type: ignore[attr-defined]


def pytest_report_header(config: pytest.Config) -> list[str]:
    target = config.getoption("--target")
    where = servers.zenpro_bin() if target == servers.ZENPRO else "uvicorn zenml.zen_server.zen_server_api:app"
    return [
        f"zenpro-compat: target={target} ({where}); backends={','.join(config._zc_backends)}",  # type: ignore[attr-defined]
        f"zenpro-compat: venv={servers.venv_dir()}",
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        wanted = list(marker.args) if marker else list(servers.BACKENDS)
        params = [b for b in metafunc.config._zc_backends if b in wanted]  # type: ignore[attr-defined]
        metafunc.parametrize("backend", params, indirect=True, scope="module")


# The longest files first: run.sh runs files on two pytest-xdist workers in collection order, and
# a long file that starts last would leave one worker idle for minutes. Per-file times in seconds,
# measured on 2 workers of a loaded 2-core machine (whole suite: 145 tests, 2128 s of test time in
# 1119 s); files not listed keep their order after these.
LONG_FILES = {
    "test_flow_b_stacks.py": 311,
    "test_deployments.py": 175,
    "test_flow_i_projects.py": 154,
    "test_oss_to_pro.py": 146,
    "test_flow_h_api_keys.py": 144,
    "test_concurrency_two_servers.py": 140,
    "test_pro_controlplane.py": 134,
    "test_interop_runs.py": 128,
    "test_dashboard_workspace.py": 120,
    "test_flow_i_runs_in_project.py": 107,
    "test_vault_secrets.py": 91,
    "test_flow_g_tags.py": 91,
    "test_interop_stacks_secrets.py": 89,
    "test_flow_f_models.py": 72,
    "test_pro_side_by_side.py": 61,
}


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    items.sort(key=lambda item: -LONG_FILES.get(item.path.name, 0))


# ----------------------------------------------------------------------------- fixtures
_MARIADB_REASON: dict = {}


@pytest.fixture(scope="module")
def backend(request: pytest.FixtureRequest) -> str:
    name = request.param
    if name == servers.MARIADB:
        if "reason" not in _MARIADB_REASON:
            _MARIADB_REASON["reason"] = servers.mariadb_unreachable_reason()
        if _MARIADB_REASON["reason"]:
            pytest.skip(_MARIADB_REASON["reason"])
    return name


@pytest.fixture(scope="session")
def target_kind(pytestconfig: pytest.Config) -> str:
    """``zenpro`` or ``python``: which implementation plays "our server"."""
    return pytestconfig.getoption("--target")


class ServerFactory:
    """Makes databases and servers; everything is stopped/dropped at teardown."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.servers: list[Server] = []
        self.databases: list[Database] = []
        self.workdirs: list[Path] = []

    def database(self, backend: str, encryption_key: str | None = None) -> Database:
        workdir = servers.new_workdir(f"zc-db-{backend}-")
        self.workdirs.append(workdir)
        db = Database.create(backend, workdir, encryption_key=encryption_key)
        self.databases.append(db)
        return db

    def server(self, kind: str, db: Database, start: bool = True) -> Server:
        workdir = servers.new_workdir(f"zc-{kind}-")
        self.workdirs.append(workdir)
        srv = Server(kind, db, workdir)
        self.servers.append(srv)
        return srv.start() if start else srv

    def close(self) -> None:
        errors = []
        for srv in self.servers:
            try:
                srv.stop()
            except Exception as e:  # noqa: BLE001
                errors.append(f"stop {srv}: {e}")
        for db in self.databases:
            try:
                db.drop()
            except Exception as e:  # noqa: BLE001
                errors.append(f"drop {db.name}: {e}")
        for wd in self.workdirs:
            servers.remove_workdir(wd)
        if errors:
            raise RuntimeError("teardown problems: " + "; ".join(errors))


def _module_server(request: pytest.FixtureRequest, kind: str, backend: str):
    factory = ServerFactory(f"{kind}/{backend}")
    try:
        db = factory.database(backend)
        srv = factory.server(kind, db)
    except servers.ServerStartError as e:
        factory.close()
        pytest.fail(str(e), pytrace=False)
    except BaseException:
        factory.close()
        raise
    return factory, srv


@pytest.fixture(scope="module")
def zenpro_server(request: pytest.FixtureRequest, backend: str, target_kind: str):
    """The server under test (ours, or the reference with ZENPRO_COMPAT_TARGET=python)."""
    factory, srv = _module_server(request, target_kind, backend)
    yield srv
    factory.close()


@pytest.fixture(scope="module")
def python_server(request: pytest.FixtureRequest, backend: str):
    """The Python reference server (zenml[server]==0.98.0)."""
    factory, srv = _module_server(request, servers.PYTHON, backend)
    yield srv
    factory.close()


@pytest.fixture
def server_factory():
    factory = ServerFactory("test")
    yield factory
    factory.close()


class ClientFactory:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.clients: list[ZenClient] = []

    def new(self, name: str, server: Server | None = None, **env: str) -> ZenClient:
        client = ZenClient(name, self.base / f"{len(self.clients):02d}-{name}", server=server, env=env)
        self.clients.append(client)
        return client


@pytest.fixture
def client_factory(tmp_path: Path) -> ClientFactory:
    return ClientFactory(tmp_path)


# ----------------------------------------------------------------------------- reporting
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.when not in ("setup", "call") or not report.failed:
        return
    funcargs = getattr(item, "funcargs", {}) or {}
    shown = set()
    for value in funcargs.values():
        candidates = []
        if isinstance(value, Server):
            candidates = [value]
        elif isinstance(value, ServerFactory):
            candidates = value.servers
        elif hasattr(value, "report_sections"):  # zenpro_compat.pro.ProEnv (control plane tests)
            report.sections.extend(value.report_sections())
        for srv in candidates:
            if id(srv) in shown:
                continue
            shown.add(id(srv))
            report.sections.append((f"server log: {srv.label}", srv.log_tail(60)))
        if isinstance(value, ClientFactory):
            for client in value.clients:
                if client.history:
                    last = client.history[-3:]
                    report.sections.append(
                        (f"client {client.name}: last commands", "\n\n".join(r.describe() for r in last))
                    )
