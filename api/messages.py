"""Messages that reach users from outside ``gettext`` calls, marked for the catalogues.

The engine and marshmallow word their messages in English; the API translates each through
the catalogues (:func:`api.i18n.translate_message`). Listing them here lets ``pybabel extract``
find them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .auth import LoginLocked


def N_(message: str) -> str:  # noqa: N802  (gettext_noop)
    return message


ENGINE_MESSAGES = [
    N_("The report has invalid fields."), N_("The form has invalid fields."), N_("Invalid assignee."),
    N_("Invalid risk change."), N_("No such case."), N_("No such task."), N_("The task is no longer open."),
    N_("The task is claimed by someone else."), N_("The task is not claimed: it is already in its lane."),
    N_("The case changed meanwhile: reload it and try again."),
    N_("The case changed since you read it: reload it."), N_("The case has no running workflow."),
    N_("The case is closed."), N_("Each category once."), N_("Give birth_date or age_estimate."),
    N_("With consent as the legal basis, say who gave it."), N_("Expected a JSON object."),
    N_("Expected an object of form fields."), N_("Give a reason."), N_("Give a user name."),
    N_("The birth date is after the report date."), N_("The report date is in the future."),
    N_("Unknown province."), N_("Unknown unit for this province."),
    N_("This unit does not receive children: choose a UPE or the CAPE of the province."),
    N_("This box must be checked."),
    N_("Does not match the expected format."), N_("Use a two-letter ISO 3166 country code, e.g. MA."),
    N_("BPMN rejected"), N_("BPMN rejected by the BPMN 2.0 schema"), N_("BPMN rejected by Himaya's rules"),
    N_("BPMN rejected by the workflow parser"), N_("form rejected"), N_("Required with your answer above."),
    # delivery incidents (engine/incidents.py)
    N_("Choose how the recipient was informed."), N_("Give the date and time the recipient was informed."),
    N_("The date must be in 2000 or later."),
    # statistical reports and action plans
    N_("This pathway is not a child's pathway."), N_("No such province."),
    N_("Say what to correct when returning the report."), N_("Say what to change when returning the plan."),
    N_("The plan has invalid fields."), N_("The plan is not complete yet."), N_("Required."),
    N_("Must be zero or more (MAD)."), N_("Give a deadline or mark the action ongoing, not both."),
    N_("Give a deadline or mark the action ongoing."), N_("Must be less than %(max)s."),
    N_("The period must end after it starts, within ten years."),
    N_("The plan needs at least one priority."), N_("Each priority needs a general objective."),
    N_("Each general objective needs a specific objective."), N_("Each specific objective needs an action."),
    N_("This province already has a plan starting on that date."),
    N_("Only a draft or returned version can be edited."), N_("The plan changed meanwhile: reload it and try again."),
    N_("Not a valid decimal."), N_("Special numeric values (nan or infinity) are not permitted."),
    # trainings, migrations, indicator periods
    N_("The training ends before it starts."), N_("Choose a date between 2000 and next year."),
    N_("Nothing to migrate."), N_("Choose another version than from_version."), N_("A period of at most 20 years."),
    # the child's identity at intake (engine/intake.py)
    N_("Write the name with letters (it cannot be only spaces, digits or signs)."),
    N_("Keep it to %(max)s characters at most."), N_("Choose F (girl), M (boy) or U (not known)."),
    N_("Say whether the child is a girl (F), a boy (M), or U if not known."),
    N_("Write the birth date as YYYY-MM-DD."), N_("Give an age from 0 to 30."),
    N_("Give the estimated age as a whole number of years."),
    N_("Give the child's first name, or say the name is not known and give an alias."),
    N_("Give the child's family name, or say the name is not known and give an alias."),
    N_("The child's name is not known: give an alias, how the team knows the child "
       "(e.g. \"girl at the Bab Souk crossing\")."),
    N_("Give the birth date, or an estimated age if it is not known."),
    N_("Write the phone number with digits (e.g. 0661 23 45 67 or +212 661 23 45 67)."),
    # identity corrections and duplicate reviews (engine/runtime.py)
    N_("Invalid identity correction."), N_("Say why the identity is corrected."),
    N_("Keep the reason to 2000 characters at most."), N_("This field cannot be corrected here."),
    N_("Give at least one field to correct."), N_("The identity changed meanwhile: reload the case and try again."),
    N_("Invalid decision."), N_("Choose confirm or reject."), N_("Keep the note to 2000 characters at most."),
    N_("No such review."), N_("This review has been decided already."),
    N_("Keep one of the two cases of the review."),
    N_("One of these cases is already linked as a duplicate: review the case it continues in."),
    # the case search (api/schemas.py)
    N_("Keep the search to 200 characters at most."),
    # a step form's plain messages (engine/forms.py; choices named by their labels in api/i18n.py)
    N_("This field is required."), N_("Write at most %(max)s characters."), N_("Write at least %(min)s characters."),
    N_("Choose one of the options offered."), N_("Choose one of: %(choices)s."), N_("Tick at least one option."),
    N_("Tick at most %(max)s options."), N_("Enter a number from %(min)s to %(max)s."),
    N_("Enter a number of at least %(min)s."), N_("Enter a number of at most %(max)s."),
    N_("Enter a whole number."), N_("Enter a number."), N_("Enter an email address, such as name@example.ma."),
    N_("Enter a valid date."), N_("Enter a valid time."), N_("Enter a valid date and time."),
    N_("Answer yes or no."),
    # the task list's saved views and the step forms' drafts (engine/worktray.py)
    N_("Invalid view."), N_("Give the view a name."), N_("Keep it to 20 saved views: delete one first."),
    N_("No such view."), N_("The draft is too large."),
]

MARSHMALLOW_MESSAGES = [
    N_("Missing data for required field."), N_("Unknown field."), N_("Field may not be null."),
    N_("Invalid input type."), N_("Invalid value."), N_("Not a valid string."), N_("Not a valid integer."),
    N_("Not a valid number."), N_("Not a valid boolean."), N_("Not a valid date."), N_("Not a valid datetime."),
    N_("Not a valid time."), N_("Not a valid list."), N_("Not a valid mapping type."), N_("Not a valid UUID."),
    N_("Not a valid email address."), N_("Not a timezone-aware datetime."), N_("Not a valid aware datetime."),
    N_("Invalid JSON body."),
    N_("Must be one of: %(choices)s."), N_("Longer than maximum length %(max)s."),
    N_("Shorter than minimum length %(min)s."), N_("Length must be between %(min)s and %(max)s."),
    N_("Must be greater than or equal to %(min)s and less than or equal to %(max)s."),
    N_("Must be greater than or equal to %(min)s."), N_("Must be less than or equal to %(max)s."),
    N_("This pathway serves people under %(limit)s at the report date (age %(age)s)."),
]

HTTP_MESSAGES = [
    N_("Bad request."), N_("Authentication required."), N_("You are not allowed to do this."), N_("Not found."),
    N_("Method not allowed."), N_("Conflict."), N_("The request is too large."), N_("Unsupported media type."),
    N_("Unprocessable request."), N_("Too many requests."), N_("Internal error."), N_("Service unavailable."),
    N_("The request has invalid fields."),
]


def wait_message(locked: LoginLocked) -> str:
    """"Too many failed logins", with how long to wait, in the request's language."""
    from flask_babel import gettext

    if locked.seconds < 90:
        return gettext("Too many failed logins: try again in %(seconds)s seconds.", seconds=locked.seconds)
    return gettext("Too many failed logins: try again in %(minutes)s minutes.", minutes=-(-locked.seconds // 60))


# the case file's notes and contacts (engine/case_records.py)
CASE_RECORD_MESSAGES = [
    N_("Write the note: it cannot be blank."), N_("Choose who reads the note: team or coordinators."),
    N_("Choose the relation from the list (mother, father, guardian, school…)."),
    N_("Say who this contact is to the child (mother, school…)."), N_("Give the contact's name."),
    N_("A phone number has 6 to 20 digits: for example 0661 23 45 67 or +212 661 23 45 67."),
    N_("Write the phone number with digits, spaces, dots or dashes: for example 0661 23 45 67 or "
       "+212 661 23 45 67."),
    N_("This text contains invisible control characters (such as direction marks): type it again without them. "
       "Line breaks are kept."),
    N_("The note has invalid fields."), N_("The contact has invalid fields."), N_("Give at least one field to change."),
    N_("No such contact."), N_("This contact was removed."),
]


# Documents of a child's case (engine/documents.py): the refusals of an upload, each on its field.
DOCUMENT_MESSAGES = [
    N_("The document has invalid fields."), N_("The file is too large."), N_("This file type is not accepted."),
    N_("The virus scanner flagged this file."), N_("The case is closed: documents can no longer be added."),
    N_("This is not a step of this case."), N_("Choose what kind of document this is."),
    N_("Give the document a title (e.g. Medico-legal certificate of 12 March)."), N_("Choose a file to send."),
    N_("This file is empty (0 bytes): choose the document again."),
    N_("The file name may not contain / or \\: rename the file and send it again."),
    N_("The file name contains invisible control characters (such as direction marks): rename the file and send "
       "it again."),
    N_("The file is larger than %(max)s, the largest accepted: scan it at a lower resolution, or split it."),
    N_("This file type is not accepted: send a PDF, or a JPEG, PNG or WebP image."),
    N_("This file is a program: programs are not accepted. Send a PDF, or a JPEG, PNG or WebP image."),
    N_("This file is an archive or an Office document: it is not accepted. Save the document as a PDF and send "
       "that file."),
    N_("This file is a web page or an SVG image: it is not accepted. Send a PDF, or a JPEG, PNG or WebP image."),
    N_("This file hides a program inside it: it is not accepted. Save or scan the document again and send the new "
       "file."),
    N_("This file hides an archive (ZIP or another) inside it: it is not accepted. Save or scan the document again "
       "and send the new file."),
    N_("This file hides a web page or a script inside it: it is not accepted. Save or scan the document again and "
       "send the new file."),
    N_("This file carries extra data after its end, where another file can hide: it is not accepted. Save or scan "
       "the document again and send the new file."),
    N_("This PDF holds a script, an action that starts a program or an attached file: it is not accepted. Print it "
       "to a new PDF or scan it, and send that file."),
    N_("This PDF file is damaged or incomplete: save or scan it again."),
    N_("This JPEG image is damaged or incomplete: save it again."),
    N_("This PNG image is damaged or incomplete: save it again."),
    N_("This WebP image is damaged or incomplete: save it again."),
    N_("The virus scanner found a threat in this file: it was not stored. Do not open it; tell the administrator."),
    N_("The virus scanner cannot be reached, so the document was not accepted: try again in a few minutes, or tell "
       "the administrator if it goes on."),
    # transfers, closing early and reopening (engine/transfers.py, engine/runtime.py)
    N_("Invalid transfer."), N_("Invalid answer."), N_("Invalid cancellation."), N_("Invalid closure."),
    N_("Invalid reopening."), N_("Choose the receiving province."), N_("Choose the receiving unit."),
    N_("Keep the reason to 2000 characters at most."), N_("The case is closed: it cannot be transferred."),
    N_("The case is already filed to this unit."), N_("A transfer of this case is already pending."),
    N_("No such transfer."), N_("This transfer has been answered already."), N_("Write the note as text."),
    N_("Keep the note to 2000 characters at most."), N_("Say why the case is closed."),
    N_("The case is closed already."), N_("Answer yes or no."),
    N_("This case was closed as a duplicate: continue in the case it was linked to."),
    N_("This file was anonymised when its retention period ended: it cannot be reopened. "
       "Report the child again as a new case."),
    N_("The child is now older than this pathway serves: the case cannot be reopened."),
    N_("The case is open: only a closed case is reopened."),
]

# referrals to partners (engine/referrals.py): the messages named by constants there
REFERRAL_MESSAGES = [
    N_("Say why the child is referred: the reason cannot be blank."),
    N_("Say why the referral is declined: the reason cannot be blank."),
    N_("Say why the referral is cancelled: the reason cannot be blank."),
    N_("Say what service was given: it cannot be blank."),
    N_("Give a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM)."),
    N_("Choose the partner sector from the list (health, justice, education…)."), N_("Choose the partner sector."),
    N_("Choose the service requested."), N_("Give the date the service was given."),
    N_("Give the date as YYYY-MM-DD."), N_("The answer has invalid fields."),
    N_("The cancellation has invalid fields."),
]

# a definition's problems as the modeler shows them on their element (engine/definitions/rules.py codes)
PROBLEM_TEXTS = {
    "flow_unconnected": N_("This arrow is not connected at both ends: link it or delete it."),
    "no_incoming": N_("No arrow leads to this element: link the step before to it."),
    "no_outgoing": N_("No arrow leaves this element: link it to the next step or to an end event."),
    "unreachable": N_("No path from the start event reaches this element."),
    "no_start_event": N_("The pathway has no start event."),
    "role_missing": N_("Choose who does this step (role)."),
    "role_unknown": N_("The role “%(role)s” is not known: choose one from the list."),
    "sector_missing": N_("A partner step needs its sector: choose one from the list."),
    "sector_not_partner": N_("Only a partner step has a sector: clear the sector or choose the partner role."),
    "form_missing": N_("Choose the form of this step."),
    "form_unknown": N_("The form “%(form)s” does not exist: choose one from the list."),
    "due_missing": N_("Give the delay of this step for each risk level."),
    # warnings: shown, the deploy goes on
    "not_in_lane": N_("This step is in no lane: put it in the lane of the people who do it."),
    "no_title_ar": N_("This step has no title in Arabic yet."),
    "no_title_en": N_("This step has no title in English yet."),
    "due_invalid": N_("The delay “%(due)s” cannot be read: set it again with the delay picker."),
}
