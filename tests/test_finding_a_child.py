"""Finding a child: identity at intake, search in Arabic and Latin script, duplicates flagged, reviewed
and linked, identity corrected, children counted once (on SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.identity import reindex
from engine.indicators import Period, compute
from engine.models import Case, CaseEvent, ChildNameKey, DuplicateReview, OutboxMessage
from engine.runtime import Engine
from tests.api_data import intake
from tests.conftest import ApiClient

UPE, CAPE, CASA_CAPE, CASA_UPE = "upe.tanger", "cape.tanger", "cape.casa", "upe.casa"


def child(first: str | None, last: str | None, *, sex: str = "M", born: str | None = "2013-05-14",
          **more: Any) -> dict[str, Any]:
    return {"first_name": first, "last_name": last, "sex": sex, "birth_date": born, "age_estimate": None,
            "civil_status_registered": True, "nationality": "MA", **more}


def reported(api: ApiClient, engine: Engine, person: dict[str, Any], *, province: str = "tanger-assilah",
             user: str = UPE) -> dict[str, Any]:
    response = api.post("/api/v1/cases", user, json=intake(engine, province, child=person))
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def found(api: ApiClient, q: str, user: str = UPE, **params: Any) -> list[str]:
    response = api.get("/api/v1/cases", user, query_string={"q": q, **params})
    assert response.status_code == 200, response.get_json()
    return [item["reference"] for item in response.get_json()["items"]]


# --- identity at intake ---------------------------------------------------------------------

def test_a_child_whose_name_is_unknown_is_reported_by_alias_and_found_by_it(api: ApiClient, engine: Engine):
    person = {"identity_known": False, "alias": "Fille du carrefour Bab Souk", "sex": "U", "age_estimate": 9}
    case = reported(api, engine, person)
    body = api.get(f"/api/v1/cases/{case['id']}", UPE).get_json()
    assert body["child"]["identity_known"] is False and body["child"]["first_name"] is None
    assert body["child"]["sex"] == "U" and body["child"]["alias"] == "Fille du carrefour Bab Souk"
    assert found(api, "carrefour bab souk") == [case["reference"]]
    listed = api.get("/api/v1/cases", UPE, query_string={"q": "Bab Souk"}).get_json()["items"][0]
    assert listed["child"] == {"display_name": "Fille du carrefour Bab Souk", "identity_known": False,
                               "alias": "Fille du carrefour Bab Souk", "sex": "U", "age": 9, "age_estimated": True,
                               "identity_masked": False}


def test_names_in_the_other_script_reporter_and_place_are_kept(api: ApiClient, engine: Engine):
    body = intake(engine, child=child("Youssef", "Bennani", names_other_script={"first_name": "يوسف",
                                                                                "last_name": "بناني"}))
    body["report"].update(reporter={"name": "Directrice de l'école", "relation": "school", "phone": "0539 12 34 56"},
                          location={"commune": "Tanger", "place": "Douar Hjar Nhal"})
    response = api.post("/api/v1/cases", UPE, json=body)
    assert response.status_code == 201, response.get_json()
    case = api.get(f"/api/v1/cases/{response.get_json()['id']}", UPE).get_json()
    assert case["child"]["names_other_script"] == {"first_name": "يوسف", "last_name": "بناني"}
    assert case["report"]["reporter"]["phone"] == "0539 12 34 56"
    assert case["report"]["location"] == {"commune": "Tanger", "place": "Douar Hjar Nhal"}
    assert found(api, "يوسف") == [case["reference"]]


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("person", "field", "words"), [
    ({"identity_known": False, "sex": "U", "age_estimate": 8}, "alias", "alias"),
    ({"identity_known": False, "alias": "   ", "sex": "U", "age_estimate": 8}, "alias", "letters"),
    ({"identity_known": False, "alias": "\u0007\u0008", "sex": "U", "age_estimate": 8}, "alias", "invisible"),
    (child("   ", "Amrani"), "first_name", "letters"),
    (child("", "Amrani"), "first_name", "first name"),
    (child("Mohamed", "\u202einarma"), "last_name", "invisible"),
    (child("Mohamed\u2066", "Amrani"), "first_name", "invisible"),
    (child("123", "Amrani"), "first_name", "letters"),
    (child("Mohamed", "Amrani", sex="X"), "sex", "girl"),
    (child("Mohamed", None), "last_name", "family name"),
    (child("Mohamed", "Amrani", born=None), "birth_date", "estimated age"),
])
def test_bad_identities_are_refused_with_plain_words_and_write_nothing(api: ApiClient, engine: Engine,
                                                                        person: dict[str, Any], field: str,
                                                                        words: str):
    with engine.db.reading() as session:
        before = session.scalar(select(func.count()).select_from(Case))
    response = api.post("/api/v1/cases", UPE, json=intake(engine, child=person),
                        headers={"Accept-Language": "en"})  # the words as written (the catalogues translate them)
    assert response.status_code == 400, response.get_json()
    messages = response.get_json()["errors"]["json"]["child"][field]
    assert any(words in m for m in messages), messages
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == before


def test_names_are_stored_tidy(api: ApiClient, engine: Engine):
    case = reported(api, engine, child("  Fatima   Zahra ", " El  Idrissi", sex="F"))
    body = api.get(f"/api/v1/cases/{case['id']}", UPE).get_json()
    assert (body["child"]["first_name"], body["child"]["last_name"]) == ("Fatima Zahra", "El Idrissi")


# --- search -------------------------------------------------------------------------------

def test_search_finds_a_child_by_latin_and_arabic_spellings_reference_and_birth(api: ApiClient, engine: Engine):
    amrani = reported(api, engine, child("Mohamed", "El Amrani"))
    other = reported(api, engine, child("Mohamed", "El Alami", born="2012-01-02"))
    for spelling in ("Mohammed Elamrani", "mohamed el-amrani", "محمد العمراني", "Amrani", "العمراني", "ELAMRANI"):
        assert found(api, spelling) == [amrani["reference"]], spelling
    assert set(found(api, "Mohamed")) == {amrani["reference"], other["reference"]}
    assert found(api, amrani["reference"]) == [amrani["reference"]]
    assert found(api, amrani["reference"].lower()) == [amrani["reference"]]
    assert found(api, "2013-05-14") == [amrani["reference"]]
    assert found(api, "2012") == [other["reference"]]
    assert found(api, "Mohamed 2012") == [other["reference"]]
    assert found(api, "Karim Tazi") == []


def test_search_never_crosses_provinces(api: ApiClient, engine: Engine):
    tanger = reported(api, engine, child("Hicham", "Ouazzani"))
    casa = reported(api, engine, child("Hicham", "Ouazzani"), province="casablanca", user=CASA_UPE)
    assert found(api, "Hicham Ouazzani") == [tanger["reference"]]
    assert found(api, "Hicham Ouazzani", CAPE) == [tanger["reference"]]
    assert found(api, "هشام الوزاني", CASA_CAPE) == [casa["reference"]]
    assert found(api, casa["reference"]) == []
    assert found(api, "Hicham", "sante.tanger") == []  # a partner sees only the cases its tasks need


@pytest.mark.sqlite_only
@pytest.mark.parametrize("q", ["a", " b ", "x" * 201, "y" * 10_000, "--", "\u202e\u202e"])
def test_searches_that_cannot_run_are_400(api: ApiClient, q: str):
    response = api.get("/api/v1/cases", UPE, query_string={"q": q})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["errors"]["query"]["q"]


def test_case_list_filters_by_step_assignee_and_overdue_and_sorts(api: ApiClient, engine: Engine, clock):
    first = reported(api, engine, child("Adam", "Berrada"))
    clock.advance(timedelta(minutes=5))
    second = reported(api, engine, child("Salma", "Chraibi", sex="F"))
    task = second["open_tasks"][0]
    assert api.post(f"/api/v1/tasks/{task['id']}/claim", UPE).status_code == 200
    assert [i["reference"] for i in api.get("/api/v1/cases", UPE, query_string={"assigned": "me"})
            .get_json()["items"]] == [second["reference"]]
    step = first["open_tasks"][0]["name"]
    assert {i["reference"] for i in api.get("/api/v1/cases", UPE, query_string={"step": step})
            .get_json()["items"]} >= {first["reference"]}
    assert api.get("/api/v1/cases", UPE, query_string={"overdue": "true"}).get_json()["total"] == 0
    clock.advance(timedelta(days=30))
    api.forget_tokens()
    overdue = api.get("/api/v1/cases", UPE, query_string={"overdue": "true"}).get_json()
    assert {i["reference"] for i in overdue["items"]} == {first["reference"], second["reference"]}
    oldest = api.get("/api/v1/cases", UPE, query_string={"sort": "oldest"}).get_json()["items"]
    assert [i["reference"] for i in oldest][:2] == [first["reference"], second["reference"]]
    assert api.get("/api/v1/cases", UPE, query_string={"sort": "sideways"}).status_code == 400


def test_task_list_items_name_the_child_with_age_and_risk(api: ApiClient, engine: Engine):
    reported(api, engine, child("Nabil", "Fassi", born="2012-02-01"))
    reported(api, engine, {"identity_known": False, "alias": "Garçon de la gare routière", "sex": "M",
                           "age_estimate": 11})
    items = api.get("/api/v1/tasks", UPE, query_string={"per_page": 100}).get_json()["items"]
    names = {i["child_name"]: i for i in items}
    assert "Nabil Fassi" in names and "Garçon de la gare routière" in names
    assert names["Garçon de la gare routière"]["child_age"] == 11
    assert names["Nabil Fassi"]["risk_level"] == "high"  # intake(): a violence category


# --- duplicates ---------------------------------------------------------------------------

def test_a_second_report_of_the_same_child_is_flagged_reviewed_and_linked(api: ApiClient, engine: Engine):
    first = reported(api, engine, child("Mohamed", "El Amrani"))
    check = api.post("/api/v1/cases/check-duplicates", UPE,
                     json={"child": child("Mohammed", "Elamrani"), "province": "tanger-assilah"})
    assert check.status_code == 200, check.get_json()
    [match] = check.get_json()["items"]
    assert match["case_id"] == first["id"] and match["score"] >= 0.6
    assert {"same_birth_date", "same_sex"} <= set(match["reasons"])
    second = reported(api, engine, child("محمد", "العمراني"))
    assert [m["case_id"] for m in second["possible_duplicates"]] == [first["id"]]  # never refused, flagged
    reviews = api.get("/api/v1/duplicates", CAPE).get_json()["items"]
    assert [(r["case"]["case_id"], r["match"]["case_id"]) for r in reviews] == [(second["id"], first["id"])]
    assert api.get("/api/v1/duplicates", UPE).status_code == 403  # coordinators decide
    with engine.db.reading() as session:
        told = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "duplicate_review")).all()
    assert [m.recipient["province"] for m in told] == ["tanger-assilah"]

    confirmed = api.post(f"/api/v1/duplicates/{reviews[0]['id']}/confirm", CAPE, json={"note": "Même enfant"})
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["state"] == "confirmed" and confirmed.get_json()["kept_case_id"] == first["id"]
    closed = api.get(f"/api/v1/cases/{second['id']}", CAPE).get_json()
    assert (closed["status"], closed["closed_reason"], closed["duplicate_of"]) == ("closed", "duplicate", first["id"])
    assert closed["open_tasks"] == []
    kept = api.get(f"/api/v1/cases/{first['id']}", CAPE).get_json()
    assert kept["status"] == "open"
    assert [(c["reference"], c["relation"]) for c in kept["linked_cases"]] == [(second["reference"], "duplicate")]
    history = api.get(f"/api/v1/cases/{first['id']}/history", CAPE).get_json()["events"]
    assert any(e.get("case_reference") == second["reference"] and e["kind"] == "case_opened" for e in history)
    again = api.post(f"/api/v1/duplicates/{reviews[0]['id']}/confirm", CAPE, json={})
    assert again.status_code == 409
    assert found(api, "Mohamed Amrani", CAPE, status="open") == [first["reference"]]


def test_a_match_the_reporter_may_not_read_is_never_shown_but_goes_to_both_provinces(api: ApiClient,
                                                                                        engine: Engine):
    casa = reported(api, engine, child("Khadija", "Tazi", sex="F"), province="casablanca", user=CASA_UPE)
    check = api.post("/api/v1/cases/check-duplicates", UPE, json={"child": child("Khadidja", "Tazi", sex="F")})
    assert check.get_json()["items"] == []
    tanger = reported(api, engine, child("Khadidja", "Tazi", sex="F"))
    assert tanger["possible_duplicates"] == []
    assert casa["id"] not in str(api.get(f"/api/v1/cases/{tanger['id']}/history", UPE).get_json())
    [seen_by_casa] = api.get("/api/v1/duplicates", CASA_CAPE).get_json()["items"]
    [seen_by_tanger] = api.get("/api/v1/duplicates", CAPE).get_json()["items"]
    assert seen_by_casa["id"] == seen_by_tanger["id"]
    assert seen_by_casa["match"]["reference"] == casa["reference"]
    assert api.get("/api/v1/duplicates", "cape.chaouen").get_json()["items"] == []
    with engine.db.reading() as session:
        told = sorted(m.recipient["province"] for m in session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == "duplicate_review")))
    assert told == ["casablanca", "tanger-assilah"]
    rejected = api.post(f"/api/v1/duplicates/{seen_by_casa['id']}/reject", CASA_CAPE,
                        json={"note": "Deux sœurs homonymes"})
    assert rejected.status_code == 200 and rejected.get_json()["state"] == "rejected"
    assert api.get(f"/api/v1/cases/{tanger['id']}", UPE).get_json()["status"] == "open"
    assert api.get("/api/v1/duplicates", CAPE).get_json()["items"] == []
    assert api.get("/api/v1/duplicates", CAPE, query_string={"state": "rejected"}).get_json()["total"] == 1


def test_different_children_are_not_flagged(api: ApiClient, engine: Engine):
    reported(api, engine, child("Mohamed", "El Amrani"))
    for person in (child("Mohamed", "El Alami"), child("Mohamed", "El Amrani", sex="F"),
                   child("Mohamed", "El Amrani", born="2010-01-01"), child("Samir", "El Amrani")):
        assert reported(api, engine, person)["possible_duplicates"] == [], person
    with engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(DuplicateReview)) == 0


# --- identity correction --------------------------------------------------------------------

def test_identity_correction_is_audited_and_the_keys_follow(api: ApiClient, engine: Engine):
    case = reported(api, engine, {"identity_known": False, "alias": "Garçon du port", "sex": "U", "age_estimate": 12})
    response = api.client.patch(f"/api/v1/cases/{case['id']}/child", headers=api.headers(UPE), json={
        "identity_known": True, "first_name": "Ayoub", "last_name": "Sefrioui", "sex": "M",
        "reason": "Il a donné son nom"})
    assert response.status_code == 200, response.get_json()
    assert found(api, "Ayoub Sefrioui") == [case["reference"]]
    assert found(api, "أيوب") == [case["reference"]]
    body = api.get(f"/api/v1/cases/{case['id']}", UPE).get_json()
    assert (body["child"]["first_name"], body["child"]["sex"]) == ("Ayoub", "M")
    assert body["child"]["alias"] == "Garçon du port"
    with engine.db.reading() as session:
        [event] = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case["id"],
                                                          CaseEvent.kind == "identity_corrected")).all()
    assert event.actor == UPE and event.detail["reason"] == "Il a donné son nom"
    assert set(event.detail["fields"]) == {"identity_known", "first_name", "last_name", "sex"}
    assert "Ayoub" not in str(event.detail)  # the audit names what changed, not the values

    no_reason = api.client.patch(f"/api/v1/cases/{case['id']}/child", headers=api.headers(UPE),
                                 json={"first_name": "Ayoube"})
    assert no_reason.status_code == 400
    bad = api.client.patch(f"/api/v1/cases/{case['id']}/child", headers=api.headers(UPE),
                           json={"last_name": "  ", "reason": "typo"})
    assert bad.status_code == 400 and bad.get_json()["errors"]["json"]["last_name"]
    assert api.client.patch(f"/api/v1/cases/{case['id']}/child", headers=api.headers(CASA_CAPE),
                            json={"first_name": "X", "reason": "r"}).status_code == 404
    assert found(api, "Ayoub") == [case["reference"]]


def test_the_keys_carry_the_birth_year_and_follow_its_correction(api: ApiClient, engine: Engine):
    """The duplicate check narrows by year in the key index: a corrected birth date must move the
    keys, or the child's later report would never meet the earlier one."""
    case = reported(api, engine, child("Anouar", "Chraibi", born="2009-03-02"))
    check = {"child": child("Anouar", "Chraibi", born="2015-08-20"), "province": "tanger-assilah"}
    assert api.post("/api/v1/cases/check-duplicates", UPE, json=check).get_json()["items"] == []
    response = api.client.patch(f"/api/v1/cases/{case['id']}/child", headers=api.headers(UPE),
                                json={"birth_date": "2015-08-20", "reason": "Acte de naissance reçu"})
    assert response.status_code == 200, response.get_json()
    with engine.db.reading() as session:
        years = set(session.scalars(select(ChildNameKey.birth_year).where(ChildNameKey.case_id == case["id"])))
    assert years == {2015}
    [match] = api.post("/api/v1/cases/check-duplicates", UPE, json=check).get_json()["items"]
    assert match["case_id"] == case["id"]
    # a child whose age was only estimated is met by a report that knows the birth date
    unknown = reported(api, engine, child("Wissal", "Bennis", sex="F", born=None,
                                          age_estimate=engine.now().year - 2012))
    found_matches = api.post("/api/v1/cases/check-duplicates", UPE,
                             json={"child": child("Wissal", "Bennis", sex="F", born="2012-01-09"),
                                   "province": "tanger-assilah"}).get_json()
    assert [m["case_id"] for m in found_matches["items"]] == [unknown["id"]]


def test_keys_live_in_their_own_table_by_province(api: ApiClient, engine: Engine):
    case = reported(api, engine, child("Ilyas", "Benjelloun"))
    with engine.db.reading() as session:
        keys = session.scalars(select(ChildNameKey).where(ChildNameKey.case_id == case["id"])).all()
    assert keys and {k.province for k in keys} == {"tanger-assilah"}
    assert {k.field for k in keys} == {"first", "last"}
    assert all("Ilyas" not in k.key and "Benjelloun" not in k.key for k in keys)  # derived, not the name


# --- children counted once ------------------------------------------------------------------

def test_indicators_count_linked_reports_as_one_child(api: ApiClient, engine: Engine):
    first = reported(api, engine, child("Omar", "Kettani"))
    reported(api, engine, child("Omar", "Kettani"))
    period = Period(date(2000, 1, 1), engine.now().date())
    with engine.db.reading() as session:
        before = compute(session, period, ["tanger-assilah"])["children_served"]
    [review] = api.get("/api/v1/duplicates", CAPE).get_json()["items"]
    assert api.post(f"/api/v1/duplicates/{review['id']}/confirm", CAPE, json={}).status_code == 200
    with engine.db.reading() as session:
        after = compute(session, period, ["tanger-assilah"])["children_served"]
    assert after["total"] == before["total"] - 1
    assert after["by_sex"]["M"] == before["by_sex"]["M"] - 1
    assert api.get(f"/api/v1/cases/{first['id']}", CAPE).get_json()["status"] == "open"


def test_reindex_rebuilds_the_keys_from_the_names(api: ApiClient, engine: Engine):
    case = reported(api, engine, child("Zineb", "Lahlou", sex="F"))
    with engine.db.write_connection() as conn:
        conn.execute(ChildNameKey.__table__.delete())
    assert found(api, "Zineb Lahlou") == []
    with engine.db.write_connection() as conn:
        assert reindex(conn) >= 1
    assert found(api, "زينب لحلو") == [case["reference"]]


@pytest.mark.sqlite_only
def test_the_reindex_command(tmp_path, capsys, monkeypatch, engine: Engine):
    from api.cli import main
    monkeypatch.setenv("HIMAYA_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    assert main(["demo"]) == 0
    capsys.readouterr()
    assert main(["reindex-names"]) == 0
    assert "search keys rebuilt for 12 case(s)" in capsys.readouterr().out


def test_the_upgrade_keys_the_children_already_reported(api: ApiClient, engine: Engine):
    from alembic import command

    from engine.db import alembic_config

    case = reported(api, engine, child("Hamza", "Skalli", born="2011-07-01"))
    with engine.db.engine.connect() as connection:
        if engine.db.is_sqlite:
            driver = connection.connection.dbapi_connection
            assert driver is not None
            driver.execute("PRAGMA foreign_keys=OFF")
        with connection.begin():
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0011")  # before the identity columns and keys
    engine.db.upgrade()
    api.forget_tokens()  # going below 0022 revoked every token (their ids are kept as hashes)
    with engine.db.reading() as session:
        assert session.get_one(Case, case["id"]).child_birth_year == 2011
    assert found(api, "حمزة السقلي") == [case["reference"]]
