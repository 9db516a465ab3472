"""The judicial branch of a child's case as the coordinator reads it: what the prosecutor's
office was told, when, and what it decided (PROTOCOL.md: its decision, when it comes, is shown
to the coordinator, on the case and at the orientation)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.forms import CompiledForm, iter_components
from engine.models import Case, DeliveryIncident, OutboxMessage, TaskRecord
from engine.vocabulary import JUSTICE, PARTNER

from .. import policy
from ..auth import Principal
from .context import ReadContext
from .tasks import case_open_tasks

NOTIFICATION_TOPIC = "prosecutor_notification"
DECISION_STEP = "judicial_decision"
CONCERNS_FIELD = "concerns_found"  # the checklist whose labels name the concerns


@dataclass
class Notification:
    at: datetime
    recorded_at: str  # "report", or the step that recorded the facts
    concerns: list[str]  # labels in the reader's language
    status: str  # the outbox status: pending, sent, dead, undeliverable
    incident: dict[str, Any] | None = None  # when nobody could receive it: how the office was informed instead


@dataclass
class Decision:
    at: datetime
    by: str | None
    measure: str | None  # label in the reader's language
    decision_date: str | None
    court_reference: str | None


@dataclass
class JudicialStatus:
    notifications: list[Notification] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    pending: int = 0  # decisions asked for and not recorded yet
    pending_due: datetime | None = None

    @property
    def engaged(self) -> bool:
        return bool(self.notifications or self.decisions or self.pending)

    def body(self) -> dict[str, Any]:
        return {"notifications": [vars(n) for n in self.notifications],
                "decisions": [vars(d) for d in self.decisions],
                "pending": self.pending, "pending_due": self.pending_due}


def reads_judicial(principal: Principal) -> bool:
    """Who reads the judicial branch: those who see the whole file, and the justice partners."""
    return policy.sees_full_case(principal) or (principal.role == PARTNER and principal.sector == JUSTICE)


def judicial_status(ctx: ReadContext, case: Case) -> JudicialStatus | None:
    """What the prosecutor's office was told and decided about a case the reader sees (read by
    :func:`api.readers.cases.case_file` or :func:`api.readers.cases.visible`); None for a reader
    who may not know."""
    if not reads_judicial(ctx.principal):
        return None
    with ctx.engine.db.reading() as session:
        messages = session.execute(select(OutboxMessage.id, OutboxMessage.created_at, OutboxMessage.payload,
                                          OutboxMessage.status)
                                   .where(OutboxMessage.case_id == case.id, OutboxMessage.topic == NOTIFICATION_TOPIC)
                                   .order_by(OutboxMessage.created_at, OutboxMessage.id)).all()
        decided = session.execute(select(TaskRecord.ended_at, TaskRecord.completed_by, TaskRecord.data)
                                  .where(TaskRecord.case_id == case.id, TaskRecord.step == DECISION_STEP,
                                         TaskRecord.outcome == "completed")
                                  .order_by(TaskRecord.ended_at, TaskRecord.id)).all()
        waiting = [t for t in case_open_tasks(session, case.id) if t.step == DECISION_STEP]
        incidents = {row.outbox_id: row for row in session.scalars(select(DeliveryIncident).where(
            DeliveryIncident.outbox_id.in_([m.id for m in messages])))} if messages else {}
    compiled = ctx.definition(case.pathway_version_id)
    titles = {step: info.title(ctx.language) for step, info in compiled.user_tasks.items()}
    concern_labels = _choice_labels(_form_with(compiled.forms.values(), CONCERNS_FIELD), CONCERNS_FIELD, ctx.language)
    decision_form = compiled.forms.get(compiled.user_tasks[DECISION_STEP].form) \
        if DECISION_STEP in compiled.user_tasks else None
    measure_labels = _choice_labels(decision_form, "judicial_measure", ctx.language)
    due = [t.due_at for t in waiting if t.due_at is not None]
    status = JudicialStatus(pending=len(waiting), pending_due=min(due, default=None))
    for outbox_id, at, payload, outbox_status in messages:
        step = payload.get("recorded_at") or "report"
        incident = incidents.get(outbox_id)
        status.notifications.append(Notification(
            at=at, recorded_at=titles.get(step, step) if step != "report" else step,
            concerns=[concern_labels.get(c, c) for c in payload.get("concerns") or []], status=outbox_status,
            incident=None if incident is None else {
                "id": incident.id, "status": incident.status, "informed_via": incident.informed_via,
                "informed_at": incident.informed_at.isoformat() if incident.informed_at else None}))
    for at, by, data in decided:
        measure = data.get("judicial_measure")
        status.decisions.append(Decision(
            at=at, by=by, measure=measure_labels.get(measure, measure) if measure else None,
            decision_date=data.get("decision_date"), court_reference=data.get("court_reference")))
    return status


def _form_with(forms: Any, key: str) -> CompiledForm | None:
    return next((form for form in forms if key in form.keys), None)


def _choice_labels(form: CompiledForm | None, key: str, language: str) -> dict[str, str]:
    """The labels of a choice field's values, in the reader's language (the form's own texts)."""
    if form is None:
        return {}
    for component in iter_components(form.localized(language).get("components", [])):
        if component.get("key") == key:
            return {str(v.get("value")): str(v.get("label")) for v in component.get("values", [])}
    return {}
