"""Handlers that inform partners: the prosecutor's office, or any sector of the province.

Messages carry the case reference and a link, never the child's identity: partners open
the file in Himaya, where access is checked and recorded.
"""
from __future__ import annotations

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


@register("himaya.notify_prosecutor")
def notify_prosecutor(call: ServiceCall) -> dict[str, Any]:
    """The public prosecutor's office of the province is informed (violence, exploitation, danger)."""
    call.send(
        topic="prosecutor_notification",
        channel=PARTNER_CHANNEL,
        recipient=_partners_of(call.province, JUSTICE),
        payload={"case_reference": call.case_reference, "case_id": call.case_id, "link": _case_link(call),
                 "risk_level": call.risk_level, "step": call.step},
    )
    return {"notified": JUSTICE}


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
