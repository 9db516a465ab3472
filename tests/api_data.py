"""Request bodies for the API tests."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from engine.runtime import Engine
from tests.helpers import distinct_surname


def intake(engine: Engine, province: str = "tanger-assilah", **overrides: Any) -> dict[str, Any]:
    body = {
        "child": {"first_name": "Amina", "last_name": distinct_surname(), "sex": "F", "birth_date": "2014-03-01",
                  "age_estimate": None, "civil_status_registered": True, "nationality": "MA"},
        "province": province, "unit": f"upe-{province}",
        "categories": ["victim_violence", "out_of_school"],
        "report": {"source": "phone_line", "received_at": (engine.now() - timedelta(hours=2)).isoformat(),
                   "description": "Signalé par la ligne verte."},
        "emergency": {"medical": False, "immediate_danger": True},
        "consent": {"legal_basis": "protection_mandate", "child_informed": True, "guardian_informed": False,
                    "notes": ""},
    }
    body.update(overrides)
    return body


PROVINCE_USERS = {"tanger-assilah": "tanger", "casablanca": "casa"}
