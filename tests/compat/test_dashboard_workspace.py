"""The workspace views in a real browser (Debian's Chromium driven by Playwright), OSS and Pro mode.

One of our workspace servers per module (SQLite); the real zenml 0.98.0 client makes, in one
process (``pipelines/dashboard_pipelines.py``): a four-step run of ``ws_etl`` and the same pipeline
again from the cache, a failed run of ``ws_broken``, a run of ``ws_train`` tagged ``nightly`` with
a model version of ``ws_model``, 22 one-step runs of ``ws_filler`` (26 runs: two pages) and a
secret. Then a person logs in at ``/login`` and clicks through every view of the navigation: the
projects, pipelines and runs lists, the run pages with their DAG (step colours, artifacts on the
edges, cached steps marked), a step with its inputs/outputs and log location, artifacts and
versions, models and versions, stacks, components, secrets (names only: the value is in no page);
filters the runs by status, pipeline, tag and date, pages through them, and signs out.

Pro mode: our control plane and our workspace server enrolled with it (SQLite); a control-plane
user with the workspace role Admin runs the same pipelines (no fillers) with the real client logged
in through the control plane. In Chromium: a view without a session goes to the control plane's
login and back, the workspace page links to the views under ``/workspaces/<name>/``, the runs list,
the run page with its DAG, a step, filters, lists, and the control plane's sign-out; an organization
Member without a workspace role is refused (403 page).

Every page is saved as ``ws-NN-<name>.png`` (OSS) or ``wsp-NN-<name>.png`` (Pro) in
``$ZENPRO_SCREENSHOT_DIR`` (default ``tests/compat/screenshots/``), the OSS runs list also in a
phone-sized viewport.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

import pytest
import requests

from zenpro_compat import pro, servers
from zenpro_compat.client import ZenClient
from zenpro_compat.pro import CHROMIUM, running
from zenpro_compat.runs import login as client_login
from zenpro_compat.servers import COMPAT_DIR

pytestmark = pytest.mark.backends("sqlite")

SHOTS = Path(os.environ.get("ZENPRO_SCREENSHOT_DIR") or Path(__file__).parent / "screenshots")
PIPELINES = COMPAT_DIR / "pipelines" / "dashboard_pipelines.py"
FILLERS = 22  # + 4 other runs = 26: one more than a page of the runs list (25)
SECRET_NAME = "ws_db_credentials"
SECRET_VALUE = "s3cr3t-Value-that-must-not-show"
# Fill colours of the DAG's nodes (crates/zenpro-dashboard/src/dag.rs).
FILL = {"completed": "#d1fae5", "failed": "#fee2e2", "cached": "#ede9fe"}
ETL_STEPS = ["load_rows", "clean_rows", "row_stats", "report"]
ETL_EDGES = {  # (from, to): artifact on the edge
    ("load_rows", "clean_rows"): "raw_rows",
    ("load_rows", "row_stats"): "raw_rows",
    ("clean_rows", "report"): "clean_rows",
    ("row_stats", "report"): "row_count",
}


class Workspace:
    """Our workspace server with the client's runs, and one Chromium."""

    def __init__(self, backend: str, browser) -> None:
        self.backend = backend
        self.browser = browser
        self.workdir = servers.new_workdir("zc-wsui-")
        self.db: servers.Database | None = None
        self.server: servers.Server | None = None
        self.client: ZenClient | None = None
        self.made: dict = {}
        self.shot_no = 0

    def start(self) -> "Workspace":
        self.db = servers.Database.create(self.backend, self.workdir / "db")
        self.server = servers.Server(servers.ZENPRO, self.db, self.workdir / "server").start()
        self.client = ZenClient("dashboard-ws", self.workdir / "client", server=self.server)
        client_login(self.client, self.server)
        shutil.copy(PIPELINES, self.client.home / PIPELINES.name)
        result = self.client.run([str(servers.venv_bin() / "python"), PIPELINES.name, str(FILLERS)],
                                 timeout=600).ok()
        self.made = result.values()
        expected = {"etl_status": "completed", "etl_cached_status": "completed", "broken_status": "failed",
                    "train_status": "completed", "filler_runs": str(FILLERS)}
        for key, value in expected.items():
            assert self.made.get(key) == value, f"{key}: {self.made.get(key)!r}\n" + result.describe()
        SHOTS.mkdir(parents=True, exist_ok=True)
        for old in SHOTS.glob("ws-*.png"):  # one run's pages, numbered in order
            old.unlink()
        return self

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.db is not None:
            self.db.drop()
        servers.remove_workdir(self.workdir)

    def url(self, path: str) -> str:
        return self.server.url + path

    def page(self, **kw):
        page = self.browser.new_context(**kw).new_page()
        page.set_default_timeout(20000)
        return page

    def shot(self, page, name: str) -> None:
        """Screenshot of the page as it is now; the page never shows the secret's value."""
        html = page.content()
        assert SECRET_VALUE not in html, f"the secret's value is shown on {page.url}"
        self.shot_no += 1
        page.screenshot(path=str(SHOTS / f"ws-{self.shot_no:02d}-{name}.png"), full_page=True)

    def report_sections(self) -> list[tuple[str, str]]:
        out = []
        if self.server is not None:
            out.append((f"server log: {self.server.label}", self.server.log_tail(60)))
        if self.client is not None and self.client.history:
            out.append(("client: last commands", "\n\n".join(r.describe() for r in self.client.history[-2:])))
        return out


@pytest.fixture(scope="module")
def browser(target_kind: str):
    """One Chromium for the module (Playwright's sync API runs one instance per thread)."""
    if target_kind != servers.ZENPRO:
        pytest.skip("the workspace views and the control plane are ours: the Python server has its own "
                    "(React) dashboard")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
    except BaseException:
        pw.stop()
        raise
    yield chromium
    try:
        chromium.close()
    finally:
        pw.stop()


@pytest.fixture(scope="module")
def ws(backend: str, browser):
    env = Workspace(backend, browser)
    try:
        env.start()
    except servers.ServerStartError as e:
        env.close()
        pytest.fail(str(e), pytrace=False)
    except BaseException:
        env.close()
        raise
    yield env
    env.close()


def oss_login(page, username: str, password: str) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")


@pytest.fixture(scope="module")
def page(ws: Workspace):
    """The module's browser tab, logged in (each test can run alone; they share the tab)."""
    page = ws.page()
    page.goto(ws.url("/login"))
    oss_login(page, ws.server.admin_user, ws.server.admin_password)
    heading(page, "Projects")
    yield page
    page.context.close()


def expect():
    from playwright.sync_api import expect as pw_expect

    return pw_expect


def heading(page, title: str) -> None:
    """Wait until the page's ``h1`` says ``title`` (htmx-boosted clicks swap the page in place)."""
    expect()(page.locator("main h1")).to_have_text(title)


def follow(page, target) -> None:
    """Click ``target`` (a selector or locator) and wait until the page it leads to is shown.

    The views' links and forms are htmx-boosted: a click swaps the body in place, so the old
    page's ``main`` is marked first and the new one is the unmarked ``main``.
    """
    page.evaluate("document.querySelectorAll('main').forEach(m => m.dataset.old = '1')")
    (page.locator(target) if isinstance(target, str) else target).click()
    expect()(page.locator("main:not([data-old]), form.login").first).to_be_visible()
    page.wait_for_load_state()


def nav(page, label: str, title: str) -> None:
    follow(page, f"header nav a:text-is('{label}')")
    heading(page, title)


def rows(page):
    """The rows of the page's (first) table, without the "Nothing here yet." row."""
    return page.locator("main table").first.locator("tbody tr:not(:has(td[colspan]))")


def column(page, header: str, table: int = 0) -> list[str]:
    """The texts of one column of the ``table``-th table of the page, by its header."""
    t = page.locator("main table").nth(table)
    headers = [h.strip().lower() for h in t.locator("thead th").all_inner_texts()]
    i = headers.index(header)
    return [c.strip() for c in t.locator(f"tbody tr:not(:has(td[colspan])) td:nth-child({i + 1})").all_inner_texts()]


def kv(page) -> dict:
    """The page's key/value box (``dl.kv``) as a dict."""
    keys = page.locator("main dl.kv dt").all_inner_texts()
    values = page.locator("main dl.kv dd").all_inner_texts()
    return {k.strip(): v.strip() for k, v in zip(keys, values)}


def pager(page) -> str:
    return page.locator("main .pager span").first.inner_text().strip()


def run_link(page, run_id: str):
    return page.locator(f"main table a[href$='/runs/{run_id}']")


def run_row(page, run_id: str):
    return page.locator("main tbody tr", has=page.locator(f"a[href$='/runs/{run_id}']"))


# ----------------------------------------------------------------------------- tests
def test_login_and_projects(ws: Workspace):
    page = ws.page()
    try:
        login_and_projects(ws, page)
    finally:
        page.context.close()


def login_and_projects(ws: Workspace, page) -> None:
    # Not logged in: every view sends the browser to the login page.
    page.goto(ws.url("/runs"))
    assert page.url.startswith(ws.url("/login")), page.url
    expect()(page.locator("form.login h1")).to_have_text("Log in to the workspace")
    assert page.title() == "Log in · zenpro"
    ws.shot(page, "login")

    oss_login(page, ws.server.admin_user, "not-the-password")
    expect()(page.locator("form.login .error")).to_have_text("Wrong username or password.")
    ws.shot(page, "login-wrong-password")

    oss_login(page, ws.server.admin_user, ws.server.admin_password)
    heading(page, "Projects")
    assert page.url == ws.url("/"), page.url
    assert page.title() == "Projects · zenpro"
    assert page.locator("header nav a").all_inner_texts() == [
        "Projects", "Pipelines", "Runs", "Artifacts", "Models", "Stacks", "Components", "Secrets"]
    expect()(page.locator("header button:text-is('Log out')")).to_be_visible()
    assert column(page, "name") == ["default"]
    ws.shot(page, "projects")


def test_pipelines(ws: Workspace, page):
    nav(page, "Pipelines", "Pipelines")
    assert sorted(column(page, "name")) == ["ws_broken", "ws_etl", "ws_filler", "ws_train"]
    assert set(column(page, "owner")) == {ws.server.admin_user}
    assert pager(page) == "Page 1 of 1 (4 items)"
    ws.shot(page, "pipelines")
    # A pipeline's "runs" link is the runs list filtered by that pipeline.
    follow(page, page.locator("main tr", has_text="ws_etl").locator("a:text-is('runs')"))
    heading(page, "Runs")
    assert "pipeline_id=" in page.url
    assert set(column(page, "pipeline")) == {"ws_etl"} and len(column(page, "pipeline")) == 2
    assert page.locator("select[name=pipeline_id] option:checked").inner_text() == "ws_etl"
    ws.shot(page, "runs-of-pipeline")


def test_runs_list_and_paging(ws: Workspace, page):
    nav(page, "Runs", "Runs")
    assert pager(page) == "Page 1 of 2 (26 items)"
    expect()(rows(page)).to_have_count(25)
    # Newest first: the fillers, then the tagged run, the failed one, the cached one.
    runs = column(page, "run")
    assert all(r.startswith("ws_filler-") for r in runs[:FILLERS]), runs
    assert [r.split("-")[0] for r in runs[FILLERS:]] == ["ws_train", "ws_broken", "ws_etl"], runs
    failed = run_row(page, ws.made["broken_run"])
    expect()(failed.locator("span.status")).to_have_text("failed")
    assert "status-failed" in failed.locator("span.status").get_attribute("class")
    assert failed.locator("span.status").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(254, 226, 226)"
    tagged = run_row(page, ws.made["train_run"])
    assert "nightly" in tagged.inner_text()
    assert set(column(page, "owner")) == {ws.server.admin_user}
    assert all(re.fullmatch(r"\d+\.\ds|\d+m \d\ds", d) for d in column(page, "duration")), column(page, "duration")
    expect()(page.locator("main .pager a[rel=prev]")).to_have_count(0)
    ws.shot(page, "runs")

    follow(page, "main .pager a[rel=next]")
    expect()(page.locator("main .pager span")).to_have_text("Page 2 of 2 (26 items)")
    assert "page=2" in page.url
    expect()(rows(page)).to_have_count(1)
    expect()(run_link(page, ws.made["etl_run"])).to_be_visible()  # the oldest run
    expect()(page.locator("main .pager a[rel=next]")).to_have_count(0)
    ws.shot(page, "runs-page-2")
    follow(page, "main .pager a[rel=prev]")
    expect()(page.locator("main .pager span")).to_have_text("Page 1 of 2 (26 items)")

    # On a phone: the table scrolls in its box, the page does not scroll sideways.
    phone = ws.page(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    try:
        phone.goto(ws.url("/runs"))
        heading(phone, "Runs")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
        ws.shot(phone, "runs-phone")
    finally:
        phone.context.close()


def dag_node(page, step: str):
    return page.locator(f"main .dag svg g.node[data-step='{step}']")


def assert_dag(page, statuses: dict, edges: dict) -> None:
    """The DAG shows exactly these steps with these statuses and these labelled edges."""
    svg = page.locator("main .dag svg")
    expect()(svg).to_be_visible()
    names = page.locator("main .dag svg g.node").evaluate_all("ns => ns.map(n => n.dataset.step)")
    assert sorted(names) == sorted(statuses), names
    for step, status in statuses.items():
        node = dag_node(page, step)
        expect()(node).to_be_visible()
        assert f"status-{status}" in node.get_attribute("class"), (step, node.get_attribute("class"))
        assert node.locator("rect").get_attribute("fill") == FILL[status], (step, status)
        label = node.locator("text").nth(1).text_content()
        if status == "cached":  # cached steps are marked: a dashed border and a ⟲ after the status
            assert label == "cached ⟲", label
            assert node.locator("rect").get_attribute("stroke-dasharray"), step
        else:
            assert label == status, label
            assert node.locator("rect").get_attribute("stroke-dasharray") is None, step
        assert node.locator("text").first.text_content() == step
    shown = {}
    for e in page.locator("main .dag svg g.edge").all():
        text = e.locator("text")
        shown[(e.get_attribute("data-from"), e.get_attribute("data-to"))] = (
            text.text_content() if text.count() else "")
        expect()(e).to_be_visible()  # a straight edge's path has no height: Playwright calls it hidden
        assert e.locator("path").evaluate("p => p.getTotalLength()") > 20
    assert shown == edges, shown


def test_run_page_with_dag(ws: Workspace, page):
    page.goto(ws.url("/runs"))
    heading(page, "Runs")
    follow(page, "main .pager a[rel=next]")  # the oldest run is on the second page
    follow(page, run_link(page, ws.made["etl_run"]))
    expect()(page.locator("main h1")).to_have_text(re.compile(r"^Run ws_etl-"))
    assert page.url == ws.url(f"/runs/{ws.made['etl_run']}")
    info = kv(page)
    assert info["status"] == "completed" and info["pipeline"] == "ws_etl" and info["stack"] == "default", info
    assert info["owner"] == ws.server.admin_user and re.fullmatch(r"\d+\.\ds", info["duration"]), info
    assert_dag(page, {s: "completed" for s in ETL_STEPS}, ETL_EDGES)
    assert sorted(column(page, "step")) == sorted(ETL_STEPS)
    assert page.locator("main h2:text-is('Configuration') + pre").inner_text().count('"name": "ws_etl"') == 1
    ws.shot(page, "run-dag")

    # The same pipeline again: every step comes from the cache, and the DAG says so.
    page.goto(ws.url(f"/runs/{ws.made['etl_cached_run']}"))
    expect()(page.locator("main h1")).to_have_text(re.compile(r"^Run ws_etl-"))
    assert kv(page)["status"] == "completed"
    assert_dag(page, {s: "cached" for s in ETL_STEPS}, ETL_EDGES)
    assert set(column(page, "status")) == {"cached"}
    ws.shot(page, "run-dag-cached")

    # The failed run: the failing step is red, its upstream step green.
    page.goto(ws.url(f"/runs/{ws.made['broken_run']}"))
    expect()(page.locator("main h1")).to_have_text(re.compile(r"^Run ws_broken-"))
    assert kv(page)["status"] == "failed"
    assert_dag(page, {"load_rows": "completed", "explode": "failed"}, {("load_rows", "explode"): "raw_rows"})
    failed = page.locator("main tr", has_text="explode").locator("span.status")
    assert failed.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(254, 226, 226)"
    ws.shot(page, "run-dag-failed")

    # The tagged run with a model.
    page.goto(ws.url(f"/runs/{ws.made['train_run']}"))
    expect()(page.locator("main h1")).to_have_text(re.compile(r"^Run ws_train-"))
    assert kv(page)["tags"] == "nightly"
    assert_dag(page, {"load_rows": "completed", "train": "completed"}, {("load_rows", "train"): "raw_rows"})
    ws.shot(page, "run-tagged")


def test_step_page(ws: Workspace, page):
    page.goto(ws.url(f"/runs/{ws.made['etl_run']}"))
    expect()(page.locator("main h1")).to_have_text(re.compile(r"^Run ws_etl-"))
    follow(page, dag_node(page, "report"))  # the DAG's nodes link to the step pages
    heading(page, "Step report")
    report_url = page.url
    assert re.fullmatch(re.escape(ws.url("/steps/")) + r"[0-9a-f-]{36}", report_url), report_url
    info = kv(page)
    assert info["status"] == "completed" and info["run"], info
    assert info["cached from"] == "", info
    inputs = dict(zip(column(page, "name", 0), column(page, "artifact version", 0)))
    assert inputs == {"count": "row_count v1", "rows": "clean_rows v1"}, inputs
    outputs = dict(zip(column(page, "name", 1), column(page, "artifact version", 1)))
    assert outputs == {"etl_report": "etl_report v1"}, outputs
    assert all("/local_stores/" in u for u in column(page, "uri", 0) + column(page, "uri", 1))
    logs = column(page, "location", 2)
    assert logs and all(loc.endswith(".log") and "/logs/" in loc for loc in logs), logs
    ws.shot(page, "step")

    # The same step in the cached run says where it came from.
    page.goto(ws.url(f"/runs/{ws.made['etl_cached_run']}"))
    expect()(page.locator("main h1")).to_have_text(re.compile(r"^Run ws_etl-"))
    follow(page, "main table a:text-is('report')")
    heading(page, "Step report")
    info = kv(page)
    assert info["status"] == "cached", info
    assert report_url.endswith("/" + info["cached from"]), (report_url, info)
    ws.shot(page, "step-cached")

    # The failed step.
    page.goto(ws.url(f"/runs/{ws.made['broken_run']}"))
    expect()(page.locator("main h1")).to_have_text(re.compile(r"^Run ws_broken-"))
    follow(page, dag_node(page, "explode"))
    heading(page, "Step explode")
    assert kv(page)["status"] == "failed"
    assert column(page, "artifact version", 1) == []
    ws.shot(page, "step-failed")


def test_artifacts_and_versions(ws: Workspace, page):
    nav(page, "Artifacts", "Artifacts")
    names = column(page, "name")
    assert {"raw_rows", "clean_rows", "row_count", "etl_report", "ws_accuracy", "tick"} == set(names), names
    ws.shot(page, "artifacts")
    follow(page, "main table a:text-is('etl_report')")
    heading(page, "Artifact etl_report")
    assert column(page, "version") == ["1"]  # the cached run reused version 1
    ws.shot(page, "artifact")
    follow(page, "main table a:text-is('1')")
    heading(page, "Artifact version etl_report v1")
    info = kv(page)
    assert info["artifact"] == "etl_report" and info["version"] == "1", info
    assert "/local_stores/" in info["uri"] and info["type"] == "DataArtifact", info
    ws.shot(page, "artifact-version")


def test_artifact_version_links_its_producer_step(ws: Workspace, page):
    """0.98 has the producer step in the version's ``resources.producer_step_run_id``."""
    nav(page, "Artifacts", "Artifacts")
    follow(page, "main table a:text-is('etl_report')")
    heading(page, "Artifact etl_report")
    follow(page, "main table a:text-is('1')")
    heading(page, "Artifact version etl_report v1")
    producer = kv(page)["producer step"]
    assert re.fullmatch(r"[0-9a-f-]{36}", producer), f"no producer step on {page.url}: {kv(page)}"
    follow(page, page.locator("main dl.kv a", has_text=producer))
    heading(page, "Step report")
    assert page.url == ws.url(f"/steps/{producer}")


def test_models_and_versions(ws: Workspace, page):
    nav(page, "Models", "Models")
    assert column(page, "name") == ["ws_model"]
    ws.shot(page, "models")
    follow(page, "main table a:text-is('ws_model')")
    heading(page, "Model ws_model")
    assert kv(page)["description"] == "model of the dashboard test"
    assert column(page, "number") == ["1"]
    ws.shot(page, "model")
    follow(page, page.locator("main table tbody tr").first.locator("a").first)
    heading(page, "Model version ws_model 1")
    assert kv(page)["model"] == "ws_model"
    expect()(run_link(page, ws.made["train_run"])).to_be_visible()
    ws.shot(page, "model-version")
    follow(page, run_link(page, ws.made["train_run"]))
    expect()(page.locator("main h1")).to_have_text(re.compile(r"^Run ws_train-"))


def test_stacks_components_and_secrets(ws: Workspace, page):
    nav(page, "Stacks", "Stacks")
    assert column(page, "name") == ["default"]
    comps = column(page, "components")[0]
    assert "orchestrator: default" in comps and "artifact_store: default" in comps, comps
    ws.shot(page, "stacks")
    nav(page, "Components", "Stack components")
    found = set(zip(column(page, "type"), column(page, "flavor")))
    assert {("orchestrator", "local"), ("artifact_store", "local")} <= found, found
    ws.shot(page, "components")
    nav(page, "Secrets", "Secrets")
    assert column(page, "name") == [SECRET_NAME]
    assert column(page, "owner") == [ws.server.admin_user]
    assert column(page, "visibility") == ["public"]
    assert "password" not in page.locator("main").inner_text()  # not even the key
    ws.shot(page, "secrets")


def filter_runs(page, status: str = "", pipeline: str = "", tag: str = "", since: str = "") -> None:
    form = page.locator("form.filters")
    form.locator("select[name=status]").select_option(status)
    if pipeline:
        form.locator("select[name=pipeline_id]").select_option(label=pipeline)
    else:
        form.locator("select[name=pipeline_id]").select_option("")
    form.locator("input[name=tag]").fill(tag)
    form.locator("input[name=since]").fill(since)
    follow(page, form.locator("button[type=submit]"))
    heading(page, "Runs")


def test_filter_runs(ws: Workspace, page):
    nav(page, "Runs", "Runs")
    filter_runs(page, status="failed")
    assert "status=failed" in page.url
    assert column(page, "status") == ["failed"] and column(page, "pipeline") == ["ws_broken"]
    assert page.locator("select[name=status] option:checked").inner_text() == "failed"
    ws.shot(page, "runs-filter-status")

    filter_runs(page, pipeline="ws_etl")
    assert column(page, "pipeline") == ["ws_etl", "ws_etl"]
    expect()(run_link(page, ws.made["etl_cached_run"])).to_be_visible()
    ws.shot(page, "runs-filter-pipeline")

    filter_runs(page, status="completed", pipeline="ws_broken")
    assert rows(page).count() == 0
    expect()(page.locator("main table td[colspan]")).to_have_text("Nothing here yet.")
    ws.shot(page, "runs-filter-none")

    today = dt.datetime.now(dt.timezone.utc).date()
    filter_runs(page, pipeline="ws_filler", since=(today + dt.timedelta(days=1)).isoformat())
    assert rows(page).count() == 0
    filter_runs(page, pipeline="ws_filler", since=(today - dt.timedelta(days=1)).isoformat())
    assert pager(page) == f"Page 1 of 1 ({FILLERS} items)"
    ws.shot(page, "runs-filter-since")

    # The filters stay on the pager's links.
    filter_runs(page, status="completed")
    assert pager(page) == "Page 1 of 1 (25 items)"  # 26 runs, one failed
    filter_runs(page)
    follow(page, "main .pager a[rel=next]")
    expect()(page.locator("main .pager span")).to_have_text("Page 2 of 2 (26 items)")

    # Bad filter values typed into the URL: a clear error page, not a crash.
    for query, message in (("since=yesterday", "since: expected a date YYYY-MM-DD"),
                           ("pipeline_id=not-a-uuid", "pipeline_id: not a UUID")):
        resp = page.goto(ws.url(f"/runs?{query}"))
        assert resp.status == 400, (query, resp.status)
        assert message in page.locator("main").inner_text(), page.locator("main").inner_text()
    ws.shot(page, "runs-bad-filter")


def test_filter_runs_by_tag(ws: Workspace, page):
    nav(page, "Runs", "Runs")
    filter_runs(page, tag="nightly")
    assert "tag=nightly" in page.url
    assert page.locator("input[name=tag]").input_value() == "nightly"
    ws.shot(page, "runs-filter-tag")
    # What the API answers for 0.98's tag filter (``tags``; an unknown ``tag`` parameter is ignored).
    token = requests.post(ws.url("/api/v1/login"), timeout=30, data={
        "username": ws.server.admin_user, "password": ws.server.admin_password}).json()["access_token"]
    api = requests.get(ws.url("/api/v1/runs"), params={"tags": "nightly", "hydrate": "true"}, timeout=30,
                       headers={"Authorization": f"Bearer {token}"}).json()
    assert [r["id"] for r in api["items"]] == [ws.made["train_run"]], api
    assert column(page, "pipeline") == ["ws_train"] and column(page, "tags") == ["nightly"], (
        f"{pager(page)} on {page.url}; GET /api/v1/runs?tags=nightly gives only {ws.made['train_run']}")


def test_sign_out(ws: Workspace, page):
    page.goto(ws.url("/runs"))
    heading(page, "Runs")
    # A forged logout (no CSRF token) does not sign out.
    resp = page.context.request.post(ws.url("/logout"), form={"csrf": "forged"}, max_redirects=0)
    assert resp.status == 403, resp.status
    page.reload()
    heading(page, "Runs")

    follow(page, "header button:text-is('Log out')")
    expect()(page.locator("form.login h1")).to_have_text("Log in to the workspace")
    assert page.url.startswith(ws.url("/login")), page.url
    ws.shot(page, "signed-out")
    for path in ("/", "/runs", f"/runs/{ws.made['etl_run']}", "/secrets"):
        page.goto(ws.url(path))
        assert page.url.startswith(ws.url("/login")), (path, page.url)
        expect()(page.locator("form.login h1")).to_have_text("Log in to the workspace")


# ----------------------------------------------------------------------------- Pro mode
PRO_ORG, PRO_WS, PRO_USER = "acme-views", "ws-views", "dana"


class ProWorkspaceViews:
    """Our control plane, our workspace server enrolled in Pro mode (SQLite), runs made by the
    real client logged in through the control plane, and one Chromium."""

    def __init__(self, browser) -> None:
        self.browser = browser
        self.workdir = servers.new_workdir("zc-wspui-")
        self.cp = pro.ControlPlane(self.workdir / "cp")
        self.db: servers.Database | None = None
        self.ws: pro.OurProWorkspace | None = None
        self.client: ZenClient | None = None
        self.password = "Dana-pw-" + os.urandom(4).hex()
        self.outsider_password = "Olaf-pw-" + os.urandom(4).hex()
        self.made: dict = {}
        self.shot_no = 0

    def start(self) -> "ProWorkspaceViews":
        self.cp.start()
        self.cp.admin_login()
        self.cp.admin_ok("org", "create", PRO_ORG)
        port = servers.free_port()
        enrollment = self.cp.admin_json("workspace", "create", PRO_WS, "--org", PRO_ORG,
                                        "--url", f"http://127.0.0.1:{port}", "--output", "json")
        self.db = servers.Database.create(servers.SQLITE, self.workdir / "db")
        self.ws = pro.OurProWorkspace(self.workdir / "ws", port, self.cp, enrollment, self.db).start()
        self.cp.admin_ok("user", "create", PRO_USER, "--password", self.password)
        self.cp.admin_ok("role", "grant", "--user", PRO_USER, "--workspace", PRO_WS, "--role", "Admin")
        self.cp.admin_ok("user", "create", "olaf", "--password", self.outsider_password)
        self.cp.admin_ok("role", "grant", "--user", "olaf", "--org", PRO_ORG, "--role", "Member")

        # The real client: a control-plane login, then the workspace (external login), a project.
        self.client = ZenClient("dashboard-wsp", self.workdir / "client", env={"ZENML_PRO_API_URL": self.cp.api_url})
        pro.store_pro_token(self.client, self.cp, PRO_USER, self.password).ok()
        pro.connect_with_pro_token(self.client, self.ws).ok()
        self.client.zenml("project", "register", "views", "--set").ok()
        shutil.copy(PIPELINES, self.client.home / PIPELINES.name)
        result = self.client.run([str(servers.venv_bin() / "python"), PIPELINES.name, "0"], timeout=600).ok()
        self.made = result.values()
        assert self.made.get("etl_cached_status") == "completed" and self.made.get("broken_status") == "failed", (
            result.describe())
        SHOTS.mkdir(parents=True, exist_ok=True)
        for old in SHOTS.glob("wsp-*.png"):
            old.unlink()
        return self

    def close(self) -> None:
        for proc in (self.ws, self.cp):
            if proc is not None:
                proc.stop()
        if self.db is not None:
            self.db.drop()
        servers.remove_workdir(self.workdir)

    def url(self, path: str) -> str:
        return self.cp.url + path

    def views(self, path: str = "/") -> str:
        return self.cp.url + f"/workspaces/{PRO_WS}" + path

    def page(self):
        page = self.browser.new_context().new_page()
        page.set_default_timeout(20000)
        return page

    def shot(self, page, name: str) -> None:
        assert SECRET_VALUE not in page.content(), f"the secret's value is shown on {page.url}"
        self.shot_no += 1
        page.screenshot(path=str(SHOTS / f"wsp-{self.shot_no:02d}-{name}.png"), full_page=True)

    def report_sections(self) -> list[tuple[str, str]]:
        out = [(f"log: {p.label}", p.log_tail(60)) for p in (self.cp, self.ws) if p is not None]
        if self.client is not None and self.client.history:
            out.append(("client: last commands", "\n\n".join(r.describe() for r in self.client.history[-3:])))
        if self.cp.admin_history:
            out.append(("zenpro admin: last commands", self.cp.admin_transcript(3)))
        return out


@pytest.fixture(scope="module")
def pro_views(backend: str, browser):
    env = ProWorkspaceViews(browser)
    with running(env):
        yield env


def cp_login(page, username: str, password: str) -> None:
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login")
    page.wait_for_load_state()


def test_pro_workspace_views_from_the_control_plane(pro_views: ProWorkspaceViews):
    env = pro_views
    page = env.page()
    try:
        # A workspace view without a control-plane session: to the control plane's login, and back.
        page.goto(env.views("/runs"))
        assert page.url.startswith(env.url("/login?next=")), page.url
        env.shot(page, "cp-login")
        cp_login(page, PRO_USER, env.password)
        heading(page, "Runs")
        assert page.url == env.views("/runs"), page.url

        # The workspace page links to the views.
        page.goto(env.url(f"/workspaces/{PRO_WS}"))
        expect()(page.locator("#views-runs")).to_be_visible()
        assert page.locator("#workspace-views").inner_text().count("Browse this workspace as dana") == 1
        env.shot(page, "workspace-page")
        follow(page, "#views-runs")
        heading(page, "Runs")
        assert page.url == env.views("/runs"), page.url
        assert page.locator("header nav a").evaluate_all("as => as.map(a => a.getAttribute('href'))") == [
            f"/workspaces/{PRO_WS}" + p for p in
            ("/", "/pipelines", "/runs", "/artifacts", "/models", "/stacks", "/components", "/secrets")]
        expect()(page.locator("#views-home")).to_have_attribute("href", f"/workspaces/{PRO_WS}")
        assert pager(page) == "Page 1 of 1 (4 items)"
        assert [r.split("-")[0] for r in column(page, "run")] == ["ws_train", "ws_broken", "ws_etl", "ws_etl"]
        assert set(column(page, "owner")) == {PRO_USER}
        env.shot(page, "runs")

        # The run page with its DAG, and a step.
        follow(page, run_link(page, env.made["etl_cached_run"]))
        expect()(page.locator("main h1")).to_have_text(re.compile(r"^Run ws_etl-"))
        assert page.url == env.views(f"/runs/{env.made['etl_cached_run']}")
        assert_dag(page, {s: "cached" for s in ETL_STEPS}, ETL_EDGES)
        env.shot(page, "run-dag-cached")
        follow(page, dag_node(page, "report"))
        heading(page, "Step report")
        assert page.url.startswith(env.views("/steps/"))
        assert kv(page)["status"] == "cached"
        assert dict(zip(column(page, "name", 0), column(page, "artifact version", 0))) == {
            "count": "row_count v1", "rows": "clean_rows v1"}
        env.shot(page, "step")
        page.goto(env.views(f"/runs/{env.made['broken_run']}"))
        assert_dag(page, {"load_rows": "completed", "explode": "failed"}, {("load_rows", "explode"): "raw_rows"})
        env.shot(page, "run-dag-failed")

        # Filter: by status, by pipeline.
        nav(page, "Runs", "Runs")
        filter_runs(page, status="failed")
        assert column(page, "pipeline") == ["ws_broken"]
        assert page.url.startswith(env.views("/runs?"))
        env.shot(page, "runs-filter-status")
        filter_runs(page, pipeline="ws_etl")
        assert column(page, "pipeline") == ["ws_etl", "ws_etl"]
        env.shot(page, "runs-filter-pipeline")

        # The other lists, through the navigation.
        nav(page, "Pipelines", "Pipelines")
        assert sorted(column(page, "name")) == ["ws_broken", "ws_etl", "ws_train"]
        nav(page, "Models", "Models")
        assert column(page, "name") == ["ws_model"]
        nav(page, "Secrets", "Secrets")
        assert column(page, "name") == [SECRET_NAME]
        env.shot(page, "secrets")

        # Sign out (the control plane's session): the views go back to the login.
        follow(page, "header button:text-is('Log out')")
        expect()(page.locator("#signed-out")).to_have_text("You are signed out.")
        env.shot(page, "signed-out")
        page.goto(env.views("/runs"))
        assert page.url.startswith(env.url("/login?next=")), page.url
    finally:
        page.context.close()


def test_pro_views_refuse_a_member_without_a_workspace_role(pro_views: ProWorkspaceViews):
    env = pro_views
    page = env.page()
    try:
        page.goto(env.views("/runs"))
        cp_login(page, "olaf", env.outsider_password)
        assert "have no access to the runs" in page.locator("body").inner_text(), page.content()
        assert page.locator("main table").count() == 0
        env.shot(page, "no-role-refused")
        resp = page.goto(env.views(f"/runs/{env.made['etl_run']}"))
        assert resp.status == 403, resp.status
    finally:
        page.context.close()
