"""Pathway administration shared by the admin API and the admin pages: the forms a deploy may
use, what changed between versions, activating a version, keeping a form draft."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.definitions.model import CheckedDefinition
from engine.definitions.storage import activate_version, read_forms_folder
from engine.errors import NotFound
from engine.models import FormDraft, PathwayVersion
from engine.runtime import Engine

from .messages import N_
from .setup import BPMN_FOLDER


def available_forms(session: Session) -> dict[str, Any]:
    """The forms a deploy may use: shipped ones, then stored versions' (newest wins), then drafts."""
    forms = read_forms_folder(BPMN_FOLDER / "forms")
    for row in session.scalars(select(PathwayVersion).order_by(PathwayVersion.id)):
        forms.update(row.forms)
    for draft in session.scalars(select(FormDraft)):
        forms[draft.name] = draft.schema
    return forms


def steps(definition: CheckedDefinition) -> dict[str, str]:
    """Flow nodes with an id: id → name."""
    return {spec.bpmn_id: (spec.bpmn_name or spec.bpmn_id) for spec in definition.spec.task_specs.values()
            if getattr(spec, "bpmn_id", None)}


def diff(old: CheckedDefinition, new: CheckedDefinition) -> dict[str, list[Any]]:
    """What changed between two versions: steps added, removed and renamed."""
    before, after = steps(old), steps(new)
    return {
        "added": sorted((i, after[i]) for i in after.keys() - before.keys()),
        "removed": sorted((i, before[i]) for i in before.keys() - after.keys()),
        "renamed": sorted((i, before[i], after[i]) for i in before.keys() & after.keys() if before[i] != after[i]),
    }


def activate(engine: Engine, key: str, version: int, *, actor: str) -> PathwayVersion:
    """Make this version the one new cases of its key start on (:class:`NotFound` if unknown)."""
    with engine.db.transaction() as session:
        row = session.scalar(select(PathwayVersion).where(PathwayVersion.key == key,
                                                          PathwayVersion.version == version))
        if row is None:
            raise NotFound(N_("No such pathway version."))
        activate_version(session, row, actor=actor, now=engine.now())
        return row


def save_form_draft(engine: Engine, name: str, schema: dict[str, Any], *, actor: str) -> None:
    """Keep an edited form as a draft, used by the next deploys (checked by the caller)."""
    with engine.db.transaction() as session:
        draft = session.get(FormDraft, name) or FormDraft(name=name)
        draft.schema, draft.updated_at, draft.updated_by = schema, engine.now(), actor
        session.add(draft)
