"""Reference data shipped with the product: Morocco's regions and provinces."""
from __future__ import annotations

import csv
import re
from pathlib import Path

from sqlalchemy.orm import Session

from .models import Province, Unit

PROVINCES_CSV = Path(__file__).resolve().parent.parent / "data" / "provinces.csv"


def reference_prefix(code: str) -> str:
    """Three capitals for case references: the first letter, then the next consonants.

    ``tanger-assilah`` → ``TNG``, ``casablanca`` → ``CSB``. Prefixes need not be unique:
    the counter is kept per prefix and year, so references are.
    """
    letters = re.sub(r"[^a-z]", "", code.lower())
    if not letters:
        return "CAS"
    consonants = [c for c in letters[1:] if c not in "aeiouy"]
    prefix = (letters[0] + "".join(consonants) + letters[1:] + "xx")[:3]
    return prefix.upper()


def load_provinces(session: Session, path: Path = PROVINCES_CSV) -> int:
    """Insert or update every province of the CSV; returns how many rows it holds."""
    count = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            province = session.get(Province, row["province_code"]) or Province(code=row["province_code"])
            province.name_fr, province.name_ar = row["province_fr"], row["province_ar"]
            province.region_code, province.region_fr, province.region_ar = (
                row["region_code"], row["region_fr"], row["region_ar"])
            province.kind = row["kind"]
            if not province.reference_prefix:
                province.reference_prefix = reference_prefix(row["province_code"])
            session.add(province)
            count += 1
    session.flush()
    return count


def ensure_unit(session: Session, code: str, province: str, kind: str = "upe", name: str | None = None) -> Unit:
    """Create the unit if it does not exist yet (idempotent)."""
    unit = session.get(Unit, code)
    if unit is None:
        unit = Unit(code=code, province=province, kind=kind, name=name or code, active=True)
        session.add(unit)
        session.flush()
    return unit
