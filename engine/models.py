"""The store: SQLAlchemy 2 typed models.

Runtime tables (what is open now) are kept apart from history tables (what happened), as
in Camunda's RU_/HI_ split: queries of task lists and dashboards read small, indexed
runtime projections, and the history grows without slowing them.

- ``pathway_versions``: every deployed BPMN (with its forms), versioned per key.
- ``cases``: the child's file (identity, territory, categories, risk, status, consent);
  written when those change, not at every step. A few pathways are about something else
  (``subject_kind``): a unit's quarterly ``statistical_reports`` or a province's
  ``action_plans`` (with ``action_plan_versions``) run as cases too.
- ``case_workflows``: the runtime row of a case: its serialized SpiffWorkflow state, the
  ``version`` checked on every write (optimistic locking, as Camunda's ``REV_``) and
  ``last_progress_at`` (last completed step), and the stall clock ``idle_since`` /
  ``visit_due_at`` (what "stalled" reads: :mod:`engine.stalling`).
- ``open_tasks``: projection of the ready user tasks, one row each (runtime).
- ``case_timers``: projection of the waiting BPMN timers with their due times (runtime).
- ``child_name_keys``: search keys of the child's names (finding a child, duplicates), by province;
  ``duplicate_reviews``: two reports that may be of the same child, until a coordinator decides.
- ``task_history``: every user task that ended, with who completed it and the data.
- ``case_events``: the append-only audit trail of the case.
- ``outbox``: messages to deliver after commit (notifications, partner referrals).
- ``notifications``: in-app notifications, one per recipient.
- ``case_documents``: documents of a child's case (bytes, SHA-256, kind, who uploaded them).
- ``case_transfers``: a case's move to another unit or province, pending until the receiving
  province's coordinators accept or decline it (its deadline escalated like a step's).
- ``delivery_incidents``: an outbox message whose recipients were nobody (no active justice
  partner in the province…), open until a coordinator records how they were informed instead.
- identity: ``units``, ``users``, ``auth_tokens``, ``login_attempts``; reference data:
  ``provinces``, ``case_categories`` (extended by administrators); administration: ``form_drafts``;
  indicators: ``trainings``, ``prevention_activities``; a plan's follow-up: ``plan_action_progress``
  (where each action of a validated version stands) and ``plan_action_updates`` (its history); a unit's
  partnership conventions: ``unit_conventions``, ``convention_milestones`` and their history
  ``convention_milestone_updates``; a user's own work
  tray: ``task_views`` (saved task-list filters) and ``task_drafts`` (unsent step forms).
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .crypto import Sealed


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        list[str]: JSONType,
    }
    if TYPE_CHECKING:
        # Every model here maps one Table (DeclarativeBase says FromClause): Core insert/update take it.
        __table__: ClassVar[Table]


class Province(Base):
    __tablename__ = "provinces"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_fr: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(8))
    region_fr: Mapped[str] = mapped_column(String(200))
    region_ar: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    reference_prefix: Mapped[str] = mapped_column(String(8))


class PathwayVersion(Base):
    __tablename__ = "pathway_versions"
    __table_args__ = (
        UniqueConstraint("key", "version", name="uq_pathway_key_version"),
        UniqueConstraint("key", "content_hash", name="uq_pathway_key_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    forms: Mapped[dict[str, Any]]
    properties: Mapped[dict[str, Any]]
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(100))


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_province_status", "province", "status", "opened_at"),
        Index("ix_cases_unit_status", "unit", "status", "opened_at"),
        Index("ix_cases_province_birth_year", "province", "child_birth_year"),
        Index("ix_cases_duplicate_of", "duplicate_of"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    pathway_version_id: Mapped[int] = mapped_column(ForeignKey("pathway_versions.id"))
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    risk_level: Mapped[str] = mapped_column(String(8))
    province: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    unit: Mapped[str] = mapped_column(String(100))
    categories: Mapped[list[str]]
    # What the pathway instance is about: a child (the protection pathway), or a unit's
    # statistical report, or a provincial action plan (their own tables hold the details).
    subject_kind: Mapped[str] = mapped_column(String(20), default="child", server_default="child")
    # The child's names and birth date are sealed (engine.crypto); a search finds them through
    # their keyed hashes (child_name_keys, child_birth_date_key), the indicators read the age.
    child_first_name: Mapped[str | None] = mapped_column(Sealed("cases.child_first_name"))
    child_last_name: Mapped[str | None] = mapped_column(Sealed("cases.child_last_name"))
    child_sex: Mapped[str | None] = mapped_column(String(1))
    child_birth_date: Mapped[date | None] = mapped_column(Sealed("cases.child_birth_date", "date"))
    child_birth_date_key: Mapped[str | None] = mapped_column(String(32), index=True)
    child_age_estimate: Mapped[int | None]
    child_age_at_report: Mapped[int | None]
    child_civil_status_registered: Mapped[bool | None]
    child_nationality: Mapped[str | None] = mapped_column(String(8))
    # A child reported without a known name is known by an alias ("girl at the Bab Souk crossing");
    # names may be written in either script, and also in the other one.
    child_identity_known: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    child_alias: Mapped[str | None] = mapped_column(Sealed("cases.child_alias"))
    child_first_name_other: Mapped[str | None] = mapped_column(Sealed("cases.child_first_name_other"))
    child_last_name_other: Mapped[str | None] = mapped_column(Sealed("cases.child_last_name_other"))
    # From the birth date, or the report's year minus the estimated age: what a search by year and
    # the duplicate check compare.
    child_birth_year: Mapped[int | None]
    # Set when a review confirmed that this case reports the same child as another one: the case
    # that continues (this one is closed with reason ``duplicate``).
    duplicate_of: Mapped[str | None] = mapped_column(String(36))
    closed_reason: Mapped[str | None] = mapped_column(String(20))
    report: Mapped[dict[str, Any]] = mapped_column(Sealed("cases.report", "json"))
    report_received_on: Mapped[date | None] = mapped_column(Date)  # the report's own date (indicators: age)
    emergency_medical: Mapped[bool] = mapped_column(Boolean, default=False)
    immediate_danger: Mapped[bool] = mapped_column(Boolean, default=False)
    consent: Mapped[dict[str, Any]] = mapped_column(Sealed("cases.consent", "json"))
    # What the partners' minimisation decides on (api.policy.identity_scope), kept in clear since
    # the consent itself is sealed: its legal basis, and whether the child or a guardian was told.
    consent_legal_basis: Mapped[str | None] = mapped_column(String(32))
    consent_informed: Mapped[bool | None]
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    # Set when the retention period ran out (engine.retention): identity, contacts, free text and
    # documents removed, the pathway's facts kept for the indicators.
    anonymised_at: Mapped[datetime | None]


class ChildNameKey(Base):
    """A search key derived from one of a child's names (:mod:`engine.names`): finding a child and
    the duplicate check compare keys, never the names, so the keys can become keyed hashes
    without changing the matching."""

    __tablename__ = "child_name_keys"
    # A search reads one province's keys (province first); the duplicate check every province's.
    __table_args__ = (Index("ix_child_name_keys_province_key", "province", "key", "case_id"),
                      Index("ix_child_name_keys_key", "key", "field", "birth_year", "case_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    province: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(8))  # first | last | alias
    key: Mapped[str] = mapped_column(String(80))
    # The case's ``child_birth_year``, copied so that the duplicate check narrows by year in the index.
    birth_year: Mapped[int | None]


class DuplicateReview(Base):
    """Two reports that may be of the same child, for the coordinators of the provinces concerned
    to confirm (the cases are linked) or reject."""

    __tablename__ = "duplicate_reviews"
    __table_args__ = (UniqueConstraint("case_id", "match_id", name="uq_duplicate_reviews_pair"),
                      Index("ix_duplicate_reviews_case_province", "case_province", "state"),
                      Index("ix_duplicate_reviews_match_province", "match_province", "state"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))  # the later report
    match_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))  # the earlier one it may repeat
    case_province: Mapped[str] = mapped_column(String(64))
    match_province: Mapped[str] = mapped_column(String(64))
    score: Mapped[float]
    reasons: Mapped[list[str]]
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | confirmed | rejected
    raised_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Sealed("duplicate_reviews.note"))
    kept_id: Mapped[str | None] = mapped_column(String(36))  # confirmed: the case that continues


class CaseWorkflow(Base):
    __tablename__ = "case_workflows"
    __table_args__ = (Index("ix_case_workflows_progress", "last_progress_at"),
                      Index("ix_case_workflows_idle", "idle_since"),
                      Index("ix_case_workflows_visit_due", "visit_due_at"))

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(Sealed("case_workflows.state"))
    task_count: Mapped[int]
    last_progress_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Set once by the stalled-case job, cleared by the next completed step.
    stalled_since: Mapped[datetime | None]
    # The stall clock (engine.stalling): NULL while the case waits on a scheduled BPMN timer.
    idle_since: Mapped[datetime | None]
    # Once a wait ended: when the visit it opened is due (NULL after the next completed step).
    visit_due_at: Mapped[datetime | None]


class OpenTask(Base):
    __tablename__ = "open_tasks"
    __table_args__ = (
        Index("ix_open_tasks_province_role", "province", "role", "state", "due_at"),
        Index("ix_open_tasks_unit_role", "unit", "role", "state", "due_at"),
        # A lane's task list (policy.lane_condition, then the state) in its order (due date, id):
        # the first page is read off the index and stops after its rows.
        Index("ix_open_tasks_lane_unit", "province", "role", "unit", "state", "due_at", "id"),
        Index("ix_open_tasks_lane_sector", "province", "role", "sector", "state", "due_at", "id"),
        Index("ix_open_tasks_assignee", "assignee", "state", "due_at"),
        Index("ix_open_tasks_due", "due_at", "escalation_level"),
        Index("ix_open_tasks_next_escalation", "next_escalation_at"),
        Index("ix_open_tasks_province_due", "province", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    pathway_key: Mapped[str] = mapped_column(String(100))
    step: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    sector: Mapped[str | None] = mapped_column(String(32))
    province: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16))  # ready | claimed
    assignee: Mapped[str | None] = mapped_column(String(100))
    form: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    # When the next rung of the escalation ladder is due (NULL: ladder finished or no due date).
    next_escalation_at: Mapped[datetime | None]


class CaseTimer(Base):
    __tablename__ = "case_timers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    step: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(index=True)


class TaskRecord(Base):
    __tablename__ = "task_history"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    step: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    sector: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    ended_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))  # completed | cancelled
    completed_by: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(Sealed("task_history.data", "json"))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)


class CaseEvent(Base):
    """Append-only audit trail: no code path updates or deletes a row."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str | None] = mapped_column(String(36))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    step: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[str | None] = mapped_column(String(36))
    detail: Mapped[dict[str, Any]] = mapped_column(Sealed("case_events.detail", "json"))


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime]
    case_id: Mapped[str | None] = mapped_column(String(36), index=True)
    topic: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[dict[str, Any]]
    payload: Mapped[dict[str, Any]]
    # pending | sending | sent | dead | undeliverable (a group that expanded to no active user)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # A delivering process holds the row until then (a crashed one loses it afterwards).
    claimed_until: Mapped[datetime | None]


class ReferenceCounter(Base):
    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


# --- identity ------------------------------------------------------------------------

class Unit(Base):
    """A UPE unit, a SAS mobile unit or a CAPE centre, in one province."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    province: Mapped[str] = mapped_column(ForeignKey("provinces.code"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # upe | sas_mobile | cape
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # case_worker | coordinator | partner | supervisor | national | admin
    province: Mapped[str | None] = mapped_column(ForeignKey("provinces.code"))
    unit: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    sector: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(5), default="fr")
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]
    # Out of office from the first day to the last (both included; no last day: until cleared):
    # meanwhile the tasks the user holds go back to their lanes (engine.staffing.release_of_away).
    away_from: Mapped[date | None] = mapped_column(Date)
    away_until: Mapped[date | None] = mapped_column(Date)


class AdminEvent(Base):
    """Append-only audit of administrative changes (units, users): who, when, what, and the names
    of the fields changed, never their values (no password, e-mail or phone is copied here)."""

    __tablename__ = "admin_events"
    __table_args__ = (Index("ix_admin_events_at", "at", "id"),
                      Index("ix_admin_events_target", "target_kind", "target", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))  # unit_created | unit_changed | user_created | …
    target_kind: Mapped[str] = mapped_column(String(20))  # unit | user
    target: Mapped[str] = mapped_column(String(100))  # the unit's code, the user's name
    fields: Mapped[list[str]]


class AuthToken(Base):
    """An issued bearer token: signed, expiring, and revocable by its id."""

    __tablename__ = "auth_tokens"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8), default="api", server_default="api")  # api | web (session)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),
                      Index("ix_login_attempts_source_at", "source", "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    success: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str | None] = mapped_column(String(64))


class Notification(Base):
    """An in-app notification for one user (texts rendered in the reader's language)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user", "username", "read_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    topic: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[str | None] = mapped_column(String(36))
    outbox_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    payload: Mapped[dict[str, Any]]


class DeliveryIncident(Base):
    """A message nobody could receive (its recipient group had no active user): an incident for the
    province's CAPE coordinators until one records how the recipient was informed instead."""

    __tablename__ = "delivery_incidents"
    __table_args__ = (UniqueConstraint("outbox_id", name="uq_delivery_incidents_outbox"),
                      Index("ix_delivery_incidents_province_status", "province", "status", "raised_at"),
                      Index("ix_delivery_incidents_case_status", "case_id", "status"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # One incident per outbox message: raising it twice (a retried expansion) finds the first.
    outbox_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    case_id: Mapped[str | None] = mapped_column(String(36))
    province: Mapped[str | None] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(20))
    # What was missing: the recipient group that had no active user (role, province, sector, unit…).
    recipient: Mapped[dict[str, Any]]
    missing: Mapped[str] = mapped_column(String(40))  # no_active_recipient
    raised_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None]
    # How the recipient was informed instead: phone | fax | letter | in_person | other, and when.
    informed_via: Mapped[str | None] = mapped_column(String(16))
    informed_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    acknowledgment_reference: Mapped[str | None] = mapped_column(String(100))


class FormDraft(Base):
    """A form edited in the admin form editor, used by the next deploy of a pathway."""

    __tablename__ = "form_drafts"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    schema: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))


class Training(Base):
    """A training session for UPE staff (feeds the training indicators)."""

    __tablename__ = "trainings"
    __table_args__ = (Index("ix_trainings_province_start", "province", "start_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    province: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    units: Mapped[list[str]]
    participants: Mapped[list[str]]
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(100))


# --- statistics and planning (pathway subjects other than a child) ----------------------

class StatisticalReport(Base):
    """A unit's quarterly statistical report; its pathway runs as the case ``case_id``."""

    __tablename__ = "statistical_reports"
    __table_args__ = (UniqueConstraint("unit", "year", "quarter", name="uq_statistical_report_quarter"),
                      Index("ix_statistical_reports_due", "province", "due_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), unique=True)
    province: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    year: Mapped[int]
    quarter: Mapped[int]
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime]
    figures: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))  # preparing | submitted | returned | published
    published_at: Mapped[datetime | None]


class ActionPlan(Base):
    """A province's child-protection action plan for a period; its pathway is the case ``case_id``."""

    __tablename__ = "action_plans"
    __table_args__ = (UniqueConstraint("province", "period_start", name="uq_action_plan_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), unique=True)
    province: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))


class ActionPlanVersion(Base):
    """One version of a plan: priorities → general objectives → specific objectives → actions."""

    __tablename__ = "action_plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "number", name="uq_action_plan_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("action_plans.id"), index=True)
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # draft | submitted | returned | validated | superseded
    content: Mapped[dict[str, Any]]
    version_date: Mapped[date] = mapped_column(Date)
    comments: Mapped[list[Any]]  # the CPPE's returns and the reviews, in order
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))
    validated_at: Mapped[datetime | None]
    validated_by: Mapped[str | None] = mapped_column(String(100))


# --- the case file: notes and contacts (engine.case_records) -----------------------------

class CaseNote(Base):
    """A short entry of the case's timeline written by its team (after a phone call with the aunt…):
    ``team`` notes are read by the case's team, ``coordinators`` notes by the province's coordinators
    and their author. The case event ``note_added`` names the note, never its text."""

    __tablename__ = "case_notes"
    __table_args__ = (Index("ix_case_notes_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    visibility: Mapped[str] = mapped_column(String(16))  # team | coordinators
    text: Mapped[str] = mapped_column(Sealed("case_notes.text"))
    author: Mapped[str] = mapped_column(String(100))
    author_role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]


class CaseContact(Base):
    """A person or place the team reaches about the child (mother, guardian, school…); removing one
    marks it inactive (its events stay). ``may_contact`` false: the child's safety says this person
    must not be contacted (partners never see such a contact)."""

    __tablename__ = "case_contacts"
    __table_args__ = (Index("ix_case_contacts_case", "case_id", "active", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    relation: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(Sealed("case_contacts.name"))
    phone: Mapped[str | None] = mapped_column(Sealed("case_contacts.phone"))
    address: Mapped[str | None] = mapped_column(Sealed("case_contacts.address"))
    guardian: Mapped[bool] = mapped_column(Boolean, default=False)
    may_contact: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(Sealed("case_contacts.note"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))
class TaskView(Base):
    """A task list's filters a user saved under a name (``task_views``: at most a few per user)."""

    __tablename__ = "task_views"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_task_view_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    filters: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class TaskDraft(Base):
    """What a user typed in a step's form and has not submitted yet (``task_drafts``): personal,
    never in the case's history, deleted when the task ends and purged after some days."""

    __tablename__ = "task_drafts"
    __table_args__ = (UniqueConstraint("user_id", "task_id", name="uq_task_draft"),
                      Index("ix_task_drafts_saved_at", "saved_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    task_id: Mapped[str] = mapped_column(String(36), index=True)  # no foreign key: the open task row ends
    data: Mapped[dict[str, Any]] = mapped_column(Sealed("task_drafts.data", "json"))
    saved_at: Mapped[datetime]
# --- documents on a child's case (engine/documents.py) ---------------------------------------

class CaseDocument(Base):
    """A document of a child's case (certificate, court order, photo…): its bytes in the database,
    so that every node reads them, apart from the case's rows; who uploaded it (role and sector:
    partners read their sector's documents only, :mod:`api.policy`); never updated."""

    __tablename__ = "case_documents"
    __table_args__ = (Index("ix_case_documents_case", "case_id", "uploaded_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))  # the step it was uploaded from, if any
    kind: Mapped[str] = mapped_column(String(40))  # engine.documents.KINDS
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(40))  # decided from the bytes
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    scan: Mapped[str] = mapped_column(String(16))  # clean | not_scanned
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploader_role: Mapped[str] = mapped_column(String(20))
    uploader_sector: Mapped[str | None] = mapped_column(String(40))
    uploaded_at: Mapped[datetime]
    content: Mapped[bytes] = mapped_column(Sealed("case_documents.content", "bytes"), deferred=True)


# --- a case that moves (engine/transfers.py) ----------------------------------------------------

class CaseTransfer(Base):
    """A case's move to another unit, of its province or of another one: requested by a
    coordinator with a reason, pending until the receiving province's coordinators accept it
    (the case, its open tasks and its history then belong to the new unit) or decline it with a
    reason. One pending transfer per case at most (a partial unique index); ``respond_by`` is
    escalated like a step's due date (:func:`engine.transfers.escalate_overdue`)."""

    __tablename__ = "case_transfers"
    __table_args__ = (
        Index("ix_case_transfers_case", "case_id", "requested_at"),
        Index("ix_case_transfers_to_province_state", "to_province", "state", "respond_by"),
        Index("ix_case_transfers_from_province_state", "from_province", "state"),
        Index("ix_case_transfers_next_escalation", "next_escalation_at"),
        Index("uq_case_transfers_one_pending", "case_id", unique=True,
              sqlite_where=text("state = 'pending'"), postgresql_where=text("state = 'pending'")),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    from_province: Mapped[str] = mapped_column(String(64))
    from_unit: Mapped[str] = mapped_column(String(100))
    to_province: Mapped[str] = mapped_column(String(64))
    to_unit: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Sealed("case_transfers.reason"))
    state: Mapped[str] = mapped_column(String(16))  # pending | accepted | declined | cancelled
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime]
    respond_by: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Sealed("case_transfers.decision_reason"))  # why declined
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at: Mapped[datetime | None]
# --- referrals to partners (engine/referrals.py) ---------------------------------------------

class Referral(Base):
    """A referral of a child's case to a partner sector of the province (or a named organisation of
    it) for one service, with a response deadline: requested → accepted | declined → completed, or
    cancelled by its requester. Shaped after FHIR ``ServiceRequest`` and ``Task`` (docs/referrals.md).
    ``next_escalation_at`` is when the next rung of the ladder is due (the response deadline while
    requested, the service deadline ``due_by`` once accepted; NULL when answered or done)."""

    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_case", "case_id", "requested_at"),
                      Index("ix_referrals_performer", "province", "performer_sector", "status", "respond_by"),
                      Index("ix_referrals_next_escalation", "next_escalation_at"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    province: Mapped[str] = mapped_column(String(64))  # the case's province when it was made
    requested_at: Mapped[datetime]
    requester: Mapped[str] = mapped_column(String(100))
    requester_role: Mapped[str] = mapped_column(String(20))
    requester_unit: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[str | None] = mapped_column(String(36))  # the step it was made from, if any
    step: Mapped[str | None] = mapped_column(String(100))
    performer_sector: Mapped[str] = mapped_column(String(32))
    performer_organisation: Mapped[str | None] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(40))  # engine.referrals.SERVICES of the sector
    service_note: Mapped[str | None] = mapped_column(Sealed("referrals.service_note"))
    reason: Mapped[str] = mapped_column(Sealed("referrals.reason"))
    priority: Mapped[str] = mapped_column(String(8))  # routine | urgent | asap
    respond_by: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # requested | accepted | declined | completed | cancelled
    status_reason: Mapped[str | None] = mapped_column(Sealed("referrals.status_reason"))  # why declined or cancelled
    accepted_by: Mapped[str | None] = mapped_column(String(100))
    accepted_at: Mapped[datetime | None]
    accept_note: Mapped[str | None] = mapped_column(Sealed("referrals.accept_note"))
    due_by: Mapped[datetime | None]  # once accepted: when the service is to be given
    declined_by: Mapped[str | None] = mapped_column(String(100))
    declined_at: Mapped[datetime | None]
    service_given: Mapped[str | None] = mapped_column(Sealed("referrals.service_given"))
    occurrence: Mapped[date | None] = mapped_column(Date)
    completed_by: Mapped[str | None] = mapped_column(String(100))
    completed_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(100))
    cancelled_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


# --- the data keys that seal the children's data (engine/crypto.py) -------------------------------

class AuditLink(Base):
    """One link of the audit trail's hash chain (engine.audit): the event it seals (a case event
    or an administrative one) and the keyed hash of that event chained to the previous link.
    Append-only, written by the chaining job, never by a command."""

    __tablename__ = "audit_chain"
    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_audit_chain_event"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(8))  # case | admin
    event_id: Mapped[int] = mapped_column(BigInteger)
    link: Mapped[str] = mapped_column(String(64))
    chained_at: Mapped[datetime]


class AuditChainHead(Base):
    """The single row the chaining job locks, and where it looks for new events (the highest id
    chained by the run before last, per source: an event committed late is still found)."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_low: Mapped[int] = mapped_column(BigInteger, default=0)
    case_seen: Mapped[int] = mapped_column(BigInteger, default=0)
    admin_low: Mapped[int] = mapped_column(BigInteger, default=0)
    admin_seen: Mapped[int] = mapped_column(BigInteger, default=0)


class DataKey(Base):
    """An AES-256 data key, stored only wrapped by the master key kept outside the database
    (``HIMAYA_DATA_KEY`` or the key file); ``fingerprint`` names that master key. The active one
    seals new values; the others still open what they sealed."""

    __tablename__ = "data_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class NationalFigures(Base):
    """The national level's figures of one period, hidden together (engine.disclosure), kept a few
    minutes (engine.figures_cache): what the national page reads instead of recounting the country
    at each request. Aggregates only, with their small cells already hidden: no child in them."""

    __tablename__ = "national_figures"

    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    period_end: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime]
    figures: Mapped[dict[str, Any]]


# --- prevention, categories as reference data, plan follow-up (issue 24) --------------------

class PreventionActivity(Base):
    """An awareness or prevention session held by a UPE or the CAPE (a school talk, a radio
    programme, a mosque meeting…): counted in the indicators and the unit's quarterly report.
    Counts of participants only, never a participant's name."""

    __tablename__ = "prevention_activities"
    __table_args__ = (Index("ix_prevention_province_held", "province", "held_on"),
                      Index("ix_prevention_unit_held", "unit", "held_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    held_on: Mapped[date] = mapped_column(Date)
    province: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    place_kind: Mapped[str] = mapped_column(String(32))  # engine.prevention.PLACE_KINDS
    place_name: Mapped[str] = mapped_column(String(200))
    theme: Mapped[str] = mapped_column(String(32))  # engine.prevention.THEMES
    audience: Mapped[str] = mapped_column(String(300))  # who was addressed, in words ("6th-year pupils")
    children: Mapped[int] = mapped_column(Integer)
    parents: Mapped[int] = mapped_column(Integer)
    professionals: Mapped[int] = mapped_column(Integer)
    partners: Mapped[list[str]]
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(100))


class CaseCategory(Base):
    """A category a child is reported under (reference data an administrator extends): its stable
    code, its labels, its default risk level and whether the prosecutor must be informed of it
    (``../shared/PROTOCOL.md``: violence, exploitation, begging, danger). A pathway's own lists
    (``risk_high_categories``…) still take precedence for its cases."""

    __tablename__ = "case_categories"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    label_fr: Mapped[str] = mapped_column(String(200))
    label_ar: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    risk_level: Mapped[str] = mapped_column(String(8))  # high | medium | low
    inform_prosecutor: Mapped[bool] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))


class PlanActionProgress(Base):
    """Where one action of a validated plan version stands (``action_path``: ``p.g.s.a``, its
    place in the version's content, which a validated version never changes)."""

    __tablename__ = "plan_action_progress"
    __table_args__ = (UniqueConstraint("version_id", "action_path", name="uq_plan_action_progress"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("action_plans.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("action_plan_versions.id"))
    action_path: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # not_started | in_progress | done | dropped
    percent_done: Mapped[int] = mapped_column(Integer)
    started_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))


class PlanActionUpdate(Base):
    """The history of an action's follow-up: every update as it was recorded (append-only)."""

    __tablename__ = "plan_action_updates"
    __table_args__ = (Index("ix_plan_action_updates_action", "version_id", "action_path", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("action_plans.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("action_plan_versions.id"))
    action_path: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    percent_done: Mapped[int] = mapped_column(Integer)
    started_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_as: Mapped[str] = mapped_column(String(20))  # committee | pilot



# --- a unit's partnership convention and its milestones (engine/conventions.py) ----------------

class UnitConvention(Base):
    """A unit's partnership convention (a UPE project's three-year convention with the ministry,
    the Entraide Nationale, the province…): its period and partners; its milestones are followed
    like the plan's actions."""

    __tablename__ = "unit_conventions"
    __table_args__ = (UniqueConstraint("reference", name="uq_unit_conventions_reference"),
                      Index("ix_unit_conventions_province", "province", "starts_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    province: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    unit: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    reference: Mapped[str] = mapped_column(String(64))  # as written on the signed convention
    title: Mapped[str] = mapped_column(String(200))
    partners: Mapped[list[str]]
    signed_on: Mapped[date] = mapped_column(Date)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(100))
    revision: Mapped[int] = mapped_column(Integer)  # 1 when recorded, one more per correction
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))


class ConventionMilestone(Base):
    """Where one milestone of a convention stands (state, percentage, actual dates, note)."""

    __tablename__ = "convention_milestones"
    __table_args__ = (UniqueConstraint("convention_id", "position", name="uq_convention_milestone_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    convention_id: Mapped[int] = mapped_column(ForeignKey("unit_conventions.id"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))  # engine.plan_progress.STATES
    percent_done: Mapped[int] = mapped_column(Integer)
    started_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer)  # 0 until its first follow-up
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))


class ConventionMilestoneUpdate(Base):
    """The history of a milestone's follow-up: every update as it was recorded (append-only)."""

    __tablename__ = "convention_milestone_updates"
    __table_args__ = (Index("ix_convention_milestone_updates", "milestone_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    convention_id: Mapped[int] = mapped_column(ForeignKey("unit_conventions.id"))
    milestone_id: Mapped[int] = mapped_column(ForeignKey("convention_milestones.id"))
    state: Mapped[str] = mapped_column(String(16))
    percent_done: Mapped[int] = mapped_column(Integer)
    started_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_as: Mapped[str] = mapped_column(String(20))  # committee | unit

# --- idempotent commands (engine/idempotency.py) ---------------------------------------------

class IdempotencyKey(Base):
    """The answer of a command sent with an ``Idempotency-Key`` (a report, a step's completion),
    per user and key: a retry with the same key and the same body gets this answer back instead of
    a second case or completion; the same key with another body is refused. Written in the
    command's own transaction; purged once ``expires_at`` has passed. The answer may name
    children (the earlier reports of a possible duplicate): it is sealed."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),
                      Index("ix_idempotency_keys_expires_at", "expires_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(128))
    endpoint: Mapped[str] = mapped_column(String(120))  # e.g. "POST /api/v1/cases"
    request_digest: Mapped[str] = mapped_column(String(64))  # SHA-256 (hex) of the canonical JSON body
    status: Mapped[int] = mapped_column(Integer)
    answer: Mapped[dict[str, Any]] = mapped_column(Sealed("idempotency_keys.answer", "json"))
    case_id: Mapped[str | None] = mapped_column(String(36))  # the case the command made or moved
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
