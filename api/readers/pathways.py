"""Pathway versions, their forms and the form drafts (administration); what a user may start."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.definitions.model import listed_property
from engine.errors import NotFound
from engine.models import Case, FormDraft, PathwayVersion, Unit
from engine.vocabulary import RECEIVING_UNIT_KINDS

from .. import policy
from ..messages import N_
from ..pathway_admin import available_forms
from .context import ReadContext


def open_counts(session: Session) -> dict[int, int]:
    """Open cases per pathway version id."""
    rows = session.execute(select(Case.pathway_version_id, func.count()).where(Case.status == "open")
                           .group_by(Case.pathway_version_id))
    return {version_id: number for version_id, number in rows}


def find_version(session: Session, key: str, version: int) -> PathwayVersion:
    row = session.scalar(select(PathwayVersion).where(PathwayVersion.key == key, PathwayVersion.version == version))
    if row is None:
        raise NotFound(N_("No such pathway version."))
    return row


def present_version(ctx: ReadContext, row: PathwayVersion, open_cases: int) -> dict[str, Any]:
    return {"key": row.key, "version": row.version, "name": row.name, "active": row.is_active,
            "deployed_at": row.deployed_at, "deployed_by": row.deployed_by, "content_hash": row.content_hash,
            "properties": row.properties, "forms": sorted(row.forms),
            "steps": sorted(ctx.definition(row.id).user_tasks), "open_cases": open_cases}


def versions(ctx: ReadContext, *, newest_first: bool = False) -> list[tuple[PathwayVersion, int]]:
    """Every pathway version (by key, then version) with its open cases."""
    order = PathwayVersion.version.desc() if newest_first else PathwayVersion.version
    with ctx.engine.db.reading() as session:
        counts = open_counts(session)
        rows = session.scalars(select(PathwayVersion).order_by(PathwayVersion.key, order)).all()
    return [(row, counts.get(row.id, 0)) for row in rows]


def child_steps(ctx: ReadContext) -> list[tuple[str, str]]:
    """(step, title in the reader's language) of the active children's pathways, by title: what
    a list of cases filters on. Reads the active versions only (no count of their cases)."""
    with ctx.engine.db.reading() as session:
        active = session.execute(select(PathwayVersion.id, PathwayVersion.properties)
                                 .where(PathwayVersion.is_active.is_(True))).all()
    steps: dict[str, str] = {}
    for version_id, properties in active:
        if (properties or {}).get("subject", "child") == "child":
            for step, info in ctx.definition(version_id).user_tasks.items():
                steps.setdefault(step, info.title(ctx.language))
    return sorted(steps.items(), key=lambda item: item[1].casefold())


def form_choices(ctx: ReadContext, names: list[str]) -> list[tuple[str, str]]:
    """(form, label) for a choice of forms, by label: a form is named by the title, in the
    reader's language, of the step of an active pathway that fills it (a new form by its name)."""
    with ctx.engine.db.reading() as session:
        active = session.scalars(select(PathwayVersion.id).where(PathwayVersion.is_active.is_(True))
                                 .order_by(PathwayVersion.key)).all()
    labels: dict[str, str] = {}
    for version_id in active:
        for info in ctx.definition(version_id).user_tasks.values():
            labels.setdefault(info.form, info.title(ctx.language))
    return sorted(((name, labels.get(name, name)) for name in names), key=lambda item: item[1].casefold())


def version(ctx: ReadContext, key: str, number: int) -> tuple[PathwayVersion, int]:
    """One version with its open cases (:class:`NotFound` when there is no such version)."""
    with ctx.engine.db.reading() as session:
        row = find_version(session, key, number)
        return row, open_counts(session).get(row.id, 0)


def forms(ctx: ReadContext) -> dict[str, Any]:
    """The forms a deploy may use: shipped ones, stored versions' (newest wins), then drafts."""
    with ctx.engine.db.reading() as session:
        return available_forms(session)


def draft_names(ctx: ReadContext) -> list[str]:
    with ctx.engine.db.reading() as session:
        return list(session.scalars(select(FormDraft.name).order_by(FormDraft.name)))


@dataclass(frozen=True)
class StartOffer:
    """What a reader may start of a pathway: its title, its rules, and the units they may file it to."""

    key: str
    title: str
    age_min: int
    age_max: int
    categories: list[str]
    units: list[Unit]


def start_offer(ctx: ReadContext, key: str) -> StartOffer | None:
    """The active pathway ``key`` as the reader may start it, or None: no active version, their
    role is not among its ``start_roles``, or no unit of the kinds it files to (``unit_kinds``)
    is one they may file a case for (:func:`api.policy.can_report`)."""
    principal = ctx.principal
    with ctx.engine.db.reading() as session:
        found = session.execute(select(PathwayVersion.name, PathwayVersion.properties).where(
            PathwayVersion.key == key, PathwayVersion.is_active.is_(True))).first()
        if found is None or not policy.can_start(principal, set(listed_property(found.properties.get("start_roles")))):
            return None
        kinds = set(listed_property(found.properties.get("unit_kinds")) or RECEIVING_UNIT_KINDS)
        units = [unit for unit in session.scalars(
            select(Unit).where(Unit.province == principal.province, Unit.active.is_(True), Unit.kind.in_(kinds))
            .order_by(Unit.name, Unit.code)) if policy.can_report(principal, principal.province or "", unit.code)]
    if not units:
        return None
    properties = found.properties
    title = properties.get(f"title_{ctx.language}") or found.name
    return StartOffer(key, title, _integer(properties.get("age_min"), 0), _integer(properties.get("age_max"), 17),
                      sorted(set(listed_property(properties.get("categories")))), units)


def _integer(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
