"""Demo data (``himaya demo``): the provinces of docs/api.md, their units, users and cases.

Users have the password ``demo-<username>``; they exist only when demo data was asked for.
Cases are fictitious and created only when the database holds none.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.models import Case, Province, User
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
    SAS_MOBILE,
    SUPERVISOR,
    UPE,
)

from .auth import hash_password


@dataclass(frozen=True)
class DemoProvince:
    """A demo province: its users' suffix and which units and partners it has."""

    short: str
    upe: bool = True  # without a UPE, the CAPE's social worker (``social.<short>``) takes the UPE's steps
    justice: bool = True  # without a justice partner, a prosecutor notification has no recipient
    sas: bool = False  # a SAS mobile team (``sas.<short>``), which reports children to the UPE or CAPE


DEMO_PROVINCES = {
    "tanger-assilah": DemoProvince("tanger", sas=True),
    "casablanca": DemoProvince("casa"),
    # A province with a CAPE and no UPE, and no justice partner on purpose (a prosecutor
    # notification there reaches nobody: the incident the coordinator must see).
    "chefchaouen": DemoProvince("chaouen", upe=False, justice=False),
}
# username prefix → (role, sector, the kind of unit a case worker belongs to)
DEMO_STAFF: dict[str, tuple[str, str | None, str | None]] = {
    "upe": (CASE_WORKER, None, UPE),
    "social": (CASE_WORKER, None, CAPE),  # the CAPE's social worker, where the province has no UPE
    "sas": (CASE_WORKER, None, SAS_MOBILE),
    "cape": (COORDINATOR, None, None),
    "parquet": (PARTNER, JUSTICE, None),
    "sante": (PARTNER, "health", None),
    "cppe": (SUPERVISOR, None, None),
}


# A care institution of Tanger-Assilah and its social mediator (a case worker of the institution),
# who accompanies its young people of 16 to 22 on the aftercare pathway.
DEMO_INSTITUTION = ("eps-tanger-assilah", "tanger-assilah", "Établissement de protection sociale Dar Al Atfal")
DEMO_MEDIATOR = "mediateur.tanger"


def _staffed(prefix: str, demo: DemoProvince) -> bool:
    return {"upe": demo.upe, "social": not demo.upe, "sas": demo.sas, "parquet": demo.justice}.get(prefix, True)


def demo_users() -> list[dict[str, Any]]:
    users = []
    for province, demo in DEMO_PROVINCES.items():
        for prefix, (role, sector, unit_kind) in DEMO_STAFF.items():
            if _staffed(prefix, demo):
                users.append({"username": f"{prefix}.{demo.short}", "role": role, "sector": sector,
                              "province": province, "unit": unit_code(unit_kind, province) if unit_kind else None})
    users.append({"username": DEMO_MEDIATOR, "role": CASE_WORKER, "sector": None, "province": DEMO_INSTITUTION[1],
                  "unit": DEMO_INSTITUTION[0]})
    users.append({"username": "national", "role": NATIONAL, "sector": None, "province": None, "unit": None})
    users.append({"username": "admin", "role": ADMIN, "sector": None, "province": None, "unit": None})
    return users


UNIT_PREFIXES = {UPE: "upe", CAPE: "cape", SAS_MOBILE: "sas"}
UNIT_TITLES = {UPE: "UPE", CAPE: "CAPE", SAS_MOBILE: "SAS mobile"}


def unit_code(kind: str, province: str) -> str:
    """``upe-<province>``, ``cape-<province>``, ``sas-<province>``."""
    return f"{UNIT_PREFIXES[kind]}-{province}"


def receiving_unit(province: str) -> str:
    """The unit a demo province's children are reported to: its UPE, or its CAPE where it has none."""
    return unit_code(UPE if DEMO_PROVINCES[province].upe else CAPE, province)


def create_demo_users(session: Session, now: datetime) -> int:
    """Units ``upe-<province>`` (where the province has one), ``cape-<province>`` and
    ``sas-<province>`` (Tanger-Assilah), and the demo users (idempotent)."""
    for province, demo in DEMO_PROVINCES.items():
        row = session.get(Province, province)
        name = row.name_fr if row is not None else province
        for kind, present in ((UPE, demo.upe), (CAPE, True), (SAS_MOBILE, demo.sas)):
            if present:
                ensure_unit(session, unit_code(kind, province), province, kind, f"{UNIT_TITLES[kind]} {name}")
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


def _report(engine: Engine, province: str, name: str, sex: str, birth_date: str,
            categories: list[str], emergency: dict[str, bool], days_ago: int,
            source: str = "phone_line") -> dict[str, Any]:
    received = (engine.now() - timedelta(days=days_ago)).isoformat()
    first_name, last_name = name.split(" ", 1)
    return {
        "child": {"first_name": first_name, "last_name": last_name, "sex": sex, "birth_date": birth_date,
                  "civil_status_registered": True, "nationality": "MA"},
        "province": province, "unit": receiving_unit(province), "categories": categories,
        "report": {"source": source, "received_at": received, "description": "Cas de démonstration."},
        "emergency": emergency,
        "consent": {"legal_basis": "protection_mandate", "child_informed": True, "guardian_informed": False},
    }


# Each province's three demo children (a girl at risk, a boy out of school, a girl in the street).
DEMO_CHILDREN = {
    "tanger-assilah": ("Salma El Amrani", "Youssef Bennani", "Imane Tazi"),
    "casablanca": ("Aya Chraibi", "Hamza Berrada", "Nour Lahlou"),
    "chefchaouen": ("Khadija Raissouni", "Ayoub Akhrif", "Hajar Bakkali"),
}


def load_demo(engine: Engine) -> int:
    """Create the demo units, users and cases; returns how many cases were created."""
    with engine.db.transaction() as session:
        create_demo_users(session, engine.now())
    with engine.db.reading() as session:
        if session.scalar(select(func.count()).select_from(Case)):
            return 0
    created = 0
    for province, demo in DEMO_PROVINCES.items():
        actor = Actor(f"{'upe' if demo.upe else 'social'}.{demo.short}", CASE_WORKER)
        street = Actor(f"sas.{demo.short}", CASE_WORKER) if demo.sas else actor  # the mobile team found her
        salma, youssef, imane = DEMO_CHILDREN[province]
        reports = [
            (actor, _report(engine, province, salma, "F", "2013-05-02", ["victim_violence"],
                            {"medical": False, "immediate_danger": True}, 1)),
            (actor, _report(engine, province, youssef, "M", "2011-09-17", ["out_of_school", "poor_family"],
                            {"medical": False, "immediate_danger": False}, 5)),
            (street, _report(engine, province, imane, "F", "2015-01-23", ["street", "begging"],
                             {"medical": False, "immediate_danger": False}, 10,
                             source="mobile_team" if demo.sas else "phone_line")),
        ]
        for reporter, report in reports:
            engine.start_case(report, reporter)
            created += 1
    # The Tanger boy's family moved to Casablanca, where the school reported him again, in Arabic:
    # a possible duplicate the Casablanca team does not see, for both provinces' coordinators.
    moved = _report(engine, "casablanca", "يوسف بناني", "M", "2011-09-17", ["out_of_school"],
                    {"medical": False, "immediate_danger": False}, 0, source="school")
    engine.start_case(moved, Actor("upe.casa", CASE_WORKER))
    # A street child who gives no name, known to the mobile team by where they meet him.
    unnamed = _report(engine, "tanger-assilah", "x y", "U", "2000-01-01", ["street"],
                      {"medical": False, "immediate_danger": False}, 3, source="mobile_team")
    unnamed["child"] = {"identity_known": False, "alias": "Garçon de la gare routière", "sex": "M",
                        "age_estimate": 12}
    engine.start_case(unnamed, Actor("sas.tanger", CASE_WORKER))
    created += 2
    engine.start_case(_aftercare(engine), Actor(DEMO_MEDIATOR, CASE_WORKER))
    created += 1
    _demo_planning(engine)
    _demo_convention(engine)
    return created


def _aftercare(engine: Engine) -> dict[str, Any]:
    """A young person of 17 about to leave the demo institution, who agreed to be accompanied."""
    today = engine.now().date()
    return {
        "pathway": "aftercare",
        "child": {"first_name": "Karim", "last_name": "Ouahbi", "sex": "M",
                  "birth_date": today.replace(year=today.year - 17, day=1).isoformat(),
                  "civil_status_registered": True, "nationality": "MA"},
        "province": DEMO_INSTITUTION[1], "unit": DEMO_INSTITUTION[0], "categories": ["in_institution"],
        "report": {"source": "self_referral", "received_at": engine.now().isoformat(),
                   "description": "Sortie de l'établissement prévue dans six mois."},
        "consent": {"legal_basis": "consent", "given_by": "Karim Ouahbi", "child_informed": True,
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


def _demo_convention(engine: Engine) -> None:
    """The three-year convention of Tanger-Assilah's UPE: two milestones done, one late."""
    from datetime import date

    from engine.conventions import Follower, milestones_of, record_convention, update_milestone

    now = engine.now()
    start, end = date(now.year - 2, 1, 1), date(now.year, 12, 31)
    milestones = [("Local ouvert et équipé", start + timedelta(days=90)),
                  ("Équipe recrutée et formée", start + timedelta(days=180)),
                  ("Évaluation à mi-parcours", start + timedelta(days=550)),
                  ("Rapport final de la convention", end)]
    convention_id = record_convention(engine.db, {
        "unit": unit_code(UPE, "tanger-assilah"), "reference": f"CONV-UPE-{start.year - 1}-017",
        "title": "Convention de partenariat de l'UPE de Tanger-Assilah",
        "partners": ["Ministère de la Solidarité", "Entraide Nationale", "Province de Tanger-Assilah"],
        "signed_on": (start - timedelta(days=40)).isoformat(), "starts_on": start.isoformat(),
        "ends_on": end.isoformat(),
        "milestones": [{"title": title, "due_on": due.isoformat()} for title, due in milestones],
    }, province="tanger-assilah", actor="cape.tanger", now=now)
    committee = Follower("cape.tanger", COORDINATOR, "tanger-assilah", None)
    with engine.db.reading() as session:
        ids = [m["id"] for m in milestones_of(session, [convention_id], now.date())[convention_id]]
    for milestone_id, (_title, due) in zip(ids[:2], milestones[:2], strict=True):
        update_milestone(engine.db, convention_id, milestone_id, {
            "state": "done", "percent_done": 100, "started_on": (due - timedelta(days=60)).isoformat(),
            "ended_on": due.isoformat(), "note": "Constaté lors de la visite du comité technique."}, committee, now=now)
    update_milestone(engine.db, convention_id, ids[2], {
        "state": "in_progress", "percent_done": 40, "started_on": milestones[2][1].isoformat(),
        "note": "Termes de référence validés; évaluateur à recruter."}, committee, now=now)
