"""A case's diagram in the reader's language: the element labels, the BPMN XML relabelled for the
page (the stored BPMN stays as deployed), and the timers the case waits on."""
from __future__ import annotations

from typing import Any

from flask_babel import force_locale, gettext
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.definitions.model import CheckedDefinition
from engine.models import CaseTimer

from ..messages import N_

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
# Elements that carry no label on the diagram (a process or a signal is not drawn with its name).
UNDRAWN = {"process", "signal", "message", "error", "escalation", "definitions", "property"}

# The French names of the pathways' drawn elements other than user tasks (whose titles are in
# the BPMN), translated through the catalogues. A name not listed here stays as the BPMN has it.
ELEMENT_NAMES = {
    # child protection: participant and lanes
    "Parcours de protection de l'enfant": N_("Child protection pathway"),
    "Intervenant (UPE, ou CAPE là où il n'y a pas d'UPE)": N_("Case worker (UPE, or CAPE where there is no UPE)"),
    "Coordination CAPE": N_("CAPE coordination"),
    "Partenaire Justice (parquet)": N_("Justice partner (prosecutor's office)"),
    "Partenaire Santé": N_("Health partner"),
    "Partenaire Éducation": N_("Education partner"),
    # events, gateways, service tasks
    "Signalement reçu": N_("Report received"),
    "Urgence ?": N_("Emergency?"),
    "Faits signalés au parquet": N_("Facts reported to the prosecutor's office"),
    "Orientations traitées": N_("Referrals handled"),
    "Ordonnance de placement à demander ?": N_("Placement order to request?"),
    "Attente de la visite de suivi": N_("Waiting for the follow-up visit"),
    "Faits nouveaux signalés au parquet": N_("New facts reported to the prosecutor's office"),
    "Suite de la visite ?": N_("Outcome of the visit?"),
    "Clôture approuvée ?": N_("Closure approved?"),
    "Dossier clôturé": N_("Case closed"),
    "Violence, exploitation ou danger au signalement ?": N_("Violence, exploitation or danger in the report?"),
    "Information du parquet": N_("Information of the prosecutor's office"),
    "Fait nouveau transmis ?": N_("New fact passed on?"),
    "Décision enregistrée": N_("Decision recorded"),
    "Nouveau fait de violence, d'exploitation ou de danger": N_("New fact of violence, exploitation or danger"),
    "Fait à signaler ?": N_("Fact to report?"),
    # sequence flows
    "Oui": N_("Yes"),
    "Non": N_("No"),
    "Psychologique": N_("Psychological"),
    "Social": N_("Social"),
    "Médical": N_("Medical"),
    "Médico-légal": N_("Medico-legal"),
    "Aucun": N_("None"),
    "Aucune": N_("None"),
    "Juridique": N_("Legal"),
    "Santé": N_("Health"),
    "Justice": N_("Justice"),
    "Éducation": N_("Education"),
    "Non, ou déjà ordonné par le parquet": N_("No, or already ordered by the prosecutor"),
    "Reprendre le diagnostic": N_("Assess again"),
    "Situation stable": N_("Stable situation"),
    "Nouvelle visite": N_("Another visit"),
    "Non : retour à l'orientation": N_("No: back to the referral"),
    "Non : déjà connu du parquet": N_("No: already known to the prosecutor"),
    # aftercare
    "Accompagnement post-institutionnel": N_("Aftercare"),
    "Médiateur social (établissement)": N_("Social mediator (institution)"),
    "Demande d'accompagnement reçue": N_("Request for aftercare received"),
    "Attente de l'entretien de suivi": N_("Waiting for the follow-up interview"),
    "Prêt pour la sortie ?": N_("Ready to leave?"),
    "Accompagnement clôturé": N_("Aftercare closed"),
    "Non : nouvel entretien": N_("No: another interview"),
}


def _parse(xml: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(xml.encode("utf-8"), parser)


def _own_title(element: etree._Element, language: str) -> str | None:
    """A ``title_<language>`` property on the element itself (any drawn element may carry one)."""
    for prop in element.iterfind(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}properties/{{{SPIFF}}}property"):
        if prop.get("name") == f"title_{language}" and prop.get("value"):
            return str(prop.get("value"))
    return None


def element_labels(xml: str, definition: CheckedDefinition, language: str) -> dict[str, str]:
    """``{element id: label}`` of every named, drawn element of the BPMN in ``language``: a user
    task's title, an element's own ``title_<language>`` property, the catalogue's translation of
    its French name, or that name as the BPMN has it."""
    if not xml:
        return {}
    labels: dict[str, str] = {}
    with force_locale(language):
        for element in _parse(xml).iter(f"{{{BPMN}}}*"):
            identifier, name = element.get("id"), element.get("name")
            if not identifier or not name or etree.QName(element).localname in UNDRAWN:
                continue
            task = definition.user_tasks.get(identifier)
            if task is not None:
                labels[identifier] = task.title(language)
            elif language == "fr":
                labels[identifier] = name
            else:
                own = _own_title(element, language)
                labels[identifier] = own or (gettext(ELEMENT_NAMES[name]) if name in ELEMENT_NAMES else name)
    return labels


def relabelled(xml: str, labels: dict[str, str]) -> str:
    """The BPMN XML with each element's ``name`` replaced by its label (for display only)."""
    if not xml or not labels:
        return xml
    root = _parse(xml)
    for element in root.iter(f"{{{BPMN}}}*"):
        identifier = element.get("id")
        if identifier in labels and element.get("name") is not None:
            element.set("name", labels[identifier])
    return str(etree.tostring(root, encoding="unicode"))


def waiting_timers(session: Session, case_id: str) -> list[dict[str, Any]]:
    """The timers the case waits on (a follow-up visit's date…), soonest first: the timer event's
    element id and when it fires."""
    rows = session.execute(select(CaseTimer.step, CaseTimer.due_at).where(CaseTimer.case_id == case_id)
                           .order_by(CaseTimer.due_at, CaseTimer.id)).all()
    return [{"step": step, "due_at": due_at} for step, due_at in rows]
