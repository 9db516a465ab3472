"""The server-rendered pages, one blueprint (``web``; administration is ``admin``).

Pages call the same readers (:mod:`api.readers`), engine commands and access policy as the
REST API; nothing here builds a query. A record the caller may not see answers 404. The URL
map of every page is below; each page family has its module:

| module | pages |
|---|---|
| :mod:`.login` | sign in and out, the home page of each role |
| :mod:`.tasks` | the task list (filters, order, saved views), a step's form, claiming a task |
| :mod:`.drafts` | a step form's draft (kept as the worker types, or as a submit meets a lapsed session); keep-alive |
| :mod:`.cases` | the case list and its search, reporting a child, a case's file, correcting its identity |
| :mod:`.notes` | a case's notes and contacts (the case page's cards, their forms, a contact's edit page) |
| :mod:`.referrals` | referrals to partners: the case page's card and form, the partners' page and its answers |
| :mod:`.case_print` | the printable summary of a case's file (PDF) |
| :mod:`.documents` | a case's documents: the upload form, downloads, images shown on the case page |
| :mod:`.duplicates` | the coordinators' reviews of possible duplicate reports of a child |
| :mod:`.aftercare` | enrolling a young person leaving a care institution (aftercare, with their consent) |
| :mod:`.supervision` | the supervision dashboard |
| :mod:`.incidents` | messages nobody could receive, and recording how the recipient was informed |
| :mod:`.planning` | statistical reports and action plans |
| :mod:`.conventions` | units' partnership conventions, their milestones and each milestone's follow-up |
| :mod:`.statistics` | indicators (with exports), trainings and prevention activities |
| :mod:`.admin` | pathways, modeler, form editor, migrations (blueprint ``admin``) |
| :mod:`.outreach` | offline outreach: sync list, listening form kept, queue key, sync, report to correct, sw.js |
| :mod:`.chrome` | CSRF, template globals and filters (`bdi`, `isolate`), front-end files, language, error pages |
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint
from flask.typing import ResponseReturnValue

from ..i18n import CHOICE_LABELLER
from . import (
    aftercare,
    case_print,
    cases,
    chrome,
    conventions,
    drafts,
    duplicates,
    forms,
    inbox,
    incidents,
    login,
    moving,
    notes,
    outreach,
    planning,
    referrals,
    statistics,
    supervision,
    tasks,
)
from . import documents as case_documents

bp = Blueprint("web", __name__, template_folder="../templates")  # static files: api/assets.py

GET, POST, BOTH = ("GET",), ("POST",), ("GET", "POST")
PLAN = "/plans/<int(max=2147483647):plan_id>"
CONVENTION = "/conventions/<int(max=2147483647):convention_id>"
CONTACT = "/cases/<uuid:case_id>/contacts/<int(max=9223372036854775807):contact_id>"

# (URL, endpoint, view, methods): the endpoint is what templates and redirects name (web.<endpoint>).
PAGES: tuple[tuple[str, str, Callable[..., ResponseReturnValue], tuple[str, ...]], ...] = (
    ("/assets/<path:filename>", "asset", chrome.asset, GET),
    ("/static/<path:filename>", "static", chrome.static_file, GET),
    ("/vendor/<name>", "vendor", chrome.vendor, GET),
    ("/assets/<kind>/<digest>/<name>", "asset", chrome.asset, GET),
    ("/language/<code>", "set_language", chrome.set_language, GET),
    ("/login", "login", login.login, BOTH),
    ("/logout", "logout", login.logout, POST),
    ("/", "home", login.home, GET),
    ("/tasks", "tasks", tasks.task_list, GET),
    ("/tasks/<uuid:task_id>", "task", tasks.task, BOTH),
    ("/tasks/<uuid:task_id>/claim", "claim", tasks.claim, POST),
    ("/tasks/<uuid:task_id>/release", "release_task", tasks.release, POST),
    ("/tasks/<uuid:task_id>/draft", "task_draft", drafts.save, POST),
    ("/tasks/views", "save_task_view", tasks.save_view, POST),
    ("/tasks/views/<int(max=9223372036854775807):view_id>/delete", "delete_task_view", tasks.delete_view, POST),
    ("/session/keepalive", "keepalive", drafts.keepalive, POST),
    ("/cases", "cases", cases.case_list, GET),
    ("/cases/new", "report", cases.report, BOTH),
    ("/sw.js", "service_worker", outreach.service_worker, GET),
    ("/outreach", "outreach", outreach.outreach_page, GET),
    ("/outreach/offline.json", "offline_list", outreach.offline_list, GET),
    ("/outreach/key", "queue_key", outreach.queue_key, GET),
    ("/outreach/tasks/<uuid:task_id>", "offline_task", outreach.offline_task, GET),
    ("/outreach/sync/report", "sync_report", outreach.sync_report, POST),
    ("/outreach/sync/tasks/<uuid:task_id>", "sync_task", outreach.sync_task, POST),
    ("/outreach/correct/report", "correct_report", outreach.correct_report, POST),
    ("/outreach/corrected", "corrected_reports", outreach.corrected_reports, POST),
    ("/aftercare/new", "start_aftercare", aftercare.start, BOTH),
    ("/cases/<uuid:case_id>", "case", cases.case, GET),
    ("/cases/<uuid:case_id>/child", "correct_child", cases.correct_child, BOTH),
    ("/cases/<uuid:case_id>/diagram.bpmn", "diagram", cases.diagram, GET),
    ("/cases/<uuid:case_id>/access-log", "case_access_log", cases.access_log, GET),
    ("/cases/<uuid:case_id>/summary.pdf", "case_summary", case_print.case_summary, GET),
    ("/cases/<uuid:case_id>/subject-access", "subject_access", case_print.export_for_subject_access, POST),
    ("/cases/<uuid:case_id>/notes", "add_note", notes.add_note, POST),
    ("/cases/<uuid:case_id>/risk-level", "change_risk", moving.change_risk, POST),
    ("/cases/<uuid:case_id>/transfer", "transfer_case", moving.transfer, POST),
    ("/cases/<uuid:case_id>/transfers/<uuid:transfer_id>/cancel", "cancel_transfer", moving.cancel_transfer, POST),
    ("/cases/<uuid:case_id>/close", "close_case", moving.close, POST),
    ("/cases/<uuid:case_id>/reopen", "reopen_case", moving.reopen, POST),
    ("/transfers", "transfers_page", moving.transfers_page, GET),
    ("/transfers/<uuid:transfer_id>", "answer_transfer", moving.answer_transfer, POST),
    ("/cases/<uuid:case_id>/contacts", "add_contact", notes.add_contact, POST),
    (CONTACT, "edit_contact", notes.edit_contact, BOTH),
    (CONTACT + "/remove", "remove_contact", notes.remove_contact, POST),
    ("/duplicates", "duplicates_page", duplicates.duplicates_page, GET),
    ("/duplicates/<int(max=9223372036854775807):review_id>", "decide_duplicate", duplicates.decide, POST),
    ("/supervision", "supervision", supervision.supervision, GET),
    ("/incidents", "incidents_page", incidents.incidents_page, GET),
    ("/incidents/<int(max=9223372036854775807):incident_id>", "incident", incidents.incident_page, BOTH),
    ("/reports", "statistical_reports", planning.statistical_reports, GET),
    ("/reports/<int(max=2147483647):report_id>", "statistical_report", planning.statistical_report, GET),
    ("/plans", "action_plans_page", planning.action_plans_page, GET),
    ("/plans/new", "new_action_plan", planning.new_action_plan, BOTH),
    (PLAN, "action_plan", planning.action_plan, GET),
    (PLAN + "/export.<fmt>", "export_action_plan", planning.export_action_plan, GET),
    (PLAN + "/edit", "edit_action_plan", planning.edit_action_plan, POST),
    (PLAN + "/action", "plan_action", planning.plan_action, BOTH),
    (PLAN + "/progress", "plan_progress_page", planning.plan_progress_page, BOTH),
    ("/inbox", "inbox", inbox.inbox_page, GET),
    ("/inbox/<int(max=9223372036854775807):notification_id>/open", "open_notification", inbox.open_notification, POST),
    ("/indicators", "indicators_page", statistics.indicators_page, GET),
    ("/indicators/export.<fmt>", "indicators_export", statistics.indicators_export, GET),
    ("/trainings", "trainings_page", statistics.trainings_page, BOTH),
    ("/prevention", "prevention_page", statistics.prevention_page, BOTH),
    ("/conventions", "conventions_page", conventions.conventions_page, BOTH),
    ("/conventions/export.<fmt>", "export_conventions", conventions.export_conventions, GET),
    (CONVENTION, "convention", conventions.convention_page, BOTH),
    (CONVENTION + "/milestones/<int(max=2147483647):milestone_id>", "convention_milestone",
     conventions.convention_milestone, BOTH),
    ("/cases/<uuid:case_id>/documents", "add_document", case_documents.add_document, POST),
    ("/documents/<uuid:document_id>/download", "document_download", case_documents.download, GET),
    ("/documents/<uuid:document_id>/image", "document_image", case_documents.image, GET),
    ("/cases/<uuid:case_id>/referrals", "make_referral", referrals.make_referral, POST),
    ("/referrals", "referrals_page", referrals.referrals_page, GET),
    ("/referrals/<uuid:referral_id>/accept", "accept_referral", referrals.accept, POST),
    ("/referrals/<uuid:referral_id>/decline", "decline_referral", referrals.decline, POST),
    ("/referrals/<uuid:referral_id>/complete", "complete_referral", referrals.complete, POST),
    ("/referrals/<uuid:referral_id>/cancel", "cancel_referral", referrals.cancel, POST),
)

for _rule, _endpoint, _view, _methods in PAGES:
    bp.add_url_rule(_rule, _endpoint, _view, methods=list(_methods))

bp.before_app_request(case_documents.allow_upload_size)  # before the CSRF check reads the form
bp.before_app_request(chrome.check_page_csrf)
# Pages name a refused choice by its label ("Must be one of: phone_line…" reads "Toll-free line…").
bp.record_once(lambda state: state.app.extensions.setdefault(CHOICE_LABELLER, forms.choice_labels))
bp.app_context_processor(chrome.template_globals)
bp.after_app_request(outreach.leave_session_alone)
bp.app_context_processor(aftercare.template_globals)
bp.app_context_processor(duplicates.template_globals)
bp.app_context_processor(inbox.template_globals)
bp.app_context_processor(moving.template_globals)
bp.app_context_processor(lambda: {"session_timing": drafts.session_timing, "due_words": tasks.due_words})
bp.app_context_processor(case_documents.template_globals)
bp.app_context_processor(referrals.template_globals)
for _name, _filter in chrome.TEMPLATE_FILTERS.items():
    bp.add_app_template_filter(_filter, _name)
bp.app_errorhandler(404)(chrome.not_found)
bp.app_errorhandler(403)(chrome.forbidden)
bp.app_errorhandler(400)(chrome.bad_request)
bp.app_errorhandler(413)(case_documents.too_large)
