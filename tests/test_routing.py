"""The application's URL rules compile their builders on first use and build the same URLs."""
from __future__ import annotations

from typing import Any

import pytest
from werkzeug.routing import Map, Rule

from api.routing import LazyBuilderRule, rule_class

RULES = ["/cases/<uuid:case_id>", "/tasks/<task_id>/complete", "/assets/<path:filename>",
         "/language/<code>", "/admin/pathways/<key>/versions/<int:version>/modeler", "/healthz"]
VALUES: list[dict[str, Any]] = [{"case_id": "5b7c0a9e-3f0e-4a4b-9a43-2d1f7c7b8e10"}, {"task_id": "t 1/é"},
          {"filename": "vendor/a b.js"}, {"code": "ar", "next": "/tasks?x=1"},
          {"key": "child_protection", "version": 3, "lang": "ar"}, {}]


def _maps() -> tuple[Map, Map]:
    plain = Map([Rule(rule, endpoint=str(i)) for i, rule in enumerate(RULES)])
    lazy = Map([LazyBuilderRule(rule, endpoint=str(i)) for i, rule in enumerate(RULES)])
    return plain, lazy


@pytest.mark.parametrize("append_unknown", [True, False])
def test_lazy_rules_build_the_same_urls(append_unknown: bool):
    plain, lazy = _maps()
    plain_urls, lazy_urls = plain.bind("himaya.example"), lazy.bind("himaya.example")
    for i, values in enumerate(VALUES):
        for _ in range(2):  # the first build compiles, the second uses the kept builder
            assert lazy_urls.build(str(i), values, append_unknown=append_unknown) == \
                plain_urls.build(str(i), values, append_unknown=append_unknown)


def test_a_builder_is_compiled_once_on_first_use():
    _, lazy = _maps()
    rule = next(lazy.iter_rules("0"))
    first = rule._build_unknown
    urls = lazy.bind("himaya.example")
    urls.build("0", VALUES[0])
    assert rule._build_unknown is not first  # replaced by the compiled builder
    kept = rule._build_unknown
    urls.build("0", VALUES[0])
    assert rule._build_unknown is kept


def test_the_application_uses_the_lazy_rules_and_matches_as_before(api):
    assert rule_class() is LazyBuilderRule
    assert all(isinstance(rule, LazyBuilderRule) for rule in api.app.url_map.iter_rules())
    with api.app.test_request_context():
        from flask import url_for

        assert url_for("web.set_language", code="ar", next="/tasks") == "/language/ar?next=/tasks"
    assert api.get("/healthz").status_code == 200


def test_the_openapi_document_is_built_when_first_read_and_holds_every_blueprint(api):
    himaya_api = api.app.extensions["himaya_api"]
    assert himaya_api._undocumented, "nothing described while the application starts"
    document = api.get("/api/v1/openapi.json").get_json()
    assert not himaya_api._undocumented
    assert "/api/v1/cases" in document["paths"] and "/api/v1/tasks/{task_id}/complete" in document["paths"]
    tags = [tag["name"] for tag in document["tags"]]
    assert len(tags) == len(set(tags)) and "cases" in tags  # each blueprint described once
    assert api.get("/api/v1/openapi.json").get_json() == document
