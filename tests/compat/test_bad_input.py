"""Bad input gets a ZenML-shaped 4xx error, never a 500.

Every expectation below was taken from the Python reference server (zenml 0.98.0):
* errors are ``{"detail": [ExceptionClass, message]}``; request-validation errors (422) may be a
  bare ``[ExceptionClass, message]`` list (G5) - :func:`error_detail` accepts both;
* a request without a token gets ``401 {"detail": "Not authenticated"}`` with
  ``WWW-Authenticate: Bearer`` (G1), while a wrong password or a garbage token gets
  ``401 ["CredentialsNotValid", ...]`` (the reference sends no ``WWW-Authenticate`` on those; the
  client recognises them by the class name).
"""

from __future__ import annotations

import uuid

import pytest

from zenpro_compat.api import Api, describe, error_detail


@pytest.fixture(scope="module")
def api(zenpro_server) -> Api:
    return Api.password(zenpro_server.url, zenpro_server.admin_user, zenpro_server.admin_password)


def expect_error(resp, status: int, exc_class: str) -> str:
    assert resp.status_code != 500, "server error: " + describe(resp)
    assert resp.status_code == status, f"expected {status}: " + describe(resp)
    assert resp.headers.get("content-type", "").startswith("application/json"), describe(resp)
    cls, message = error_detail(resp)
    assert cls == exc_class, f"expected {exc_class}: " + describe(resp)
    assert message, describe(resp)
    return message


@pytest.mark.parametrize(
    "path, params",
    [
        ("/api/v1/projects", {"sort_by": "nosuchfield"}),
        ("/api/v1/users", {"sort_by": "desc:bogus"}),
        ("/api/v1/stacks", {"sort_by": "asc:nosuchfield"}),
    ],
)
def test_unknown_sort_field(api, path, params):
    msg = expect_error(api.get(path, params=params), 422, "ValueError")
    assert "sort" in msg, msg


@pytest.mark.parametrize("path", ["/api/v1/stacks/not-a-uuid", "/api/v1/components/1234"])
def test_malformed_uuid_in_path(api, path):
    expect_error(api.get(path), 422, "ValueError")


def test_malformed_name_or_id_in_path(api):
    # Projects and users take a name *or* an id in the path, so this is a lookup miss.
    expect_error(api.get("/api/v1/projects/not-a-uuid"), 404, "KeyError")
    expect_error(api.get("/api/v1/users/not-a-uuid"), 404, "KeyError")


def test_unknown_id_is_404(api):
    missing = str(uuid.uuid4())
    expect_error(api.get(f"/api/v1/stacks/{missing}"), 404, "KeyError")
    expect_error(api.get(f"/api/v1/projects/{missing}"), 404, "KeyError")


@pytest.mark.parametrize(
    "params",
    [
        {"size": "100000"},  # le 10000
        {"size": "0"},
        {"page": "0"},
        {"hydrate": "maybe"},
    ],
    ids=["size-100000", "size-0", "page-0", "hydrate-not-bool"],
)
def test_out_of_range_paging(api, params):
    expect_error(api.get("/api/v1/projects", params=params), 422, "ValueError")


def test_page_past_the_last_page(api):
    first = api.ok("GET", "/api/v1/projects", params={"size": 20})
    assert first["total_pages"] == 1 and first["index"] == 1, first
    msg = expect_error(api.get("/api/v1/projects", params={"page": 5}), 400, "ValueError")
    assert "page" in msg.lower(), msg


def test_oneof_needs_a_json_list(api):
    expect_error(api.get("/api/v1/projects", params={"name": "oneof:notjson"}), 422, "ValueError")
    # ... and the well-formed variant works.
    page = api.ok("GET", "/api/v1/projects", params={"name": 'oneof:["default"]'})
    assert [p["name"] for p in page["items"]] == ["default"], page


def test_wrong_password(zenpro_server):
    resp = Api.login_response(zenpro_server.url, username=zenpro_server.admin_user, password="wrong",
                              grant_type="password")
    expect_error(resp, 401, "CredentialsNotValid")
    resp = Api.login_response(zenpro_server.url, username="nobody-here", password="wrong")
    expect_error(resp, 401, "CredentialsNotValid")


@pytest.mark.parametrize(
    "path", ["/api/v1/current-user", "/api/v1/projects/default", "/api/v1/stacks", "/api/v1/users"]
)
def test_unauthenticated_request(zenpro_server, path):
    # G1: every client process starts with such a call and re-authenticates on this answer.
    resp = Api(zenpro_server.url).get(path, params={"hydrate": "True"})
    assert resp.status_code == 401, describe(resp)
    assert resp.headers.get("www-authenticate") == "Bearer", describe(resp)
    assert resp.json() == {"detail": "Not authenticated"}, describe(resp)


@pytest.mark.parametrize("token", ["garbage", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA", "a.b.c"])
def test_garbage_bearer_token(zenpro_server, token):
    resp = Api(zenpro_server.url, token=token).get("/api/v1/current-user")
    expect_error(resp, 401, "CredentialsNotValid")


def test_garbage_api_key(zenpro_server):
    resp = Api.login_response(zenpro_server.url, password="ZENKEY_garbage", grant_type="zenml-api-key")
    expect_error(resp, 401, "CredentialsNotValid")


def test_duplicate_project_name(api):
    name = "dup-" + uuid.uuid4().hex[:8]
    body = {"name": name, "display_name": "Dup", "description": ""}
    first = api.post("/api/v1/projects", json=body)
    assert first.status_code == 200, describe(first)
    msg = expect_error(api.post("/api/v1/projects", json=body), 409, "EntityExistsError")
    assert name in msg, msg
    expect_error(api.post("/api/v1/projects", json={**body, "name": "default"}), 409, "EntityExistsError")
    # Nothing was created by the failed attempts.
    assert sorted(api.list_names("/api/v1/projects", name=f"equals:{name}")) == [name]
