"""The HTTP surface (issue 15, F14): dates in ISO 8601, the API docs under the site's
Content-Security-Policy, ``Allow`` on 405, request bodies and exports in the OpenAPI, gunicorn's
own refusals in JSON within documented limits, and a loud warning when cookies are not Secure."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from api.server import REQUEST_LIMITS, insecure_cookies_warning, listens_beyond_this_machine
from engine.settings import Settings
from tests.api_data import intake
from tests.conftest import ApiClient
from tests.helpers import KEY_ENV
from tests.live import free_port, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
HTTP_DATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")


def test_a_childs_birth_date_is_iso_8601(api: ApiClient):
    engine = api.app.extensions["himaya"]
    body = intake(engine)
    body["child"]["birth_date"] = "2013-05-02"
    body["report"]["received_at"] = "2026-11-20T07:00:00+01:00"
    case = api.post("/api/v1/cases", "upe.tanger", json=body).get_json()
    read = api.get(f"/api/v1/cases/{case['id']}", "upe.tanger")
    assert read.get_json()["child"]["birth_date"] == "2013-05-02"
    assert not HTTP_DATE.search(read.get_data(as_text=True))


def test_the_json_provider_writes_every_date_and_time_in_iso_8601(api: ApiClient):
    from datetime import UTC, date, datetime, time

    with api.app.app_context():
        text = api.app.json.dumps({"d": date(2013, 5, 2), "t": datetime(2026, 11, 20, 8, 30, tzinfo=UTC),
                                   "h": time(9, 15)})
    assert json.loads(text) == {"d": "2013-05-02", "t": "2026-11-20T08:30:00+00:00", "h": "09:15:00"}


def test_the_api_docs_have_the_sites_content_security_policy_and_no_inline_script(api: ApiClient):
    response = api.client.get("/api/v1/docs")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    scripts = policy.split("script-src")[1].split(";")[0]
    assert scripts.strip() == "'self'", "no inline or foreign script"
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    html = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "every script is a file"
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    for src in re.findall(r'<script src="([^"]+)"', html) + re.findall(r'<link href="([^"]+)"', html):
        assert api.client.get(src).status_code == 200, src


@pytest.mark.parametrize("method, path, allowed", [
    ("delete", "/api/v1/cases", {"GET", "POST"}),
    ("put", "/api/v1/auth/token", {"POST"}),
    ("post", "/api/v1/supervision/overdue", {"GET"}),
    ("delete", "/login", {"GET", "POST"}),
])
def test_a_405_names_the_allowed_methods(api: ApiClient, method: str, path: str, allowed: set[str]):
    response = getattr(api.client, method)(path, headers=api.headers("cape.tanger"))
    assert response.status_code == 405
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}
    assert response.get_json()["code"] == 405


def _spec(api: ApiClient) -> dict[str, Any]:
    return api.client.get("/api/v1/openapi.json").get_json()


@pytest.mark.parametrize("method, path, media_types", [
    ("post", "/api/v1/action-plans", {"application/json"}),
    ("put", "/api/v1/action-plans/{plan_id}/content", {"application/json"}),
    ("post", "/api/v1/pathways", {"application/xml", "multipart/form-data"}),
])
def test_every_request_body_is_in_the_openapi(api: ApiClient, method: str, path: str, media_types: set[str]):
    body = _spec(api)["paths"][path][method]["requestBody"]
    assert body["required"] is True and set(body["content"]) == media_types


def test_the_openapi_documents_a_body_for_each_write_that_takes_one(api: ApiClient):
    without_body = {(m.upper(), p) for p, ops in _spec(api)["paths"].items() for m, op in ops.items()
                    if m in ("post", "put", "patch") and "requestBody" not in op}
    assert without_body == {  # these act on the resource of their path and read no body
        ("POST", "/api/v1/auth/revoke"), ("POST", "/api/v1/tasks/{task_id}/claim"),
        ("POST", "/api/v1/tasks/{task_id}/unclaim"), ("POST", "/api/v1/pathways/{key}/versions/{version}/activate"),
        ("POST", "/api/v1/notifications/{notification_id}/read"), ("POST", "/api/v1/admin/outbox/{outbox_id}/retry"),
            ("POST", "/api/v1/admin/users/{username}/disable"), ("POST", "/api/v1/admin/users/{username}/enable")}


def test_the_documented_plan_bodies_describe_the_guides_structure(api: ApiClient):
    schemas = _spec(api)["components"]["schemas"]
    assert {"province", "title", "period_start", "period_end", "content"} <= set(schemas["PlanRequest"]["properties"])
    assert set(schemas["PlanContent"]["properties"]) == {"context", "priorities"}
    assert {"pilot", "budget_mad", "deadline", "ongoing"} <= set(schemas["Action"]["properties"])
    budget = schemas["Action"]["properties"]["budget_mad"]
    assert budget["minimum"] == 0 and not isinstance(budget["minimum"], str), "JSON Schema bounds are numbers"


def test_the_indicator_exports_are_in_the_openapi(api: ApiClient):
    spec = _spec(api)
    content = spec["paths"]["/api/v1/indicators"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv",
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    exports = spec["paths"]["/api/v1/action-plans/{plan_id}/export"]["get"]["responses"]["200"]["content"]
    assert set(exports) == {"application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@pytest.mark.parametrize("host, beyond", [("127.0.0.1", False), ("localhost", False), ("::1", False),
                                          ("[::1]", False), ("127.0.0.2", False), ("0.0.0.0", True),
                                          ("::", True), ("10.0.0.5", True), ("himaya.example.org", True)])
def test_which_addresses_reach_other_machines(host: str, beyond: bool):
    assert listens_beyond_this_machine(host) is beyond


def test_the_cookie_warning_comes_only_without_https_beyond_this_machine():
    assert insecure_cookies_warning("127.0.0.1", Settings()) is None
    assert insecure_cookies_warning("0.0.0.0", Settings(https=True)) is None
    warning = insecure_cookies_warning("0.0.0.0", Settings())
    assert warning is not None and "HIMAYA_HTTPS" in warning and "Secure" in warning


def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], Any]:
    """One request on a bare socket, as a client that does not check sizes would send it."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


@pytest.fixture
def served(tmp_path: Path):
    """``himaya serve`` (gunicorn) on every interface without HIMAYA_HTTPS: its stderr, its port."""
    port = free_port()
    env = {"HIMAYA_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite'}", "HIMAYA_SECRET_KEY": "serve-secret",
           "HIMAYA_SCHEDULER": "off", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **KEY_ENV}
    log = tmp_path / "stderr.log"
    with log.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--host", "0.0.0.0", "--port",
                                    str(port), "--workers", "1"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=stderr)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", timeout=120)
        yield {"port": port, "stderr": log}
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_server_refuses_oversized_requests_in_json_and_warns_of_insecure_cookies(served: dict[str, Any]):
    port = served["port"]
    line = REQUEST_LIMITS["limit_request_line"]
    status, headers, body = _raw(port, b"GET /api/v1/cases?q=" + b"a" * line + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 400 and headers["content-type"] == "application/json"
    assert body["code"] == 400 and body["status"] == "Bad Request" and "too long" in body["message"]
    many = b"".join(b"X-H%d: 1\r\n" % i for i in range(REQUEST_LIMITS["limit_request_fields"] + 1))
    status, headers, body = _raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert status == 431 and body["code"] == 431 and headers["content-type"] == "application/json"
    long_header = b"X-Long: " + b"b" * (REQUEST_LIMITS["limit_request_field_size"] + 1) + b"\r\n"
    status, _headers, body = _raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + long_header + b"\r\n")
    assert status == 431 and body["code"] == 431
    status, _headers, body = _raw(port, b"GET /healthz?q=" + b"a" * (line - 100) + b" HTTP/1.1\r\nHost: x\r\n"
                                  b"Connection: close\r\n\r\n")
    assert status == 200 and body["status"] == "ok", "a request within the limits reaches the application"
    warnings = served["stderr"].read_text(encoding="utf-8")
    assert "WARNING: himaya serve listens on 0.0.0.0" in warnings and "HIMAYA_HTTPS=1" in warnings
    assert re.search(r"\[WARNING\] himaya serve listens on 0\.0\.0\.0", warnings), "and in gunicorn's log"
