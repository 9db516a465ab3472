"""Case categories as reference data: the online-risk categories with their risk level and the
prosecutor rule; an administrator adds a category with its labels and a report uses it at once;
a pathway's own risk lists still decide for its cases."""
from __future__ import annotations

from sqlalchemy import select

from engine import categories
from engine.models import AdminEvent, CaseCategory
from engine.runtime import Engine
from tests.conftest import ApiClient
from tests.helpers import UPE, events, outbox, page_csrf, page_login, report

ADMIN_URL = "/api/v1/admin/categories"


def _patch(api: ApiClient, path: str, user: str, body: dict):
    return api.client.patch(path, headers=api.headers(user), json=body)


def test_a_report_of_online_sexual_exploitation_is_high_risk_and_informs_the_prosecutor(engine: Engine):
    started = engine.start_case(report(engine, categories=["online_sexual_exploitation"]), UPE)
    assert started.risk_level == "high"
    [message] = outbox(engine, started.case_id)
    assert message.topic == "prosecutor_notification"
    assert [e.step for e in events(engine, started.case_id, "service_task_run")] == ["notify_prosecutor"]
    assert "judicial_decision" in {t.step for t in started.open_tasks}


def test_the_other_online_risks_have_their_own_levels_and_rules(engine: Engine):
    harassed = engine.start_case(report(engine, categories=["cyber_harassment"]), UPE)
    assert harassed.risk_level == "medium"
    assert [m.topic for m in outbox(engine, harassed.case_id)] == ["prosecutor_notification"], "violence online"
    exposed = engine.start_case(report(engine, categories=["harmful_content_exposure"]), UPE)
    assert exposed.risk_level == "medium"
    assert outbox(engine, exposed.case_id) == [], "no violence, exploitation or danger: the prosecutor is not told"
    plain = engine.start_case(report(engine, categories=["out_of_school"]), UPE)
    assert plain.risk_level == "low" and outbox(engine, plain.case_id) == []
    begging = engine.start_case(report(engine, categories=["begging"]), UPE)
    assert begging.risk_level == "medium" and [m.topic for m in outbox(engine, begging.case_id)] == [
        "prosecutor_notification"], "exploitation in begging (PROTOCOL.md)"


def test_an_administrator_adds_a_category_and_a_report_uses_it_at_once(api: ApiClient, engine: Engine):
    body = {"code": "online_grooming", "label_fr": "Victime de pédopiégeage en ligne",
            "label_ar": "ضحية الاستدراج عبر الإنترنت", "label_en": "Victim of online grooming",
            "risk_level": "high", "inform_prosecutor": True}
    refused = api.post("/api/v1/cases", "upe.tanger", json=report(engine, categories=["online_grooming"]))
    assert refused.status_code == 400 and "categories" in refused.get_json()["errors"]["json"]
    assert api.post(ADMIN_URL, "upe.tanger", json=body).status_code == 403
    created = api.post(ADMIN_URL, "admin", json=body)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["labels"] == {"fr": body["label_fr"], "ar": body["label_ar"], "en": body["label_en"]}
    listed = api.get("/api/v1/categories", "upe.tanger").get_json()["items"]
    assert "online_grooming" in [c["code"] for c in listed]
    reported = api.post("/api/v1/cases", "upe.tanger", json=report(engine, categories=["online_grooming"]))
    assert reported.status_code == 201, reported.get_json()
    case = reported.get_json()
    assert case["risk_level"] == "high"
    assert [m.topic for m in outbox(engine, case["id"])] == ["prosecutor_notification"]
    with engine.db.reading() as session:
        audit = session.scalars(select(AdminEvent).where(AdminEvent.target == "online_grooming")).all()
    assert [(e.action, e.actor) for e in audit] == [("category_created", "admin")]
    assert "Victime" not in str([e.fields for e in audit]), "names of fields, never their values"

    # no longer offered: refused in a new report, still labelled on the case that has it
    assert _patch(api, f"{ADMIN_URL}/online_grooming", "admin", {"active": False}).status_code == 200
    again = api.post("/api/v1/cases", "upe.tanger", json=report(engine, categories=["online_grooming"]))
    assert again.status_code == 400
    assert "online_grooming" not in [c["code"] for c in api.get("/api/v1/categories", "upe.tanger").get_json()["items"]]


def test_bad_categories_are_refused_and_nothing_changes(api: ApiClient, engine: Engine):
    base = {"code": "new_one", "label_fr": "Nouveau", "label_ar": "جديد", "label_en": "New", "risk_level": "low",
            "inform_prosecutor": False}
    for change, field in (({"code": "Bad Code"}, "code"), ({"code": "street"}, "code"),
                          ({"label_ar": " "}, "label_ar"), ({"risk_level": "extreme"}, "risk_level"),
                          ({"inform_prosecutor": "yes"}, "inform_prosecutor"), ({"label_en": None}, "label_en")):
        response = api.post(ADMIN_URL, "admin", json={**base, **change})
        assert response.status_code == 400 and field in response.get_json()["errors"]["json"], (change, response.json)
    assert _patch(api, f"{ADMIN_URL}/street", "admin", {"risk_level": "x"}).status_code == 400
    assert _patch(api, f"{ADMIN_URL}/street", "admin", {"code": "rue"}).status_code == 400, "codes never change"
    assert _patch(api, f"{ADMIN_URL}/nowhere", "admin", {"active": False}).status_code == 404
    with engine.db.reading() as session:
        assert session.get(CaseCategory, "new_one") is None
        assert session.get_one(CaseCategory, "street").risk_level == "medium"


def test_a_changed_level_applies_to_the_next_report_and_the_pathways_own_lists_still_win(engine: Engine):
    from engine.intake import risk_level

    categories.change_category(engine.db, "disability", {"risk_level": "medium"}, actor="admin", now=engine.now())
    assert engine.start_case(report(engine, categories=["disability"]), UPE).risk_level == "medium"
    with engine.db.reading() as session:
        levels = categories.rules(session).levels
    assert risk_level(["disability"], {}, {"risk_high_categories": "disability"}, levels) == "high"
    assert risk_level(["online_sexual_exploitation"], {}, {"risk_high_categories": "street",
                                                          "risk_medium_categories": ""}, levels) == "low"


def test_the_shipped_categories_are_loaded_once_and_an_administrators_change_is_kept(engine: Engine):
    categories.change_category(engine.db, "street", {"label_fr": "Enfant des rues"}, actor="admin", now=engine.now())
    with engine.db.transaction() as session:
        assert categories.load_defaults(session, engine.now()) == 0
    with engine.db.reading() as session:
        assert session.get_one(CaseCategory, "street").label_fr == "Enfant des rues"
        assert {c.code for c in categories.DEFAULTS} <= set(session.scalars(select(CaseCategory.code)))


def test_the_pages_add_a_category_and_offer_it_in_the_report_form(web, engine: Engine):
    page_login(web, "admin")
    csrf = page_csrf(web, "/admin/categories")
    bad = web.post("/admin/categories", data={"csrf_token": csrf, "code": "x", "label_fr": "", "label_ar": "ع",
                                              "label_en": "E", "risk_level": "low"})
    assert bad.status_code == 400 and 'id="f-code-error"' in bad.get_data(as_text=True)
    done = web.post("/admin/categories", data={
        "csrf_token": csrf, "code": "sextortion", "label_fr": "Victime de sextorsion",
        "label_ar": "ضحية الابتزاز الجنسي", "label_en": "Victim of sextortion", "risk_level": "high",
        "inform_prosecutor": "on"}, follow_redirects=True)
    assert done.status_code == 200 and "Victime de sextorsion" in done.get_data(as_text=True)
    web.post("/logout", data={"csrf_token": page_csrf(web, "/admin/categories")})
    page_login(web, "upe.tanger")
    form = web.get("/cases/new").get_data(as_text=True)
    assert 'value="sextortion"' in form and "Victime de sextorsion" in form
    assert "Victime d&#39;exploitation sexuelle en ligne" in form
    web.get("/language/ar")
    assert "ضحية الابتزاز الجنسي" in web.get("/cases/new").get_data(as_text=True)
