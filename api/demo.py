"""Demo data (``himaya demo``): the two provinces of docs/api.md, their units, users and cases.

Users have the password ``demo-<username>``; they exist only when demo data was asked for.
Cases are fictitious and created only when the database holds none.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.models import Case, User
from engine.reference_data import ensure_unit
from engine.runtime import Actor, Engine
from engine.vocabulary import (
    ADMIN,
    CAPE,
    CARE_INSTITUTION,
    CASE_WORKER,
    COORDINATOR,
    JUSTICE,
    NATIONAL,
    PARTNER,
    SUPERVISOR,
    UPE,
)

from .auth import hash_password

DEMO_PROVINCES = {"tanger-assilah": "tanger", "casablanca": "casa"}
# username suffix → (role, sector)
DEMO_STAFF = {
    "upe": (CASE_WORKER, None),
    "cape": (COORDINATOR, None),
    "parquet": (PARTNER, JUSTICE),
    "sante": (PARTNER, "health"),
    "cppe": (SUPERVISOR, None),
}
# A care institution of Tanger-Assilah and its social mediator (a case worker of the institution),
# who accompanies its young people of 16 to 22 on the aftercare pathway.
DEMO_INSTITUTION = ("eps-tanger-assilah", "tanger-assilah", "Établissement de protection sociale Dar Al Atfal")
DEMO_MEDIATOR = "mediateur.tanger"


def demo_users() -> list[dict[str, Any]]:
    users = []
    for province, short in DEMO_PROVINCES.items():
        for prefix, (role, sector) in DEMO_STAFF.items():
            users.append({"username": f"{prefix}.{short}", "role": role, "sector": sector, "province": province,
                          "unit": f"upe-{province}" if role == CASE_WORKER else None})
    users.append({"username": DEMO_MEDIATOR, "role": CASE_WORKER, "sector": None, "province": DEMO_INSTITUTION[1],
                  "unit": DEMO_INSTITUTION[0]})
    users.append({"username": "national", "role": NATIONAL, "sector": None, "province": None, "unit": None})
    users.append({"username": "admin", "role": ADMIN, "sector": None, "province": None, "unit": None})
    return users


def create_demo_users(session: Session, now: datetime) -> int:
    """Units ``upe-<province>`` and ``cape-<province>`` and the demo users (idempotent)."""
    for province in DEMO_PROVINCES:
        ensure_unit(session, f"upe-{province}", province, UPE, f"UPE {province}")
        ensure_unit(session, f"cape-{province}", province, CAPE, f"CAPE {province}")
    ensure_unit(session, DEMO_INSTITUTION[0], DEMO_INSTITUTION[1], CARE_INSTITUTION, DEMO_INSTITUTION[2])
    created = 0
    for spec in demo_users():
        if session.scalar(select(User.id).where(User.username == spec["username"])) is not None:
            continue
        session.add(User(username=spec["username"], password_hash=hash_password(f"demo-{spec['username']}"),
                         full_name=spec["username"], role=spec["role"], province=spec["province"],
                         unit=spec["unit"], sector=spec["sector"], language="fr", active=True,
                         email=f"{spec['username']}@himaya.example",
                         created_at=now, password_changed_at=now))
        created += 1
    session.flush()
    return created


def _report(engine: Engine, province: str, first_name: str, sex: str, birth_date: str,
            categories: list[str], emergency: dict[str, bool], days_ago: int) -> dict[str, Any]:
    received = (engine.now() - timedelta(days=days_ago)).isoformat()
    return {
        "child": {"first_name": first_name, "last_name": "Démo", "sex": sex, "birth_date": birth_date,
                  "civil_status_registered": True, "nationality": "MA"},
        "province": province, "unit": f"upe-{province}", "categories": categories,
        "report": {"source": "phone_line", "received_at": received, "description": "Cas de démonstration."},
        "emergency": emergency,
        "consent": {"legal_basis": "protection_mandate", "child_informed": True, "guardian_informed": False},
    }


def load_demo(engine: Engine) -> int:
    """Create the demo units, users and cases; returns how many cases were created."""
    with engine.db.transaction() as session:
        create_demo_users(session, engine.now())
    with engine.db.reading() as session:
        if session.scalar(select(func.count()).select_from(Case)):
            return 0
    created = 0
    for province, short in DEMO_PROVINCES.items():
        actor = Actor(f"upe.{short}", CASE_WORKER)
        reports = [
            _report(engine, province, "Salma", "F", "2013-05-02", ["victim_violence"],
                    {"medical": False, "immediate_danger": True}, 1),
            _report(engine, province, "Youssef", "M", "2011-09-17", ["out_of_school", "poor_family"],
                    {"medical": False, "immediate_danger": False}, 5),
            _report(engine, province, "Imane", "F", "2015-01-23", ["street", "begging"],
                    {"medical": False, "immediate_danger": False}, 10),
        ]
        for report in reports:
            engine.start_case(report, actor)
            created += 1
    engine.start_case(_aftercare(engine), Actor(DEMO_MEDIATOR, CASE_WORKER))
    created += 1
    _demo_planning(engine)
    return created


def _aftercare(engine: Engine) -> dict[str, Any]:
    """A young person of 17 about to leave the demo institution, who agreed to be accompanied."""
    today = engine.now().date()
    return {
        "pathway": "aftercare",
        "child": {"first_name": "Karim", "last_name": "Démo", "sex": "M",
                  "birth_date": today.replace(year=today.year - 17, day=1).isoformat(),
                  "civil_status_registered": True, "nationality": "MA"},
        "province": DEMO_INSTITUTION[1], "unit": DEMO_INSTITUTION[0], "categories": ["in_institution"],
        "report": {"source": "self_referral", "received_at": engine.now().isoformat(),
                   "description": "Sortie de l'établissement prévue dans six mois."},
        "consent": {"legal_basis": "consent", "given_by": "Karim Démo", "child_informed": True,
                    "guardian_informed": True,
                    "young_person": {"given": True, "given_on": today.isoformat(), "method": "signed_form"}},
    }


def _demo_planning(engine: Engine) -> None:
    """The last quarter's statistical reports and a draft action plan for Tanger-Assilah."""
    from engine.action_plans import create_plan
    from engine.runtime import SYSTEM
    from engine.statistical_reports import Quarter, open_quarter

    open_quarter(engine, Quarter.last_ended(engine.now()), SYSTEM)
    year = engine.now().year + 1
    action = {"pilot": "Mme Salma Bennani", "partners": ["Délégation de la santé", "Entraide nationale"],
              "resources": "Deux assistantes sociales, un véhicule", "indicators": ["Nombre d'enfants signalés"],
              "expected_results": "Délai de prise en charge réduit", "follow_up": "Revue trimestrielle"}
    actions = [{**action, "title": "Former deux équipes mobiles", "budget_mad": "120000", "deadline": f"{year}-06-30"},
               {**action, "title": "Tenir une permanence d'écoute", "budget_mad": "0", "ongoing": True}]
    specific = {"title": "Mettre en place des équipes mobiles", "actions": actions}
    general = {"title": "Améliorer la détection des enfants victimes", "specific_objectives": [specific]}
    create_plan(engine, {
        "province": "tanger-assilah", "title": f"Plan provincial {year}-{year + 2}",
        "period_start": f"{year}-01-01", "period_end": f"{year + 2}-12-31",
        "content": {"context": "Autodiagnostic des structures de protection de l'enfance de la province.",
                    "priorities": [{"area": "detection_care", "title": "Détection et prise en charge",
                                    "general_objectives": [general]}]},
    }, Actor("cape.tanger", COORDINATOR))
