"""What schemathesis never sends: deep nesting, huge integers, odd encodings, oversized text.

Each was a 500 (with a 100 KB traceback in the log) before authentication; each is now a 400
with its reason, and nothing is logged beyond the request.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from api.json_input import MAX_DEPTH, nesting_depth
from tests.api_data import intake
from tests.conftest import ApiClient

DEEP = "[" * 600 + "]" * 600
HUGE_INTEGER = '{"username": "x", "password": "y", "n": ' + "9" * 5000 + "}"


def _post_raw(api: ApiClient, path: str, body: str | bytes, user: str | None = None,
              content_type: str = "application/json") -> Any:
    return api.post(path, user, data=body, headers={"Content-Type": content_type})


@pytest.mark.parametrize("path, user", [("/api/v1/auth/token", None), ("/api/v1/cases", None),
                                        ("/api/v1/cases", "upe.tanger")])
@pytest.mark.parametrize("body", [DEEP, '{"a": ' * 400 + "1" + "}" * 400, HUGE_INTEGER])
def test_deep_nesting_and_huge_integers_are_400_without_a_traceback(api: ApiClient, caplog, path, user,
                                                                   body) -> None:
    caplog.set_level(logging.INFO)
    response = _post_raw(api, path, body, user)
    assert response.status_code in (400, 401), response.data[:300]  # 401: refused before reading it, unsigned
    assert response.status_code == 400 or user is None
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "Traceback" not in logged and "RecursionError" not in logged and len(logged) < 2000


def test_completing_a_task_with_a_deep_body_is_400_and_changes_nothing(api: ApiClient) -> None:
    case = api.post("/api/v1/cases", "upe.tanger", json=intake(api.app.extensions["himaya"])).get_json()
    task = case["open_tasks"][0]["id"]
    response = _post_raw(api, f"/api/v1/tasks/{task}/complete", '{"data": ' + DEEP + "}", "upe.tanger")
    assert response.status_code == 400
    # in French, the default language
    assert response.get_json()["errors"] == {"json": ["Le corps JSON est imbriqué trop profondément."]}
    assert api.get(f"/api/v1/tasks/{task}", "upe.tanger").status_code == 200  # still open


def test_the_reason_is_given_in_the_callers_language(api: ApiClient) -> None:
    response = api.post("/api/v1/auth/token", data=HUGE_INTEGER,
                        headers={"Content-Type": "application/json", "Accept-Language": "ar"})
    assert response.status_code == 400
    assert response.get_json()["errors"]["json"] == ["أحد الأعداد في محتوى JSON طويل جدًا."]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_json_bodies_in_utf16_or_utf32_are_read_or_refused_never_500(api: ApiClient, encoding: str) -> None:
    body = json.dumps({"username": "upe.tanger", "password": "demo-upe.tanger"}).encode(encoding)
    assert _post_raw(api, "/api/v1/auth/token", body).status_code in (200, 400)
    deep = DEEP.encode(encoding)
    assert _post_raw(api, "/api/v1/auth/token", deep).status_code == 400


@pytest.mark.parametrize("text", ["\u202eanimA", "Ami\x00na", "\ud800"])
def test_control_characters_in_a_body_are_refused_never_500(api: ApiClient, text: str) -> None:
    body = json.dumps({"username": text, "password": "x"})  # lone surrogates and NUL are escaped in JSON
    assert _post_raw(api, "/api/v1/auth/token", body).status_code in (400, 401)


def test_an_oversized_body_is_413(api: ApiClient) -> None:
    response = _post_raw(api, "/api/v1/auth/token", '{"username": "' + "a" * (2 * 1024 * 1024) + '"}')
    assert response.status_code == 413


def test_the_depth_scan_ignores_brackets_inside_strings() -> None:
    assert nesting_depth('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"[[[["}') == 1
    assert nesting_depth("[" * (MAX_DEPTH + 5)) > MAX_DEPTH
    assert nesting_depth('[{"a": [1, {"b": []}]}]') == 5
