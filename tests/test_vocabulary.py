"""One vocabulary (roles, sectors, risk levels, unit kinds) and one lane rule.

The lane (role + province + unit for case workers, sector for partners) decides who acts on a
task, who may be assigned it and whom the first escalation rung reminds; written once in
``engine.vocabulary.Lane``, it must say the same in Python (``can_act``) and in SQL
(``actionable_scope``), for every role and every task.
"""
from __future__ import annotations

import itertools
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, insert, select

from api import policy
from api.auth import ROLES as AUTH_ROLES
from api.auth import Principal
from api.cli import build_parser
from api.web import labels
from engine import vocabulary
from engine.definitions.rules import ROLES as TASK_ROLES
from engine.escalation import recipients_for
from engine.intake import RISK_LEVELS as INTAKE_RISK_LEVELS
from engine.models import OpenTask
from engine.vocabulary import CASE_WORKER, COORDINATOR, PARTNER, SUPERVISOR, Lane

PROVINCES, UNITS, SECTORS = ("tanger-assilah", "casablanca"), ("upe-a", "upe-b"), ("justice", "health")


def _principals() -> list[Principal]:
    found = []
    for number, (role, province, unit, sector) in enumerate(itertools.product(
            vocabulary.ROLES, PROVINCES, (*UNITS, None), (*SECTORS, None))):
        found.append(Principal(number, f"user{number}", role, province, unit, sector, "fr"))
    return found


def _tasks() -> list[dict[str, object]]:
    tasks: list[dict[str, object]] = []
    for number, (role, province, unit, sector) in enumerate(itertools.product(
            vocabulary.TERRITORIAL_ROLES, PROVINCES, UNITS, SECTORS)):
        tasks.append({"id": f"t{number}", "case_id": "c", "pathway_key": "p", "step": "s", "role": role,
                      "sector": sector if role == PARTNER else None, "province": province, "unit": unit,
                      "state": "ready", "assignee": None, "form": None,
                      "created_at": datetime(2026, 1, 1, tzinfo=UTC), "due_at": None,
                      "escalation_level": 0, "next_escalation_at": None})
    return tasks


def test_the_lane_says_the_same_in_python_and_in_sql() -> None:
    database = create_engine("sqlite://")
    OpenTask.__table__.create(database)
    tasks = _tasks()
    with database.begin() as conn:
        conn.execute(insert(OpenTask.__table__), tasks)
        for principal in _principals():
            in_sql = set(conn.execute(select(OpenTask.id).where(policy.actionable_scope(principal))).scalars())
            in_python = {t["id"] for t in tasks if policy.can_act(principal, SimpleNamespace(**t))}
            assert in_sql == in_python, principal
            if principal.role == CASE_WORKER and principal.unit is None:
                assert not in_sql  # a case worker without a unit acts on nothing, not on the province's tasks


def test_may_be_assigned_is_the_same_lane_for_active_users_only() -> None:
    for principal, task in itertools.product(_principals(), _tasks()):
        row = SimpleNamespace(**task)
        user = SimpleNamespace(active=True, role=principal.role, province=principal.province, unit=principal.unit,
                               sector=principal.sector)
        assert policy.may_be_assigned(user, row) == policy.can_act(principal, row)
        assert not policy.may_be_assigned(SimpleNamespace(**{**vars(user), "active": False}), row)


def test_lanes_of_each_role() -> None:
    worker = SimpleNamespace(role=CASE_WORKER, province="p", unit="u", sector=None)
    partner = SimpleNamespace(role=PARTNER, province="p", unit="u", sector="health")
    coordinator = SimpleNamespace(role=COORDINATOR, province="p", unit="u", sector=None)
    assert Lane.of(worker) == Lane(CASE_WORKER, "p", "u") and Lane.of(worker).recipients() == {
        "role": CASE_WORKER, "province": "p", "unit": "u"}
    assert Lane.of(partner).recipients() == {"role": PARTNER, "province": "p", "sector": "health"}
    assert Lane.of(coordinator) == Lane(COORDINATOR, "p")  # the whole province, whatever unit the task is in


def test_the_escalation_ladder_addresses_the_lane_then_the_province() -> None:
    task = SimpleNamespace(role=PARTNER, province="p", unit="u", sector="justice", assignee=None)
    assert recipients_for(1, task) == {"role": PARTNER, "province": "p", "sector": "justice"}
    assert recipients_for(1, SimpleNamespace(**{**vars(task), "assignee": "ana"})) == {"usernames": ["ana"]}
    assert recipients_for(2, task) == {"role": COORDINATOR, "province": "p"}
    assert recipients_for(3, task) == {"role": SUPERVISOR, "province": "p"}


def test_every_list_of_roles_and_risk_levels_is_the_vocabulary() -> None:
    assert AUTH_ROLES == vocabulary.ROLES and TASK_ROLES == vocabulary.TERRITORIAL_ROLES
    assert INTAKE_RISK_LEVELS == vocabulary.RISK_LEVELS
    for role in vocabulary.ROLES:  # the command line offers exactly these
        assert build_parser().parse_args(["user", "add", "someone", "--role", role]).role == role
    with pytest.raises(SystemExit):
        build_parser().parse_args(["user", "add", "someone", "--role", "cppe"])


def test_the_partner_handlers_address_the_partner_lane() -> None:
    from handlers import partners

    assert (partners.PARTNER, partners.JUSTICE) == (vocabulary.PARTNER, vocabulary.JUSTICE)
    assert partners._partners_of("p", "health") == Lane(PARTNER, "p", sector="health").recipients()


def test_every_code_shown_on_a_page_has_a_label() -> None:
    assert set(labels.ROLE_LABELS) == set(vocabulary.ROLES)
    assert set(labels.RISK_LABELS) == set(vocabulary.RISK_LEVELS)
