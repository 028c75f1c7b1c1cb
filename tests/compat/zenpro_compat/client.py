"""Run the real zenml 0.98.0 CLI / Python client in subprocesses, each with its own config.

Every :class:`ZenClient` owns a fresh ``ZENML_CONFIG_PATH`` directory, so "logins" never leak
between clients or into the user's home. Each call is a new process (the client caches a lot in
memory and in its global config; a new process is what a user gets).
"""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from . import servers

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
BROWSER_SCRIPT = Path(__file__).resolve().parent / "browser_verify.py"
DEFAULT_TIMEOUT = float(os.environ.get("ZENPRO_COMPAT_CLIENT_TIMEOUT", "120"))


@dataclass
class Result:
    """Outcome of one client process: ``rc, stdout, stderr = result`` also works."""

    cmd: Sequence[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def __iter__(self):
        return iter((self.returncode, self.stdout, self.stderr))

    @property
    def out(self) -> str:
        """stdout and stderr together (the CLI prints tables and log lines to either)."""
        return self.stdout + "\n" + self.stderr

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.cmd)}\n[exit {self.returncode} after {self.seconds:.1f}s]\n"
            f"----- stdout -----\n{self.stdout}\n----- stderr -----\n{self.stderr}"
        )

    def ok(self) -> "Result":
        """Assert exit code 0; the failure message shows the whole output."""
        assert self.returncode == 0, "client command failed:\n" + self.describe()
        return self

    def failed(self) -> "Result":
        assert self.returncode != 0, "client command unexpectedly succeeded:\n" + self.describe()
        return self

    def values(self) -> dict:
        """``OUT key=value`` lines printed by a Python snippet."""
        return {m.group(1): m.group(2).strip() for m in re.finditer(r"^OUT (\w+)=(.*)$", self.stdout, re.M)}


class ZenClient:
    """One isolated client installation (its own global config + credentials)."""

    def __init__(self, name: str, home: Path, server: Optional["servers.Server"] = None,
                 env: Optional[dict] = None) -> None:
        self.name = name
        self.home = home
        self.config = home / "config"
        self.server = server
        self.extra_env = dict(env or {})
        self.history: list[Result] = []
        self.home.mkdir(parents=True, exist_ok=True)

    def env(self, **extra: Optional[str]) -> dict:
        env = servers._base_env(self.home)
        env.update({
            "TERM": "dumb",
            "COLUMNS": "250",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "ZENML_CONFIG_PATH": str(self.config),
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_DISABLE_CLIENT_SERVER_MISMATCH_WARNING": "true",
            "ZENML_LOGGING_VERBOSITY": "INFO",
            "ZENML_LOGGING_COLORS_DISABLED": "true",
            "ZENML_ENABLE_RICH_TRACEBACK": "false",
            "AUTO_OPEN_DASHBOARD": "false",
            "ZENML_AUTO_OPEN_DASHBOARD": "false",
            # `zenml login <url>` opens $BROWSER: our scripted "user" approves the device.
            "BROWSER": str(BROWSER_SCRIPT),
            "ZC_BROWSER_LOG": str(self.home / "browser.log"),
        })
        if self.server is not None:
            env["ZC_ADMIN_USER"] = self.server.admin_user
            env["ZC_ADMIN_PASSWORD"] = self.server.admin_password
        env.update(self.extra_env)
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def run(self, cmd: Sequence[str], stdin: Optional[str] = None, timeout: Optional[float] = None,
            env: Optional[dict] = None) -> Result:
        t0 = time.monotonic()
        try:
            p = subprocess.run(
                list(cmd), env=self.env(**(env or {})), cwd=str(self.home), input=stdin,
                capture_output=True, text=True, timeout=timeout or DEFAULT_TIMEOUT,
            )
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            rc = -9
            out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            err = (e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
            err += f"\n[timed out after {e.timeout}s]"
        shown = [Path(cmd[0]).name, *cmd[1:]]
        if len(shown) > 2 and shown[1] == "-c":
            shown = [shown[0], "-c", "<snippet>"]
        result = Result(shown, rc, ANSI.sub("", out), ANSI.sub("", err), time.monotonic() - t0)
        self.history.append(result)
        return result

    def zenml(self, *args: str, stdin: Optional[str] = None, timeout: Optional[float] = None,
              **env: Optional[str]) -> Result:
        """``zenml <args>`` (the real CLI)."""
        return self.run([str(servers.venv_bin() / "zenml"), *args], stdin=stdin, timeout=timeout, env=env)

    def python(self, code: str, timeout: Optional[float] = None, **env: Optional[str]) -> Result:
        """``python -c <code>`` with this client's config; print ``OUT k=v`` lines for :meth:`Result.values`."""
        return self.run([str(servers.venv_bin() / "python"), "-c", textwrap.dedent(code)],
                        timeout=timeout, env=env)

    def script(self, code: str, timeout: Optional[float] = None, **env: Optional[str]) -> Result:
        """Like :meth:`python`, but runs the snippet from a file (``<home>/snippets/NN.py``).

        Some client calls (e.g. ``Client().create_stack``) need the main module to have a file:
        they fail under ``python -c`` with "Unable to determine source root".
        """
        snippets = self.home / "snippets"
        snippets.mkdir(parents=True, exist_ok=True)
        path = snippets / f"{len(self.history):02d}.py"
        path.write_text(textwrap.dedent(code))
        return self.run([str(servers.venv_bin() / "python"), str(path)], timeout=timeout, env=env)

    def transcript(self) -> str:
        return "\n\n".join(r.describe() for r in self.history)


def password_login_snippet(url: str, username: str, password: str) -> str:
    """Python equivalent of the removed ``zenml connect --username --password``."""
    return f"""
from zenml.config.global_config import GlobalConfiguration
from zenml.zen_stores.rest_zen_store import RestZenStoreConfiguration
GlobalConfiguration().set_store(
    RestZenStoreConfiguration(url={url!r}, username={username!r}, password={password!r})
)
from zenml.client import Client
c = Client()
print("OUT user=" + c.active_user.name)
print("OUT project=" + c.active_project.name)
print("OUT stack=" + c.active_stack_model.name)
"""
