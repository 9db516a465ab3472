"""Demo data: a few reported children in the two demo provinces (fictitious names).

Idempotent: cases are created only when the database holds none. Demo users arrive with
the authentication work (see docs/api.md).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from engine.models import Case
from engine.runtime import Actor, Engine

DEMO_PROVINCES = ("tanger-assilah", "casablanca")


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
    """Create demo cases if there are none; returns how many were created."""
    with engine.db.reading() as session:
        if session.scalar(select(func.count()).select_from(Case)):
            return 0
    created = 0
    for province in DEMO_PROVINCES:
        actor = Actor(f"upe.{province.split('-')[0][:5]}", "case_worker")
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
    return created
