"""The authorization matrix: every role × endpoint × own/other territory (× partner sector).

The expected outcome of each cell comes from an oracle written here from docs/api.md's role
table, independently of api/policy.py; any difference is a leak or a wrong refusal.
"""
from __future__ import annotations

from dataclasses import dataclass

from api.demo import demo_users
from engine.runtime import SYSTEM, Actor
from tests.api_data import intake
from tests.conftest import ApiClient
from tests.helpers import page_csrf, report, task_id

USERS = {u["username"]: u for u in demo_users()}
# The unit that receives each province's children, and its case worker: Chefchaouen has no UPE,
# its CAPE's social worker takes the UPE's steps.
SAME_PROVINCE_UNITS = {"tanger-assilah": "upe-tanger-assilah", "casablanca": "upe-casablanca",
                       "chefchaouen": "cape-chefchaouen"}
WORKERS = {"tanger-assilah": "upe.tanger", "casablanca": "upe.casa", "chefchaouen": "social.chaouen"}


@dataclass
class Target:
    province: str
    case_id: str
    immediate: str  # a case-worker task
    judicial: str   # a partner (justice) task


def _targets(api: ApiClient) -> dict[str, Target]:
    engine = api.app.extensions["himaya"]
    targets = {}
    for province, worker in WORKERS.items():
        body = {**report(engine, categories=["victim_violence"], danger=True, province=province),
                "unit": SAME_PROVINCE_UNITS[province]}
        case_id = engine.start_case(body, Actor(worker, "case_worker")).case_id
        targets[province] = Target(province, case_id, task_id(engine, case_id, "immediate_assistance"),
                                   task_id(engine, case_id, "judicial_decision"))
    return targets


# --- the oracle ----------------------------------------------------------------------

def in_unit(user: dict, target: Target) -> bool:
    """A case worker of the target's unit (not a SAS mobile worker, nor a care institution's mediator)."""
    return user["role"] == "case_worker" and user["unit"] == SAME_PROVINCE_UNITS[target.province]


def sees_case(user: dict, target: Target) -> bool:
    same = user["province"] == target.province
    return same and (user["role"] in ("coordinator", "supervisor") or in_unit(user, target)
                     or (user["role"] == "partner" and user["sector"] == "justice"))


def sees_task(user: dict, target: Target, kind: str) -> bool:
    if user["province"] != target.province:
        return False
    if user["role"] in ("coordinator", "supervisor"):
        return True
    if kind == "immediate":
        return in_unit(user, target)
    return user["role"] == "partner" and user["sector"] == "justice"


def acts_on(user: dict, kind: str) -> bool:
    return (kind == "immediate" and user["role"] == "case_worker") or (
        kind == "judicial" and user["role"] == "partner" and user["sector"] == "justice")


def reports_to(user: dict, province: str) -> str:
    """The unit a user files its report at: a case worker its own, a SAS mobile worker (who
    receives no child) and anyone else the province's UPE."""
    own = user["role"] == "case_worker" and user["province"] == province and not user["unit"].startswith("sas-")
    return user["unit"] if own else SAME_PROVINCE_UNITS[province]


def expected_view_case(user: dict, target: Target) -> int:
    return 200 if sees_case(user, target) else 404


def expected_history(user: dict, target: Target) -> int:
    if not sees_case(user, target):
        return 404
    return 403 if user["role"] == "partner" else 200


def expected_view_task(user: dict, target: Target, kind: str) -> int:
    return 200 if sees_task(user, target, kind) else 404


def expected_claim(user: dict, target: Target, kind: str) -> int:
    if not sees_task(user, target, kind):
        return 404
    return 200 if acts_on(user, kind) else 403


def expected_assign(user: dict, target: Target) -> int:
    if not sees_task(user, target, "immediate"):
        return 404
    return 200 if user["role"] == "coordinator" else 403


def expected_risk(user: dict, target: Target) -> int:
    if not sees_case(user, target):
        return 404
    return 200 if user["role"] == "coordinator" else 403


def expected_report(user: dict, province: str) -> int:
    if user["role"] in ("case_worker", "coordinator") and user["province"] == province:
        # a child is not filed to a care institution (its mediator's unit): a field error
        return 400 if (user["unit"] or "").startswith("eps-") else 201
    return 403


def expected_supervision(user: dict) -> int:
    return 200 if user["role"] in ("coordinator", "supervisor") else 403


def expected_pathways(user: dict) -> int:
    return 200 if user["role"] == "admin" else 403


# --- the matrix ----------------------------------------------------------------------

def test_authorization_matrix_has_no_leak(api: ApiClient):
    engine = api.app.extensions["himaya"]
    targets = _targets(api)
    failures: list[str] = []
    cells = 0

    def check(name: str, username: str, target: str, got: int, want: int) -> None:
        nonlocal cells
        cells += 1
        if got != want:
            failures.append(f"{name} by {username} on {target}: got {got}, expected {want}")

    def restore(target: Target) -> None:
        for task in (target.immediate, target.judicial):
            engine.unclaim(task, SYSTEM, force=True)

    for username, user in USERS.items():
        for province, target in targets.items():
            where = "own" if user["province"] == province else "other"
            label = f"{province} ({where})"
            check("GET case", username, label,
                  api.get(f"/api/v1/cases/{target.case_id}", username).status_code, expected_view_case(user, target))
            check("GET history", username, label,
                  api.get(f"/api/v1/cases/{target.case_id}/history", username).status_code,
                  expected_history(user, target))
            for kind in ("immediate", "judicial"):
                task = getattr(target, kind)
                check(f"GET task {kind}", username, label, api.get(f"/api/v1/tasks/{task}", username).status_code,
                      expected_view_task(user, target, kind))
                for action in ("claim", "unclaim"):
                    check(f"{action} {kind}", username, label,
                          api.post(f"/api/v1/tasks/{task}/{action}", username).status_code,
                          expected_claim(user, target, kind))
                check(f"complete {kind}", username, label,
                      api.post(f"/api/v1/tasks/{task}/complete", username, json={"data": {"x": 1}}).status_code,
                      400 if expected_claim(user, target, kind) == 200 else expected_claim(user, target, kind))
            assignee = WORKERS[province]
            check("assign", username, label,
                  api.post(f"/api/v1/tasks/{target.immediate}/assign", username,
                           json={"username": assignee}).status_code, expected_assign(user, target))
            restore(target)
            got = api.post(f"/api/v1/cases/{target.case_id}/risk-level", username,
                           json={"risk_level": "medium", "reason": "matrix"}).status_code
            check("risk level", username, label, got, expected_risk(user, target))
            if got == 200:
                engine.set_risk_level(target.case_id, "high", "restore", SYSTEM)

        visible_cases = {c["id"] for c in api.get("/api/v1/cases?per_page=100", username).get_json()["items"]}
        want_cases = {t.case_id for t in targets.values() if sees_case(user, t)}
        check("list cases", username, "all", len(visible_cases ^ want_cases), 0)
        visible_tasks = {t["id"] for t in api.get("/api/v1/tasks?per_page=100", username).get_json()["items"]}
        want_tasks = {getattr(t, k) for t in targets.values() for k in ("immediate", "judicial")
                      if sees_task(user, t, k)}
        check("list tasks", username, "all", len(visible_tasks ^ want_tasks), 0)
        for path in ("overdue", "stalled", "summary"):
            check(f"supervision {path}", username, "own",
                  api.get(f"/api/v1/supervision/{path}", username).status_code, expected_supervision(user))
        check("pathways", username, "-", api.get("/api/v1/pathways", username).status_code, expected_pathways(user))

    # Filing cases last: it adds cases to the lists above.
    for username, user in USERS.items():
        for province in targets:
            body = intake(engine, province=province)
            body["unit"] = reports_to(user, province)
            check("report a child", username, province,
                  api.post("/api/v1/cases", username, json=body).status_code, expected_report(user, province))

    assert cells >= 765, cells  # 17 users × (3 territories × 12 checks + 6 lists) + 17 × 3 reports
    assert not failures, f"{len(failures)} of {cells} cells wrong:\n" + "\n".join(failures)


def _expected_other(user: dict, endpoint: str) -> int:
    role, own = user["role"], user["province"] == "tanger-assilah"
    return {
        "indicators": 200 if role in ("coordinator", "supervisor", "national") else 403,
        "indicators other province": 200 if role == "national" else 403,
        "record training": 201 if role == "coordinator" and own else 403,
        "list trainings": 200 if role in ("coordinator", "supervisor") else 403,
        "outbox": 200 if role == "admin" else 403,
        "migrations": 404 if role == "admin" else 403,
        "notifications": 200,
        "page report": 200 if role in ("case_worker", "coordinator") else 403,
        "page supervision": 200 if role in ("coordinator", "supervisor") else 403,
        "page indicators": 200 if role in ("coordinator", "supervisor", "national") else 403,
        "page admin": 200 if role == "admin" else 403,
        # aftercare: a care institution's mediator, or the coordinator of a province that has one (Tanger)
        "page aftercare": 200 if own and (role == "coordinator" or (user["unit"] or "").startswith("eps-")) else 403,
    }[endpoint]


def test_authorization_of_the_other_endpoints_and_the_pages(api: ApiClient):
    targets = _targets(api)
    tanger = targets["tanger-assilah"]
    training = {"title": "Écoute", "start_date": "2026-10-01", "end_date": "2026-10-02", "province": "tanger-assilah",
                "units": ["upe-tanger-assilah"], "participants": ["A"]}
    failures, cells = [], 0
    for username, user in USERS.items():
        calls = {
            "indicators": api.get("/api/v1/indicators", username),
            "indicators other province": api.get("/api/v1/indicators?province=casablanca", username),
            "record training": api.post("/api/v1/trainings", username, json=training),
            "list trainings": api.get("/api/v1/trainings", username),
            "outbox": api.get("/api/v1/admin/outbox", username),
            "migrations": api.post("/api/v1/pathways/child_protection/migrations", username,
                                   json={"from_version": 1, "to_version": 99}),
            "notifications": api.get("/api/v1/notifications", username),
        }
        pages = api.app.test_client()
        token = page_csrf(pages)
        pages.post("/login", data={"username": username, "password": f"demo-{username}", "csrf_token": token})
        calls.update({
            "page report": pages.get("/cases/new"), "page supervision": pages.get("/supervision"),
            "page indicators": pages.get("/indicators"), "page admin": pages.get("/admin/pathways"),
            "page aftercare": pages.get("/aftercare/new"),
        })
        for endpoint, response in calls.items():
            cells += 1
            want = _expected_other(user, endpoint)
            if endpoint == "indicators other province" and user["role"] in ("coordinator", "supervisor") \
                    and user["province"] == "casablanca":
                want = 200  # their own province
            if response.status_code != want:
                failures.append(f"{endpoint} by {username}: got {response.status_code}, expected {want}")
        cells += 1
        case_page = pages.get(f"/cases/{tanger.case_id}").status_code
        if case_page != (200 if sees_case(user, tanger) else 404):
            failures.append(f"case page by {username}: got {case_page}")
    assert cells == len(USERS) * 13
    assert not failures, "\n".join(failures)
