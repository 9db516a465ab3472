"""Definitions in the database: versions and deploys.

Deploys are versioned per process key; deploying identical content returns the existing
version.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import Conflict, DefinitionInvalid, NotFound
from ..models import CaseEvent, PathwayVersion
from .checking import check_definition
from .model import Problem
from .parsing import document_text

MAX_FORM_BYTES = 512 * 1024


def content_hash(xml: bytes | str, forms: dict[str, Any]) -> str:
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    digest = hashlib.sha256(xml)
    digest.update(json.dumps(forms, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


@dataclass
class DeployResult:
    pathway: PathwayVersion
    created: bool
    warnings: list[Problem]


def deploy(session: Session, xml: bytes | str, forms: dict[str, Any], *, actor: str, now: datetime,
           timer_minimum: timedelta | None, activate: bool = True) -> DeployResult:
    """Validate and store a definition as a new version of its key (or return the same one).

    ``timer_minimum``: the shortest timer accepted (the setting ``HIMAYA_TIMER_MINIMUM``).
    """
    checked = check_definition(xml, forms, timer_minimum=timer_minimum)
    used_forms = {name: forms[name] for name in sorted(checked.forms)}
    xml_text = document_text(xml)  # UTF-16 and UTF-32 files are stored as the text they hold
    digest = content_hash(xml_text, used_forms)
    existing = session.scalar(select(PathwayVersion).where(
        PathwayVersion.key == checked.key, PathwayVersion.content_hash == digest))
    if existing is not None:
        return DeployResult(existing, False, checked.warnings)
    latest = session.scalar(select(func.max(PathwayVersion.version)).where(PathwayVersion.key == checked.key)) or 0
    row = PathwayVersion(
        key=checked.key, version=latest + 1, name=checked.name, content_hash=digest, bpmn_xml=xml_text,
        forms=used_forms, properties=checked.properties, is_active=False, deployed_at=now, deployed_by=actor,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"another deploy of '{checked.key}' happened at the same time; try again") from None
    if activate:
        activate_version(session, row, actor=actor, now=now)
    session.add(CaseEvent(case_id=None, at=now, actor=actor, kind="pathway_deployed", step=None, task_id=None,
                          detail={"key": row.key, "version": row.version, "activated": activate}))
    return DeployResult(row, True, checked.warnings)


def activate_version(session: Session, row: PathwayVersion, *, actor: str, now: datetime) -> None:
    session.execute(update(PathwayVersion).where(PathwayVersion.key == row.key, PathwayVersion.id != row.id)
                    .values(is_active=False))
    row.is_active = True
    session.flush()


def active_version(session: Session, key: str) -> PathwayVersion:
    row = session.scalar(select(PathwayVersion).where(PathwayVersion.key == key, PathwayVersion.is_active.is_(True)))
    if row is None:
        raise NotFound(f"no active pathway '{key}'")
    return row


def read_forms_folder(folder: Path) -> dict[str, Any]:
    """Every ``*.json`` form of a folder, by name; raises DefinitionInvalid on a bad file."""
    forms: dict[str, Any] = {}
    if not folder.is_dir():
        return forms
    for path in sorted(folder.glob("*.json")):
        if path.stat().st_size > MAX_FORM_BYTES:
            raise DefinitionInvalid("form rejected", [Problem(f"form file {path.name} is too large").as_dict()])
        try:
            forms[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise DefinitionInvalid("form rejected", [
                Problem(f"form file {path.name} is not valid JSON: {exc}").as_dict()]) from None
    return forms


def deploy_folder(session: Session, folder: Path, *, actor: str, now: datetime,
                  timer_minimum: timedelta | None) -> list[DeployResult]:
    """Deploy every ``*.bpmn`` of a folder with the forms of its ``forms/`` sub-folder."""
    forms = read_forms_folder(folder / "forms")
    return [deploy(session, path.read_bytes(), forms, actor=actor, now=now, timer_minimum=timer_minimum)
            for path in sorted(folder.glob("*.bpmn"))]
