"""The compiled dumps of the busiest answers (task list, completion) give exactly what the
marshmallow schemas give, on real answers of both databases; a schema with a field kind they do
not know is refused when compiled."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from marshmallow import Schema, fields
from sqlalchemy import select

from api.auth import Principal
from api.fast_dump import dumper
from api.readers.context import ReadContext
from api.readers.tasks import present_command, task_page
from api.schemas import CommandResponse, TaskPage, TaskSchema
from engine.models import User
from engine.runtime import Engine
from tests.conftest import ApiClient
from tests.helpers import ANSWERS, UPE, report, task_id


def _principal(engine: Engine, username: str) -> Principal:
    with engine.db.reading() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return Principal(user.id, user.username, user.role, user.province, user.unit, user.sector, user.language)


@pytest.mark.parametrize("language", ["fr", "ar", "en"])
def test_the_compiled_dumps_equal_the_schemas_on_real_answers(engine: Engine, language: str):
    cases = [engine.start_case(report(engine, categories=categories), UPE).case_id
             for categories in (["victim_violence"], None, ["street", "begging"])]
    result = engine.complete(task_id(engine, cases[1], "reception_listening"), ANSWERS["reception_listening"], UPE)
    answers: list[tuple[type[Schema], Any]] = []
    for username, scope in (("upe.tanger", "available"), ("upe.tanger", "all"), ("cape.tanger", "all"),
                            ("cape.tanger", "mine")):
        ctx = ReadContext(engine, _principal(engine, username), language, engine.now())
        total, items = task_page(ctx, scope=scope, page=1, per_page=20)
        answers.append((TaskPage, {"items": items, "total": total, "page": 1, "per_page": 20}))
        answers.append((CommandResponse, present_command(ctx, result)))
    assert any(page["items"] for schema, page in answers if schema is TaskPage)
    for schema, value in answers:
        assert dumper(schema)(value) == schema().dump(value)


def test_the_answers_over_http_are_the_schemas_dumps(api: ApiClient):
    engine = api.app.extensions["himaya"]
    case_id = engine.start_case(report(engine), UPE).case_id
    listed = api.get("/api/v1/tasks?scope=available", "upe.tanger")
    assert listed.status_code == 200 and listed.mimetype == "application/json"
    body = listed.get_json()
    task = body["items"][0]
    assert set(task) <= set(TaskSchema().fields) and {"id", "created_at", "due_at", "form"} - set(task) == {"form"}
    assert datetime.fromisoformat(task["created_at"]).tzinfo is not None
    assert [t["case_id"] for t in body["items"]] == [case_id] and body["total"] == 1
    done = api.post(f"/api/v1/tasks/{task_id(engine, case_id, 'reception_listening')}/complete", "upe.tanger",
                    json={"data": ANSWERS["reception_listening"]})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["open_tasks"] and set(done.get_json()) >= {"id", "reference", "status", "version"}


class _WithEmail(Schema):
    address = fields.Email()


class _Renamed(Schema):
    name = fields.String(data_key="title")


@pytest.mark.parametrize("schema", [_WithEmail, _Renamed])
def test_a_field_kind_the_compiler_does_not_know_is_refused(schema: type[Schema]):
    with pytest.raises(TypeError):
        dumper(schema)
