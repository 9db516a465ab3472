"""The aftercare start page: a young person of 16 to 22 leaving a care institution is enrolled,
with their consent, by the institution's social mediator (or the province's coordinator).

The page builds the intake of ``POST /api/v1/cases`` (``pathway: "aftercare"``): the engine
checks the age, the unit (a care institution) and the young person's recorded consent, so the
page and the API refuse the same things with the same field messages.
"""
from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from engine.errors import ValidationFailed
from engine.intake import CONSENT_METHODS

from .. import policy
from ..context import actor, engine, reader
from ..i18n import translate_errors
from ..readers.pathways import StartOffer, start_offer
from .cases import report_units
from .forms import flat_errors
from .session import login_required

PATHWAY = "aftercare"

# Where each intake error shows on the page.
ERROR_FIELDS: dict[str, str | None] = {
    "child.first_name": "first_name", "child.last_name": "last_name", "child.sex": "sex",
    "child.birth_date": "birth_date", "child.age_estimate": "birth_date", "child.nationality": "nationality",
    "unit": "unit", "categories": "categories", "report.description": "description",
    "report.received_at": "birth_date", "consent.young_person": "consent_given",
    "consent.young_person.given": "consent_given", "consent.young_person.given_on": "consent_given_on",
    "consent.young_person.method": "consent_method", "consent.young_person.witness": "consent_witness",
    "consent.notes": "consent_notes",
    "consent.given_by": None,  # the young person's own name: its error is on the name fields
}
FIELDS = ("first_name", "last_name", "sex", "birth_date", "nationality", "unit", "categories", "description",
          "consent_given", "consent_given_on", "consent_method", "consent_witness", "consent_notes")


def offer() -> StartOffer | None:
    """What the signed-in user may start of the aftercare pathway (None: nothing; the menu hides it)."""
    if "aftercare_offer" not in g:
        g.aftercare_offer = start_offer(reader(), PATHWAY) if g.get("principal") else None
    found: StartOffer | None = g.aftercare_offer
    return found


def template_globals() -> dict[str, Any]:
    """``aftercare_offer()`` for the menu (read once per request, and only when a page asks)."""
    return {"aftercare_offer": offer, "report_units": report_units}


@login_required
def start() -> ResponseReturnValue:
    found = offer()
    if found is None:
        abort(403)
    now = engine().now()
    values: dict[str, Any] = {"unit": found.units[0].code, "categories": ["in_institution"], "nationality": "MA",
                              "consent_given_on": now.date().isoformat(), "consent_method": "signed_form"}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {**request.form.to_dict(), "categories": request.form.getlist("categories")}
        province = g.principal.province or ""
        payload = intake(request.form, province, now.isoformat())
        if not policy.can_report(g.principal, province, payload["unit"]):
            errors = {"unit": [_("Choose one of the institutions offered.")]}
        else:
            try:
                result = engine().start_case(payload, actor())
            except ValidationFailed as error:
                for key, messages in flat_errors(translate_errors(error.errors)).items():
                    field = ERROR_FIELDS.get(key, key)
                    if field is not None:
                        errors.setdefault(field, []).extend(messages)
            else:
                flash(_("Case %(reference)s opened.", reference=result.case_reference), "success")
                return redirect(url_for("web.case", case_id=result.case_id))
    return render_template("aftercare_start.html", offer=found, values=values, errors=errors, fields=FIELDS,
                           methods=CONSENT_METHODS), 400 if errors else 200


def intake(posted: MultiDict, province: str, now: str) -> dict[str, Any]:
    """The intake JSON of ``POST /api/v1/cases`` from the page."""
    def text(name: str) -> str | None:
        value = (posted.get(name) or "").strip()
        return value or None

    first, last = text("first_name") or "", text("last_name") or ""
    young_person: dict[str, Any] = {"given": posted.get("consent_given") == "on", "given_on": text("consent_given_on"),
                                    "method": text("consent_method")}
    if text("consent_witness"):
        young_person["witness"] = text("consent_witness")
    return {
        "pathway": PATHWAY,
        "child": {"first_name": first, "last_name": last, "sex": text("sex") or "", "birth_date": text("birth_date"),
                  "age_estimate": None, "civil_status_registered": True,
                  "nationality": (text("nationality") or "").upper() or None},
        "province": province, "unit": text("unit") or "", "categories": posted.getlist("categories"),
        "report": {"source": "self_referral", "received_at": now, "description": text("description") or ""},
        "consent": {"legal_basis": "consent", "given_by": f"{first} {last}".strip() or None, "child_informed": True,
                    "guardian_informed": False, "notes": text("consent_notes") or "", "young_person": young_person},
    }
