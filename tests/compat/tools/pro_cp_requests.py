#!/usr/bin/env python3
"""Measurements for the issue 6 note (run by hand, not part of the suite; nothing is asserted).

    ZENPRO_BIN=target/debug/zenpro tests/compat/.venv/bin/python tests/compat/tools/pro_cp_requests.py count
    ZENPRO_BIN=target/debug/zenpro tests/compat/.venv/bin/python tests/compat/tools/pro_cp_requests.py outage

``count``: one control plane (ours), two workspaces of one organization (``ws-py``: the Python
zenml 0.98.0 server in Pro mode; ``ws-rs``: ours), the real client running the 3-step
``trace_basic`` pipeline twice on each; prints how many requests the control plane finished
during each run, by method and path (its own JSON request log).

``outage``: a 3-step pipeline whose steps sleep; the control plane is stopped for 30 seconds
while the run is in its second step, then started again on the same port and database. Prints
what the client printed, the run's final status, and whether the workspace serves requests and
logins again afterwards. Once per workspace.

Last ``count`` (2026-11-27, after nested RBAC, dehydration, read_secret_value and the read-only
``POST /runs`` of an existing run): Python 24 requests on the first run, 12 on the second (10/4
check_permissions, 8/6 allowed_resource_ids, 3/1 usage events, 3/1 entitlements); ours 12 on the
first run (4 check_permissions, 4 allowed_resource_ids, 2 usage events, 2 entitlements) and 1 on
the second (the new run's usage event; every decision cached).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zenpro_compat import servers  # noqa: E402
from zenpro_compat.client import ZenClient  # noqa: E402
from zenpro_compat.pro import store_pro_token  # noqa: E402
from zenpro_compat.runs import run_pipeline  # noqa: E402
from zenpro_compat.side_by_side import RUN_IDS_SNIPPET, WS_PY, WS_RS, SideBySide, summarize  # noqa: E402

SLEEPY = '''
import sys, time
from zenml import pipeline, step

@step
def first() -> int:
    time.sleep({first})
    return 1

@step
def second(x: int) -> int:
    time.sleep({second})
    return x + 1

@step
def third(x: int) -> int:
    time.sleep({third})
    return x + 1

@pipeline(enable_cache=False)
def sleepy():
    third(second(first()))

if __name__ == "__main__":
    try:
        run = sleepy()
        print("OUT run_id=" + str(run.id))
        print("OUT status=" + str(run.status.value if hasattr(run.status, "value") else run.status))
    except Exception as e:  # the client's view of the failure
        print("OUT error=" + type(e).__name__ + ": " + str(e).replace("\\n", " ")[:600])
        sys.exit(3)
'''


def client_for(env: SideBySide, ws: str, base: Path) -> ZenClient:
    c = ZenClient(f"alice-{ws}", base / f"client-{ws}", env={"ZENML_PRO_API_URL": env.cp.api_url})
    store_pro_token(c, env.cp, "alice", env.passwords["alice"]).ok()
    c.zenml("login", ws, "--pro-api-url", env.cp.api_url).ok()
    c.zenml("project", "register", "p1", "--set").ok()
    return c


def count(env: SideBySide, base: Path) -> None:
    for ws in (WS_PY, WS_RS):
        c = client_for(env, ws, base)
        for attempt in ("first run", "second run"):
            offset = env.cp.log_offset()
            t0 = time.monotonic()
            values = run_pipeline(c, "basic")
            took = time.monotonic() - t0
            time.sleep(1)
            reqs = env.cp.requests_since(offset)
            print(f"\n=== {ws} ({env.workspace(ws).label}), {attempt}: status={values['status']} "
                  f"{took:.1f}s, control-plane requests: {len(reqs)}")
            print(summarize(reqs))


def outage(env: SideBySide, base: Path, down_seconds: float = 30) -> None:
    for ws in (WS_PY, WS_RS):
        c = client_for(env, ws, base)
        script = c.home / "sleepy.py"
        script.write_text(SLEEPY.format(first=8, second=20, third=8))
        out_path = c.home / "sleepy.out"
        offset = env.cp.log_offset()
        t0 = time.monotonic()
        with open(out_path, "w") as out:
            proc = subprocess.Popen([str(servers.venv_bin() / "python"), str(script)], env=c.env(), cwd=str(c.home),
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            # Into the second step: the run, its first step and the second step's start are made.
            time.sleep(14)
            print(f"\n=== {ws}: control plane stopped at t={time.monotonic() - t0:.1f}s "
                  f"(pipeline still running: {proc.poll() is None})")
            env.cp.stop()
            # What a user sees meanwhile: a read started 10 s into the outage (in the background,
            # so the control plane comes back on time).
            time.sleep(10)
            read_t0 = time.monotonic()
            mid_path = c.home / "mid.out"
            with open(mid_path, "w") as mid_out:
                mid = subprocess.Popen([str(servers.venv_bin() / "zenml"), "pipeline", "runs", "list"], env=c.env(),
                                       cwd=str(c.home), stdout=mid_out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
                time.sleep(down_seconds - 10)
                env.cp.start()
                print(f"=== control plane back at t={time.monotonic() - t0:.1f}s")
                try:
                    mid_rc = mid.wait(timeout=300)
                except subprocess.TimeoutExpired:
                    mid.kill()
                    mid_rc = mid.wait()
            print(f"--- `zenml pipeline runs list` started 10 s into the outage: rc={mid_rc} after "
                  f"{time.monotonic() - read_t0:.1f}s; its last lines:")
            print("\n".join(mid_path.read_text().strip().splitlines()[-4:]))
            try:
                rc = proc.wait(timeout=600)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
        took = time.monotonic() - t0
        text = out_path.read_text()
        print(f"--- pipeline process exit code {rc} after {took:.1f}s; its last lines:")
        print("\n".join(line for line in text.strip().splitlines()[-12:]))
        after = c.python(RUN_IDS_SNIPPET)
        print(f"--- after: list runs rc={after.returncode} {after.values().get('workspace')}")
        status = c.zenml("pipeline", "runs", "list")
        print("\n".join(status.out.strip().splitlines()[-5:]))
        relog = c.zenml("login", ws, "--pro-api-url", env.cp.api_url)
        print(f"--- after: `zenml login {ws}` rc={relog.returncode}")
        reqs = env.cp.requests_since(offset)
        print(f"--- control-plane requests finished during this run: {len(reqs)}")
        print(summarize(reqs))


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "count"
    base = servers.new_workdir("zc-measure-")
    # No heartbeat inside the measured windows (the Python server has none).
    env = SideBySide(base / "env", our_env={"ZENPRO_PRO_HEARTBEAT_SECONDS": "3600"})
    try:
        env.start()
        env.user("alice", "Admin")
        {"count": count, "outage": outage}[what](env, base)
    finally:
        env.close()
        servers.remove_workdir(base)


if __name__ == "__main__":
    main()
