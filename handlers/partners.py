"""Handlers that inform partners: the prosecutor's office, or any sector of the province.

Messages carry the case reference and a link, never the child's identity: partners open
the file in Himaya, where access is checked and recorded.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .registry import ServiceCall, register

PARTNER_CHANNEL = "partner"
# Handlers import nothing of the engine (the engine calls them): these are engine.vocabulary's
# PARTNER role and JUSTICE sector, and a partner lane's recipients (tests/test_vocabulary.py).
PARTNER, JUSTICE = "partner", "justice"


def _partners_of(province: str, sector: str) -> dict[str, Any]:
    """The recipient group of a sector's partners in the province (their lane)."""
    return {"role": PARTNER, "province": province, "sector": sector}


def _case_link(call: ServiceCall) -> str:
    return f"/cases/{call.case_id}"


# What the prosecutor's office is told of: the kinds of violence, exploitation or danger a step
# records (the ``concerns_found`` checklist of the listening, the diagnoses and the follow-up
# visit) and the intake's categories and flags that mean the same (PROTOCOL.md, judicial branch).
CONCERNS = ("violence", "sexual_abuse", "exploitation", "begging", "harmful_practice", "neglect", "danger")
CONCERN_OF_CATEGORY = {
    "victim_violence": "violence", "victim_sexual_abuse": "sexual_abuse", "victim_exploitation": "exploitation",
    "begging": "begging", "victim_harmful_practice": "harmful_practice",
    "online_sexual_exploitation": "exploitation", "cyber_harassment": "violence",
}
# A category an administrator flagged for the prosecutor that names none of the concerns above.
CATEGORY_CONCERN = "category:"


def concerns_at_intake(data: Mapping[str, Any]) -> set[str]:
    """The concerns the report itself carries: its categories that inform the prosecutor and the
    immediate-danger flag. Which categories inform the prosecutor is the categories' reference
    data (``prosecutor_categories``, set by the engine at the report); a workflow started before
    it read the shipped list (:data:`CONCERN_OF_CATEGORY`)."""
    flagged = data.get("prosecutor_categories")
    if isinstance(flagged, list):
        found = {CONCERN_OF_CATEGORY.get(c, CATEGORY_CONCERN + c) for c in flagged if isinstance(c, str)}
    else:
        found = {CONCERN_OF_CATEGORY[c] for c in data.get("categories") or () if c in CONCERN_OF_CATEGORY}
    if data.get("immediate_danger"):
        found.add("danger")
    return found


def _listed(value: Any) -> set[str]:
    return {item for item in value if isinstance(item, str) and item in CONCERNS} if isinstance(value, list) else set()


def _informed(value: Any) -> set[str]:
    """What the prosecutor was told of already: concerns, and categories flagged for it."""
    if not isinstance(value, list):
        return set()
    return {item for item in value if isinstance(item, str) and (item in CONCERNS or item.startswith(CATEGORY_CONCERN))}


@register("himaya.notify_prosecutor")
def notify_prosecutor(call: ServiceCall) -> dict[str, Any]:
    """Inform the public prosecutor's office of the province of what it does not know yet.

    Called at the report when it carries violence, exploitation (begging included) or danger,
    and again each time a later step records such a concern (its signal carries ``concern``:
    the step, the kinds found, and whether it is a new incident). The prosecutor is told once
    per case of each kind of concern, and again of any new incident a follow-up visit records;
    the result (``sent``, ``informed_of``) stays on the judicial branch for the next call, and
    ``sent`` says whether a decision is asked for. The message carries no identity.
    """
    previous = call.data.get("prosecutor_informed")
    informed = _informed(previous.get("informed_of")) if isinstance(previous, Mapping) else set()
    concern = call.data.get("concern")
    recorded = dict(concern) if isinstance(concern, Mapping) else {}
    found = _listed(recorded.get("found"))
    new = (found if recorded.get("new_incident") else found - informed) | (concerns_at_intake(call.data) - informed)
    if not new:
        return {"sent": False, "informed_of": sorted(informed)}
    step = recorded.get("step") if isinstance(recorded.get("step"), str) else "report"
    call.send(
        topic="prosecutor_notification",
        channel=PARTNER_CHANNEL,
        recipient=_partners_of(call.province, JUSTICE),
        payload={"case_reference": call.case_reference, "case_id": call.case_id, "link": _case_link(call),
                 "risk_level": call.risk_level, "step": call.step, "recorded_at": step,
                 "concerns": sorted(new), "new_incident": bool(recorded.get("new_incident"))},
    )
    return {"sent": True, "notified": JUSTICE, "informed_of": sorted(informed | new), "recorded_at": step,
            "concerns": sorted(new)}


@register("himaya.refer_to_partner")
def refer_to_partner(call: ServiceCall) -> dict[str, Any]:
    """Refer the case to a partner sector of the province (parameter ``sector``)."""
    sector = call.params.get("sector")
    if not isinstance(sector, str) or not sector:
        raise ValueError("refer_to_partner needs a 'sector' parameter")
    call.send(
        topic="partner_referral",
        channel=PARTNER_CHANNEL,
        recipient=_partners_of(call.province, sector),
        payload={"case_reference": call.case_reference, "case_id": call.case_id, "link": _case_link(call),
                 "risk_level": call.risk_level, "step": call.step, "sector": sector},
    )
    return {"referred": sector}
