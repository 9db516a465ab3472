"""A child's file kept only as long as its purpose needs (law 09-08), then anonymised.

:class:`RetentionPolicy` says how long, per kind (``HIMAYA_RETENTION_*``, checked at start-up):

- a **closed case** is anonymised once ``closed_case_years`` have passed since its closure *and*
  ``after_majority_years`` since the child came of age (18; from the birth date, else from the
  age at the report): whichever comes later;
- a closed case's **documents** go after ``document_years`` (never later than the file);
- a **rejected duplicate review** (two reports found not to be of the same child) goes
  ``rejected_duplicate_days`` after its decision.

Anonymising a file removes the child's identity (names in both scripts, alias, birth date, search
keys), the report's account and reporter, the consent's notes, the notes, contacts, documents and
drafts, the free text of the step answers (what a field of text holds; choices, yes/no, numbers
and dates stay), of transfers and referrals, and the reasons written in its events (erased with
their digest kept: :func:`engine.audit.erase_free_text`). What the indicators count stays: the
case's province, unit, categories, risk, sex, age at the report, dates and status, every step's
dates and outcome. The workflow state goes too: an anonymised file cannot be reopened. Each file
is one short transaction, appends ``file_anonymised`` (counts, never contents) and gets
``cases.anonymised_at``.

:func:`plan` lists what has expired (the dry run shows it); :func:`apply` does it, all slow work
(reading, deciding what each answer keeps) before each transaction.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update

from . import audit
from .db import Database
from .definitions.model import CheckedDefinition
from .forms import CompiledForm
from .models import (
    Case,
    CaseContact,
    CaseDocument,
    CaseEvent,
    CaseNote,
    CaseTransfer,
    CaseWorkflow,
    ChildNameKey,
    DuplicateReview,
    Referral,
    TaskDraft,
    TaskRecord,
)

CASES, EVENTS, HISTORY, DOCUMENTS, STATES = (Case.__table__, CaseEvent.__table__, TaskRecord.__table__,
                                             CaseDocument.__table__, CaseWorkflow.__table__)
MAJORITY = 18
ANONYMISED_EVENT, DOCUMENTS_EVENT = "file_anonymised", "documents_removed"
RETENTION_ACTOR = "system:retention"
REPORT_FACTS = ("source", "received_at")  # what an anonymised report keeps


@dataclass(frozen=True)
class RetentionPolicy:
    closed_case_years: int = 10
    after_majority_years: int = 2
    document_years: int = 5
    rejected_duplicate_days: int = 365

    def problems(self) -> dict[str, str]:
        """What does not make sense, by setting (the settings refuse to start with any)."""
        found: dict[str, str] = {}
        if self.document_years > self.closed_case_years:
            found["document_years"] = (f"documents kept {self.document_years} years would outlive their file "
                                       f"(anonymised after {self.closed_case_years} years)")
        return found


@dataclass(frozen=True)
class Expired:
    """A file, or some of its parts, whose retention has run out."""

    case_id: str
    reference: str
    province: str
    what: str  # file | documents
    closed_at: datetime
    of_age_on: date | None  # when the child came (or comes) of age, if known
    documents: int


@dataclass
class Plan:
    files: list[Expired] = field(default_factory=list)
    documents: list[Expired] = field(default_factory=list)
    rejected_reviews: list[int] = field(default_factory=list)


@dataclass
class Outcome:
    files: int = 0
    documents: int = 0
    rejected_reviews: int = 0
    skipped: list[str] = field(default_factory=list)  # references changed meanwhile: the next run


def _years_before(day: datetime, years: int) -> datetime:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _of_age_on(case: Any) -> date | None:
    """When the child turns 18: from the birth date, else from the age at the report (the latest
    day that age allows: a year after the report, less a day, the age was still the same)."""
    if case.child_birth_date is not None:
        return _years_after(case.child_birth_date, MAJORITY)
    age = case.child_age_at_report if case.child_age_at_report is not None else case.child_age_estimate
    if age is None:
        return None
    reported = case.report_received_on or case.opened_at.date()
    return _years_after(reported, max(0, MAJORITY - age) + 1)


def plan(database: Database, now: datetime, policy: RetentionPolicy) -> Plan:
    """What has expired at ``now`` (read only: the dry run)."""
    result = Plan()
    file_cut = _years_before(now, policy.closed_case_years)
    document_cut = _years_before(now, policy.document_years)
    majority_cut = _years_before(now, policy.after_majority_years).date()
    documents = (select(func.count()).select_from(DOCUMENTS).where(DOCUMENTS.c.case_id == Case.id)
                 .correlate(Case).scalar_subquery())
    with database.reading() as session:
        rows = session.execute(select(Case, documents.label("documents")).where(
            Case.subject_kind == "child", Case.status == "closed", Case.anonymised_at.is_(None),
            Case.closed_at.is_not(None), Case.closed_at <= document_cut).order_by(Case.closed_at)).all()
        for case, count in rows:
            assert case.closed_at is not None
            of_age = _of_age_on(case)
            entry = Expired(case.id, case.reference, case.province, "file", case.closed_at, of_age, int(count))
            # an unknown age (no birth date nor estimate): the closure's period alone
            if case.closed_at <= file_cut and (of_age is None or of_age <= majority_cut):
                result.files.append(entry)
            elif count:
                result.documents.append(Expired(**{**entry.__dict__, "what": "documents"}))
        review_cut = now - timedelta(days=policy.rejected_duplicate_days)
        result.rejected_reviews = list(session.scalars(select(DuplicateReview.id).where(
            DuplicateReview.state == "rejected", DuplicateReview.decided_at <= review_cut)
            .order_by(DuplicateReview.id)))
    return result


def _offered(component: Mapping[str, Any]) -> list[Any]:
    return [v.get("value") for v in component.get("values") or [] if isinstance(v, dict)]


def kept_answers(form: CompiledForm | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """A step's answers without what a person wrote: the fields of text go; a choice among the
    form's values, a yes/no, a number or a date stays (what the pathway's facts are made of)."""
    fields = {f.key: f for f in form.fields} if form else {}
    kept: dict[str, Any] = {}
    for key, value in values.items():
        found = fields.get(key)
        kind = found.type if found else None
        if value is None or isinstance(value, bool) or (isinstance(value, int | float) and kind in (None, "number")):
            kept[key] = value
        elif found is not None and kind in ("radio", "select", "checklist", "taglist"):
            chosen = value if isinstance(value, list) else [value]
            offered = _offered(found.component)
            if all(v in offered for v in chosen):
                kept[key] = value
        elif kind in ("number", "datetime", "checkbox"):
            kept[key] = value
    return kept


@dataclass
class _Anonymisation:
    """What one file becomes, worked out before its transaction."""

    case_id: str
    version: int
    report: dict[str, Any]
    consent: dict[str, Any]
    answers: list[dict[str, Any]]  # {"k": task id, "v": kept answers}
    events: list[dict[str, Any]]  # {"k": event id, "v": detail with its free text erased}
    counts: dict[str, int]


def _prepare(database: Database, definitions: Any, case_id: str) -> _Anonymisation | None:
    with database.reading() as session:
        case = session.get(Case, case_id)
        state = session.get(CaseWorkflow, case_id)
        if case is None or case.status != "closed" or case.anonymised_at is not None:
            return None
        definition: CheckedDefinition | None = definitions(case.pathway_version_id)
        answers = []
        for record in session.scalars(select(TaskRecord).where(TaskRecord.case_id == case_id)):
            form = None
            if definition is not None and record.step in definition.user_tasks:
                form = definition.form_for(record.step)
            kept = kept_answers(form, record.data or {})
            if kept != (record.data or {}):
                answers.append({"k": record.id, "v": kept})
        erased = []
        for event in session.scalars(select(CaseEvent).where(
                CaseEvent.case_id == case_id, CaseEvent.kind.in_(list(audit.FREE_TEXT)))):
            detail = audit.erase_free_text(database.keys, event.kind, event.detail or {})
            if detail is not None:
                erased.append({"k": event.id, "v": detail})

        def count(model: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(model).where(model.case_id == case_id)) or 0)
        counts = {"notes": count(CaseNote), "contacts": count(CaseContact), "documents": count(CaseDocument),
                  "answers": len(answers), "events": len(erased)}
        report = {k: v for k, v in (case.report or {}).items() if k in REPORT_FACTS}
        consent = {k: v for k, v in (case.consent or {}).items() if k == "legal_basis"}
        return _Anonymisation(case_id, state.version if state else 0, report, consent, answers, erased, counts)


def _anonymise(database: Database, now: datetime, work: _Anonymisation) -> bool:
    """One file, in one short transaction; False when it changed since it was read."""
    with database.write_connection() as conn:
        locked = select(STATES.c.version).where(STATES.c.case_id == work.case_id)
        version = conn.execute(locked if database.is_sqlite else locked.with_for_update()).scalar()
        current = conn.execute(select(CASES.c.status, CASES.c.anonymised_at).where(
            CASES.c.id == work.case_id)).first()
        if current is None or current.status != "closed" or current.anonymised_at is not None \
                or (version or 0) != work.version:
            return False
        conn.execute(update(CASES).where(CASES.c.id == work.case_id).values(
            child_first_name=None, child_last_name=None, child_first_name_other=None, child_last_name_other=None,
            child_alias=None, child_birth_date=None, child_birth_date_key=None, child_birth_year=None,
            report=work.report, consent=work.consent, anonymised_at=now, updated_at=now))
        if version is not None:
            conn.execute(update(STATES).where(STATES.c.case_id == work.case_id).values(
                state="", version=version + 1, updated_at=now))
        for model in (ChildNameKey, CaseNote, CaseContact, CaseDocument):
            table = model.__table__
            conn.execute(delete(table).where(table.c.case_id == work.case_id))
        drafts = TaskDraft.__table__
        conn.execute(delete(drafts).where(drafts.c.task_id.in_(
            select(HISTORY.c.id).where(HISTORY.c.case_id == work.case_id))))
        if work.answers:
            conn.execute(update(HISTORY).where(HISTORY.c.id == bindparam("k")).values(data=bindparam("v")),
                         work.answers)
        if work.events:
            conn.execute(update(EVENTS).where(EVENTS.c.id == bindparam("k")).values(detail=bindparam("v")),
                         work.events)
        reviews = DuplicateReview.__table__
        conn.execute(update(reviews).where((reviews.c.case_id == work.case_id) | (reviews.c.match_id == work.case_id))
                     .values(note=None))
        transfers = CaseTransfer.__table__
        conn.execute(update(transfers).where(transfers.c.case_id == work.case_id).values(
            reason="", decision_reason=None))
        referrals = Referral.__table__
        conn.execute(update(referrals).where(referrals.c.case_id == work.case_id).values(
            reason="", service_note=None, status_reason=None, accept_note=None, service_given=None))
        conn.execute(insert(EVENTS).values(case_id=work.case_id, at=now, actor=RETENTION_ACTOR,
                                           kind=ANONYMISED_EVENT, step=None, task_id=None, detail=work.counts))
    return True


def _remove_documents(database: Database, now: datetime, entry: Expired) -> int:
    with database.write_connection() as conn:
        still = conn.execute(select(CASES.c.status, CASES.c.anonymised_at).where(CASES.c.id == entry.case_id)).first()
        if still is None or still.status != "closed" or still.anonymised_at is not None:
            return 0
        removed = conn.execute(delete(DOCUMENTS).where(DOCUMENTS.c.case_id == entry.case_id)).rowcount
        if removed:
            conn.execute(insert(EVENTS).values(case_id=entry.case_id, at=now, actor=RETENTION_ACTOR,
                                               kind=DOCUMENTS_EVENT, step=None, task_id=None,
                                               detail={"documents": removed}))
        return int(removed)


def apply(database: Database, definitions: Any, now: datetime, expired: Plan) -> Outcome:
    """Anonymise the files of ``expired``, remove its documents and rejected reviews.
    ``definitions`` gives a pathway version's compiled definition (for its forms)."""
    outcome = Outcome()
    for entry in expired.files:
        work = _prepare(database, definitions, entry.case_id)
        if work is None or not _anonymise(database, now, work):
            outcome.skipped.append(entry.reference)
            continue
        outcome.files += 1
    for entry in expired.documents:
        outcome.documents += _remove_documents(database, now, entry)
    if expired.rejected_reviews:
        reviews = DuplicateReview.__table__
        with database.write_connection() as conn:
            outcome.rejected_reviews = int(conn.execute(delete(reviews).where(
                reviews.c.id.in_(expired.rejected_reviews), reviews.c.state == "rejected")).rowcount)
    return outcome
