"""Idempotent commands (on SQLite and PostgreSQL): a report or a completion sent with an
``Idempotency-Key`` and sent again answers the first answer, with no second case and no second
completion; the same key with another body is a 422; two copies at once make one case; a step
done meanwhile, or a case transferred away, is a 409 with a reason; keys expire and are purged."""
from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from api.jobs import Jobs
from engine import idempotency
from engine.clock import ManualClock
from engine.models import Case, IdempotencyKey, TaskRecord
from engine.runtime import Engine
from tests.api_data import intake
from tests.conftest import ApiClient
from tests.helpers import ANSWERS, UPE, task_id

KEY = "0b8f7c3e-5d1a-4e2b-9c6f-1a2b3c4d5e6f"


def _cases(engine: Engine) -> int:
    with engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


def _calm(engine: Engine) -> dict[str, Any]:
    """A report that opens at the reception and listening (no emergency first)."""
    return intake(engine, emergency={"medical": False, "immediate_danger": False})


def _keyed(key: str = KEY) -> dict[str, str]:
    return {"Idempotency-Key": key}


def _report(api: ApiClient, body: dict[str, Any], key: str = KEY, user: str = "upe.tanger") -> Any:
    return api.post("/api/v1/cases", user, json=body, headers=_keyed(key))


def test_a_report_sent_twice_with_its_key_opens_one_case_and_answers_the_same(api: ApiClient, engine: Engine):
    body = intake(engine)
    first = _report(api, body)
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    again = _report(api, body)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert _cases(engine) == 1
    # The body's keys in another order are the same request.
    reordered = dict(reversed(list(body.items())))
    assert _report(api, reordered).get_json()["id"] == first.get_json()["id"]
    assert _cases(engine) == 1
    # Without a key, the same body is a new report (the API's behaviour is unchanged).
    assert api.post("/api/v1/cases", "upe.tanger", json=body).status_code == 201
    assert _cases(engine) == 2


def test_the_stored_answer_is_sealed_and_keyed_by_user(api: ApiClient, engine: Engine):
    body = intake(engine)
    first = _report(api, body)
    with engine.db.engine.connect() as connection:
        raw = connection.exec_driver_sql("SELECT answer, endpoint, request_digest FROM idempotency_keys").one()
    assert first.get_json()["reference"].encode() not in bytes(raw[0])  # sealed, not plain JSON
    assert raw[1] == "POST /api/v1/cases" and raw[2] == idempotency.digest(body)
    # Another user's same key is another key: it reports its own child.
    other = intake(engine, province="casablanca")
    second = _report(api, other, user="upe.casa")
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    assert second.get_json()["id"] != first.get_json()["id"]


def test_the_same_key_with_another_body_is_refused_with_a_field_message(api: ApiClient, engine: Engine):
    body = _calm(engine)
    assert _report(api, body).status_code == 201
    changed = {**body, "categories": ["street"]}
    refused = _report(api, changed)
    assert refused.status_code == 422
    assert "Idempotency-Key" in refused.get_json()["errors"]
    assert _cases(engine) == 1
    # The key of a report is not a key for a completion either.
    case_id = api.get("/api/v1/cases", "upe.tanger").get_json()["items"][0]["id"]
    task = task_id(engine, case_id, "reception_listening")
    other = api.post(f"/api/v1/tasks/{task}/complete", "upe.tanger", json={"data": ANSWERS["reception_listening"]},
                     headers=_keyed())
    assert other.status_code == 422


@pytest.mark.sqlite_only
@pytest.mark.parametrize("key", ["short", "x" * 129, "has space in it", "é" * 10, ""])
def test_a_malformed_key_is_a_400_on_the_header(api: ApiClient, engine: Engine, key: str):
    answer = _report(api, intake(engine), key=key)
    assert answer.status_code == 400
    assert "Idempotency-Key" in answer.get_json()["errors"]["headers"]
    assert _cases(engine) == 0


def test_a_refused_report_stores_nothing_and_may_be_sent_corrected_under_its_key(api: ApiClient, engine: Engine):
    body = intake(engine)
    bad = {**body, "child": {**body["child"], "sex": "X"}}
    assert _report(api, bad).status_code == 400
    assert _report(api, body).status_code == 201
    assert _cases(engine) == 1


def test_a_completion_sent_twice_completes_once(api: ApiClient, engine: Engine):
    case_id = _report(api, _calm(engine)).get_json()["id"]
    task = task_id(engine, case_id, "reception_listening")
    body = {"data": ANSWERS["reception_listening"]}
    first = api.post(f"/api/v1/tasks/{task}/complete", "upe.tanger", json=body, headers=_keyed("listen-1-abcdef"))
    assert first.status_code == 200, first.get_json()
    again = api.post(f"/api/v1/tasks/{task}/complete", "upe.tanger", json=body, headers=_keyed("listen-1-abcdef"))
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    with engine.db.reading() as session:
        done = session.scalars(select(TaskRecord).where(TaskRecord.id == task)).all()
    assert len(done) == 1 and done[0].data["listening_summary"] == "Écoute faite."
    # Another key for the step done: it was completed already, and says so.
    other = api.post(f"/api/v1/tasks/{task}/complete", "upe.tanger", json=body, headers=_keyed("listen-2-abcdef"))
    assert other.status_code == 409
    assert other.get_json()["reason"] == "task_already_completed"


def test_a_step_completed_meanwhile_elsewhere_is_a_409_with_its_reason(api: ApiClient, engine: Engine):
    case_id = engine.start_case(_calm(engine), UPE).case_id
    task = task_id(engine, case_id, "reception_listening")
    engine.complete(task, ANSWERS["reception_listening"], UPE)  # from the office, while the phone was offline
    answer = api.post(f"/api/v1/tasks/{task}/complete", "upe.tanger", json={"data": ANSWERS["reception_listening"]},
                      headers=_keyed("offline-listening-1"))
    assert answer.status_code == 409
    assert answer.get_json()["reason"] == "task_already_completed" and answer.get_json()["message"]
    unknown = api.post("/api/v1/tasks/00000000-0000-4000-8000-000000000000/complete", "upe.tanger",
                       json={"data": {}}, headers=_keyed("offline-listening-2"))
    assert unknown.status_code == 404 and unknown.get_json()["reason"] == "task_not_found"


def test_a_case_transferred_away_is_a_409_case_transferred(api: ApiClient, engine: Engine):
    case_id = engine.start_case(_calm(engine), UPE).case_id
    task = task_id(engine, case_id, "reception_listening")
    engine.claim(task, UPE)
    asked = api.post(f"/api/v1/cases/{case_id}/transfer", "cape.tanger",
                     json={"province": "casablanca", "unit": "upe-casablanca", "reason": "Déménagement"})
    assert asked.status_code == 202, asked.get_json()
    assert api.post(f"/api/v1/transfers/{asked.get_json()['id']}/accept", "cape.casa", json={}).status_code == 200
    answer = api.post(f"/api/v1/tasks/{task}/complete", "upe.tanger", json={"data": ANSWERS["reception_listening"]},
                      headers=_keyed("offline-listening-3"))
    assert answer.status_code == 409 and answer.get_json()["reason"] == "case_transferred"
    # Casablanca's worker, whose task it is now, completes it; its UPE's key space is its own.
    assert api.post(f"/api/v1/tasks/{task}/complete", "upe.casa", json={"data": ANSWERS["reception_listening"]},
                    headers=_keyed("offline-listening-3")).status_code == 200


def test_a_possible_duplicate_is_named_in_the_answer_and_in_its_replay(api: ApiClient, engine: Engine):
    body = intake(engine)
    assert api.post("/api/v1/cases", "upe.tanger", json=body).status_code == 201  # reported before, online
    first = _report(api, body, key="synced-later-0001")
    assert first.status_code == 201
    assert [m["reference"] for m in first.get_json()["possible_duplicates"]]
    again = _report(api, body, key="synced-later-0001")
    assert again.get_json()["possible_duplicates"] == first.get_json()["possible_duplicates"]


def test_two_copies_at_once_open_one_case(api: ApiClient, engine: Engine):
    body = intake(engine)
    answers: list[Any] = []
    start = threading.Barrier(2)
    api.token("upe.tanger")  # logged in once, before the race

    def send() -> None:
        start.wait()
        answers.append(_report(api, body))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [201, 201]
    assert len({a.get_json()["id"] for a in answers}) == 1
    assert _cases(engine) == 1


def test_a_twin_that_committed_first_is_answered_from_its_stored_answer(api: ApiClient, engine: Engine,
                                                                       monkeypatch: pytest.MonkeyPatch):
    """The race made certain: the second copy reads no stored answer (the first has not committed
    when it looks), runs, and its insert meets the first's key: it answers the first's answer."""
    body = intake(engine)
    first = _report(api, body)
    real_find = idempotency.find
    calls: list[int] = []

    def late_find(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return None if len(calls) == 1 else real_find(*args, **kwargs)

    monkeypatch.setattr(idempotency, "find", late_find)
    again = _report(api, body)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert _cases(engine) == 1 and len(calls) == 2


def test_keys_expire_and_the_scheduled_job_purges_them(api: ApiClient, engine: Engine, clock: ManualClock):
    body = intake(engine)
    first = _report(api, body)
    clock.advance(timedelta(hours=71))
    api.forget_tokens()
    assert _report(api, body).headers.get("Idempotent-Replayed") == "true"
    clock.advance(timedelta(hours=2))  # past the 72 hours of HIMAYA_IDEMPOTENCY_HOURS
    assert Jobs(engine).purge_idempotency_keys() == 1
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
    api.forget_tokens()
    body = {**body, "report": {**body["report"], "received_at": (engine.now() - timedelta(hours=1)).isoformat()}}
    fresh = _report(api, body)  # the key is free again: a new request under it
    assert fresh.status_code == 201 and fresh.get_json()["id"] != first.get_json()["id"]


def test_an_expired_key_not_yet_purged_makes_way(api: ApiClient, engine: Engine, clock: ManualClock):
    body = intake(engine)
    _report(api, body)
    clock.advance(timedelta(hours=73))
    api.forget_tokens()
    body = {**body, "report": {**body["report"], "received_at": (engine.now() - timedelta(hours=1)).isoformat()}}
    assert _report(api, body).status_code == 201
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


@pytest.mark.sqlite_only
def test_the_openapi_document_names_the_header(api: ApiClient):
    spec = api.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/cases", "/api/v1/tasks/{task_id}/complete"):
        names = {p["name"] for p in spec["paths"][path]["post"].get("parameters", [])}
        assert "Idempotency-Key" in names, path
        assert "422" in spec["paths"][path]["post"]["responses"]
