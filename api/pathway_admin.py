"""Pathway administration shared by the admin API and the admin pages."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.definitions.model import CheckedDefinition
from engine.definitions.storage import read_forms_folder
from engine.models import FormDraft, PathwayVersion

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
