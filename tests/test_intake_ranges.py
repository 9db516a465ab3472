"""Dates within their window and booleans that are booleans (issue 15, F12): the report's date from
2000 to now (a few minutes of clock difference allowed) and not before the child's birth, step
dates from 1900 to 2100, and JSON true/false only in the intake, each refused field by field in
the caller's language and writing nothing."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select

from engine.forms import compile_form
from engine.models import Case
from tests.api_data import intake
from tests.conftest import ApiClient
from tests.helpers import ANSWERS


def _report(api: ApiClient, body: dict[str, Any], language: str = "fr") -> tuple[int, Any]:
    response = api.post("/api/v1/cases", "upe.tanger", json=body, headers={"Accept-Language": language})
    return response.status_code, response.get_json()


def _cases(api: ApiClient) -> int:
    with api.app.extensions["himaya"].db.reading() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


def _by_age(api: ApiClient, received_at: str) -> dict[str, Any]:
    """A report of a child of about ten (no birth date, so that only the report's date is judged)."""
    body = intake(api.app.extensions["himaya"])
    body["child"].update(birth_date=None, age_estimate=10)
    body["report"]["received_at"] = received_at
    return body


@pytest.mark.parametrize("received_at", ["0001-01-01T00:00:00+00:00", "0001-01-01T00:30:00+14:00",
                                         "1900-06-01T10:00:00+01:00", "1999-12-31T23:59:59+00:00"])
def test_a_report_dated_before_2000_is_refused(api: ApiClient, received_at: str):
    status, body = _report(api, _by_age(api, received_at))
    assert status == 400, body
    assert body["errors"]["json"]["report"]["received_at"] == ["La date du signalement doit être en 2000 ou après."]
    assert _cases(api) == 0


@pytest.mark.parametrize("ahead", [timedelta(minutes=6), timedelta(days=1), None])
def test_a_report_dated_in_the_future_is_refused(api: ApiClient, ahead: timedelta | None):
    now = api.app.extensions["himaya"].now()
    received_at = "9999-12-31T23:59:59-14:00" if ahead is None else (now + ahead).isoformat()
    status, body = _report(api, _by_age(api, received_at), "ar")
    assert status == 400, body
    assert body["errors"]["json"]["report"]["received_at"] == ["تاريخ التبليغ يقع في المستقبل."]
    assert _cases(api) == 0


def test_a_report_a_few_minutes_ahead_of_the_servers_clock_is_accepted(api: ApiClient):
    now = api.app.extensions["himaya"].now()
    status, body = _report(api, _by_age(api, (now + timedelta(minutes=3)).isoformat()))
    assert status == 201, body


def test_a_report_dated_before_the_childs_birth_is_refused(api: ApiClient):
    body = intake(api.app.extensions["himaya"])
    body["child"]["birth_date"] = "2014-03-01"
    body["report"]["received_at"] = "2014-02-28T10:00:00+01:00"
    status, answer = _report(api, body, "en")
    assert status == 400
    assert answer["errors"]["json"]["child"]["birth_date"] == ["The birth date is after the report date."]


BOOLEANS = [("emergency", "medical"), ("emergency", "immediate_danger"), ("consent", "child_informed"),
            ("consent", "guardian_informed"), ("child", "civil_status_registered")]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("section, name", BOOLEANS)
@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "false", "on", 1.0])
def test_intake_booleans_take_only_true_or_false(api: ApiClient, section: str, name: str, value: Any):
    body = intake(api.app.extensions["himaya"])
    body[section][name] = value
    status, answer = _report(api, body)
    assert status == 400, answer
    assert answer["errors"]["json"][section][name] == ["Répondez par true ou false (ni texte ni nombre)."]
    assert _cases(api) == 0


def test_intake_boolean_messages_are_translated(api: ApiClient):
    body = intake(api.app.extensions["himaya"])
    body["emergency"]["medical"] = "yes"
    assert _report(api, body, "ar")[1]["errors"]["json"]["emergency"]["medical"] == [
        "أجب بـ true أو false (لا نص ولا رقم)."]
    assert _report(api, body, "en")[1]["errors"]["json"]["emergency"]["medical"] == [
        "Answer true or false (not text or a number)."]
    body["emergency"]["medical"] = True
    assert _report(api, body)[0] == 201


@pytest.mark.parametrize("decision_date", ["9999-12-31", "0001-01-01", "1899-12-31", "2101-01-01"])
def test_step_dates_outside_1900_to_2100_are_refused(api: ApiClient, decision_date: str):
    case = api.post("/api/v1/cases", "upe.tanger", json=intake(api.app.extensions["himaya"])).get_json()
    task = next(t for t in case["open_tasks"] if t["name"] == "judicial_decision")
    data = {**ANSWERS["judicial_decision"], "decision_date": decision_date}
    response = api.post(f"/api/v1/tasks/{task['id']}/complete", "parquet.tanger", json={"data": data},
                        headers={"Accept-Language": "fr"})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["errors"]["json"]["data"]["decision_date"] == [
        "Choisissez une date entre 1900 et 2100."]
    done = api.post(f"/api/v1/tasks/{task['id']}/complete", "parquet.tanger",
                    json={"data": ANSWERS["judicial_decision"]})
    assert done.status_code == 200, done.get_json()


def test_step_date_times_have_the_same_window():
    form = compile_form("visit", {"type": "default", "components": [
        {"type": "datetime", "id": "f1", "key": "seen_at", "subtype": "datetime", "dateLabel": "Date"},
        {"type": "datetime", "id": "f2", "key": "at", "subtype": "time", "timeLabel": "Heure"}]})
    for moment in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1899-12-31T12:00:00+00:00"):
        with pytest.raises(ValidationError) as caught:
            form.validate({"seen_at": moment})
        assert caught.value.messages == {"seen_at": ["Choose a date between 1900 and 2100."]}
    assert form.validate({"seen_at": "2026-11-20T10:00:00+01:00", "at": "23:59"})["seen_at"].startswith("2026-11-20")
