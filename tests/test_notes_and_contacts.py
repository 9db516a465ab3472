"""The case file's notes and contacts: who writes and reads them, bad input refused with plain field
messages and nothing stored, the audit trail, the case page's cards and forms (SQLite and PostgreSQL)."""
from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.models import CaseContact, CaseEvent, CaseNote
from engine.runtime import Engine
from tests.conftest import ApiClient
from tests.helpers import UPE, csrf_of, events, page_login, report

CAPE, HEALTH, JUSTICE, CASA_UPE, CASA_CAPE, CPPE = ("cape.tanger", "sante.tanger", "parquet.tanger", "upe.casa",
                                                   "cape.casa", "cppe.tanger")
WORKER = UPE.username
MOTHER = {"relation": "mother", "name": "Fatima Alami", "phone": "+212 661 23 45 67",
          "address": "Derb Sidi Bouabid, n° 12\nTanger", "guardian": False, "may_contact": False,
          "note": "Violence suspectée : ne pas l'appeler."}
AUNT = {"relation": "aunt_uncle", "name": "خديجة العلمي", "phone": "0539.12.34.56", "guardian": True}


def _case(engine: Engine, **kwargs: Any) -> str:
    """A case of Tanger's UPE; with violence, the prosecutor's office has a task on it (sees the case)."""
    return engine.start_case(report(engine, categories=["victim_violence"], **kwargs), UPE).case_id


def _count(engine: Engine, model: Any) -> int:
    with engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _note(api: ApiClient, case_id: str, user: str, text: str, visibility: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"text": text} if visibility is None else {"text": text, "visibility": visibility}
    response = api.post(f"/api/v1/cases/{case_id}/notes", user, json=body)
    assert response.status_code == 201, response.get_json()
    note: dict[str, Any] = response.get_json()
    return note


def _notes(api: ApiClient, case_id: str, user: str, **query: Any) -> list[str]:
    response = api.get(f"/api/v1/cases/{case_id}/notes", user, query_string=query)
    assert response.status_code == 200, response.get_json()
    return [n["text"] for n in response.get_json()["items"]]


def _contact(api: ApiClient, case_id: str, user: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/api/v1/cases/{case_id}/contacts", user, json=body)
    assert response.status_code == 201, response.get_json()
    contact: dict[str, Any] = response.get_json()
    return contact


# --- notes ------------------------------------------------------------------------------------

def test_the_team_writes_notes_listed_newest_first_paged_and_in_the_history(api: ApiClient, engine: Engine):
    case_id = _case(engine)
    first = _note(api, case_id, WORKER, "  Appel avec la tante :\r\nelle peut accueillir l'enfant lundi.  ")
    assert first["text"] == "Appel avec la tante :\nelle peut accueillir l'enfant lundi."
    assert (first["visibility"], first["author"], first["author_role"]) == ("team", WORKER, "case_worker")
    _note(api, case_id, CAPE, "Réunion avec l'école prévue.")
    _note(api, case_id, WORKER, "Visite à domicile faite.")
    assert _notes(api, case_id, CAPE) == ["Visite à domicile faite.", "Réunion avec l'école prévue.",
                                          first["text"]]
    page = api.get(f"/api/v1/cases/{case_id}/notes", WORKER, query_string={"page": 2, "per_page": 2}).get_json()
    assert (page["total"], page["page"], page["per_page"]) == (3, 2, 2)
    assert [n["id"] for n in page["items"]] == [first["id"]]
    history = api.get(f"/api/v1/cases/{case_id}/history", WORKER).get_json()["events"]
    added = [e for e in history if e["kind"] == "note_added"]
    assert [e["actor"] for e in added] == [WORKER, CAPE, WORKER]
    assert added[0]["detail"]["note_id"] == first["id"] and added[0]["detail"]["visibility"] == "team"
    assert all("text" not in e["detail"] and "tante" not in str(e["detail"]) for e in history), \
        "the audit trail names the note, never its text"
    viewed = events(engine, case_id, "notes_viewed")
    assert [e.actor for e in viewed] == [CAPE, WORKER]


def test_a_coordinators_only_note_is_read_by_the_coordinators_and_its_author_only(api: ApiClient, engine: Engine):
    case_id = _case(engine)
    _note(api, case_id, WORKER, "Note d'équipe.")
    _note(api, case_id, WORKER, "Soupçon sur l'oncle : à voir avec la CAPE.", "coordinators")
    _note(api, case_id, CAPE, "Signalement au parquet à envisager.", "coordinators")
    assert len(_notes(api, case_id, CAPE)) == 3
    assert _notes(api, case_id, WORKER) == ["Soupçon sur l'oncle : à voir avec la CAPE.", "Note d'équipe."], \
        "the author reads their own; another's coordinators-only note is not listed"
    page = api.get(f"/api/v1/cases/{case_id}/notes", WORKER).get_json()
    assert page["total"] == 2, "a note the reader may not read is not counted either"
    assert _notes(api, case_id, CPPE) == ["Note d'équipe."], "the supervisors read the team's notes"


def test_partners_read_and_write_no_note_and_other_provinces_see_no_case(api: ApiClient, engine: Engine):
    case_id = _case(engine)
    _note(api, case_id, WORKER, "Note d'équipe.")
    assert api.get(f"/api/v1/cases/{case_id}", JUSTICE).status_code == 200, "the prosecutor's office sees the case"
    assert api.get(f"/api/v1/cases/{case_id}/notes", JUSTICE).status_code == 403
    assert api.post(f"/api/v1/cases/{case_id}/notes", JUSTICE, json={"text": "x"}).status_code == 403
    assert api.get(f"/api/v1/cases/{case_id}/notes", HEALTH).status_code == 404, "no health task: no case"
    for stranger in (CASA_UPE, CASA_CAPE):
        assert api.get(f"/api/v1/cases/{case_id}/notes", stranger).status_code == 404
        assert api.post(f"/api/v1/cases/{case_id}/notes", stranger, json={"text": "x"}).status_code == 404
    assert api.post(f"/api/v1/cases/{case_id}/notes", CPPE, json={"text": "x"}).status_code == 403, \
        "the supervisors read, they do not write"
    assert _count(engine, CaseNote) == 1
    unknown = "00000000-0000-4000-8000-000000000000"
    assert api.get(f"/api/v1/cases/{unknown}/notes", CAPE).status_code == 404


BAD_NOTES: list[tuple[dict[str, Any], str, str]] = [
    ({"text": "x" * 100_000}, "text", "5000 characters"),
    ({"text": "x" * 5_001}, "text", "5000 characters"),
    ({"text": ""}, "text", "cannot be blank"),
    ({"text": " \n\t  \r\n "}, "text", "cannot be blank"),
    ({}, "text", "cannot be blank"),
    ({"text": None}, "text", "cannot be blank"),
    ({"text": "Appel\u0007 fait"}, "text", "invisible"),
    ({"text": "Appel \u202eتم"}, "text", "invisible"),
    ({"text": "Appel\u2028fait"}, "text", "invisible"),
    ({"text": 12}, "text", "Not a valid string"),
    ({"text": "ok", "visibility": "everyone"}, "visibility", "team or coordinators"),
]


@pytest.mark.sqlite_only  # refused before any write: the same on either database
def test_a_bad_note_is_refused_with_a_plain_message_and_nothing_stored(api: ApiClient, engine: Engine):
    case_id = _case(engine)
    before = (_count(engine, CaseNote), _count(engine, CaseEvent))
    for body, field, words in BAD_NOTES:
        response = api.post(f"/api/v1/cases/{case_id}/notes", WORKER, json=body, headers={"Accept-Language": "en"})
        assert response.status_code == 400, (body, response.get_json())
        messages = response.get_json()["errors"]["json"][field]
        assert any(words in m for m in messages), (body, messages)
    assert (_count(engine, CaseNote), _count(engine, CaseEvent)) == before


def test_a_note_of_5000_characters_with_line_breaks_and_tabs_is_kept(api: ApiClient, engine: Engine):
    case_id = _case(engine)
    text = ("ligne\tavec tabulation\n" * 300)[:4_999] + "x"
    assert len(_note(api, case_id, WORKER, text)["text"]) == 5_000
    refused = api.post(f"/api/v1/cases/{case_id}/notes", WORKER, json={"text": "ok", "author": "someone"})
    assert refused.status_code == 400, "unknown fields are refused"
    french = api.post(f"/api/v1/cases/{case_id}/notes", WORKER, json={"text": "  "}).get_json()
    assert french["errors"]["json"]["text"] == ["Écrivez la note : elle ne peut pas être vide."]


# --- contacts -----------------------------------------------------------------------------------

def test_the_team_records_changes_and_removes_contacts_each_change_audited(api: ApiClient, engine: Engine):
    case_id = _case(engine)
    mother = _contact(api, case_id, WORKER, MOTHER)
    assert mother["address"] == "Derb Sidi Bouabid, n° 12\nTanger" and mother["may_contact"] is False
    aunt = _contact(api, case_id, CAPE, AUNT)
    assert (aunt["guardian"], aunt["may_contact"], aunt["address"]) == (True, True, None)
    listed = api.get(f"/api/v1/cases/{case_id}/contacts", WORKER).get_json()["items"]
    assert [c["name"] for c in listed] == ["Fatima Alami", "خديجة العلمي"]
    changed = api.client.patch(f"/api/v1/cases/{case_id}/contacts/{aunt['id']}", headers=api.headers(WORKER),
                               json={"phone": "06 61 23 45 67", "address": "Tétouan", "guardian": True})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["phone"], changed.get_json()["updated_by"]) == ("06 61 23 45 67", WORKER)
    removed = api.client.delete(f"/api/v1/cases/{case_id}/contacts/{mother['id']}", headers=api.headers(CAPE))
    assert removed.status_code == 200 and removed.get_json()["active"] is False
    assert [c["id"] for c in api.get(f"/api/v1/cases/{case_id}/contacts", WORKER).get_json()["items"]] == [aunt["id"]]
    again = api.client.delete(f"/api/v1/cases/{case_id}/contacts/{mother['id']}", headers=api.headers(CAPE))
    assert again.status_code == 409
    late = api.client.patch(f"/api/v1/cases/{case_id}/contacts/{mother['id']}", headers=api.headers(CAPE),
                            json={"name": "Fatima"})
    assert late.status_code == 409
    trail = [(e.kind, e.actor, {k: v for k, v in e.detail.items() if k != "source"})
             for e in events(engine, case_id) if e.kind.startswith("contact_") and e.kind != "contacts_viewed"]
    assert trail == [("contact_added", WORKER, {"contact_id": mother["id"], "relation": "mother"}),
                     ("contact_added", CAPE, {"contact_id": aunt["id"], "relation": "aunt_uncle"}),
                     ("contact_changed", WORKER, {"contact_id": aunt["id"], "fields": ["phone", "address"]}),
                     ("contact_removed", CAPE, {"contact_id": mother["id"]})], \
        "field names, never values; the guardian box was already ticked: not a change"
    assert len(events(engine, case_id, "contacts_viewed")) == 2
    other = _case(engine)
    assert api.client.patch(f"/api/v1/cases/{other}/contacts/{aunt['id']}", headers=api.headers(WORKER),
                            json={"name": "X"}).status_code == 404, "a contact of another case"


def test_partners_read_only_contacts_who_may_be_contacted_with_name_relation_and_phone(api: ApiClient,
                                                                                        engine: Engine):
    case_id = _case(engine)
    _contact(api, case_id, WORKER, MOTHER)
    aunt = _contact(api, case_id, WORKER, {**AUNT, "address": "Tétouan", "note": "Disponible le soir."})
    seen = api.get(f"/api/v1/cases/{case_id}/contacts", JUSTICE)
    assert seen.status_code == 200, seen.get_json()
    assert seen.get_json()["items"] == [{"id": aunt["id"], "case_id": case_id, "relation": "aunt_uncle",
                                         "name": "خديجة العلمي", "phone": "0539.12.34.56"}]
    assert api.post(f"/api/v1/cases/{case_id}/contacts", JUSTICE, json=AUNT).status_code == 403
    assert api.client.delete(f"/api/v1/cases/{case_id}/contacts/{aunt['id']}",
                             headers=api.headers(JUSTICE)).status_code == 403
    assert api.get(f"/api/v1/cases/{case_id}/contacts", HEALTH).status_code == 404
    assert api.get(f"/api/v1/cases/{case_id}/contacts", CASA_CAPE).status_code == 404
    assert api.post(f"/api/v1/cases/{case_id}/contacts", CPPE, json=AUNT).status_code == 403
    assert len(api.get(f"/api/v1/cases/{case_id}/contacts", CPPE).get_json()["items"]) == 2
    assert _count(engine, CaseContact) == 2


BAD_CONTACTS: list[tuple[dict[str, Any], str, str]] = [
    ({"phone": "06 61 AB 45 67"}, "phone", "0661 23 45 67"),
    ({"phone": "12 34"}, "phone", "6 to 20 digits"),
    ({"phone": "+212 " + "1" * 21}, "phone", "6 to 20 digits"),
    ({"phone": "++212 661 23 45 67"}, "phone", "0661 23 45 67"),
    ({"phone": "0661 23 45 67 ext 2"}, "phone", "0661 23 45 67"),
    ({"phone": "٠٦٦١ 23 45 6x"}, "phone", "0661 23 45 67"),
    ({"relation": "cousin"}, "relation", "from the list"),
    ({"relation": None}, "relation", "who this contact is"),
    ({"name": "   "}, "name", "contact's name"),
    ({"name": "0661234567"}, "name", "letters"),
    ({"name": "x" * 201}, "name", "200 characters"),
    ({"name": "Fatima\nAlami"}, "name", "invisible"),
    ({"name": "Fatima \u202eimalA"}, "name", "invisible"),
    ({"address": "x" * 501}, "address", "500 characters"),
    ({"note": "x" * 1001}, "note", "1000 characters"),
    ({"guardian": "yes"}, "guardian", "true or false"),
    ({"may_contact": 0}, "may_contact", "true or false"),
]


@pytest.mark.sqlite_only
def test_a_bad_contact_is_refused_with_a_field_message_and_nothing_stored(api: ApiClient, engine: Engine):
    case_id = _case(engine)
    before = (_count(engine, CaseContact), _count(engine, CaseEvent))
    for change, field, words in BAD_CONTACTS:
        response = api.post(f"/api/v1/cases/{case_id}/contacts", WORKER, json={**AUNT, **change},
                            headers={"Accept-Language": "en"})
        assert response.status_code == 400, (change, response.get_json())
        messages = response.get_json()["errors"]["json"][field]
        assert any(words in m for m in messages), (change, messages)
    assert (_count(engine, CaseContact), _count(engine, CaseEvent)) == before


@pytest.mark.sqlite_only
def test_a_bad_change_of_a_contact_changes_nothing(api: ApiClient, engine: Engine):
    case_id = _case(engine)
    aunt = _contact(api, case_id, WORKER, AUNT)
    path = f"/api/v1/cases/{case_id}/contacts/{aunt['id']}"
    before = _count(engine, CaseEvent)
    for body, field in (({}, "_schema"), ({"phone": "abc"}, "phone"), ({"name": None}, "name"),
                        ({"name": "Khadija", "phone": "1"}, "phone")):
        response = api.client.patch(path, headers=api.headers(WORKER), json=body)
        assert response.status_code == 400 and field in response.get_json()["errors"]["json"], response.get_json()
    assert api.get(f"/api/v1/cases/{case_id}/contacts", WORKER).get_json()["items"][0]["name"] == "خديجة العلمي"
    assert _count(engine, CaseEvent) == before + 1  # the list just read (contacts_viewed)
    for phone in ("0661234567", "+212661234567", "+33 6 12 34 56 78", "05-39-12-34-56", "0539.12.34.56"):
        assert api.client.patch(path, headers=api.headers(WORKER), json={"phone": phone}).status_code == 200, phone
    arabic = api.client.patch(path, headers=api.headers(WORKER), json={"phone": "٠٦٦١ ٢٣ ٤٥ ٦٧"})
    assert arabic.get_json()["phone"] == "0661 23 45 67", "Arabic-Indic digits are stored as 0-9"


# --- the case page ------------------------------------------------------------------------------

def _page(web: FlaskClient, case_id: str) -> str:
    response = web.get(f"/cases/{case_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_case_page_adds_a_note_shown_in_the_notes_card_and_the_timeline(web: FlaskClient, engine: Engine):
    case_id = _case(engine)
    page_login(web, WORKER)
    html = _page(web, case_id)
    assert 'id="note-form"' in html and 'name="visibility" value="coordinators"' in html
    done = web.post(f"/cases/{case_id}/notes", data={"csrf_token": csrf_of(html), "visibility": "team",
                                                      "text": "Appel avec la tante.\r\nElle rappelle lundi."})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/cases/{case_id}#notes")
    web.post(f"/cases/{case_id}/notes", data={"csrf_token": csrf_of(html), "visibility": "coordinators",
                                              "text": "<script>alert(1)</script> Soupçon"})
    html = _page(web, case_id)
    notes = html.split('class="note-list"', 1)[1].split("</section>", 1)[0]
    assert notes.index("Soupçon") < notes.index("Appel avec la tante"), "newest first"
    assert '<div class="note-text" dir="auto">Appel avec la tante.\nElle rappelle lundi.</div>' in notes
    assert "&lt;script&gt;" in notes and "<script>alert" not in html
    assert 'note-restricted">Coordinateurs seulement</span>' in notes
    assert f'<bdi class="note-author">{WORKER}</bdi>' in notes
    timeline = html.split('class="timeline"', 1)[1]
    assert "Note ajoutée" in timeline and "Elle rappelle lundi." in timeline
    assert events(engine, case_id, "notes_viewed"), "the page's read of the notes is audited"


def test_a_bad_note_on_the_page_is_shown_again_with_its_error_and_nothing_stored(web: FlaskClient, engine: Engine):
    case_id = _case(engine)
    page_login(web, WORKER)
    token = csrf_of(_page(web, case_id))
    blank = web.post(f"/cases/{case_id}/notes", data={"csrf_token": token, "text": "   ", "visibility": "team"})
    assert blank.status_code == 400
    html = blank.get_data(as_text=True)
    assert 'id="note-text-error"' in html and "ne peut pas être vide" in html
    pasted = web.post(f"/cases/{case_id}/notes", data={"csrf_token": token, "visibility": "coordinators",
                                                       "text": "Appel\u202e fait"})
    html = pasted.get_data(as_text=True)
    assert pasted.status_code == 400 and "Appel fait</textarea>" in html, "given back without the control"
    assert re.search(r'value="coordinators" checked', html), "the choice is kept"
    assert web.post(f"/cases/{case_id}/notes", data={"text": "x"}).status_code in (400, 403), "no CSRF token"
    assert _count(engine, CaseNote) == 0


def test_partners_see_no_notes_card_and_only_the_contacts_they_may_reach(web: FlaskClient, engine: Engine,
                                                                         api: ApiClient):
    case_id = _case(engine)
    _note(api, case_id, WORKER, "Note d'équipe confidentielle.")
    _contact(api, case_id, WORKER, MOTHER)
    _contact(api, case_id, WORKER, {**AUNT, "address": "Tétouan"})
    page_login(web, JUSTICE)
    html = _page(web, case_id)
    assert 'id="notes"' not in html and "confidentielle" not in html
    contacts = html.split('id="contacts"', 1)[1].split("</section>", 1)[0]
    assert "خديجة العلمي" in contacts and "Fatima Alami" not in contacts and "Tétouan" not in contacts
    assert 'href="tel:0539123456" dir="ltr"' in contacts and "contact-form" not in contacts
    token = csrf_of(html)
    assert web.post(f"/cases/{case_id}/notes", data={"csrf_token": token, "text": "x"}).status_code == 403
    assert web.post(f"/cases/{case_id}/contacts", data={"csrf_token": token, "relation": "mother",
                                                        "name": "X"}).status_code == 403


def test_the_case_page_adds_changes_and_removes_a_contact(web: FlaskClient, engine: Engine):
    case_id = _case(engine)
    page_login(web, WORKER)
    token = csrf_of(_page(web, case_id))
    bad = web.post(f"/cases/{case_id}/contacts", data={"csrf_token": token, "relation": "mother",
                                                       "name": "Fatima Alami", "phone": "06 AB"})
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert 'id="contact-phone-error"' in html and "par exemple 0661 23 45 67" in html and 'value="Fatima Alami"' in html
    assert '<details class="add-contact" id="add-contact" open>' in html
    assert _count(engine, CaseContact) == 0
    done = web.post(f"/cases/{case_id}/contacts", data={
        "csrf_token": token, "relation": "mother", "name": "Fatima Alami", "phone": "0661 23 45 67",
        "address": "Tanger", "do_not_contact": "on"})
    assert done.status_code == 302
    html = _page(web, case_id)
    contacts = html.split('id="contacts"', 1)[1].split("</section>", 1)[0]
    assert "Mère" in contacts and '<bdi class="contact-name">Fatima Alami</bdi>' in contacts
    assert "do-not-contact-badge" in contacts and '<bdi dir="ltr">0661 23 45 67</bdi>' in contacts
    assert "tel:" not in contacts, "a person who must not be contacted is not one tap away"
    with engine.db.reading() as session:
        contact = session.scalars(select(CaseContact)).one()
    assert contact.may_contact is False and contact.guardian is False
    edit = web.get(f"/cases/{case_id}/contacts/{contact.id}")
    assert edit.status_code == 200 and "checked" in edit.get_data(as_text=True).split("contact-do-not-contact")[1][:60]
    changed = web.post(f"/cases/{case_id}/contacts/{contact.id}", data={
        "csrf_token": token, "relation": "mother", "name": "Fatima Alami", "phone": "0661 23 45 67",
        "address": "Tanger", "do_not_contact": "on", "guardian": "on"})
    assert changed.status_code == 302
    assert events(engine, case_id, "contact_changed")[-1].detail["fields"] == ["guardian"]
    assert "Contact modifié (tuteur)" in _page(web, case_id), "the timeline names the fields changed"
    removed = web.post(f"/cases/{case_id}/contacts/{contact.id}/remove", data={"csrf_token": token})
    assert removed.status_code == 302
    assert "Fatima Alami" not in _page(web, case_id).split('id="contacts"', 1)[1].split("</section>", 1)[0]
    assert web.get(f"/cases/{case_id}/contacts/{contact.id}").status_code == 404, "a removed contact"
    page_login(web, CPPE)
    assert web.get(f"/cases/{case_id}/contacts/{contact.id}").status_code == 403


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_cards_read_in_arabic_and_english(web: FlaskClient, engine: Engine, api: ApiClient, language: str):
    case_id = _case(engine)
    _note(api, case_id, WORKER, "ملاحظة", "coordinators")
    _contact(api, case_id, WORKER, AUNT)
    page_login(web, WORKER)
    web.get(f"/language/{language}?next=/cases/{case_id}")
    html = _page(web, case_id)
    expected = {"ar": ("ملاحظات الملف", "جهات الاتصال", "عمة أو عم", "للمنسقين فقط", "أضيفت ملاحظة", 'dir="rtl"'),
                "en": ("Case notes", "Contacts", "Aunt or uncle", "Coordinators only", "Note added",
                       "Who reads this note")}
    for words in expected[language]:
        assert words in html, words


def test_stored_notes_and_contacts_keep_their_own_direction_on_the_case_page(web: FlaskClient, engine: Engine):
    """Texts stored before a rule refused them (U+202E) cannot reorder the page around them."""
    from engine.models import Case
    from tests.test_bidi import RLO, _assert_isolated

    case_id = _case(engine)
    with engine.db.transaction() as session:
        case = session.get(Case, case_id)
        assert case is not None
        at = case.opened_at
        session.add(CaseNote(case_id=case_id, visibility="team", text=f"Appel {RLO}fait", author=WORKER,
                             author_role="case_worker", created_at=at))
        session.add(CaseContact(case_id=case_id, relation="aunt_uncle", name=f"Khadija {RLO}Alami", phone="0661234567",
                                address=f"Derb {RLO}12", guardian=False, may_contact=True, note=f"{RLO}soir",
                                active=True, created_at=at, created_by=WORKER, updated_at=at, updated_by=WORKER))
    page_login(web, WORKER)
    _assert_isolated(_page(web, case_id), at_least=4)  # the note, the name, the address, the contact's note
