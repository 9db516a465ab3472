"""Labels of the codes the pages show (translated through the catalogues)."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flask import current_app, g, has_request_context
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from engine import audit
from engine.categories import DEFAULTS as DEFAULT_CATEGORIES
from engine.vocabulary import (
    ADMIN,
    CAPE,
    CASE_WORKER,
    COORDINATOR,
    HIGH,
    LOW,
    MEDIUM,
    NATIONAL,
    PARTNER,
    SAS_MOBILE,
    SUPERVISOR,
    UPE,
)

from ..i18n import RTL_LANGUAGES, current_language
from ..readers.diagrams import ELEMENT_NAMES


class _CategoryLabels(Mapping[str, str]):
    """The case categories' labels in the page's language, from their reference data
    (:mod:`engine.categories`: an administrator adds and relabels them), read once per request.
    Iterating gives the categories a new report may carry (the active ones, in order); a code
    no longer offered still has its label (a case keeps its categories)."""

    def _table(self) -> tuple[dict[str, str], list[str]]:
        if has_request_context() and "himaya" in current_app.extensions:
            found = g.get("_category_labels")
            if found is None:
                from ..context import engine
                from ..readers.categories import category_rules

                rules = category_rules(engine())
                language = current_language()
                found = ({c.code: c.label(language) for c in rules.categories},
                         [c.code for c in rules.categories if c.active])
                g._category_labels = found
            return found
        return ({c.code: c.label(current_language() if has_request_context() else "fr") for c in DEFAULT_CATEGORIES},
                [c.code for c in DEFAULT_CATEGORIES])

    def __getitem__(self, code: str) -> str:
        return self._table()[0][code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table()[1])

    def __len__(self) -> int:
        return len(self._table()[1])


CATEGORY_LABELS = _CategoryLabels()
SOURCE_LABELS = {
    "phone_line": _l("Toll-free line"), "mobile_team": _l("Mobile team"), "listening_cell": _l("Listening cell"),
    "walk_in": _l("Came in person"), "family": _l("Family"), "school": _l("School"),
    "health_facility": _l("Health facility"), "police": _l("Police"), "gendarmerie": _l("Royal Gendarmerie"),
    "prosecutor": _l("Prosecutor's office"), "association": _l("Association"), "self_referral": _l("The child"),
    "other": _l("Other"),
}
LEGAL_BASIS_LABELS = {
    "protection_mandate": _l("Protection mandate (no consent needed)"), "consent": _l("Consent"),
    "judicial_order": _l("Judicial order"),
}
CONSENT_METHOD_LABELS = {
    "signed_form": _l("Signed enrolment form"), "oral_witnessed": _l("Orally, before a witness"),
}
RISK_LABELS = {HIGH: _l("High"), MEDIUM: _l("Medium"), LOW: _l("Low")}
STATUS_LABELS = {"open": _l("Open"), "closed": _l("Closed")}
UNIT_KIND_LABELS = {UPE: _l("Child-protection units (UPE)"), CAPE: _l("Child-protection support centre (CAPE)"),
                    SAS_MOBILE: _l("Mobile social units (SAS)")}
ROLE_LABELS = {CASE_WORKER: _l("Case worker"), COORDINATOR: _l("Coordinator"), PARTNER: _l("Partner"),
               SUPERVISOR: _l("Supervisor"), NATIONAL: _l("National"), ADMIN: _l("Administrator")}
OUTBOX_STATUS_LABELS = {"pending": _l("waiting to be sent"), "sent": _l("sent"), "dead": _l("not sent after retries"),
                        "undeliverable": _l("no one to receive it")}
EVENT_LABELS = {
    "case_opened": _l("Case opened"), "step_started": _l("Step started"), "step_completed": _l("Step completed"),
    "step_cancelled": _l("Step cancelled"), "task_claimed": _l("Task claimed"), "task_unclaimed": _l("Task released"),
    "task_released": _l("Task given back to the team by a coordinator"),
    "task_assigned": _l("Task assigned"), "timer_fired": _l("Timer fired"), "service_task_run": _l("Partner informed"),
    "case_closed": _l("Case closed"), "risk_changed": _l("Risk level changed"), "escalated": _l("Escalation"),
    "case_stalled": _l("Case stalled"), "case_viewed": _l("File viewed"), "case_listed": _l("Listed"),
    "task_viewed": _l("Task viewed"), "tasks_listed": _l("Tasks listed"), "history_viewed": _l("History viewed"),
    "notification_undeliverable": _l("A notification could not be delivered"),
    "incident_resolved": _l("Recipient informed by other means"), "incident_viewed": _l("Incident viewed"),
    "incidents_listed": _l("Incidents listed"),
    "duplicate_suspected": _l("Possible earlier report of the same child: sent to the coordinators for review"),
    "duplicate_linked": _l("Another report linked to this case as the same child"),
    "linked_as_duplicate": _l("Linked to another case as the same child"),
    "duplicate_rejected": _l("Review of a possible duplicate: different children"),
    "identity_corrected": _l("Child's identity corrected"),
    "duplicate_reviews_viewed": _l("Duplicate reviews viewed"),
    "access_log_viewed": _l("Access log viewed"),
    "summary_printed": _l("Summary printed"),
    "transfer_requested": _l("Transfer asked"), "transfer_accepted": _l("Transfer accepted: the case moved"),
    "transfer_declined": _l("Transfer declined"), "transfer_cancelled": _l("Transfer withdrawn"),
    "transfer_escalated": _l("Transfer still unanswered: escalated"), "case_reopened": _l("Case reopened"),
    "file_anonymised": _l("File anonymised: its retention period ended"),
    "documents_removed": _l("Documents removed: their retention period ended"),
    "subject_access_exported": _l("File exported for a subject-access request"),
}
# Who asked for a copy of the file (engine.subject_access.REQUESTERS).
REQUESTER_LABELS = {"child": _l("The child"), "guardian": _l("The guardian"),
                    "legal_representative": _l("A legal representative")}
# The child's sex on a case (U: not known or not stated).
CHILD_SEX_LABELS = {"F": _l("Girl"), "M": _l("Boy"), "U": _l("Not stated")}
# Why a possible earlier report may be the same child (engine.identity.REASONS).
REASON_LABELS = {
    "same_first_name": _l("same first name"), "similar_first_name": _l("similar first name"),
    "same_family_name": _l("same family name"), "similar_family_name": _l("similar family name"),
    "same_birth_date": _l("same birth date"), "same_birth_year": _l("same year of birth"),
    "close_age": _l("close age"), "same_sex": _l("same sex"),
}
CLOSED_REASON_LABELS = {"duplicate": _l("duplicate report"), "moved": _l("moved or transferred out of the system"),
                        "majority": _l("reached majority"), "deceased": _l("deceased"), "other": _l("other reason")}
TRANSFER_STATE_LABELS = {"pending": _l("Waiting for an answer"), "accepted": _l("Accepted"),
                         "declined": _l("Declined"), "cancelled": _l("Withdrawn")}
TRANSFER_SIDE_LABELS = {"received": _l("Addressed to my province"), "sent": _l("Asked by my province")}
REVIEW_STATE_LABELS = {"pending": _l("To review"), "confirmed": _l("Same child (linked)"),
                       "rejected": _l("Different children")}
SORT_LABELS = {"newest": _l("Newest first"), "oldest": _l("Oldest first"), "updated": _l("Last updated"),
               "risk": _l("Highest risk first"), "reference": _l("By reference")}
IDENTITY_FIELD_LABELS = {
    "identity_known": _l("name known or not"), "alias": _l("alias"), "first_name": _l("first name"),
    "last_name": _l("family name"), "first_name_other": _l("first name in the other script"),
    "last_name_other": _l("family name in the other script"), "sex": _l("sex"), "birth_date": _l("birth date"),
    "birth_year": _l("year of birth"), "age_estimate": _l("estimated age"),
    "civil_status_registered": _l("civil status"), "nationality": _l("nationality"),
}


def step_label(step: str, titles: dict[str, str], names: dict[str, str] | None = None) -> str:
    """A step or element of the pathway in words: its title in the page's language, else the
    model's name as the diagram translates it (:data:`api.readers.diagrams.ELEMENT_NAMES`), else
    the model's name; never its internal id when the model names it."""
    if titles.get(step):
        return titles[step]
    name = (names or {}).get(step)
    if name is None:
        return step
    return gettext(ELEMENT_NAMES[name]) if name in ELEMENT_NAMES else name


def transfer_decision_reason(reason: Any) -> str:
    """Why a transfer was declined or withdrawn (or a risk changed, a case closed or reopened):
    the coordinator's words, the case's closure, or words erased when the file was anonymised."""
    if reason == "case_closed":
        return gettext("the case was closed")
    if audit.is_erased(reason):
        return gettext("(erased when the file's retention period ended)")
    return reason if isinstance(reason, str) else ""


def list_separator() -> str:
    """The comma between the items of a list in the page's language (Arabic: "، ")."""
    return "، " if current_language() in RTL_LANGUAGES else ", "


def reasons_text(codes: list[str] | tuple[str, ...] | None) -> str:
    """Why two reports may be of one child, in words: "same first name, same birth date"."""
    comma = "، " if current_language() in RTL_LANGUAGES else ", "
    return comma.join(str(REASON_LABELS.get(code, code)) for code in codes or ())
# The messages of the outbox, by topic (a delivery incident names the one that reached nobody).
TOPIC_LABELS = {
    "prosecutor_notification": _l("Prosecutor notification"), "partner_referral": _l("Partner referral"),
    "reminder": _l("Reminder of a late step"), "coordinator_alert": _l("Alert to the CAPE coordinators"),
    "supervisor_alert": _l("Alert to the CPPE supervisors"), "case_stalled": _l("Stalled case alert"),
    "duplicate_review": _l("Possible duplicate report to review"),
    "tasks_released": _l("Tasks of a disabled account back with the team"),
    "transfer_requested": _l("Transfer to answer"), "transfer_accepted": _l("Transfer accepted"),
    "transfer_declined": _l("Transfer declined"), "case_transferred_in": _l("Case transferred to the unit"),
    "transfer_overdue": _l("Transfer left unanswered"),
    "tasks_released_away": _l("Tasks of someone out of office back with the team"),
    "tasks_released_lane": _l("Tasks of someone who changed post back with the team"),
}
INFORMED_VIA_LABELS = {"phone": _l("Phone"), "fax": _l("Fax"), "letter": _l("Letter"),
                       "in_person": _l("In person"), "other": _l("Other means")}
INCIDENT_STATUS_LABELS = {"open": _l("Open"), "resolved": _l("Resolved")}
UNDELIVERED_TITLES = {"prosecutor_notification": _l("Prosecutor notification could not be delivered"),
                      "partner_referral": _l("Partner referral could not be delivered")}
INFORMED_TITLES = {"prosecutor_notification": _l("Prosecutor informed by other means"),
                   "partner_referral": _l("Partner informed by other means")}


def undelivered_title(topic: str) -> str:
    """The title of an incident: "Prosecutor notification could not be delivered"…"""
    return str(UNDELIVERED_TITLES.get(topic) or EVENT_LABELS["notification_undeliverable"])


def event_label(kind: str, detail: dict | None) -> str:
    """A line of a case's timeline: an undelivered message and its resolution say which message."""
    topic = (detail or {}).get("topic") or ""
    if kind == "notification_undeliverable":
        return undelivered_title(topic)
    if kind == "incident_resolved":
        how = INFORMED_VIA_LABELS.get((detail or {}).get("informed_via") or "")
        title = str(INFORMED_TITLES.get(topic) or EVENT_LABELS[kind])
        return f"{title} ({how})" if how else title
    if kind in ("duplicate_linked", "linked_as_duplicate") and (detail or {}).get("reference"):
        reference = detail["reference"] if detail else ""
        if kind == "duplicate_linked":
            return gettext("Report %(reference)s linked to this case as the same child", reference=reference)
        return gettext("Linked to case %(reference)s as the same child: this report continues there",
                       reference=reference)
    if kind == "case_closed" and (detail or {}).get("reason") in CLOSED_REASON_LABELS:
        return f"{EVENT_LABELS[kind]} ({CLOSED_REASON_LABELS[(detail or {})['reason']]})"
    if kind == "identity_corrected" and (detail or {}).get("fields"):
        fields = ", ".join(str(IDENTITY_FIELD_LABELS.get(f, f)) for f in (detail or {}).get("fields", []))
        return f"{EVENT_LABELS[kind]} ({fields})"
    if kind in ("contact_added", "contact_changed"):
        return record_event_label(kind, detail)
    if kind == "subject_access_exported" and (detail or {}).get("requested_by") in REQUESTER_LABELS:
        return f"{EVENT_LABELS[kind]} ({REQUESTER_LABELS[(detail or {})['requested_by']]})"
    if kind.startswith("referral_"):
        return referral_event_label(kind, detail)
    return str(EVENT_LABELS.get(kind, kind))


INDICATOR_LABELS = {
    "children_served": _l("Children served"), "children_served_by_unit": _l("Children served, by unit"),
    "children_served_by_province": _l("Children served, by province"),
    "children_served_by_category": _l("Children served, by category"),
    "children_served_by_sex": _l("Children served, by sex"),
    "children_served_by_age_band": _l("Children served, by age band"),
    "cases_opened": _l("Cases opened"), "cases_closed": _l("Cases closed"),
    "steps_completed": _l("Steps completed"), "steps_late": _l("Steps completed late"),
    "steps_late_share": _l("Share of steps completed late"), "median_days_per_step": _l("Median days per step"),
    "trainings_organised": _l("Trainings organised"), "staff_trained": _l("Staff trained"),
    "statistical_reports_due": _l("Statistical reports due"),
    "statistical_reports_published_on_time": _l("Statistical reports published on time"),
    "statistical_reports_published_late": _l("Statistical reports published late"),
    "statistical_reports_unpublished": _l("Statistical reports not yet published"),
    "statistical_reports_on_time_share": _l("Share of statistical reports published on time"),
    "prevention_sessions": _l("Prevention and awareness activities"),
    "prevention_participants": _l("People reached by prevention activities"),
    "prevention_children": _l("Children reached"), "prevention_parents": _l("Parents reached"),
    "prevention_professionals": _l("Professionals reached"),
    "prevention_sessions_by_theme": _l("Prevention activities, by theme"),
}
PLACE_KIND_LABELS = {
    "school": _l("School"), "mosque": _l("Mosque"), "community_centre": _l("Community centre"),
    "youth_centre": _l("Youth centre"), "health_facility": _l("Health facility"),
    "media": _l("Media (radio, TV, press)"),
    "online": _l("Online"), "public_space": _l("Public space (market, square)"), "association": _l("Association"),
    "other": _l("Other"),
}
THEME_LABELS = {
    "childrens_rights": _l("Children's rights"), "violence": _l("Violence against children"),
    "sexual_abuse": _l("Sexual abuse"), "begging": _l("Begging"), "child_labour": _l("Child labour"),
    "school_drop_out": _l("School drop-out"), "online_risks": _l("Online risks"),
    "civil_registration": _l("Civil registration"), "early_marriage": _l("Early marriage"),
    "positive_parenting": _l("Positive parenting"), "other": _l("Other"),
}
AUDIENCE_LABELS = {"children": _l("Children"), "parents": _l("Parents"), "professionals": _l("Professionals")}
SEX_LABELS = {"F": _l("Girls"), "M": _l("Boys")}
REPORT_STATUS_LABELS = {"preparing": _l("Being prepared"), "submitted": _l("Submitted to the CAPE"),
                        "returned": _l("Returned for correction"), "published": _l("Published")}
ACTION_STATE_LABELS = {"not_started": _l("Not started"), "in_progress": _l("In progress"), "done": _l("Done"),
                       "dropped": _l("Dropped")}
FOLLOWER_LABELS = {"committee": _l("technical committee"), "pilot": _l("pilot"), "unit": _l("unit's staff")}
CONVENTION_PERIOD_LABELS = {"to_come": _l("Not started yet"), "running": _l("Running"), "ended": _l("Ended")}
PLAN_STATUS_LABELS = {"draft": _l("Draft"), "submitted": _l("Submitted to the CPPE"),
                      "returned": _l("Returned by the CPPE"), "validated": _l("Validated"),
                      "superseded": _l("Superseded")}
PLAN_DECISION_LABELS = {"validated": _l("Validated"), "returned": _l("Returned for correction"),
                        "revise": _l("Yearly review: a new version opened"), "close": _l("Yearly review: plan closed")}
AREA_LABELS = {"detection_care": _l("Detection, care and follow-up of child victims"),
               "prevention": _l("Prevention of the vulnerabilities of children and families"),
               "rights_promotion": _l("Promotion of and education in children's rights")}


def breakdown_label(code: str) -> str:
    """A breakdown cell of the indicator tables: a category, a sex, or the code itself."""
    return str(CATEGORY_LABELS.get(code) or SEX_LABELS.get(code) or THEME_LABELS.get(code) or code)


# --- the case file's notes and contacts (engine/case_records.py) ----------------------------
EVENT_LABELS.update({
    "note_added": _l("Note added"), "notes_viewed": _l("Notes viewed"), "contact_added": _l("Contact added"),
    "contact_changed": _l("Contact changed"), "contact_removed": _l("Contact removed"),
    "contacts_viewed": _l("Contacts viewed"),
})
RELATION_LABELS = {
    "mother": _l("Mother"), "father": _l("Father"), "guardian": _l("Guardian"), "sibling": _l("Brother or sister"),
    "grandparent": _l("Grandparent"), "aunt_uncle": _l("Aunt or uncle"), "other_family": _l("Other family member"),
    "school": _l("School"), "neighbour": _l("Neighbour"), "other": _l("Other"),
}
NOTE_VISIBILITY_LABELS = {"team": _l("The case's team"), "coordinators": _l("Coordinators only")}
CONTACT_FIELD_LABELS = {
    "relation": _l("relation"), "name": _l("name"), "phone": _l("phone"), "address": _l("address"),
    "guardian": _l("guardian"), "may_contact": _l("may be contacted"), "note": _l("note"),
}


def record_event_label(kind: str, detail: dict | None) -> str:
    """A timeline line of a note or a contact: the relation added, the fields changed."""
    detail = detail or {}
    label = str(EVENT_LABELS.get(kind, kind))
    if kind == "contact_added" and detail.get("relation") in RELATION_LABELS:
        return f"{label} ({RELATION_LABELS[detail['relation']]})"
    if kind == "contact_changed" and detail.get("fields"):
        comma = "، " if current_language() in RTL_LANGUAGES else ", "
        return f"{label} ({comma.join(str(CONTACT_FIELD_LABELS.get(f, f)) for f in detail['fields'])})"
    return label


# Documents of a child's case (api/web/documents.py).
EVENT_LABELS.update({"document_added": _l("Document added"), "document_downloaded": _l("Document downloaded"),
                     "document_viewed": _l("Document image viewed")})


# Referrals to partners (engine/referrals.py, api/web/referrals.py).
EVENT_LABELS.update({
    "referral_requested": _l("Referred to a partner"), "referral_accepted": _l("Referral accepted by the partner"),
    "referral_declined": _l("Referral declined by the partner"),
    "referral_completed": _l("Service given by the partner"), "referral_cancelled": _l("Referral cancelled"),
    "referral_escalated": _l("Referral overdue: escalation"), "referrals_viewed": _l("Referrals viewed"),
})
TOPIC_LABELS.update({
    "referral_requested": _l("Referral to answer"), "referral_accepted": _l("Referral accepted"),
    "referral_declined": _l("Referral declined"), "referral_completed": _l("Service given on a referral"),
    "referral_cancelled": _l("Referral cancelled"), "referral_overdue": _l("Referral overdue"),
})
SECTOR_LABELS = {
    "justice": _l("Justice (prosecutor's office)"), "health": _l("Health"), "education": _l("National education"),
    "police": _l("National security (police)"), "gendarmerie": _l("Royal Gendarmerie"), "youth": _l("Youth"),
    "employment": _l("Employment"), "social_action": _l("Social action"), "civil_status": _l("Civil status"),
    "other": _l("Other sector"),
}
SERVICE_LABELS = {
    "protective_measure": _l("Protective measure"), "legal_proceedings": _l("Legal proceedings"),
    "legal_aid": _l("Legal aid"), "medical_exam": _l("Medical examination"),
    "medicolegal_exam": _l("Medico-legal examination"), "medical_care": _l("Medical care"),
    "psychological_care": _l("Psychological care"), "school_reinsertion": _l("School reinsertion"),
    "school_support": _l("School support"), "non_formal_education": _l("Non-formal education"),
    "investigation": _l("Investigation"), "protection": _l("Police protection"),
    "youth_activities": _l("Youth centre activities"), "vocational_training": _l("Vocational training"),
    "job_placement": _l("Job placement"), "shelter": _l("Shelter"), "family_support": _l("Support to the family"),
    "material_aid": _l("Material aid"), "civil_registration": _l("Civil registration"),
    "other": _l("Other service (say which in the note)"),
}
REFERRAL_STATUS_LABELS = {"requested": _l("Waiting for an answer"), "accepted": _l("Accepted"),
                          "declined": _l("Declined"), "completed": _l("Service given"), "cancelled": _l("Cancelled")}
REFERRAL_TAB_LABELS = {"open": _l("In progress"), "requested": _l("Not answered yet"), "accepted": _l("Accepted"),
                       "completed": _l("Service given"), "declined": _l("Declined"), "cancelled": _l("Cancelled"),
                       "all": _l("All")}
PRIORITY_LABELS = {"routine": _l("Routine"), "urgent": _l("Urgent"), "asap": _l("As soon as possible")}


def referral_event_label(kind: str, detail: dict | None) -> str:
    """A timeline line of a referral: the event and the sector and service it is about."""
    detail = detail or {}
    label = str(EVENT_LABELS.get(kind, kind))
    sector, service = detail.get("sector"), detail.get("service")
    about = [str(SECTOR_LABELS[sector])] if sector in SECTOR_LABELS else []
    if service in SERVICE_LABELS:
        about.append(str(SERVICE_LABELS[service]))
    return f"{label} ({' · '.join(about)})" if about else label
# Administration of units and users (api/web/accounts.py).
UNIT_KIND_NAMES = {UPE: _l("UPE (child-protection unit)"), CAPE: _l("CAPE (child-protection support centre)"),
                   SAS_MOBILE: _l("SAS mobile team"), "care_institution": _l("Care institution")}
LANGUAGE_NAMES = {"fr": "Français", "ar": "العربية", "en": "English"}
ADMIN_ACTION_LABELS = {
    "unit_created": _l("Unit created"), "unit_changed": _l("Unit changed"), "user_created": _l("Account created"),
    "user_changed": _l("Account changed"), "user_disabled": _l("Account disabled"),
    "user_enabled": _l("Account enabled"), "password_reset": _l("Password reset"),
    "away_changed": _l("Out-of-office dates changed"),
    "category_created": _l("Case category added"), "category_changed": _l("Case category changed"),
}
ACCOUNT_FIELD_LABELS = {
    "label_fr": _l("Label (French)"), "label_ar": _l("Label (Arabic)"), "label_en": _l("Label (English)"),
    "risk_level": _l("Risk level"), "inform_prosecutor": _l("Prosecutor informed"), "position": _l("Order"),
    "code": _l("Code"), "name": _l("Name"), "kind": _l("Kind"), "province": _l("Province"), "active": _l("State"),
    "username": _l("User name"),
    "full_name": _l("Full name"), "role": _l("Role"), "unit": _l("Unit"), "sector": _l("Sector"),
    "email": _l("E-mail"), "phone": _l("Phone"), "language": _l("Language"), "password": _l("Password"),
    "away_from": _l("Away from"), "away_until": _l("Away until"),
}


# The modeler (api/static/admin-modeler.js): bpmn-js's own English words (palette tooltips,
# context pad, lanes) in the page's language, by the text bpmn-js passes to its translate service.
MODELER_BPMN_TEXTS = {
    "Activate hand tool": _l("Move the diagram (hand tool)"),
    "Activate lasso tool": _l("Select several elements (lasso)"),
    "Activate create/remove space tool": _l("Make or remove space between elements"),
    "Activate global connect tool": _l("Draw an arrow between two elements"),
    "Create start event": _l("Start event: where the pathway begins"),
    "Create intermediate/boundary event": _l("Intermediate event: a wait (timer) or a signal"),
    "Create end event": _l("End event: where a path of the pathway ends"),
    "Create gateway": _l("Gateway: the path splits or joins"),
    "Create data object reference": _l("Data object (drawn only, not used by Himaya)"),
    "Create data store reference": _l("Data store (drawn only, not used by Himaya)"),
    "Create pool/participant": _l("Pool: the province's lanes"),
    "Create group": _l("Group: a frame around elements (drawn only)"),
    "Append task": _l("Add a Himaya step after this one"),
    "Append end event": _l("Add an end event after this one"),
    "Append gateway": _l("Add a gateway after this one"),
    "Append intermediate/boundary event": _l("Add an intermediate event after this one"),
    "Append timer intermediate catch event": _l("Add a wait (timer) after this one"),
    "Append signal intermediate catch event": _l("Add a signal wait after this one"),
    "Append message intermediate catch event": _l("Add a message wait after this one"),
    "Append conditional intermediate catch event": _l("Add a conditional wait after this one"),
    "Append receive task": _l("Add a receive task after this one"),
    "Change element": _l("Change the type of this element"),
    "Delete": _l("Delete"),
    "Connect to other element": _l("Draw an arrow to another element"),
    "Connect using association": _l("Link to a note"),
    "Add text annotation": _l("Add a note"),
    "Add lane above": _l("Add a lane above"),
    "Add lane below": _l("Add a lane below"),
    "Divide into two lanes": _l("Divide into two lanes"),
    "Divide into three lanes": _l("Divide into three lanes"),
    # the "change element" menu: the kinds a Himaya pathway uses
    "Start event": _l("Start event"),
    "Signal start event": _l("Signal start event"),
    "Timer start event": _l("Timer start event"),
    "End event": _l("End event"),
    "Terminate end event": _l("Terminate end event"),
    "Signal end event": _l("Signal end event"),
    "Intermediate throw event": _l("Intermediate throw event"),
    "Signal intermediate throw event": _l("Signal intermediate throw event"),
    "Signal intermediate catch event": _l("Signal intermediate catch event"),
    "Timer intermediate catch event": _l("Timer intermediate catch event"),
    "Timer boundary event": _l("Timer boundary event"),
    "Timer boundary event (non-interrupting)": _l("Timer boundary event (non-interrupting)"),
    "Signal boundary event": _l("Signal boundary event"),
    "Signal boundary event (non-interrupting)": _l("Signal boundary event (non-interrupting)"),
    "Task": _l("Task"),
    "User task": _l("User task"),
    "Service task": _l("Service task"),
    "Exclusive gateway": _l("Exclusive gateway"),
    "Inclusive gateway": _l("Inclusive gateway"),
    "Parallel gateway": _l("Parallel gateway"),
    "Event-based gateway": _l("Event-based gateway"),
    "Sequence flow": _l("Sequence flow"),
    "Default flow": _l("Default flow"),
    "Conditional flow": _l("Conditional flow"),
}
# The modeler's own words (JavaScript), by key.
MODELER_TEXTS = {
    "himaya_step": _l("Himaya step: a step a person does, with its role, form and delay"),
    "full_screen": _l("Full screen"), "leave_full_screen": _l("Leave full screen"),
    "ready": _l("Checked: the diagram can be deployed."),
    "warnings": _l("Checked, with remarks that do not stop the deploy:"),
    "problems": _l("Problems to fix before deploying (each is shown on its element):"),
    "deployed": _l("Version %(version)s deployed."),
    "unchanged": _l("Nothing changed: this diagram is version %(version)s."),
    "due_each": _l("Give a delay for each risk level."),
    "due_kept": _l("The current rule “%(rule)s” is kept: it uses a unit the picker does not offer. "
                   "Set the delays here to replace it."),
    "failed": _l("The server could not be reached: try again."),
}
