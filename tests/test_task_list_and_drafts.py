"""The task list as a worker wants it (filters, order, pages, saved views, a claim that moves the
row), plain validation messages, drafts of step forms kept on the server (also across a lapsed
session), and the session's keep-alive: through Flask's test client, on both databases."""
from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select

from api.jobs import Jobs
from engine import worktray
from engine.models import TaskDraft, TaskView
from engine.runtime import Engine
from tests.conftest import ApiClient
from tests.helpers import ANSWERS, CAPE, UPE, csrf_of, do, page_csrf, page_login, report, task_id


def _cases(engine: Engine) -> dict[str, str]:
    """Three reports a minute apart: one high risk (violence), two of lower risk; each opens a
    listening task."""
    cases = {}
    for name, categories in (("high", ["victim_violence"]), ("first", None), ("second", None)):
        cases[name] = engine.start_case(report(engine, categories=categories), UPE).case_id
        engine.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    return cases


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr class="[^"]*" id="task-([0-9a-f-]{36})"', html)


def _drafts(engine: Engine) -> int:
    with engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(TaskDraft)) or 0


# --- the list: filters, order, pages --------------------------------------------------------------

def test_the_api_lists_tasks_by_step_risk_and_pages(api: ApiClient, engine: Engine, clock):
    cases = _cases(engine)
    listening = api.get("/api/v1/tasks?step=reception_listening&sort=risk", "upe.tanger").get_json()
    assert listening["total"] == 3
    assert listening["items"][0]["case_id"] == cases["high"] and listening["items"][0]["risk_level"] == "high"
    assert all(item["due_in_days"] is not None for item in listening["items"])
    oldest = api.get("/api/v1/tasks?step=reception_listening&sort=oldest&per_page=1&page=2", "upe.tanger").get_json()
    assert oldest["total"] == 3 and [i["case_id"] for i in oldest["items"]] == [cases["first"]]
    assert api.get("/api/v1/tasks?overdue=true", "upe.tanger").get_json()["total"] == 0
    clock.advance(timedelta(days=20))
    api.forget_tokens()
    late = api.get("/api/v1/tasks?overdue=true&step=reception_listening", "upe.tanger").get_json()
    assert late["total"] == 3 and all(i["due_in_days"] < 0 for i in late["items"])
    by_unit = api.get("/api/v1/tasks?unit=upe-tanger-assilah&step=reception_listening", "cape.tanger").get_json()
    assert by_unit["total"] == 3
    assert api.get("/api/v1/tasks?unit=sas-tanger-assilah", "cape.tanger").get_json()["total"] == 0
    assert api.get("/api/v1/tasks?sort=alphabet", "upe.tanger").status_code == 400


def test_the_page_filters_sorts_and_pages_in_the_url(web: FlaskClient, engine: Engine, clock):
    cases = _cases(engine)
    page_login(web, "upe.tanger")
    html = web.get("/tasks?step=reception_listening&sort=risk").get_data(as_text=True)
    assert "3 tâches" in html
    rows = _rows(html)
    assert len(rows) == 3 and rows[0] == task_id(engine, cases["high"], "reception_listening")
    assert '<option value="risk" selected>' in html and '<option value="reception_listening" selected>' in html
    assert "Dans 7 jours" in html and 'class="badge risk-high"' in html
    # the tabs keep the filters; unknown values are left out, never an error page
    assert 'href="/tasks?scope=mine&amp;step=reception_listening&amp;sort=risk"' in html
    assert web.get("/tasks?scope=everything&sort=nope&overdue=maybe&page=-3").status_code == 200
    clock.advance(timedelta(days=20))
    page_login(web, "upe.tanger")
    late = web.get("/tasks?overdue=true").get_data(as_text=True)
    assert re.search(r"En retard de \d+ jours", late)
    assert "Aucune tâche ne correspond" in web.get("/tasks?overdue=false&step=reception_listening").get_data(
        as_text=True)


def test_a_page_of_the_list_holds_25_tasks_and_links_to_the_next(web: FlaskClient, engine: Engine):
    for _ in range(26):
        engine.start_case(report(engine), UPE)
    page_login(web, "upe.tanger")
    first = web.get("/tasks?step=reception_listening").get_data(as_text=True)
    assert len(_rows(first)) == 25 and "Page 1 sur 2" in first
    assert 'href="/tasks?step=reception_listening&amp;page=2" rel="next"' in first
    second = web.get("/tasks?step=reception_listening&page=2").get_data(as_text=True)
    assert len(_rows(second)) == 1


def test_coordinators_filter_by_the_provinces_units(web: FlaskClient, engine: Engine):
    _cases(engine)
    page_login(web, "cape.tanger")
    html = web.get("/tasks?unit=upe-tanger-assilah&step=reception_listening").get_data(as_text=True)
    assert 'id="filter-unit"' in html and '<option value="upe-tanger-assilah" selected>' in html
    assert "3 tâches" in html
    assert "0 tâche" in web.get("/tasks?unit=sas-tanger-assilah&step=reception_listening").get_data(as_text=True)
    # a unit of another province is not a filter: the list is the province's
    assert "3 tâches" in web.get("/tasks?unit=upe-casablanca&step=reception_listening").get_data(as_text=True)
    web.post("/logout", data={"csrf_token": page_csrf(web, "/tasks")})
    page_login(web, "upe.tanger")
    assert 'id="filter-unit"' not in web.get("/tasks").get_data(as_text=True)


def test_a_claim_on_the_available_list_moves_the_row_to_mine(web: FlaskClient, engine: Engine):
    cases = _cases(engine)
    tid = task_id(engine, cases["first"], "reception_listening")
    page_login(web, "upe.tanger")
    html = web.get("/tasks?scope=available").get_data(as_text=True)
    assert f'id="task-{tid}"' in html and 'id="count-mine">0<' in html
    answer = web.post(f"/tasks/{tid}/claim", headers={"HX-Request": "true"},
                      data={"csrf_token": csrf_of(html), "scope": "available"}).get_data(as_text=True)
    assert f'id="task-{tid}"' not in answer  # the row leaves "available"
    assert 'id="count-mine" hx-swap-oob="true">1<' in answer and 'id="count-available" hx-swap-oob="true">2<' in answer
    assert 'id="claim-status"' in answer and "Tâche prise en charge" in answer
    mine = web.get("/tasks?scope=mine").get_data(as_text=True)
    assert f'id="task-{tid}"' in mine and "<bdi>upe.tanger</bdi>" in mine
    assert f'id="task-{tid}"' not in web.get("/tasks?scope=available").get_data(as_text=True)
    # on the list of all tasks, the row stays, with its new assignee
    other = task_id(engine, cases["second"], "reception_listening")
    row = web.post(f"/tasks/{other}/claim", headers={"HX-Request": "true"},
                   data={"csrf_token": csrf_of(html), "scope": "all"}).get_data(as_text=True)
    assert f'id="task-{other}"' in row and "<bdi>upe.tanger</bdi>" in row


# --- saved views ---------------------------------------------------------------------------------

def test_saved_views_through_the_api_are_each_users_own(api: ApiClient, engine: Engine):
    saved = api.post("/api/v1/task-views", "upe.tanger", json={
        "name": "  Mes retards  ", "filters": {"scope": "mine", "overdue": True, "sort": "risk"}})
    assert saved.status_code == 201, saved.get_json()
    view = saved.get_json()
    assert view["name"] == "Mes retards" and view["filters"] == {"scope": "mine", "overdue": True, "sort": "risk"}
    again = api.post("/api/v1/task-views", "upe.tanger", json={"name": "Mes retards", "filters": {"scope": "all"}})
    assert again.get_json()["id"] == view["id"] and again.get_json()["filters"] == {"scope": "all"}
    assert [v["name"] for v in api.get("/api/v1/task-views", "upe.tanger").get_json()["items"]] == ["Mes retards"]
    assert api.get("/api/v1/task-views", "cape.tanger").get_json()["items"] == []
    assert api.client.delete(f"/api/v1/task-views/{view['id']}",
                             headers=api.headers("cape.tanger")).status_code == 404
    assert api.post("/api/v1/task-views", "upe.tanger", json={"name": "x", "filters": {"scope": "nobody"}}
                    ).status_code == 400
    assert api.post("/api/v1/task-views", "upe.tanger", json={"name": "", "filters": {}}).status_code == 400
    for n in range(19):
        assert api.post("/api/v1/task-views", "upe.tanger", json={"name": f"vue {n}"}).status_code == 201
    full = api.post("/api/v1/task-views", "upe.tanger", json={"name": "one too many"})
    assert full.status_code == 400 and "20" in str(full.get_json()["errors"])
    assert api.client.delete(f"/api/v1/task-views/{view['id']}",
                             headers=api.headers("upe.tanger")).status_code == 204
    assert len(api.get("/api/v1/task-views", "upe.tanger").get_json()["items"]) == 19


def test_a_view_saved_on_the_page_lists_and_deletes(web: FlaskClient, engine: Engine):
    _cases(engine)
    page_login(web, "upe.tanger")
    html = web.get("/tasks?scope=available&sort=risk&step=reception_listening").get_data(as_text=True)
    saved = web.post("/tasks/views", data={"csrf_token": csrf_of(html), "name": "Écoutes urgentes",
                                           "scope": "available", "sort": "risk", "step": "reception_listening"})
    assert saved.status_code == 302
    assert saved.headers["Location"] == "/tasks?scope=available&step=reception_listening&sort=risk"
    page = web.get("/tasks").get_data(as_text=True)
    assert ('<a href="/tasks?scope=available&amp;step=reception_listening&amp;sort=risk"><bdi>Écoutes urgentes'
            '</bdi></a>') in page
    with engine.db.reading() as session:
        view_id = session.scalar(select(TaskView.id))
    assert web.post("/tasks/views", data={"csrf_token": csrf_of(page), "name": " "}).status_code == 302
    assert "Donnez un nom à la vue." in web.get("/tasks").get_data(as_text=True)
    assert web.post(f"/tasks/views/{view_id}/delete", data={"csrf_token": csrf_of(page)}).status_code == 302
    assert "Écoutes urgentes" not in web.get("/tasks").get_data(as_text=True).split('id="views"')[1]


# --- plain validation messages ---------------------------------------------------------------------

def test_a_step_form_says_plainly_what_to_fix_and_links_each_field(web: FlaskClient, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    tid = task_id(engine, case_id, "reception_listening")
    page_login(web, "upe.tanger")
    csrf = page_csrf(web, f"/tasks/{tid}")
    response = web.post(f"/tasks/{tid}", data={"csrf_token": csrf, "listening_summary": "x" * 4001})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Ce champ est obligatoire." in html and "Écrivez au plus 4000 caractères." in html
    assert "Missing data" not in html and "La longueur" not in html and "Length" not in html
    summary = html.split('id="form-errors"')[1].split("</div>")[0]
    assert 'href="#f-listening_date"' in summary and 'href="#f-listening_summary"' in summary
    assert "<bdi>Date de l&#39;écoute</bdi> : Ce champ est obligatoire." in summary or \
        re.search(r"<bdi>[^<]+</bdi> : Ce champ est obligatoire\.", summary)
    first = summary.index('href="#')
    anchor = summary[first + 7:summary.index('"', first + 7)]
    assert re.search(rf'id="{anchor}"[^>]* autofocus', html), "focus goes to the first error"
    assert re.search(r'id="f-listening_date"[^>]*aria-invalid="true"', html)


def test_a_wrong_choice_is_named_by_the_choices_labels(web: FlaskClient, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    do(engine, case_id, "reception_listening", **ANSWERS["reception_listening"])
    tid = task_id(engine, case_id, "diagnosis_social")
    page_login(web, "upe.tanger")
    csrf = page_csrf(web, f"/tasks/{tid}")
    html = web.post(f"/tasks/{tid}", data={"csrf_token": csrf, "family_situation": "phone_line",
                                           "social_findings": "Vu.", "concerns_found": ["begging", "astrology"]}
                    ).get_data(as_text=True)
    summary = html.split('id="form-errors"')[1].split("</div>")[0]
    assert "Choisissez parmi : Vit avec ses deux parents, Famille monoparentale" in summary
    assert "both_parents" not in summary and "phone_line" not in summary and "astrology" not in summary
    assert re.search(r'id="f-family_situation"[^>]*aria-invalid="true"', html)
    web.get("/language/ar")
    arabic = web.post(f"/tasks/{tid}", data={"csrf_token": csrf, "family_situation": "bogus",
                                             "social_findings": "Vu."}).get_data(as_text=True)
    assert "اختر واحدا مما يلي: " in arabic and "هذا الحقل" not in arabic


def test_the_report_form_names_a_wrong_source_by_its_label(web: FlaskClient):
    page_login(web, "upe.tanger")
    from api.i18n import translate_message

    with web.application.test_request_context("/cases/new"):
        assert translate_message("Must be one of: phone_line, walk_in.") == \
            "Choisissez parmi : Ligne verte (numéro vert), Venu(e) en personne."
        assert translate_message("Must be one of: phone_line, unknown_code.") == \
            "Choisissez l'une des options proposées."
    with web.application.test_request_context("/api/v1/cases"):
        assert "phone_line" in translate_message("Must be one of: phone_line, walk_in.")  # API clients read codes


# --- drafts ----------------------------------------------------------------------------------------

def test_a_draft_is_saved_restored_for_its_author_only_and_deleted_on_completion(web: FlaskClient, engine: Engine):
    case_id = engine.start_case(report(engine), UPE).case_id
    tid = task_id(engine, case_id, "reception_listening")
    page_login(web, "upe.tanger")
    csrf = page_csrf(web, f"/tasks/{tid}")
    saved = web.post(f"/tasks/{tid}/draft", data={"csrf_token": csrf, "listening_summary": "L'enfant a parlé de"},
                     headers={"Accept": "application/json"})
    assert saved.status_code == 200 and saved.get_json()["saved"] is True
    assert saved.get_json()["message"].startswith("Brouillon enregistré à ")
    assert web.post(f"/tasks/{tid}/draft", data={"listening_summary": "sans jeton"}).status_code == 400  # CSRF
    page = web.get(f"/tasks/{tid}").get_data(as_text=True)
    assert "Restauré depuis votre brouillon de 09:00." in page  # 08:00 UTC in Casablanca (UTC+1)
    assert "L&#39;enfant a parlé de</textarea>" in page
    web.post("/logout", data={"csrf_token": csrf_of(page)})
    page_login(web, "cape.tanger")  # sees the task, may not act on it: no draft of someone else's
    other = web.get(f"/tasks/{tid}").get_data(as_text=True)
    assert "brouillon de" not in other and "L&#39;enfant a parlé de" not in other
    web.post("/logout", data={"csrf_token": csrf_of(other)})
    page_login(web, "upe.tanger")
    csrf = page_csrf(web, f"/tasks/{tid}")
    done = web.post(f"/tasks/{tid}", data={"csrf_token": csrf, **{k: ("on" if v is True else v) for k, v in
                                                                  ANSWERS["reception_listening"].items()}})
    assert done.status_code == 302
    assert _drafts(engine) == 0


def _user_id(engine: Engine, username: str) -> int:
    from engine.models import User
    with engine.db.reading() as session:
        return session.scalar(select(User.id).where(User.username == username)) or 0


def test_the_drafts_of_every_task_a_command_ends_go_in_its_own_transaction(engine: Engine):
    """Completed through the engine (the API, the page, an import alike), or cancelled when the
    case is closed: the task's drafts are deleted by the command that ended it, nobody else's kept."""
    upe = _user_id(engine, "upe.tanger")
    done = engine.start_case(report(engine), UPE).case_id
    closed = engine.start_case(report(engine), UPE).case_id
    other = engine.start_case(report(engine), UPE).case_id
    for case_id in (done, closed, other):
        worktray.save_draft(engine.db, upe, task_id(engine, case_id, "reception_listening"),
                            {"listening_summary": "en cours"}, engine.now())
    assert _drafts(engine) == 3
    engine.complete(task_id(engine, done, "reception_listening"), ANSWERS["reception_listening"], UPE)
    assert _drafts(engine) == 2
    engine.close_case(closed, "moved", None, CAPE)
    assert _drafts(engine) == 1
    with engine.db.reading() as session:
        assert session.scalar(select(TaskDraft.task_id)) == task_id(engine, other, "reception_listening")


def test_a_draft_can_be_discarded_and_old_ones_are_purged(web: FlaskClient, engine: Engine, clock):
    case_id = engine.start_case(report(engine), UPE).case_id
    tid = task_id(engine, case_id, "reception_listening")
    page_login(web, "upe.tanger")
    csrf = page_csrf(web, f"/tasks/{tid}")
    web.post(f"/tasks/{tid}/draft", data={"csrf_token": csrf, "listening_summary": "à jeter"})
    assert web.post(f"/tasks/{tid}/draft", data={"csrf_token": csrf, "discard": "1"}).status_code == 302
    assert _drafts(engine) == 0
    web.post(f"/tasks/{tid}/draft", data={"csrf_token": csrf, "listening_summary": "gardé"})
    assert Jobs(engine).purge_drafts() == 0
    clock.advance(timedelta(days=15))
    assert Jobs(engine).purge_drafts() == 1 and _drafts(engine) == 0


def test_a_form_submitted_after_the_session_lapsed_keeps_its_text_through_the_login(web: FlaskClient, engine: Engine,
                                                                                     clock):
    case_id = engine.start_case(report(engine), UPE).case_id
    tid = task_id(engine, case_id, "reception_listening")
    page_login(web, "upe.tanger")
    csrf = page_csrf(web, f"/tasks/{tid}")
    clock.advance(timedelta(minutes=45))  # the worker wrote for 45 minutes without a request
    summary = "L'enfant raconte la nuit passée dehors, près de la gare."
    lapsed = web.post(f"/tasks/{tid}", data={"csrf_token": csrf, "listening_summary": summary,
                                             "listening_date": "2026-11-20"})
    assert lapsed.status_code == 302 and lapsed.headers["Location"] == f"/login?next=/tasks/{tid}"
    login_page = web.get(lapsed.headers["Location"]).get_data(as_text=True)
    assert "Ce que vous aviez écrit est conservé" in login_page
    back = web.post(lapsed.headers["Location"], data={"username": "upe.tanger", "password": "demo-upe.tanger",
                                                      "csrf_token": csrf_of(login_page)})
    assert back.headers["Location"] == f"/tasks/{tid}"
    page = web.get(back.headers["Location"]).get_data(as_text=True)
    assert "Restauré depuis votre brouillon de" in page
    assert "L&#39;enfant raconte la nuit passée dehors, près de la gare.</textarea>" in page
    assert 'value="2026-11-20"' in page


def test_a_draft_posted_after_the_session_lapsed_is_kept_and_says_so(web: FlaskClient, engine: Engine, clock):
    case_id = engine.start_case(report(engine), UPE).case_id
    tid = task_id(engine, case_id, "reception_listening")
    page_login(web, "upe.tanger")
    csrf = page_csrf(web, f"/tasks/{tid}")
    clock.advance(timedelta(minutes=31))
    answer = web.post(f"/tasks/{tid}/draft", data={"csrf_token": csrf, "listening_summary": "tapé à la fin"})
    assert answer.status_code == 401 and answer.get_json()["kept"] is True
    assert _drafts(engine) == 1
    # a session that ended by logging out keeps nothing: the cookie is gone
    page_login(web, "upe.tanger")
    csrf = page_csrf(web, f"/tasks/{tid}")
    web.post("/logout", data={"csrf_token": csrf})
    assert web.post(f"/tasks/{tid}/draft", data={"csrf_token": csrf, "listening_summary": "x"}).status_code == 400


# --- the session's warning and keep-alive ------------------------------------------------------------

def test_the_keepalive_extends_the_session_and_pages_announce_the_deadline(web: FlaskClient, clock):
    assert web.post("/session/keepalive", data={"csrf_token": page_csrf(web)}).status_code in (400, 401)
    page_login(web, "upe.tanger")
    html = web.get("/tasks").get_data(as_text=True)
    assert 'id="session-warning"' in html and 'data-warn="120"' in html and 'data-left="1740"' in html
    assert "Rester connecté" in html
    csrf = csrf_of(html)
    for _ in range(3):  # 75 minutes in all, never 30 idle
        clock.advance(timedelta(minutes=25))
        alive = web.post("/session/keepalive", headers={"X-CSRF-Token": csrf})
        assert alive.status_code == 200 and alive.get_json()["expires_in"] == 1740
    assert web.get("/tasks").status_code == 200
    clock.advance(timedelta(minutes=31))
    assert web.post("/session/keepalive", headers={"X-CSRF-Token": csrf}).status_code == 401
    assert web.get("/tasks").status_code == 302


def test_the_announced_deadline_never_passes_the_twelve_hours_of_a_session(web: FlaskClient, clock):
    page_login(web, "upe.tanger")
    html = web.get("/tasks").get_data(as_text=True)
    assert f'data-end="{12 * 3600}"' in html and 'id="session-final-text"' in html
    csrf = csrf_of(html)
    for _ in range(11 * 60 // 25 + 1):  # active all day: a keep-alive every 25 minutes
        clock.advance(timedelta(minutes=25))
        assert web.post("/session/keepalive", headers={"X-CSRF-Token": csrf}).status_code == 200
    clock.advance(timedelta(minutes=20))  # 11 h 35 min after signing in
    alive = web.post("/session/keepalive", headers={"X-CSRF-Token": csrf})
    assert alive.status_code == 200 and alive.get_json()["expires_in"] == 25 * 60  # 12 h after login, not 29 min
    html = web.get("/tasks").get_data(as_text=True)
    assert 'data-left="1500"' in html and 'data-end="1500"' in html
