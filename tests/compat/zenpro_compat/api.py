"""Minimal REST helpers for talking to a ZenML server directly (``requests``)."""

from __future__ import annotations

from typing import Any, Optional

import requests

TIMEOUT = 30


def error_detail(resp: requests.Response) -> list:
    """The ``[ExceptionClassName, message]`` pair of a ZenML error response.

    ZenML answers errors as ``{"detail": [cls, msg]}``, and request-validation errors (422) as a
    bare ``[cls, msg]`` list; the 0.98.0 client accepts both (SUMMARY.md G5), so do we.
    """
    try:
        body = resp.json()
    except ValueError:
        raise AssertionError(f"error body is not JSON: {resp.status_code} {resp.text[:500]!r}")
    detail = body.get("detail") if isinstance(body, dict) else body
    assert isinstance(detail, list) and len(detail) == 2 and all(isinstance(x, str) for x in detail), (
        f"error body is not [class, message] / {{detail: [class, message]}}: {resp.status_code} {body!r}"
    )
    return detail


def describe(resp: requests.Response) -> str:
    req = resp.request
    return f"{req.method} {req.url} -> {resp.status_code} {resp.text[:800]}"


class Api:
    """A logged-in (or anonymous) REST session against one server."""

    def __init__(self, base_url: str, token: Optional[str] = None) -> None:
        self.base = base_url.rstrip("/")
        self.token = token
        self.http = requests.Session()

    # ------------------------------------------------------------------ auth
    @staticmethod
    def login_response(base_url: str, **form: str) -> requests.Response:
        return requests.post(
            base_url.rstrip("/") + "/api/v1/login",
            data=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=TIMEOUT,
        )

    @classmethod
    def password(cls, base_url: str, username: str, password: str) -> "Api":
        resp = cls.login_response(base_url, username=username, password=password, grant_type="password")
        assert resp.status_code == 200, "password login failed: " + describe(resp)
        return cls(base_url, resp.json()["access_token"])

    @classmethod
    def api_key(cls, base_url: str, key: str) -> "Api":
        resp = cls.login_response(base_url, password=key, grant_type="zenml-api-key")
        assert resp.status_code == 200, "API-key login failed: " + describe(resp)
        return cls(base_url, resp.json()["access_token"])

    # ------------------------------------------------------------------ calls
    def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                headers: Optional[dict] = None) -> requests.Response:
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(headers or {})
        return self.http.request(method, self.base + path, params=params, json=json, headers=h,
                                 timeout=TIMEOUT)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        """Call and assert 200; returns the parsed JSON body."""
        resp = self.request(method, path, **kw)
        assert resp.status_code == 200, describe(resp)
        return resp.json()

    def list_names(self, path: str, **params: Any) -> list[str]:
        page = self.ok("GET", path, params={"size": 1000, **params})
        return [item.get("name") for item in page["items"]]
