"""The categories a child is reported under, as reference data an administrator extends.

Each category has a stable code (what cases, indicators, pathways and integrators store), its
labels in French, Arabic and English, its default risk level and whether the prosecutor must be
informed of it (``../shared/PROTOCOL.md``: violence, exploitation — begging included — or
danger). Codes never change and are never deleted: a category no longer offered is made
inactive, and the cases that carry it keep it.

:data:`DEFAULTS` are the categories Himaya ships (the seeds' populations, and the online risks
of the ministry's programmes); :func:`load_defaults` adds those missing at ``himaya migrate``
and never overwrites what an administrator changed. :func:`rules` is what a report is checked
against: read at each report, so a category added is usable at once in every process.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import admin_log
from .db import Database
from .errors import NotFound, ValidationFailed
from .intake import StrictBoolean, plain_line
from .models import CaseCategory
from .vocabulary import HIGH, LOW, MEDIUM, RISK_LEVELS

LANGUAGES = ("fr", "ar", "en")


@dataclass(frozen=True)
class Category:
    code: str
    label_fr: str
    label_ar: str
    label_en: str
    risk_level: str
    inform_prosecutor: bool
    active: bool = True

    def label(self, language: str) -> str:
        return str(getattr(self, f"label_{language}", None) or self.label_fr)


DEFAULTS: tuple[Category, ...] = (
    Category("victim_violence", "Victime de violence", "ضحية عنف", "Victim of violence", HIGH, True),
    Category("victim_sexual_abuse", "Victime d'abus sexuel", "ضحية اعتداء جنسي", "Victim of sexual abuse", HIGH, True),
    Category("victim_exploitation", "Victime d'exploitation", "ضحية استغلال", "Victim of exploitation", HIGH, True),
    Category("victim_harmful_practice", "Victime d'une pratique préjudiciable", "ضحية ممارسة ضارة",
             "Victim of a harmful practice", HIGH, True),
    Category("online_sexual_exploitation", "Victime d'exploitation sexuelle en ligne",
             "ضحية الاستغلال الجنسي عبر الإنترنت", "Victim of online sexual exploitation", HIGH, True),
    Category("cyber_harassment", "Victime de cyberharcèlement", "ضحية التحرش الإلكتروني",
             "Victim of cyber-harassment", MEDIUM, True),
    Category("harmful_content_exposure", "Exposé à des contenus préjudiciables en ligne",
             "معرض لمحتويات ضارة عبر الإنترنت", "Exposed to harmful content online", MEDIUM, False),
    Category("witness", "Enfant témoin", "طفل شاهد", "Child witness", MEDIUM, False),
    Category("no_civil_status", "Non inscrit à l'état civil", "غير مسجل في الحالة المدنية",
             "Not registered in civil status", LOW, False),
    Category("out_of_school", "Non scolarisé", "غير متمدرس", "Out of school", LOW, False),
    Category("deprived_of_family", "Privé de milieu familial", "محروم من الوسط الأسري", "Deprived of family",
             MEDIUM, False),
    Category("in_institution", "Placé en institution", "مودع بمؤسسة للرعاية الاجتماعية", "In a care institution",
             LOW, False),
    Category("poor_family", "Issu d'une famille pauvre", "من أسرة فقيرة", "From a poor family", LOW, False),
    Category("isolated_rural", "Zone rurale enclavée", "منطقة قروية معزولة", "Isolated rural area", LOW, False),
    Category("broken_family", "Famille désunie", "أسرة مفككة", "Broken family", LOW, False),
    Category("disability", "En situation de handicap", "في وضعية إعاقة", "With a disability", LOW, False),
    Category("child_labour", "Enfant au travail", "طفل يشتغل", "Working child", MEDIUM, False),
    Category("street", "En situation de rue", "في وضعية الشارع", "Living in the street", MEDIUM, False),
    Category("addiction", "Addiction", "الإدمان", "Addiction", MEDIUM, False),
    Category("begging", "Mendicité", "التسول", "Begging", MEDIUM, True),
    Category("juvenile_offender", "Enfant en conflit avec la loi", "حدث في نزاع مع القانون", "Juvenile offender",
             MEDIUM, False),
    Category("unaccompanied_migrant", "Migrant non accompagné", "مهاجر غير مصحوب", "Unaccompanied migrant",
             MEDIUM, False),
)
DEFAULT_CODES = tuple(c.code for c in DEFAULTS)
CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


@dataclass(frozen=True)
class Rules:
    """The categories as a report reads them: which codes may be chosen, their risk levels,
    and which ones inform the prosecutor."""

    categories: tuple[Category, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        """Codes a new report may carry (the active ones)."""
        return tuple(c.code for c in self.categories if c.active)

    @property
    def levels(self) -> dict[str, str]:
        return {c.code: c.risk_level for c in self.categories}

    def informs_prosecutor(self, chosen: Iterable[str]) -> bool:
        return bool(self.prosecutor_categories(chosen))

    def prosecutor_categories(self, chosen: Iterable[str]) -> list[str]:
        """The chosen categories the prosecutor must be informed of, in the report's order."""
        flagged = {c.code for c in self.categories if c.inform_prosecutor}
        return [code for code in chosen if code in flagged]

    def prosecutor_data(self, chosen: Iterable[str]) -> dict[str, Any]:
        """What a child's workflow reads at the report: ``inform_prosecutor`` (the judicial
        gateway's condition) and ``prosecutor_categories`` (what himaya.notify_prosecutor says)."""
        flagged = self.prosecutor_categories(list(chosen))
        return {"inform_prosecutor": bool(flagged), "prosecutor_categories": flagged}

    def by_code(self) -> dict[str, Category]:
        return {c.code: c for c in self.categories}


def _of(row: CaseCategory) -> Category:
    return Category(row.code, row.label_fr, row.label_ar, row.label_en, row.risk_level, row.inform_prosecutor,
                    row.active)


def rules(session: Session) -> Rules:
    """The categories in their order (the shipped defaults when the table is still empty)."""
    rows = session.scalars(select(CaseCategory).order_by(CaseCategory.position, CaseCategory.code)).all()
    return Rules(tuple(_of(row) for row in rows) if rows else DEFAULTS)


def load_defaults(session: Session, now: datetime, actor: str = "system") -> int:
    """Add the shipped categories that are missing (never changes an existing one); how many added."""
    existing = set(session.scalars(select(CaseCategory.code)))
    added = 0
    for position, category in enumerate(DEFAULTS):
        if category.code in existing:
            continue
        session.add(CaseCategory(code=category.code, label_fr=category.label_fr, label_ar=category.label_ar,
                                 label_en=category.label_en, risk_level=category.risk_level,
                                 inform_prosecutor=category.inform_prosecutor, active=True,
                                 position=(position + 1) * 10, updated_at=now, updated_by=actor))
        added += 1
    session.flush()
    return added


def _label() -> fields.String:
    return fields.String(required=True, validate=[validate.Length(min=1, max=200), plain_line])


class CategoryChange(Schema):
    """What an administrator may change on a category (every field optional)."""

    class Meta:
        unknown = RAISE

    label_fr = fields.String(validate=[validate.Length(min=1, max=200), plain_line])
    label_ar = fields.String(validate=[validate.Length(min=1, max=200), plain_line])
    label_en = fields.String(validate=[validate.Length(min=1, max=200), plain_line])
    risk_level = fields.String(validate=validate.OneOf(RISK_LEVELS))
    inform_prosecutor = StrictBoolean()
    active = StrictBoolean()

    @post_load
    def _clean(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        for language in LANGUAGES:
            key = f"label_{language}"
            if key in data:
                data[key] = " ".join(data[key].split())
                if not data[key]:
                    raise ValidationError("Write the label.", key)
        return data


class NewCategory(CategoryChange):
    code = fields.String(required=True, validate=validate.Regexp(
        CODE, error="A code of small letters, digits and underscores (e.g. online_grooming), 2 to 64 long."))
    label_fr = _label()
    label_ar = _label()
    label_en = _label()
    risk_level = fields.String(required=True, validate=validate.OneOf(RISK_LEVELS))
    inform_prosecutor = StrictBoolean(required=True)
    active = StrictBoolean(load_default=True)


def _load(schema: Schema, payload: Any) -> dict[str, Any]:
    try:
        return dict(schema.load(payload if isinstance(payload, dict) else {}))
    except ValidationError as exc:
        raise ValidationFailed("The request has invalid fields.", exc.messages) from None


def add_category(database: Database, payload: Any, *, actor: str, now: datetime) -> Category:
    """A new category, usable by the next report (field error for a code already used)."""
    values = _load(NewCategory(), payload)
    with database.transaction() as session:
        if session.get(CaseCategory, values["code"]) is not None:
            raise ValidationFailed("The request has invalid fields.", {"code": [
                "This code is already used: codes never change, choose another one."]})
        last = session.scalar(select(func.max(CaseCategory.position))) or 0
        row = CaseCategory(**values, position=last + 10, updated_at=now, updated_by=actor)
        session.add(row)
        session.flush()
        admin_log.record(session, at=now, actor=actor, action=admin_log.CATEGORY_CREATED,
                         target_kind=admin_log.CATEGORY, target=row.code, fields=values)
        return _of(row)


def change_category(database: Database, code: str, payload: Any, *, actor: str, now: datetime) -> Category:
    """Change a category's labels, risk level, prosecutor rule or whether it is offered (its code stays)."""
    values = _load(CategoryChange(), payload)
    with database.transaction() as session:
        row = session.get(CaseCategory, code)
        if row is None:
            raise NotFound("No such category.")
        changed = [key for key, value in values.items() if getattr(row, key) != value]
        for key in changed:
            setattr(row, key, values[key])
        if changed:
            row.updated_at, row.updated_by = now, actor
            admin_log.record(session, at=now, actor=actor, action=admin_log.CATEGORY_CHANGED,
                             target_kind=admin_log.CATEGORY, target=row.code, fields=changed)
        session.flush()
        return _of(row)


__all__ = ["DEFAULTS", "LOW", "Category", "Rules", "add_category", "change_category", "load_defaults", "rules"]
