"""No silent notification: a message nobody can receive is an incident for the CAPE coordinators.

A prosecutor notification in a province without an active justice partner is not "sent": the
outbox row is ``undeliverable``, an incident is open, the case's history says so, the province's
coordinators are alerted (inbox, e-mail) and see it listed until one of them records how the
prosecutor's office was informed instead.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from api.jobs import Jobs
from engine.incidents import raise_incident
from engine.models import DeliveryIncident, Notification, OutboxMessage, User
from engine.runtime import Engine
from notifications.channels import EmailSender, parse_smtp_url
from tests.conftest import ApiClient
from tests.helpers import UPE, csrf_of, events, outbox, page_login, report
from tests.test_escalation import Inbox

VIOLENCE = ["victim_violence"]
CASA_UPE = UPE.__class__("upe.casa", "case_worker")


def _deactivate(engine: Engine, *usernames: str) -> None:
    with engine.db.transaction() as session:
        session.execute(update(User).where(User.username.in_(usernames)).values(active=False))


def _report_violence(engine: Engine, province: str = "tanger-assilah") -> str:
    actor = UPE if province == "tanger-assilah" else CASA_UPE
    return engine.start_case(report(engine, categories=VIOLENCE, province=province), actor).case_id


def _prosecutor_row(engine: Engine, case_id: str) -> OutboxMessage:
    rows = [m for m in outbox(engine, case_id) if m.topic == "prosecutor_notification" and m.channel == "partner"]
    assert len(rows) == 1
    return rows[0]


def _incidents(engine: Engine) -> list[DeliveryIncident]:
    with engine.db.reading() as session:
        return list(session.scalars(select(DeliveryIncident).order_by(DeliveryIncident.id)))


def _deliver(engine: Engine, inbox: Inbox | None = None) -> dict[str, Any]:
    email = EmailSender(parse_smtp_url(inbox.url)) if inbox else None
    return Jobs(engine, email=email).deliver()


GOOD = {"informed_via": "phone", "informed_at": "2026-11-20T08:30:00+01:00",
        "note": "Substitut du procureur joint par téléphone.", "acknowledgment_reference": "PV-2026/118"}


# --- delivery -----------------------------------------------------------------------------------

def test_no_active_justice_partner_makes_an_incident_and_alerts_the_coordinators(engine: Engine):
    _deactivate(engine, "parquet.tanger")
    case_id = _report_violence(engine)
    with Inbox() as inbox:
        outcome = _deliver(engine, inbox)
        addressed = sorted(rcpt[0] for rcpt, _message in inbox.messages)
        texts = inbox.texts()
    assert outcome["undeliverable"] == 1
    row = _prosecutor_row(engine, case_id)
    assert row.status == "undeliverable" and row.sent_at is None, "never a silent 'sent'"
    [incident] = _incidents(engine)
    assert (incident.status, incident.case_id, incident.province, incident.topic, incident.outbox_id) == (
        "open", case_id, "tanger-assilah", "prosecutor_notification", row.id)
    assert incident.recipient == {"role": "partner", "province": "tanger-assilah", "sector": "justice"}
    assert incident.missing == "no_active_recipient"
    [event] = events(engine, case_id, "notification_undeliverable")
    assert event.detail["incident_id"] == incident.id and event.detail["topic"] == "prosecutor_notification"
    # the coordinators: an inbox notification and an e-mail, at once (the same delivery run)
    with engine.db.reading() as session:
        notes = session.scalars(select(Notification).where(Notification.case_id == case_id)).all()
    assert [(n.username, n.topic) for n in notes] == [("cape.tanger", "prosecutor_undeliverable")]
    assert addressed == ["cape.tanger@himaya.example"], "the coordinator, and nobody at the prosecutor's office"
    assert "Parquet NON informé" in texts[0] and f"/incidents/{incident.id}" in texts[0]
    assert "Tanger" in texts[0] and "Amina" not in texts[0], "the province's name, never the child's"
    assert _deliver(engine)["undeliverable"] == 0, "raised once"
    assert len(_incidents(engine)) == 1


def test_an_active_justice_partner_receives_it_and_there_is_no_incident(engine: Engine):
    case_id = _report_violence(engine, "casablanca")
    with Inbox() as inbox:
        outcome = _deliver(engine, inbox)
        addressed = sorted(rcpt[0] for rcpt, _message in inbox.messages)
    assert outcome["undeliverable"] == 0
    assert _prosecutor_row(engine, case_id).status == "sent"
    assert _incidents(engine) == [] and events(engine, case_id, "notification_undeliverable") == []
    assert addressed == ["parquet.casa@himaya.example"]


def test_a_group_with_active_users_but_no_email_or_phone_is_delivered_in_app(engine: Engine):
    """The decision: the in-app inbox (and the partner's task list) is a channel every active
    account has, so the message reached someone; it is "sent" and raises no incident."""
    with engine.db.transaction() as session:
        session.execute(update(User).where(User.username == "parquet.tanger").values(email=None, phone=None))
    case_id = _report_violence(engine)
    with Inbox() as inbox:
        _deliver(engine, inbox)
        assert inbox.messages == [] or all("parquet" not in r[0][0] for r in inbox.messages)
    assert _prosecutor_row(engine, case_id).status == "sent" and _incidents(engine) == []
    with engine.db.reading() as session:
        assert session.scalars(select(Notification.username).where(
            Notification.topic == "prosecutor_notification")).all() == ["parquet.tanger"]


def test_a_partner_referral_and_a_reminder_to_nobody_are_incidents_too(engine: Engine):
    case_id = _report_violence(engine, "casablanca")
    _deactivate(engine, "sante.casa", "upe.casa")
    now = engine.now()
    with engine.db.transaction() as session:
        session.add_all([
            OutboxMessage(created_at=now, case_id=case_id, topic="partner_referral", channel="partner",
                          recipient={"role": "partner", "province": "casablanca", "sector": "health"},
                          payload={"case_id": case_id, "case_reference": "CAS-X", "sector": "health"},
                          status="pending", attempts=0, next_attempt_at=now),
            OutboxMessage(created_at=now, case_id=case_id, topic="reminder", channel="notify",
                          recipient={"usernames": ["upe.casa"]}, payload={"case_id": case_id},
                          status="pending", attempts=0, next_attempt_at=now)])
    assert _deliver(engine)["undeliverable"] == 2
    found = {i.topic: i for i in _incidents(engine)}
    assert set(found) == {"partner_referral", "reminder"}
    assert all(i.province == "casablanca" and i.status == "open" for i in found.values())
    with engine.db.reading() as session:
        alerts = session.scalars(select(Notification.topic).where(Notification.username == "cape.casa")).all()
    assert sorted(alerts) == ["delivery_incident", "delivery_incident"]


def test_an_alert_that_finds_no_coordinator_raises_no_incident_about_an_incident(engine: Engine):
    _deactivate(engine, "parquet.tanger", "cape.tanger")
    case_id = _report_violence(engine)
    outcome = _deliver(engine)
    assert outcome["undeliverable"] == 2  # the prosecutor notification, then the coordinators' alert
    [incident] = _incidents(engine)
    assert incident.topic == "prosecutor_notification", "the administrators see it (every province's)"
    statuses = {m.topic: m.status for m in outbox(engine, case_id) if m.channel in ("partner", "notify")}
    assert statuses["prosecutor_undeliverable"] == "undeliverable"


def test_raising_is_part_of_the_delivery_transaction(engine: Engine):
    """A raise that fails leaves nothing half-written: the row is claimed again later."""
    _deactivate(engine, "parquet.tanger")
    case_id = _report_violence(engine)
    import notifications.delivery as delivery

    def broken(conn: Any, row: Any, now: Any) -> int:
        raise_incident(conn, row, now)
        raise RuntimeError("disk full")

    original = delivery.raise_incident
    delivery.raise_incident = broken
    try:
        with pytest.raises(RuntimeError):
            _deliver(engine)
    finally:
        delivery.raise_incident = original
    assert _incidents(engine) == [] and _prosecutor_row(engine, case_id).status == "sending"
    with engine.db.transaction() as session:  # the lease runs out
        session.execute(update(OutboxMessage).values(claimed_until=engine.now() - timedelta(seconds=1)))
    _deliver(engine)
    assert len(_incidents(engine)) == 1 and _prosecutor_row(engine, case_id).status == "undeliverable"


# --- the API ----------------------------------------------------------------------------------

@pytest.fixture
def incident_api(api: ApiClient) -> tuple[ApiClient, Engine, str, int]:
    engine = api.app.extensions["himaya"]
    _deactivate(engine, "parquet.tanger")
    case_id = _report_violence(engine)
    _deliver(engine)
    [incident] = _incidents(engine)
    return api, engine, case_id, incident.id


def test_the_coordinator_lists_reads_and_resolves_the_incident(incident_api):
    api, engine, case_id, incident_id = incident_api
    listed = api.get("/api/v1/incidents?lang=en", "cape.tanger").get_json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert (item["id"], item["status"], item["case_id"], item["topic"], item["province"]) == (
        incident_id, "open", case_id, "prosecutor_notification", "tanger-assilah")
    assert item["case_reference"].startswith("TNG-")
    assert item["description"] == "No active justice partner (prosecutor's office) in the province of Tanger-Assilah."
    arabic = api.get(f"/api/v1/incidents/{incident_id}?lang=ar", "cape.tanger").get_json()
    assert "العدل" in arabic["description"], arabic["description"]
    assert api.get("/api/v1/incidents", "cppe.tanger").get_json()["total"] == 1, "the CPPE reads it too"

    resolved = api.post(f"/api/v1/incidents/{incident_id}/resolve", "cape.tanger", json=GOOD)
    assert resolved.status_code == 200, resolved.get_json()
    body = resolved.get_json()
    assert (body["status"], body["resolved_by"], body["informed_via"], body["acknowledgment_reference"]) == (
        "resolved", "cape.tanger", "phone", "PV-2026/118")
    assert body["informed_at"].startswith("2026-11-20T07:30:00")
    [event] = events(engine, case_id, "incident_resolved")
    assert event.actor == "cape.tanger" and event.detail["informed_via"] == "phone"
    assert event.detail["incident_id"] == incident_id
    assert api.get("/api/v1/incidents", "cape.tanger").get_json()["total"] == 0, "no longer open"
    assert api.get("/api/v1/incidents?status=resolved", "cape.tanger").get_json()["total"] == 1
    again = api.post(f"/api/v1/incidents/{incident_id}/resolve", "cape.tanger", json=GOOD)
    assert again.status_code == 409, again.get_json()
    history = api.get(f"/api/v1/cases/{case_id}/history", "cape.tanger").get_json()
    kinds = [e["kind"] for e in history["events"]]
    assert "notification_undeliverable" in kinds and "incident_resolved" in kinds and "incident_viewed" in kinds


@pytest.mark.parametrize("body, field", [
    ({**GOOD, "informed_via": "pigeon"}, "informed_via"),
    ({k: v for k, v in GOOD.items() if k != "informed_via"}, "informed_via"),
    ({k: v for k, v in GOOD.items() if k != "informed_at"}, "informed_at"),
    ({**GOOD, "informed_at": "2026-11-20T08:30:00"}, "informed_at"),  # no time zone
    ({**GOOD, "informed_at": "1999-12-31T08:30:00+00:00"}, "informed_at"),
    ({**GOOD, "informed_at": "2026-11-21T08:30:00+00:00"}, "informed_at"),  # tomorrow
    ({**GOOD, "informed_via": "other", "note": "  "}, "note"),
    ({**GOOD, "acknowledgment_reference": "PV\u202e-1"}, "acknowledgment_reference"),
    ({**GOOD, "note": "x" * 2001}, "note"),
    ({**GOOD, "extra": 1}, "extra"),
])
def test_bad_input_is_a_400_with_the_field_and_changes_nothing(incident_api, body, field):
    api, engine, case_id, incident_id = incident_api
    answer = api.post(f"/api/v1/incidents/{incident_id}/resolve?lang=en", "cape.tanger", json=body)
    assert answer.status_code == 400, answer.get_json()
    assert field in answer.get_json()["errors"]["json"], answer.get_json()
    english = answer.get_json()["errors"]["json"][field]
    french = api.post(f"/api/v1/incidents/{incident_id}/resolve?lang=fr", "cape.tanger",
                      json=body).get_json()["errors"]["json"][field]
    assert french != english, f"a message a person reads, in French too: {french}"
    [incident] = _incidents(engine)
    assert incident.status == "open" and events(engine, case_id, "incident_resolved") == []


def test_another_province_and_other_roles_see_nothing(incident_api):
    api, _engine, _case_id, incident_id = incident_api
    assert api.get("/api/v1/incidents", "cape.casa").get_json()["total"] == 0
    assert api.get(f"/api/v1/incidents/{incident_id}", "cape.casa").status_code == 404
    assert api.post(f"/api/v1/incidents/{incident_id}/resolve", "cape.casa", json=GOOD).status_code == 404
    for user in ("upe.tanger", "sante.tanger", "parquet.casa", "national"):
        assert api.get("/api/v1/incidents", user).status_code == 403, user
        assert api.get(f"/api/v1/incidents/{incident_id}", user).status_code == 403, user
        assert api.post(f"/api/v1/incidents/{incident_id}/resolve", user, json=GOOD).status_code == 403, user
    assert api.post(f"/api/v1/incidents/{incident_id}/resolve", "cppe.tanger", json=GOOD).status_code == 403
    assert api.get("/api/v1/incidents/999999", "cape.tanger").status_code == 404


def test_administrators_see_every_incident_but_no_file_content(incident_api):
    api, _engine, case_id, incident_id = incident_api
    api.post(f"/api/v1/incidents/{incident_id}/resolve", "cape.tanger", json=GOOD)
    listed = api.get("/api/v1/incidents?status=all&lang=en", "admin").get_json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert item["case_reference"].startswith("TNG-") and item["province"] == "tanger-assilah"
    assert item["topic"] == "prosecutor_notification" and "justice" in item["description"]
    for hidden in ("case_id", "note", "acknowledgment_reference", "informed_via", "resolved_by"):
        assert hidden not in item, hidden
    assert case_id not in str(listed)
    assert api.post(f"/api/v1/incidents/{incident_id}/resolve", "admin", json=GOOD).status_code == 403
    outbox_rows = api.get("/api/v1/admin/outbox?status=undeliverable", "admin").get_json()
    assert [r["topic"] for r in outbox_rows["items"]] == ["prosecutor_notification"]


# --- the pages --------------------------------------------------------------------------------

def _page_incident(web: FlaskClient, engine: Engine) -> tuple[str, int]:
    _deactivate(engine, "parquet.tanger")
    case_id = _report_violence(engine)
    _deliver(engine)
    [incident] = _incidents(engine)
    return case_id, incident.id


def test_the_coordinator_sees_it_where_the_day_starts_and_resolves_it_on_the_page(web: FlaskClient, engine: Engine):
    case_id, incident_id = _page_incident(web, engine)
    page_login(web, "cape.tanger")
    tasks = web.get("/tasks").get_data(as_text=True)
    assert 'id="incidents-line"' in tasks and "Notifications au parquet non remises : 1." in tasks
    assert 'href="/incidents"' in tasks
    listing = web.get("/incidents").get_data(as_text=True)
    assert "Aucun partenaire justice actif (parquet) dans la province de Tanger-Assilah." in listing
    assert f'href="/incidents/{incident_id}"' in listing
    case_page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "La notification au parquet n&#39;a pas pu être remise" in case_page or \
        "La notification au parquet n'a pas pu être remise" in case_page
    assert f'href="/incidents/{incident_id}"' in case_page
    form = web.get(f"/incidents/{incident_id}")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and 'id="resolve-form"' in html
    token = csrf_of(html)
    bad = web.post(f"/incidents/{incident_id}", data={"csrf_token": token, "informed_at": "2026-11-20T09:00",
                                                     "note": "gardée"})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert 'id="informed_via-error"' in text and "gardée" in text
    done = web.post(f"/incidents/{incident_id}", data={"csrf_token": token, "informed_via": "fax",
                                                      "informed_at": "2026-11-20T09:00", "note": "Fax envoyé."})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    [incident] = _incidents(engine)
    assert incident.status == "resolved" and incident.informed_via == "fax"
    assert incident.informed_at is not None and incident.informed_at.hour == 8, "09:00 in Casablanca is 08:00 UTC"
    assert 'id="incidents-line"' not in web.get("/tasks").get_data(as_text=True)
    timeline = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Parquet informé par un autre moyen (Fax)" in timeline
    assert "La notification au parquet n&#39;a pas pu être remise" in timeline or \
        "La notification au parquet n'a pas pu être remise" in timeline
    again = web.post(f"/incidents/{incident_id}", data={"csrf_token": token, "informed_via": "fax",
                                                       "informed_at": "2026-11-20T09:00"})
    assert again.status_code == 409 and "déjà résolu" in again.get_data(as_text=True)


def test_the_pages_follow_the_scope(web: FlaskClient, engine: Engine):
    _case_id, incident_id = _page_incident(web, engine)
    page_login(web, "cape.casa")
    assert "Aucun message en attente" in web.get("/incidents").get_data(as_text=True)
    assert 'id="incidents-line"' not in web.get("/tasks").get_data(as_text=True)
    assert web.get(f"/incidents/{incident_id}").status_code == 404
    web.post("/logout", data={"csrf_token": csrf_of(web.get("/tasks").get_data(as_text=True))})
    page_login(web, "upe.tanger")
    assert web.get("/incidents").status_code == 403
    assert web.get(f"/incidents/{incident_id}").status_code == 403
    assert 'id="incidents-line"' not in web.get("/tasks").get_data(as_text=True)
    web.post("/logout", data={"csrf_token": csrf_of(web.get("/tasks").get_data(as_text=True))})
    page_login(web, "cppe.tanger")
    supervision = web.get("/supervision").get_data(as_text=True)
    assert 'id="incidents-line"' in supervision
    detail = web.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert 'id="resolve-form"' not in detail, "the CPPE reads, the CAPE resolves"



def test_the_judicial_card_says_a_notification_was_not_delivered_and_how_the_office_was_informed(api, engine):
    _deactivate(engine, "parquet.tanger")
    case_id = _report_violence(engine)
    _deliver(engine)
    [sent] = api.get(f"/api/v1/cases/{case_id}", "cape.tanger").get_json()["judicial"]["notifications"]
    assert sent["status"] == "undeliverable" and sent["incident"]["status"] == "open"
    resolved = api.post(f"/api/v1/incidents/{sent['incident']['id']}/resolve", "cape.tanger", json=GOOD)
    assert resolved.status_code == 200, resolved.get_json()
    [sent] = api.get(f"/api/v1/cases/{case_id}", "cape.tanger").get_json()["judicial"]["notifications"]
    assert sent["incident"]["status"] == "resolved" and sent["incident"]["informed_via"] == "phone"
