"""The words Himaya runs on, written once: roles, sectors, risk levels, unit kinds, and the lane.

Everything that names a role, a partner sector, a risk level or a kind of unit takes it from
here: the BPMN rules (a user task's ``role`` and ``sector``), the intake, the access policy,
user administration, the escalation ladder, the task projection and the pages' labels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

# --- roles ------------------------------------------------------------------------------
CASE_WORKER = "case_worker"  # UPE (or the CAPE's social workers where the province has no UPE)
COORDINATOR = "coordinator"  # CAPE coordinator
PARTNER = "partner"  # a partner institution of the province, by sector
SUPERVISOR = "supervisor"  # CPPE member, provincial delegate
NATIONAL = "national"  # the ministry: indicators of every province, no child's file
ADMIN = "admin"  # pathways, forms, users: no child's file

# Roles that hold a province and work the pathway's tasks: a user task's ``role`` is one of these.
TERRITORIAL_ROLES = (CASE_WORKER, COORDINATOR, PARTNER, SUPERVISOR)
ROLES = (*TERRITORIAL_ROLES, NATIONAL, ADMIN)

# --- partner sectors --------------------------------------------------------------------
JUSTICE = "justice"  # the public prosecutor's office
SECTORS = (JUSTICE, "health", "education", "police", "gendarmerie", "youth", "employment", "social_action",
           "civil_status", "other")

# --- risk levels, most urgent first -------------------------------------------------------
HIGH, MEDIUM, LOW = "high", "medium", "low"
RISK_LEVELS = (HIGH, MEDIUM, LOW)

# --- what a pathway's instances are about (process property ``subject``) ---------------------
CHILD = "child"  # a child's file: the protection pathway
STATISTICAL_REPORT = "statistical_report"  # a unit's quarterly report
ACTION_PLAN = "action_plan"  # a province's action plan
SUBJECT_KINDS = (CHILD, STATISTICAL_REPORT, ACTION_PLAN)

# --- kinds of unit ------------------------------------------------------------------------
UPE = "upe"  # unité de protection de l'enfance (an association's unit)
SAS_MOBILE = "sas_mobile"  # street outreach
CAPE = "cape"  # the province's coordination centre
# A care institution (établissement de protection sociale, مؤسسة الرعاية الاجتماعية): its staff hold the
# case-worker role as the institution's social mediators, and work the aftercare pathway of its young people.
CARE_INSTITUTION = "care_institution"
UNIT_KINDS = (UPE, SAS_MOBILE, CAPE, CARE_INSTITUTION)

# The units a child is reported to and its file kept at: the province's UPE units and its CAPE
# centre. A CAPE's own social workers are case workers of the CAPE unit and take the UPE's steps
# (in a province without a UPE they are the only ones; where there is a UPE, a CAPE may still
# receive a child directly). SAS mobile teams detect children in the street and report them to
# one of these units: they receive none themselves.
RECEIVING_UNIT_KINDS = (UPE, CAPE)  # also the default of a pathway's ``unit_kinds`` (aftercare: care_institution)
# Case workers belong to a unit of any kind: a UPE, a CAPE (its social workers), a SAS mobile team.
CASE_WORKER_UNIT_KINDS = UNIT_KINDS


def receives_children(kind: str | None) -> bool:
    """Whether a unit of this kind receives a reported child (files its case, takes its steps)."""
    return kind in RECEIVING_UNIT_KINDS


class _InLane(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def province(self) -> str | None: ...
    @property
    def unit(self) -> str | None: ...
    @property
    def sector(self) -> str | None: ...


@dataclass(frozen=True)
class Lane:
    """Who works a task: a role in a province, narrowed to a unit for case workers and to a
    sector for partners (coordinators and supervisors work for the whole province).

    The same value says who may act on a task (:mod:`api.policy`), who may be assigned it, who
    the first rung of the escalation ladder reminds, and how a task's row is filed."""

    role: str
    province: str | None
    unit: str | None = None
    sector: str | None = None

    @classmethod
    def of(cls, holder: _InLane) -> Lane:
        """The lane of a task, a user or a principal (anything with role, province, unit, sector)."""
        return cls(holder.role, holder.province, holder.unit if holder.role == CASE_WORKER else None,
                   holder.sector if holder.role == PARTNER else None)

    @property
    def by_unit(self) -> bool:
        """Case workers' lanes are a unit's (even a unit left empty: then nobody's)."""
        return self.role == CASE_WORKER

    @property
    def by_sector(self) -> bool:
        """Partners' lanes are a sector's."""
        return self.role == PARTNER

    def recipients(self) -> dict[str, Any]:
        """The lane as a recipient group of the outbox (expanded into its active users)."""
        group: dict[str, Any] = {"role": self.role, "province": self.province}
        if self.by_unit:
            group["unit"] = self.unit
        if self.by_sector:
            group["sector"] = self.sector
        return group
