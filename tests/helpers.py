"""Helpers to drive cases through the pathway in tests."""
from __future__ import annotations

import codecs
import itertools
import os
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine.models import CaseEvent, OpenTask, OutboxMessage, TaskRecord
from engine.runtime import Actor, CommandResult, Engine

if TYPE_CHECKING:
    from tests.conftest import ApiClient

# The master key of the test databases, for the processes a test starts with an environment of its own.
KEY_ENV = {"HIMAYA_DATA_KEY": os.environ.get("HIMAYA_DATA_KEY", "")}
UPE = Actor("upe.tanger", "case_worker")
CAPE = Actor("cape.tanger", "coordinator")
JUSTICE = Actor("parquet.tanger", "partner")
HEALTH = Actor("sante.tanger", "partner")

ACTORS = {"case_worker": UPE, "coordinator": CAPE}

_SURNAMES = itertools.count()
_CONSONANTS = "bdfklmnrs"  # one of each sound class: no two surnames below share a search key


def distinct_surname() -> str:
    """A family name no other report of the test run has (each report is another child, so the
    duplicate check flags nothing unless a test means it to)."""
    n, letters = next(_SURNAMES), []
    for _ in range(4):
        n, digit = divmod(n, len(_CONSONANTS))
        letters.append(_CONSONANTS[digit] + "a")
    return "Ta" + "".join(letters)


def report(engine: Engine, *, categories: list[str] | None = None, medical: bool = False,
           danger: bool = False, province: str = "tanger-assilah", **child: Any) -> dict[str, Any]:
    person = {"first_name": "Amina", "last_name": distinct_surname(), "sex": "F", "birth_date": "2014-03-01",
              "age_estimate": None, "civil_status_registered": True, "nationality": "MA"}
    person.update(child)
    return {
        "child": person, "province": province, "unit": f"upe-{province}",
        "categories": categories or ["out_of_school"],
        "report": {"source": "phone_line", "received_at": (engine.now() - timedelta(hours=1)).isoformat(),
                   "description": "Signalement de test"},
        "emergency": {"medical": medical, "immediate_danger": danger},
        "consent": {"legal_basis": "protection_mandate", "child_informed": True, "guardian_informed": False},
    }


def open_steps(engine: Engine, case_id: str) -> list[str]:
    with engine.db.reading() as session:
        return sorted(session.scalars(select(OpenTask.step).where(OpenTask.case_id == case_id)))


def task_id(engine: Engine, case_id: str, step: str) -> str:
    with engine.db.reading() as session:
        ids = list(session.scalars(select(OpenTask.id).where(OpenTask.case_id == case_id, OpenTask.step == step)))
    assert len(ids) == 1, f"expected one open '{step}' task, found {len(ids)}"
    return ids[0]


def actor_for(engine: Engine, case_id: str, step: str) -> Actor:
    with engine.db.reading() as session:
        row = session.scalars(select(OpenTask).where(OpenTask.case_id == case_id, OpenTask.step == step)).one()
    if row.role == "partner":
        return JUSTICE if row.sector == "justice" else HEALTH
    return ACTORS[row.role]


def do(engine: Engine, case_id: str, step: str, **data: Any) -> CommandResult:
    return engine.complete(task_id(engine, case_id, step), data, actor_for(engine, case_id, step))


def completed_steps(engine: Engine, case_id: str) -> list[str]:
    with engine.db.reading() as session:
        return list(session.scalars(select(TaskRecord.step).where(
            TaskRecord.case_id == case_id, TaskRecord.outcome == "completed").order_by(TaskRecord.ended_at)))


def events(engine: Engine, case_id: str, kind: str | None = None) -> list[CaseEvent]:
    with engine.db.reading() as session:
        query = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        if kind:
            query = query.where(CaseEvent.kind == kind)
        return list(session.scalars(query))


def outbox(engine: Engine, case_id: str) -> list[OutboxMessage]:
    with engine.db.reading() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id)))


# Valid answers for each form, used to walk a case through the pathway.
ANSWERS: dict[str, dict[str, Any]] = {
    "immediate_assistance": {"assistance_provided": ["medical_care", "shelter"], "assistance_notes": "Mise à l'abri."},
    "judicial_decision": {"judicial_measure": "investigation_opened", "decision_date": "2026-11-21"},
    "reception_listening": {"listening_date": "2026-11-20", "child_heard": True, "listening_summary": "Écoute faite.",
                            "diagnoses": ["medical", "social"]},
    "diagnosis_medical": {"medical_findings": "Contusions.", "medical_care_needed": True},
    "diagnosis_medicolegal": {"medicolegal_certificate": "CML-1", "itt_days": 10, "medicolegal_findings": "ITT 10 j."},
    "diagnosis_psychological": {"psychological_findings": "Anxiété.", "trauma_signs": True},
    "diagnosis_social": {"family_situation": "single_parent", "social_findings": "Mère seule."},
    "orientation": {"accompaniments": ["psychological", "legal"], "individual_plan": "Plan individuel."},
    "accompaniment_medical": {"medical_accompaniment_summary": "Soins."},
    "accompaniment_psychological": {"psychological_accompaniment_summary": "Séances.", "psychological_sessions": 6},
    "accompaniment_legal": {"legal_accompaniment_summary": "Avocat commis."},
    "accompaniment_social": {"social_accompaniment_summary": "Aide sociale."},
    "reintegration": {"reintegration_type": "school", "reintegration_details": "Retour à l'école."},
    "placement_order": {"placement_institution": "Centre", "order_reference": "ORD-1", "order_date": "2026-12-01"},
    "follow_up": {"visit_date": "2027-01-05", "visit_summary": "Visite.", "situation_stable": True},
    "closure_approval": {"closure_decision": "approve", "closure_comments": "Situation stable.",
                         "closure_reason": "stable_reintegration", "closure_outcome": "living_with_family"},
}


def csrf_of(html: str) -> str:
    """The CSRF token of the forms in a page's HTML."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has a form with a CSRF token"
    return match.group(1)


def page_csrf(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of a page's forms."""
    return csrf_of(client.get(path).get_data(as_text=True))


def page_login(client: FlaskClient, username: str) -> TestResponse:
    """Log a demo user in on the pages (password ``demo-<username>``); returns the response."""
    token = page_csrf(client)
    return client.post("/login", data={"username": username, "password": f"demo-{username}", "csrf_token": token})


def complete_by_api(api: ApiClient, user: str, task: str, data: dict[str, Any]) -> TestResponse:
    """``POST /api/v1/tasks/{task}/complete`` as ``user``, logged in at the test clock's now."""
    api.forget_tokens()
    return api.post(f"/api/v1/tasks/{task}/complete", user, json={"data": data})


# A DTD whose entities grow 1 000-fold, and the shipped pathway naming its process with them.
ENTITY_DTD = ('<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
              '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')
# (Python codec, what the XML declaration says, byte order mark written first)
WIDE_ENCODINGS = [("utf-16-le", "UTF-16", codecs.BOM_UTF16_LE), ("utf-16-be", "UTF-16", codecs.BOM_UTF16_BE),
                  ("utf-16-le", "UTF-16LE", b""), ("utf-16-be", "UTF-16BE", b""),
                  ("utf-32-le", "UTF-32", codecs.BOM_UTF32_LE), ("utf-32-be", "UTF-32BE", b"")]


def with_entities(xml: str) -> str:
    """``xml`` (the shipped pathway) with a DTD, its process named by 120 000 characters of entities."""
    declaration = '<?xml version="1.0" encoding="UTF-8"?>'
    assert xml.startswith(declaration), "fixture drift: the pathway's XML declaration changed"
    named = xml.replace('name="Parcours territorial de protection de l\'enfant" isExecutable',
                        'name="' + "&c;" * 120 + '" isExecutable', 1)
    assert named != xml, "fixture drift: the process name changed"
    return named.replace(declaration, declaration + "\n" + ENTITY_DTD, 1)


def encoded(xml: str, codec: str, declared: str, mark: bytes) -> bytes:
    """``xml`` (declared UTF-8) written in another encoding, its declaration saying so."""
    return mark + xml.replace('encoding="UTF-8"', f'encoding="{declared}"', 1).encode(codec)


TEN_YEARS = timedelta(days=3653 + 1)  # past the default retention of a closed file


def anonymise_after_ten_years(engine: Engine, clock: Any) -> Any:
    """Ten years on, the retention job's plan applied (engine.retention): its outcome."""
    from engine import retention

    clock.advance(TEN_YEARS)
    now = clock.now()
    return retention.apply(engine.db, engine.definition, now,
                           retention.plan(engine.db, now, retention.RetentionPolicy()))

