"""The access policy: the one place that decides who sees and does what.

Every query of cases and tasks is filtered in SQL by :func:`case_scope` / :func:`task_scope`
(never fetch-then-filter), so an out-of-scope record is simply not found (404). Actions are
decided by the ``can_*`` functions on rows the caller can already see (403 when seen but not
allowed).

| role | cases it sees | tasks it sees | tasks it acts on |
|---|---|---|---|
| case_worker | its unit (a UPE, a CAPE's social workers, a SAS mobile team) | case-worker tasks of its unit | those |
| coordinator | its province | all tasks of its province | coordinator tasks of its province; assigns any |
| partner | cases of its province with a task of its sector | partner tasks of its sector and province | those |
| supervisor | its province (read-only) | all tasks of its province | CPPE tasks (action plan) of its province |
| national, admin | none (national: indicators only; admin: pathways and users) | none | none |

Delivery incidents (a message nobody could receive, :mod:`engine.incidents`): coordinators and
supervisors see their province's, administrators every province's without the file's content
(case reference, topic, province, what was missing); only the province's coordinators resolve
them; partners, case workers and the national level see none (:func:`incident_scope`).

Cases are children's files: :func:`case_scope` never selects the instances of the report and
action-plan pathways (``subject_kind``); their tasks are in task lists as any other, and the
reports and plans themselves have their own scopes (:func:`report_scope`, :func:`plan_scope`).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import and_, exists, false, or_, select, true
from sqlalchemy.orm import aliased

from engine.models import (
    ActionPlan,
    Case,
    CaseContact,
    CaseNote,
    DeliveryIncident,
    OpenTask,
    PreventionActivity,
    StatisticalReport,
    TaskRecord,
    UnitConvention,
)
from engine.vocabulary import (
    ADMIN,
    CAPE,
    CASE_WORKER,
    CHILD,
    COORDINATOR,
    JUSTICE,
    NATIONAL,
    PARTNER,
    SAS_MOBILE,
    SUPERVISOR,
    TERRITORIAL_ROLES,
    UPE,
    Lane,
)

from .auth import Principal

CASE_ROLES = TERRITORIAL_ROLES  # see children's cases
ACTING_ROLES = TERRITORIAL_ROLES  # act on the tasks of their lane
PROVINCE_ROLES = (COORDINATOR, SUPERVISOR)  # see their whole province
FULL_FILE_ROLES = (CASE_WORKER, COORDINATOR, SUPERVISOR)  # read the whole file and its history


def case_scope(principal: Principal) -> Any:
    """SQL condition on ``Case`` selecting the children's cases the principal may see."""
    return and_(Case.subject_kind == CHILD, _territory(principal))


def can_read_access_log(principal: Principal, case: Any) -> bool:
    """Who read a child's file is for the province's CAPE coordinators to see."""
    return principal.role == COORDINATOR and principal.province == case.province


def can_review_duplicates(principal: Principal) -> bool:
    """The CAPE coordinators decide whether two reports are of one child (for their province's cases)."""
    return principal.role == COORDINATOR and principal.province is not None


def can_correct_identity(principal: Principal, case: Any) -> bool:
    """The case's own team corrects a child's identity: its unit's case workers and the province's
    coordinators (a partner never); nobody once the file is anonymised (its retention over)."""
    if principal.province != case.province or getattr(case, "anonymised_at", None) is not None:
        return False
    return principal.role == COORDINATOR or (principal.role == CASE_WORKER and principal.unit == case.unit)


def key_province(principal: Principal) -> str | None:
    """The province whose children's search keys the principal's searches read (None: every
    province's; :func:`case_scope` still decides which cases are shown)."""
    return principal.province


def _territory(principal: Principal) -> Any:
    if principal.role == CASE_WORKER:
        return and_(Case.unit == principal.unit, Case.province == principal.province)
    if principal.role in PROVINCE_ROLES:
        return Case.province == principal.province
    if principal.role == PARTNER:
        # Aliases, correlated to Case only: the outer query may itself read these tables.
        open_task, ended_task = aliased(OpenTask), aliased(TaskRecord)
        return and_(Case.province == principal.province, or_(
            exists(select(open_task.id).where(open_task.case_id == Case.id, open_task.role == PARTNER,
                                              open_task.sector == principal.sector).correlate(Case)),
            exists(select(ended_task.id).where(ended_task.case_id == Case.id, ended_task.role == PARTNER,
                                               ended_task.sector == principal.sector).correlate(Case))))
    return false()


@lru_cache(maxsize=4096)
def lane_condition(lane: Lane) -> Any:
    """SQL condition on ``OpenTask``: the tasks of this lane (an immutable expression, built once
    per lane: building it cost more than running the task list's query)."""
    condition = and_(OpenTask.province == lane.province, OpenTask.role == lane.role)
    if lane.by_unit:
        condition = and_(condition, OpenTask.unit == lane.unit)
    if lane.by_sector:
        condition = and_(condition, OpenTask.sector == lane.sector)
    return condition


def task_scope(principal: Principal) -> Any:
    """SQL condition on ``OpenTask`` selecting the open tasks the principal may see: its lane's,
    and every task of the province for coordinators and supervisors."""
    if principal.role in PROVINCE_ROLES:
        return OpenTask.province == principal.province
    if principal.role in ACTING_ROLES:
        return lane_condition(Lane.of(principal))
    return false()


def actionable_scope(principal: Principal) -> Any:
    """SQL condition on ``OpenTask``: the tasks the principal may claim and complete (its lane's)."""
    if principal.role in ACTING_ROLES:
        return lane_condition(Lane.of(principal))
    return false()


def can_act(principal: Principal, task: Any) -> bool:
    """May claim, unclaim or complete this (visible) task: its lane is the principal's."""
    return principal.role in ACTING_ROLES and Lane.of(task) == Lane.of(principal)


def report_scope(principal: Principal) -> Any:
    """SQL condition on ``StatisticalReport``: a unit's own reports, or the province's."""
    if principal.role == CASE_WORKER:
        return and_(StatisticalReport.unit == principal.unit, StatisticalReport.province == principal.province)
    if principal.role in PROVINCE_ROLES:
        return StatisticalReport.province == principal.province
    return false()


def plan_scope(principal: Principal) -> Any:
    """SQL condition on ``ActionPlan``: the province's plans (all of them for the national level)."""
    if principal.role in PROVINCE_ROLES:
        return ActionPlan.province == principal.province
    if principal.role == NATIONAL:
        return ActionPlan.province.is_not(None)
    return false()


def can_read_reports(principal: Principal) -> bool:
    """May list statistical reports (which ones: ``report_scope``)."""
    return principal.role in (CASE_WORKER, *PROVINCE_ROLES)


def can_read_plans(principal: Principal) -> bool:
    """May list action plans (which ones: ``plan_scope``)."""
    return principal.role in (*PROVINCE_ROLES, NATIONAL)


def can_read_indicators(principal: Principal) -> bool:
    """May read indicators: the province's for coordinators and the CPPE, any for the national level."""
    return principal.role in (*PROVINCE_ROLES, NATIONAL)


def reads_every_province(principal: Principal) -> bool:
    """The national level: indicators and plans of every province (small counts hidden)."""
    return principal.role == NATIONAL


def can_read_trainings(principal: Principal) -> bool:
    """May read the province's training sessions (the national level sees their indicators only)."""
    return principal.role in PROVINCE_ROLES


def can_record_training(principal: Principal, province: str | None) -> bool:
    """The province's CAPE coordinators record the trainings of its UPE staff."""
    return principal.role == COORDINATOR and principal.province == province


def prevention_scope(principal: Principal) -> Any:
    """SQL condition on ``PreventionActivity``: a unit's own (its staff), the province's (the CAPE
    coordinators and the CPPE); none for the others (the national level reads the indicators)."""
    if principal.role == CASE_WORKER and principal.unit:
        return and_(PreventionActivity.unit == principal.unit, PreventionActivity.province == principal.province)
    if principal.role in PROVINCE_ROLES:
        return PreventionActivity.province == principal.province
    return false()


def can_read_prevention(principal: Principal) -> bool:
    """May list prevention activities (which ones: :func:`prevention_scope`)."""
    return (principal.role == CASE_WORKER and bool(principal.unit)) or principal.role in PROVINCE_ROLES


def prevention_units(principal: Principal, own_unit_kind: str | None) -> set[str] | None | bool:
    """The units the principal records prevention activities for: its own UPE or CAPE unit (its
    staff), any UPE or CAPE of the province (None: the CAPE coordinators), or False (not allowed)."""
    if principal.role == COORDINATOR and principal.province:
        return None
    if principal.role == CASE_WORKER and principal.unit and own_unit_kind in (UPE, CAPE):
        return {principal.unit}
    return False


def can_draft_plan(principal: Principal, province: str) -> bool:
    """The CAPE technical committee (the province's coordinators) drafts the plan."""
    return principal.role == COORDINATOR and principal.province == province


def convention_scope(principal: Principal) -> Any:
    """SQL condition on ``UnitConvention``: the province's for its coordinators and the CPPE, all
    for the national level, its own unit's for a case worker, none for anyone else."""
    if principal.role in PROVINCE_ROLES:
        return UnitConvention.province == principal.province
    if principal.role == NATIONAL:
        return UnitConvention.province.is_not(None)
    if principal.role == CASE_WORKER and principal.unit:
        return and_(UnitConvention.unit == principal.unit, UnitConvention.province == principal.province)
    return false()


def can_read_conventions(principal: Principal) -> bool:
    """May list units' conventions (which ones: :func:`convention_scope`)."""
    return principal.role in (*PROVINCE_ROLES, NATIONAL) or (principal.role == CASE_WORKER and bool(principal.unit))


def may_follow_conventions(principal: Principal) -> bool:
    """May record a milestone's follow-up at all: a case worker of a unit (its own unit's
    conventions) or a coordinator (the province's): :func:`engine.conventions.follow_role`."""
    return (principal.role == CASE_WORKER and bool(principal.unit)) or principal.role == COORDINATOR


def can_record_convention(principal: Principal) -> bool:
    """The CAPE technical committee (the province's coordinators) records conventions and their
    milestones; the milestones' follow-up: :func:`engine.conventions.follow_role`."""
    return principal.role == COORDINATOR and bool(principal.province)


def incident_scope(principal: Principal) -> Any:
    """SQL condition on ``DeliveryIncident``: the province's for coordinators and supervisors,
    all of them for administrators, none for anyone else."""
    if principal.role in PROVINCE_ROLES:
        return DeliveryIncident.province == principal.province
    if principal.role == ADMIN:
        return true()
    return false()


def can_read_incidents(principal: Principal) -> bool:
    """May list delivery incidents (which ones: :func:`incident_scope`)."""
    return principal.role in (*PROVINCE_ROLES, ADMIN)


def sees_incident_details(principal: Principal) -> bool:
    """Coordinators and supervisors read how the recipient was informed, the note and the case's
    link; administrators only the reference, topic, province and what was missing."""
    return principal.role in PROVINCE_ROLES


def can_resolve_incident(principal: Principal, incident: Any) -> bool:
    """The province's CAPE coordinators record how the recipient was informed instead."""
    return principal.role == COORDINATOR and incident.province == principal.province


def can_assign(principal: Principal, task: Any) -> bool:
    return principal.role == COORDINATOR and task.province == principal.province


def may_be_assigned(user: Any, task: Any) -> bool:
    """Whether ``user`` (an active User row) can take ``task`` on: the task is in the user's lane."""
    return bool(user.active) and Lane.of(user) == Lane.of(task)


def reports_children(principal: Principal) -> bool:
    """May open the report form (for which unit: :func:`can_report`)."""
    return principal.role in (CASE_WORKER, COORDINATOR)


def can_report(principal: Principal, province: str, unit: str, *, own_unit_kind: str | None = None) -> bool:
    """May file a case at this unit of this province (whether the unit exists and receives
    children, :data:`engine.vocabulary.RECEIVING_UNIT_KINDS`, the engine checks: a 400 on ``unit``).

    A case worker reports to its own unit: a UPE, or a CAPE, whose social workers take the UPE's
    steps. A SAS mobile team's worker (``own_unit_kind``, the kind of the principal's unit) detects
    children in the street and reports them to the unit of its province that receives them, a UPE
    or the CAPE. Coordinators report for their whole province."""
    if principal.role == CASE_WORKER:
        if province != principal.province:
            return False
        return unit == principal.unit or own_unit_kind == SAS_MOBILE
    return principal.role == COORDINATOR and province == principal.province


def can_start(principal: Principal, start_roles: set[str]) -> bool:
    """May open the start page of a pathway whose ``start_roles`` property lists these roles (none
    listed: those who report children); for which unit: :func:`can_report`."""
    return principal.role in start_roles if start_roles else reports_children(principal)


def can_read_history(principal: Principal) -> bool:
    return principal.role in FULL_FILE_ROLES


def can_change_risk(principal: Principal, case: Any) -> bool:
    return principal.role == COORDINATOR and case.province == principal.province


def can_move_case(principal: Principal, case: Any) -> bool:
    """Transfer, close early or reopen a case: the province's coordinators (CAPE)."""
    return principal.role == COORDINATOR and case.province == principal.province


def can_export_for_subject_access(principal: Principal, case: Any) -> bool:
    """Export a child's whole file for a subject-access request: the province's coordinators (CAPE)."""
    return principal.role == COORDINATOR and case.province == principal.province


def can_answer_transfers(principal: Principal) -> bool:
    """Accept or decline the transfers addressed to the province, withdraw those it sent."""
    return principal.role == COORDINATOR and principal.province is not None


def can_supervise(principal: Principal) -> bool:
    return principal.role in PROVINCE_ROLES


def sees_full_case(principal: Principal) -> bool:
    """Partners see only what their tasks need; the others of CASE_ROLES see the whole file."""
    return principal.role in FULL_FILE_ROLES


def is_admin(principal: Principal) -> bool:
    return principal.role == ADMIN


def home_page(principal: Principal) -> str:
    """The first page of a role: ``supervision``, ``pathways`` (admin), ``tasks``, ``indicators`` or ``home``."""
    if principal.role == SUPERVISOR:
        return "supervision"
    if principal.role == ADMIN:
        return "pathways"
    if principal.role in ACTING_ROLES:
        return "tasks"
    if principal.role == NATIONAL:
        return "indicators"
    return "home"


# --- the case file's notes and contacts (engine.case_records) ------------------------------
#
# | role | notes | contacts |
# |---|---|---|
# | case_worker of the case's unit | writes; reads ``team`` notes and its own | writes, reads all |
# | coordinator of the province | writes; reads every note | writes, reads all |
# | supervisor of the province | reads ``team`` notes (read-only, as the whole file) | reads all |
# | partner with a task on the case | none (403) | reads only contacts that may be contacted: relation, name, phone |

def can_write_case_records(principal: Principal, case: Any) -> bool:
    """The case's team writes its notes and contacts: the unit's case workers and the province's
    coordinators (as for correcting the identity)."""
    return can_correct_identity(principal, case)


def can_read_notes(principal: Principal) -> bool:
    """May read notes of a case it sees (which ones: :func:`note_scope`); partners read none."""
    return principal.role in FULL_FILE_ROLES


def note_scope(principal: Principal) -> Any:
    """SQL condition on ``CaseNote`` (of a case the principal sees): coordinators read every note,
    the others of :data:`FULL_FILE_ROLES` the ``team`` notes and their own."""
    if principal.role == COORDINATOR:
        return true()
    if principal.role in FULL_FILE_ROLES:
        return or_(CaseNote.visibility == "team", CaseNote.author == principal.username)
    return false()


def can_read_contacts(principal: Principal) -> bool:
    """May read the contacts of a case it sees (partners: :func:`contact_scope`, fewer fields)."""
    return principal.role in (*FULL_FILE_ROLES, PARTNER)


def reads_full_contacts(principal: Principal) -> bool:
    """Every field of every active contact; partners get relation, name and phone of those who may be contacted."""
    return principal.role in FULL_FILE_ROLES


def contact_scope(principal: Principal) -> Any:
    """SQL condition on ``CaseContact`` (of a case the principal sees): the active contacts, and for
    partners only those who may be contacted."""
    condition = CaseContact.active.is_(True)
    if reads_full_contacts(principal):
        return condition
    if principal.role == PARTNER:
        return and_(condition, CaseContact.may_contact.is_(True))
    return false()
# --- documents on a child's case (engine/documents.py, api/readers/documents.py) --------------

DOCUMENT_UPLOADERS = (CASE_WORKER, COORDINATOR, PARTNER)  # supervisors read, never add


def document_scope(principal: Principal) -> Any:
    """SQL condition on ``CaseDocument`` (its case filtered by :func:`case_scope` as well): the
    case's team and the supervisors read every document of the cases they see; a partner reads
    only the documents its own sector uploaded (the health partner its medico-legal certificate,
    never the court order); the others none."""
    from engine.models import CaseDocument

    if principal.role in FULL_FILE_ROLES:
        return true()
    if principal.role == PARTNER:
        return and_(CaseDocument.uploader_role == PARTNER, CaseDocument.uploader_sector == principal.sector)
    return false()


def can_add_document(principal: Principal, case: Any) -> bool:
    """Adds a document to a case it sees: the case's team (its unit's case workers, the province's
    coordinators) and the partners the case is shared with (a partner's own certificate); nobody
    once the file is anonymised."""
    return (principal.role in DOCUMENT_UPLOADERS and principal.province == case.province
            and getattr(case, "anonymised_at", None) is None)


# --- referrals to partners (engine/referrals.py, api/readers/referrals.py) ---------------------
#
# | role | referrals it sees | makes | answers (accept, decline, record the service) | cancels |
# |---|---|---|---|---|
# | case_worker | those of its unit's cases | on its unit's cases | — | its own |
# | coordinator | its province's | on its province's cases | — | its province's |
# | partner | those addressed to its sector in its province (the child's reference, age and sex only) | — | those | — |
# | supervisor | its province's (read-only) | — | — | — |

def referral_scope(principal: Principal) -> Any:
    """SQL condition on ``Referral`` joined with its ``Case``: the referrals the principal sees (a
    referral not addressed to a partner is never found: 404)."""
    from engine.models import Referral

    if principal.role in PROVINCE_ROLES:
        return Case.province == principal.province
    if principal.role == CASE_WORKER:
        return and_(Case.province == principal.province, Case.unit == principal.unit)
    if principal.role == PARTNER:
        return and_(Case.province == principal.province, Referral.performer_sector == principal.sector)
    return false()


def can_refer(principal: Principal, case: Any) -> bool:
    """The case's team refers the child to a partner: its unit's case workers, the province's coordinators."""
    return can_correct_identity(principal, case)


def can_answer_referral(principal: Principal, referral: Any, case: Any) -> bool:
    """A partner of the sector the referral is addressed to, in the case's province."""
    return (principal.role == PARTNER and principal.sector == referral.performer_sector
            and principal.province == case.province)


def can_cancel_referral(principal: Principal, referral: Any, case: Any) -> bool:
    """Its requester (still of the case's team), or a coordinator of the case's province."""
    if principal.role == COORDINATOR:
        return principal.province == case.province
    return principal.username == referral.requester and can_refer(principal, case)


def sees_referred_child(principal: Principal) -> bool:
    """Partners see of the child only the case's reference, age and sex; the case's team its name too."""
    return principal.role in FULL_FILE_ROLES


def reads_referrals(principal: Principal) -> bool:
    """May list referrals (which ones: :func:`referral_scope`)."""
    return principal.role in TERRITORIAL_ROLES
# --- administration of units and users; out of office ----------------------------------------

def can_administer(principal: Principal) -> bool:
    """Units and user accounts (and their audit) are the administrators' alone."""
    return principal.role == ADMIN


def can_set_away(principal: Principal, user: Any) -> bool:
    """Who sets a person's out-of-office dates: the person, an administrator, or a coordinator of
    the province for its territorial staff (not another coordinator's)."""
    if principal.username == user.username or principal.role == ADMIN:
        return True
    return (principal.role == COORDINATOR and user.province == principal.province
            and user.role in TERRITORIAL_ROLES and user.role != COORDINATOR)


# --- minimisation: what of the child a reader sees (issue 20; docs/security.md) ---------------
#
# The identity: names, alias, birth date, nationality, the report's place, the contacts. Masked,
# a reader sees the case's reference, the child's age and sex. Consent notes: the notes, who gave
# the consent, the young person's consent record (legal basis and "informed" ticks are shown).
#
# | reader | the child's identity | consent notes |
# |---|---|---|
# | the case's team (case workers, coordinators) | in lists and the file | yes |
# | supervisor (CPPE) | in the file it opens (logged ``case_viewed``); lists by reference | yes |
# | partner, justice | yes: the prosecutor's office acts on the named child (the law) | no |
# | partner, health | yes: its steps are medical examinations of the named child | no |
# | partner, other sectors | with the basis ``consent`` (child or guardian informed) or a | no |
# |                        | ``judicial_order`` only; else masked                          |    |

IDENTITY_SECTORS = (JUSTICE, "health")  # the partners whose steps need the named child


def sees_child_identity(principal: Principal, consent: Any) -> bool:
    """Whether the reader sees who the child is in a file it reads (see the table above):
    ``consent`` is the case's recorded legal basis and consent (``Case.consent``)."""
    if principal.role in FULL_FILE_ROLES:
        return True
    if principal.role != PARTNER:
        return False
    if principal.sector in IDENTITY_SECTORS:
        return True
    recorded = consent if isinstance(consent, dict) else {}
    basis = recorded.get("legal_basis")
    informed = recorded.get("child_informed") is True or recorded.get("guardian_informed") is True
    return basis == "judicial_order" or (basis == "consent" and informed)


def names_children_in_lists(principal: Principal, consent: Any) -> bool:
    """Whether a list row (tasks, cases, overdue and stalled lists) names the child: the case's
    team does; a supervisor reads lists by reference (the name when it opens the file); a
    partner as in its files."""
    if principal.role == SUPERVISOR:
        return False
    return sees_child_identity(principal, consent)


def sees_consent_notes(principal: Principal) -> bool:
    """The notes on consent, who gave it, the young person's consent record: the case's team and
    supervisors only, never a partner."""
    return principal.role in FULL_FILE_ROLES


def identity_scope(principal: Principal) -> Any:
    """The cases whose child the reader may find by name or birth date (a search must not tell a
    masked reader which case a name belongs to): :func:`sees_child_identity` in SQL."""
    if principal.role != PARTNER or principal.sector in IDENTITY_SECTORS:
        return true()
    basis = Case.consent_legal_basis  # the consent is sealed: its basis and "informed" are kept in clear
    return or_(basis == "judicial_order", and_(basis == "consent", Case.consent_informed.is_(True)))
