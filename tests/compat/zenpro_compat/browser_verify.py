#!/usr/bin/env python3
"""Scripted "browser" for `zenml login <url>` (OAuth2 device flow), used as $BROWSER.

Python's webbrowser module runs this file with the verification URL
(<server>/devices/verify?device_id=...&user_code=...) and waits for it to exit. We exit at once
(so the client polls and gets at least one `authorization_pending`), and a detached child does
what the dashboard does after the user clicks "authorize": log in with the admin password and
PUT /api/v1/devices/{device_id}/verify {"user_code": ..., "trusted_device": false}.

Env: ZC_ADMIN_USER, ZC_ADMIN_PASSWORD, ZC_VERIFY_DELAY (seconds, default 1),
     ZC_BROWSER_LOG (file that receives one line per attempt: "verify <status> <body prefix>").
Standard library only.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def log(line: str) -> None:
    path = os.environ.get("ZC_BROWSER_LOG")
    if path:
        with open(path, "a") as f:
            f.write(line.rstrip("\n") + "\n")


def verify(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    q = urllib.parse.parse_qs(parts.query)
    device_id = q["device_id"][0]
    user_code = q["user_code"][0]
    time.sleep(float(os.environ.get("ZC_VERIFY_DELAY", "1")))
    form = urllib.parse.urlencode({
        "username": os.environ.get("ZC_ADMIN_USER", "admin"),
        "password": os.environ.get("ZC_ADMIN_PASSWORD", ""),
    }).encode()
    req = urllib.request.Request(
        base + "/api/v1/login", data=form, method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "zenpro-compat-browser"},
    )
    token = json.loads(urllib.request.urlopen(req, timeout=30).read())["access_token"]
    body = json.dumps({"user_code": user_code, "trusted_device": False}).encode()
    req = urllib.request.Request(
        base + f"/api/v1/devices/{device_id}/verify", data=body, method="PUT",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "User-Agent": "zenpro-compat-browser",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            log(f"verify {resp.status} {resp.read().decode(errors='replace')[:300]}")
    except urllib.error.HTTPError as e:
        log(f"verify {e.code} {e.read().decode(errors='replace')[:300]}")


if __name__ == "__main__":
    target = sys.argv[1]
    if os.fork() == 0:
        os.setsid()
        # Don't hold the client's stdout/stderr pipes open.
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        try:
            verify(target)
        except Exception as e:  # noqa: BLE001 - record, never raise into the void
            log(f"verify error {type(e).__name__}: {e}")
        finally:
            os._exit(0)
    sys.exit(0)
