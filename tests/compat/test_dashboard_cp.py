"""The control plane's web UI in a real browser (Debian's Chromium driven by Playwright).

One control plane per module; the steps build on each other, as a person would click through:

1. the admin logs in, creates an organization and a workspace, reads the enrollment key (shown
   once: the workspace page never shows it again) and enrolls the real Python zenml 0.98.0
   server with the values the page shows; the organization page then shows it ``available``;
2. adds a member with a role, a team with a workspace role, a service account whose API key works;
3. approves a real ``zenml login <workspace> --pro-api-url`` device login in the browser;
4. opening the workspace server's URL lands, after login, on our workspace page; that member
   sees no admin action, and a forged POST without the CSRF token is refused;
5. profile and password change, the organization switcher, and sign-out.

Every page is saved as a screenshot in ``$ZENPRO_SCREENSHOT_DIR`` (default
``tests/compat/screenshots/``), one also in a phone-sized viewport.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests

from zenpro_compat import servers
from zenpro_compat.client import ANSI, Result
from zenpro_compat.pro import CHROMIUM, ControlPlane, ProcessStartError, ProWorkspace, _write_browser_script

pytestmark = pytest.mark.pro

SHOTS = Path(os.environ.get("ZENPRO_SCREENSHOT_DIR") or Path(__file__).parent / "screenshots")
ORG, ORG2, WS = "acme-ui", "beta-ui", "ws-ui"
BOB_PW, BOB_NEW_PW = "Bob-pw-12345", "Bob-new-pw-678"


class UI:
    """The control plane, the enrolled Python workspace, and one Chromium."""

    def __init__(self) -> None:
        self.workdir = servers.new_workdir("zc-ui-")
        self.cp = ControlPlane(self.workdir / "cp")
        self.ws: ProWorkspace | None = None
        self.ws_port = servers.free_port()
        self.values: dict = {}
        self.shot_no = 0
        self._pw = None
        self.browser = None

    def start(self) -> "UI":
        from playwright.sync_api import sync_playwright

        self.cp.start()
        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        SHOTS.mkdir(parents=True, exist_ok=True)
        return self

    def close(self) -> None:
        for closer in (lambda: self.browser and self.browser.close(), lambda: self._pw and self._pw.stop()):
            try:
                closer()
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass
        for proc in (self.ws, self.cp):
            if proc is not None:
                proc.stop()
        servers.remove_workdir(self.workdir)

    def page(self, **kw):
        page = self.browser.new_context(**kw).new_page()
        page.set_default_timeout(20000)
        return page

    def shot(self, page, name: str) -> None:
        self.shot_no += 1
        page.screenshot(path=str(SHOTS / f"cp-{self.shot_no:02d}-{name}.png"), full_page=True)

    def url(self, path: str) -> str:
        return self.cp.url + path


@pytest.fixture(scope="module")
def ui():
    env = UI()
    try:
        env.start()
    except ProcessStartError as e:
        env.close()
        pytest.fail(str(e), pytrace=False)
    except BaseException:
        env.close()
        raise
    yield env
    env.close()


@pytest.fixture(scope="module")
def admin_page(ui: UI):
    page = ui.page()
    yield page
    page.context.close()


def login(ui: UI, page, username: str, password: str) -> None:
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login")
    page.wait_for_load_state()


def text(page, selector: str) -> str:
    return page.inner_text(selector).strip()


def test_admin_creates_org_and_workspace_and_enrolls_it(ui: UI, admin_page):
    page = admin_page
    page.goto(ui.url("/"))
    assert "/login" in page.url
    assert page.title() == "Log in to zenpro · zenpro"
    ui.shot(page, "login")
    login(ui, page, ui.cp.admin_user, ui.cp.admin_password)
    assert page.url == ui.url("/")
    assert text(page, "#nav-username") == ui.cp.admin_user
    assert text(page, "#no-orgs").startswith("You do not belong to any organization")
    ui.shot(page, "home-empty")

    page.fill("#org-name", ORG)
    page.fill("#org-description", "Acme's ML platform")
    page.click("#create-org-submit")
    assert page.url == ui.url(f"/organizations/{ORG}")
    assert text(page, "h1") == f"Organization {ORG}"
    assert text(page, "#no-workspaces") == "No workspaces yet."
    ui.shot(page, "organization-empty")

    page.fill("#ws-name", WS)
    page.fill("#ws-url", f"http://127.0.0.1:{ui.ws_port}")
    page.click("#create-workspace-submit")
    assert text(page, "h1") == f"Workspace {WS} created"
    assert "only this once" in text(page, "#key-notice")
    key = text(page, "#enrollment-key")
    assert re.fullmatch(r"[A-Za-z0-9_\-]{32,}", key), key
    helm = text(page, "#helm-values")
    assert "  pro:\n    enabled: true" in helm and f"enrollmentKey: {key}" in helm, helm
    env_text = text(page, "#env-vars")
    values = dict(line.split("=", 1) for line in env_text.splitlines() if "=" in line)
    assert values["ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET"] == key
    assert values["ZENML_SERVER_PRO_API_URL"] == ui.cp.api_url
    page.click("button[data-copy=enrollment-key]")
    page.wait_for_function("document.querySelector('button[data-copy=enrollment-key]').textContent === 'Copied'")
    ui.shot(page, "workspace-created-key")

    # Shown once: the workspace page does not show it again.
    page.click("#to-workspace")
    assert page.url == ui.url(f"/workspaces/{WS}")
    assert key not in page.content()
    assert text(page, "#ws-last-seen") == "never"
    ui.shot(page, "workspace-not-enrolled")

    # The real Python server in Pro mode, configured with exactly what the page showed.
    enrollment = {
        "organization_id": values["ZENML_SERVER_PRO_ORGANIZATION_ID"],
        "organization_name": values["ZENML_SERVER_PRO_ORGANIZATION_NAME"],
        "workspace_id": values["ZENML_SERVER_PRO_WORKSPACE_ID"],
        "workspace_name": values["ZENML_SERVER_PRO_WORKSPACE_NAME"],
        "enrollment_key": key,
        "api_url": values["ZENML_SERVER_PRO_API_URL"],
        "dashboard_url": values["ZENML_SERVER_PRO_DASHBOARD_URL"],
    }
    ui.values = enrollment
    ui.ws = ProWorkspace(ui.workdir / "ws", ui.ws_port, ui.cp, enrollment)
    try:
        ui.ws.start()
    except ProcessStartError as e:
        pytest.fail(f"the Python workspace did not enroll with the page's values: {e}\n{ui.cp.log_tail(40)}")
    page.goto(ui.url(f"/organizations/{ORG}"))
    row = page.locator(f"tr.workspace[data-name='{WS}']")
    assert row.locator(".status").inner_text() == "available"
    assert row.locator("td[data-label=Version]").inner_text() == "0.98.0"
    assert row.locator("td[data-label='Last heartbeat']").inner_text().endswith("UTC")
    assert row.locator("td[data-label=URL]").inner_text() == f"http://127.0.0.1:{ui.ws_port}"
    ui.shot(page, "organization-workspace-available")
    phone = ui.page(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    phone.goto(ui.url(f"/organizations/{ORG}"))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
    ui.shot(phone, "organization-phone")
    phone.context.close()


def test_members_teams_and_service_accounts(ui: UI, admin_page):
    page = admin_page
    page.goto(ui.url(f"/organizations/{ORG}"))
    page.click("#link-members")
    assert text(page, "h1") == f"Members of {ORG}"
    page.fill("#member-username", "bob")
    page.fill("#member-password", BOB_PW)
    page.select_option("#grant-role", "Member")
    page.select_option("#grant-scope", "organization")
    page.click("#add-member-submit")
    assert text(page, "#notice") == "Granted Member to bob."
    assert page.locator("tr.grant[data-principal=bob][data-role=Member]").count() == 1
    ui.shot(page, "members")

    page.goto(ui.url(f"/organizations/{ORG}/teams"))
    page.fill("#team-name", "ml-team")
    page.click("#create-team-submit")
    assert text(page, "h1") == "Team ml-team"
    page.fill("#team-member", "bob")
    page.click("#add-team-member-submit")
    assert text(page, "#team-members .member") == "bob"
    page.select_option("#grant-role", label="Viewer (workspace)")
    page.select_option("#grant-scope", label=f"Workspace {WS}")
    page.click("#grant-team-submit")
    grant = page.locator("tr.grant[data-principal=ml-team][data-role=Viewer]")
    assert grant.locator("td[data-label=On]").inner_text() == f"Workspace {WS}"
    ui.shot(page, "team")

    page.goto(ui.url(f"/organizations/{ORG}/service_accounts"))
    page.fill("#account-name", "ci-bot")
    page.click("#create-account-submit")
    assert text(page, "h1") == "Service account ci-bot"
    api_key = text(page, "#api-key")
    assert api_key.startswith("ZENPROKEY_")
    ui.shot(page, "service-account-key")
    me = ui.cp.get("/users/me", token=api_key)
    assert me.status_code == 200 and me.json()["username"] == "ci-bot", me.text
    page.goto(ui.url(f"/organizations/{ORG}/service_accounts"))
    page.click("#accounts a:text-is('ci-bot')")
    assert text(page, "h1") == "Service account ci-bot"
    assert api_key not in page.content(), "the key is shown once"
    assert page.locator("tr.api-key-row").count() == 1


def test_device_login_approved_in_the_browser(ui: UI, admin_page, client_factory):
    client = client_factory.new("ui-device", None, ZENML_PRO_API_URL=ui.cp.api_url)
    url_file = client.home / "verification-url.txt"
    env = client.env(BROWSER=str(_write_browser_script(client)), ZC_VERIFY_URL_FILE=str(url_file))
    args = ["login", WS, "--pro-api-url", ui.cp.api_url]
    out_path, err_path = client.home / "login.stdout", client.home / "login.stderr"
    t0 = time.monotonic()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen([str(servers.venv_bin() / "zenml"), *args], env=env, cwd=str(client.home),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None and not (
                    url_file.exists() and url_file.read_text().strip()):
                time.sleep(0.2)
            assert url_file.exists(), "the CLI opened no verification URL:\n" + out_path.read_text() + err_path.read_text()
            page = admin_page
            page.goto(url_file.read_text().strip().splitlines()[0])
            assert text(page, "h1") == "Authorize a device"
            assert text(page, "#device-zenml") == "0.98.0"
            page.select_option("#workspace", label=f"{WS} ({ORG})")
            ui.shot(page, "device-approval")
            page.click("#approve")
            assert text(page, "#result").startswith("The device is logged in")
            ui.shot(page, "device-approved")
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    result = Result(["zenml", *args], proc.returncode, ANSI.sub("", out_path.read_text()),
                    ANSI.sub("", err_path.read_text()), time.monotonic() - t0)
    client.history.append(result)
    result.ok()
    status = client.zenml("status")
    assert WS in status.out and f"127.0.0.1:{ui.ws_port}" in status.out, status.describe()


def test_workspace_url_lands_on_our_page_and_members_see_no_admin_actions(ui: UI):
    page = ui.page()
    try:
        # The Python server in Pro mode sends browsers to {DASH}/workspaces/{name}.
        page.goto(f"http://127.0.0.1:{ui.ws_port}/")
        assert "/login?next=" in page.url, page.url
        login(ui, page, "bob", BOB_PW)
        assert page.url == ui.url(f"/workspaces/{WS}")
        assert text(page, "#ws-status") == "available"
        assert page.locator("#ws-link").get_attribute("href") == f"http://127.0.0.1:{ui.ws_port}"
        assert page.locator("#rotate-key").count() == 0
        ui.shot(page, "workspace-page-member")
        page.click("#ws-org")
        assert text(page, "#org-role") == "Member"
        for admin_only in ("#create-workspace", "#org-admin-links", "#link-members"):
            assert page.locator(admin_only).count() == 0, admin_only
        ui.shot(page, "organization-member")
        page.goto(ui.url(f"/organizations/{ORG}/members"))
        assert text(page, "h1") == "Not allowed"
        # A forged POST (cookies, but no CSRF token) is refused.
        resp = page.context.request.post(ui.url("/organizations"), form={"name": "forged"}, max_redirects=0)
        assert resp.status == 403, resp.text()
        resp = page.context.request.post(ui.url(f"/organizations/{ORG}/workspaces"), form={"name": "forged"},
                                         max_redirects=0)
        assert resp.status == 403, resp.text()
        assert requests.get(ui.cp.api_url + "/workspaces/forged", timeout=30,
                            headers={"Authorization": f"Bearer {ui.cp.admin_token()}"}).status_code == 404

        # The Python server's browser login URL, straight: back to the workspace page when signed in.
        page.goto(ui.url("/api/auth/login"), referer=f"http://127.0.0.1:{ui.ws_port}/")
        assert page.url == ui.url(f"/workspaces/{WS}")

        # Profile and password change.
        page.click("#nav-profile")
        assert text(page, "#profile-username") == "bob"
        page.fill("#full-name", "Bob Builder")
        page.click("#save-details")
        assert text(page, "#notice") == "Your details were saved."
        page.fill("#current-password", BOB_PW)
        page.fill("#new-password", BOB_NEW_PW)
        page.fill("#confirm-password", BOB_NEW_PW)
        page.click("#change-password-submit")
        assert text(page, "#notice") == "Your password was changed."
        ui.shot(page, "profile-password-changed")
        assert ui.cp.login_response(grant_type="password", username="bob", password=BOB_PW).status_code == 401
        assert ui.cp.login_response(grant_type="password", username="bob", password=BOB_NEW_PW).status_code == 200
        page.click("#logout")
        assert text(page, "#signed-out") == "You are signed out."
    finally:
        page.context.close()


def test_org_switcher_and_sign_out(ui: UI, admin_page):
    page = admin_page
    page.goto(ui.url("/"))
    page.fill("#org-name", ORG2)
    page.click("#create-org-submit")
    assert page.url == ui.url(f"/organizations/{ORG2}")
    options = page.eval_on_selector_all("#org-switcher option", "os => os.map(o => o.value)")
    assert options == ["", ORG, ORG2], options
    page.select_option("#org-switcher", ORG)  # cp.js submits the switcher on change
    page.wait_for_url(ui.url(f"/organizations/{ORG}"))
    assert page.locator("#org-switcher option:checked").inner_text() == ORG
    ui.shot(page, "org-switcher")
    page.click("#nav-organizations")
    assert page.locator("#orgs a").all_inner_texts() == [ORG, ORG2]
    ui.shot(page, "home")
    page.click("#logout")
    assert text(page, "#signed-out") == "You are signed out."
    ui.shot(page, "signed-out")
    page.goto(ui.url(f"/organizations/{ORG}"))
    assert "/login?next=" in page.url
