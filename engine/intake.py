"""The report of a child (case intake): its schema, the age rule and the risk rule.

The JSON shape is the one of ``POST /api/v1/cases`` in ``docs/api.md``. Marshmallow checks
each field; :func:`check_age` and :func:`risk_level` apply the pathway's rules, which come
from the pathway's BPMN properties when it sets them (``age_min``, ``age_max``,
``risk_high_categories``, ``risk_medium_categories``) and otherwise from the categories'
reference data (:mod:`engine.categories`: the codes a report may carry and their risk levels,
given to :func:`load_intake` and :func:`risk_level`), else the defaults below.
The report's date lies from :data:`EARLIEST_REPORT` to now (give or take :data:`CLOCK_SKEW`) and
not before the birth date; booleans are JSON ``true``/``false`` only (:class:`StrictBoolean`);
names and short texts hold no direction control or control character (:func:`plain_line`).
"""
from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from .vocabulary import RISK_LEVELS

CATEGORIES = (
    "victim_violence", "victim_sexual_abuse", "victim_exploitation", "victim_harmful_practice",
    "witness", "no_civil_status", "out_of_school", "deprived_of_family", "in_institution",
    "poor_family", "isolated_rural", "broken_family", "disability", "child_labour", "street",
    "addiction", "begging", "juvenile_offender", "unaccompanied_migrant",
)
REPORT_SOURCES = (
    "phone_line", "mobile_team", "listening_cell", "walk_in", "family", "school", "health_facility",
    "police", "gendarmerie", "prosecutor", "association", "self_referral", "other",
)
LEGAL_BASES = ("protection_mandate", "consent", "judicial_order")
# How a young person's consent to a voluntary pathway (aftercare) was given.
CONSENT_METHODS = ("signed_form", "oral_witnessed")

DEFAULT_HIGH_CATEGORIES = ("victim_violence", "victim_sexual_abuse", "victim_exploitation", "victim_harmful_practice")
DEFAULT_MEDIUM_CATEGORIES = ("street", "begging", "child_labour", "addiction", "unaccompanied_migrant",
                             "deprived_of_family", "witness", "juvenile_offender")

# What BPMN conditions can read from the intake (``inform_prosecutor``: a category chosen says the
# prosecutor must be informed, from the categories' reference data), with their finite domains (None: unbounded).
INTAKE_VARIABLE_DOMAINS: dict[str, list[Any] | None] = {
    "emergency_medical": [True, False],
    "immediate_danger": [True, False],
    "inform_prosecutor": [True, False],
    "risk_level": list(RISK_LEVELS),
    "categories": None,
    "child_sex": ["F", "M", "U"],
    "child_age": None,
    "province": None,
    "unit": None,
}


# The report's date: from 2000 on (an earlier one is a typing slip: 0001, 1900…), and not in the
# future, give or take a few minutes of difference between the caller's clock and the server's.
EARLIEST_REPORT = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)


# Characters that reorder the text around them (embeddings, overrides, isolates, direction marks,
# the Arabic letter mark) or that are invisible controls: a name must not turn a page's header around.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
LINE_SEPARATORS = frozenset("\u2028\u2029")


def _control(character: str) -> bool:
    return character in BIDI_CONTROLS or character in LINE_SEPARATORS or unicodedata.category(character) == "Cc"


def without_controls(value: str) -> str:
    """``value`` without the characters :func:`plain_line` refuses (a page offers it back cleaned)."""
    return "".join(c for c in value if not _control(c))


def plain_line(value: str) -> None:
    """A name or a short text: no direction control, no control character (tab, line break…)."""
    if any(_control(c) for c in value):
        raise ValidationError("This text contains invisible control characters (such as direction marks or line "
                              "breaks): type it again without them.")


def _line(low: int, high: int) -> list[Any]:
    return [validate.Length(min=low, max=high), plain_line]


def has_letters(value: str) -> None:
    """A name or an alias: at least one letter (not only spaces, digits or punctuation)."""
    if value and not any(unicodedata.category(c).startswith("L") for c in value):
        raise ValidationError("Write the name with letters (it cannot be only spaces, digits or signs).")


def _name(high: int) -> list[Any]:
    return [validate.Length(max=high, error=f"Keep it to {high} characters at most."), plain_line, has_letters]


def clean_line(value: str | None) -> str | None:
    """A one-line text as stored: Unicode NFC, runs of spaces as one, no space around; None when empty."""
    if value is None:
        return None
    cleaned = " ".join(unicodedata.normalize("NFC", value).split())
    return cleaned or None


SEXES = ("F", "M", "U")  # U: unknown or not stated


class StrictBoolean(fields.Boolean):
    """JSON ``true`` or ``false`` only: ``"yes"``, ``"true"``, ``1`` or ``0`` are refused (marshmallow's
    Boolean takes them, and ``1 in {True}`` holds in Python)."""

    default_error_messages = {"invalid": "Answer true or false (not text or a number)."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class OtherScriptNamesSchema(_Strict):
    """The child's names written in the other script (Arabic when the report gave Latin, or the reverse)."""

    first_name = fields.String(load_default=None, allow_none=True, validate=_name(100))
    last_name = fields.String(load_default=None, allow_none=True, validate=_name(100))


class ChildSchema(_Strict):
    # A child whose name nobody knows (a street child) is reported with ``identity_known: false``
    # and an alias: how the team knows them ("girl at the Bab Souk crossing").
    identity_known = StrictBoolean(load_default=True)
    alias = fields.String(load_default=None, allow_none=True, validate=_name(200))
    first_name = fields.String(load_default=None, allow_none=True, validate=_name(100))
    last_name = fields.String(load_default=None, allow_none=True, validate=_name(100))
    names_other_script = fields.Nested(OtherScriptNamesSchema, load_default=None, allow_none=True)
    sex = fields.String(required=True, validate=validate.OneOf(
        SEXES, error="Choose F (girl), M (boy) or U (not known)."),
        error_messages={"required": "Say whether the child is a girl (F), a boy (M), or U if not known."})
    birth_date = fields.Date(load_default=None, allow_none=True,
                             error_messages={"invalid": "Write the birth date as YYYY-MM-DD."})
    age_estimate = fields.Integer(load_default=None, allow_none=True, strict=True,
                                  validate=validate.Range(min=0, max=30, error="Give an age from 0 to 30."),
                                  error_messages={"invalid": "Give the estimated age as a whole number of years."})
    civil_status_registered = StrictBoolean(load_default=None, allow_none=True)
    nationality = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^[A-Z]{2}$", error="Use a two-letter ISO 3166 country code, e.g. MA."))

    @validates_schema
    def _who_the_child_is(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("identity_known", True):
            missing = {name: ["Give the child's first name, or say the name is not known and give an alias."
                              if name == "first_name" else
                              "Give the child's family name, or say the name is not known and give an alias."]
                       for name in ("first_name", "last_name") if not clean_line(data.get(name))}
            if missing:
                raise ValidationError(missing)
        elif not clean_line(data.get("alias")):
            raise ValidationError("The child's name is not known: give an alias, how the team knows the child "
                                  "(e.g. \"girl at the Bab Souk crossing\").", "alias")
        if data.get("birth_date") is None and data.get("age_estimate") is None:
            raise ValidationError("Give the birth date, or an estimated age if it is not known.", "birth_date")

    @post_load
    def _clean_names(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        for name in ("first_name", "last_name", "alias"):
            data[name] = clean_line(data.get(name))
        other = data.get("names_other_script") or {}
        other = {name: clean_line(other.get(name)) for name in ("first_name", "last_name")}
        data["names_other_script"] = other if any(other.values()) else None
        return data


class ReporterSchema(_Strict):
    """Who made the report, and how to reach them again (kept from partners)."""

    name = fields.String(load_default=None, allow_none=True, validate=_line(0, 200))
    relation = fields.String(load_default=None, allow_none=True, validate=_line(0, 100))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^\+?[0-9][0-9 .-]{3,24}$",
        error="Write the phone number with digits (e.g. 0661 23 45 67 or +212 661 23 45 67)."))


class LocationSchema(_Strict):
    """Where the child was found or lives: the commune and the place (douar, street, school…)."""

    commune = fields.String(load_default=None, allow_none=True, validate=_line(0, 100))
    place = fields.String(load_default=None, allow_none=True, validate=_line(0, 200))


class ReportSchema(_Strict):
    source = fields.String(required=True, validate=validate.OneOf(REPORT_SOURCES))
    received_at = fields.AwareDateTime(required=True, validate=validate.Range(
        min=EARLIEST_REPORT, error="The report date must be in 2000 or later."))
    description = fields.String(load_default="", validate=validate.Length(max=10_000))
    reporter = fields.Nested(ReporterSchema, load_default=None, allow_none=True)
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)


class EmergencySchema(_Strict):
    medical = StrictBoolean(load_default=False)
    immediate_danger = StrictBoolean(load_default=False)


class YoungPersonConsentSchema(_Strict):
    """The young person's own consent to a voluntary pathway: that they gave it, when, and how
    (a signed enrolment form, or orally before a named witness)."""

    given = StrictBoolean(required=True)
    given_on = fields.Date(required=True)
    method = fields.String(required=True, validate=validate.OneOf(CONSENT_METHODS))
    witness = fields.String(load_default=None, allow_none=True, validate=_line(1, 200))

    @validates_schema
    def _what_consent_needs(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("given") is not True:
            raise ValidationError("Enrolment needs the young person's consent: tick it only once they have "
                                  "given it.", "given")
        if data.get("method") == "oral_witnessed" and not data.get("witness"):
            raise ValidationError("Oral consent is given before a witness: name the witness.", "witness")


class ConsentSchema(_Strict):
    legal_basis = fields.String(load_default="protection_mandate", validate=validate.OneOf(LEGAL_BASES))
    child_informed = StrictBoolean(load_default=False)
    guardian_informed = StrictBoolean(load_default=False)
    given_by = fields.String(load_default=None, allow_none=True, validate=_line(1, 200))
    notes = fields.String(load_default="", validate=validate.Length(max=2000))
    young_person = fields.Nested(YoungPersonConsentSchema, load_default=None, allow_none=True)

    @validates_schema
    def _consent_needs_who(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("legal_basis") == "consent" and not data.get("given_by"):
            raise ValidationError("With consent as the legal basis, say who gave it.", "given_by")


class CaseIntakeSchema(_Strict):
    pathway = fields.String(load_default="child_protection", validate=_line(1, 100))
    child = fields.Nested(ChildSchema, required=True)
    province = fields.String(required=True, validate=_line(1, 64))
    unit = fields.String(required=True, validate=_line(1, 100))
    categories = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                             validate=validate.Length(min=1, max=100))
    report = fields.Nested(ReportSchema, required=True)
    emergency = fields.Nested(EmergencySchema, load_default=lambda: {"medical": False, "immediate_danger": False})
    consent = fields.Nested(ConsentSchema, load_default=lambda: ConsentSchema().load({}))

    # The codes a report may carry: the categories' reference data when given (load_intake).
    known_categories: tuple[str, ...] = CATEGORIES

    @validates("categories")
    def _known_categories(self, value: list[str], **_: Any) -> None:
        choice = validate.OneOf(self.known_categories)
        unknown: dict[int, list[str]] = {}
        for index, code in enumerate(value):
            try:
                choice(code)
            except ValidationError as exc:
                unknown[index] = list(exc.messages) if isinstance(exc.messages, list) else [str(exc.messages)]
        if unknown:
            raise ValidationError(unknown)  # by index, as a list field's errors

    @validates_schema
    def _distinct_categories(self, data: dict[str, Any], **_: Any) -> None:
        categories = data.get("categories") or []
        if len(set(categories)) != len(categories):
            raise ValidationError("Each category once.", "categories")


def load_intake(payload: Any, categories: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Validated intake; raises ``marshmallow.ValidationError`` with field messages. ``categories``:
    the codes a report may carry (the reference data's active ones; :data:`CATEGORIES` otherwise)."""
    if not isinstance(payload, dict):
        raise ValidationError({"_schema": ["Expected a JSON object."]})
    schema = CaseIntakeSchema()
    if categories is not None:
        schema.known_categories = tuple(categories)
    return schema.load(payload)


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _int_property(properties: dict[str, str], name: str, default: int) -> int:
    try:
        return int(properties.get(name, default))
    except (TypeError, ValueError):
        return default


def check_age(intake: dict[str, Any], properties: dict[str, str], now: datetime) -> int:
    """The person's age at the report date; raises ValidationError outside the pathway's bounds
    (and for a report date in the future, beyond :data:`CLOCK_SKEW`)."""
    child, received_at = intake["child"], intake["report"]["received_at"]
    if received_at > now + CLOCK_SKEW:
        raise ValidationError({"report": {"received_at": ["The report date is in the future."]}})
    if child.get("birth_date") is not None:
        if child["birth_date"] > received_at.date():
            raise ValidationError({"child": {"birth_date": ["The birth date is after the report date."]}})
        age, field = age_on(child["birth_date"], received_at.date()), "birth_date"
    else:
        age, field = child["age_estimate"], "age_estimate"
    low, high = _int_property(properties, "age_min", 0), _int_property(properties, "age_max", 17)
    if not low <= age <= high:
        bound = f"under {high + 1}" if low == 0 else f"between {low} and {high}"
        message = f"This pathway serves people {bound} at the report date (age {age})."
        raise ValidationError({"child": {field: [message]}})
    return age


def check_consent(intake: dict[str, Any], properties: dict[str, str], now: datetime) -> dict[str, Any] | None:
    """The young person's recorded consent, when the pathway requires it (process property
    ``consent_required`` = ``young_person``: voluntary adherence, such as aftercare); raises
    ValidationError with the field to fill when it is missing, or dated after the enrolment."""
    if properties.get("consent_required", "").strip() != "young_person":
        return intake["consent"].get("young_person")
    consent = intake["consent"].get("young_person")
    if consent is None:
        raise ValidationError({"consent": {"young_person": [
            "Enrolment needs the young person's consent: record when and how they gave it."]}})
    if consent["given_on"] > now.date() + timedelta(days=1):
        raise ValidationError({"consent": {"young_person": {"given_on": ["The consent date is in the future."]}}})
    return consent


def _category_list(properties: dict[str, str], name: str, default: tuple[str, ...]) -> set[str]:
    value = properties.get(name)
    if value is None:
        return set(default)
    return {c.strip() for c in value.split(",") if c.strip()}


def risk_level(categories: list[str], emergency: dict[str, bool], properties: dict[str, str],
               levels: dict[str, str] | None = None) -> str:
    """The protocol's rule: high on any emergency or a high-risk category, medium on a medium-risk
    one, else low. A category's level is the pathway's lists' (``risk_high_categories``,
    ``risk_medium_categories``) when it sets them, else the categories' reference data (``levels``:
    code → level), else ``DEFAULT_HIGH_CATEGORIES`` / ``DEFAULT_MEDIUM_CATEGORIES``."""
    if emergency.get("medical") or emergency.get("immediate_danger"):
        return "high"
    chosen = set(categories)

    def listed(level: str, name: str, default: tuple[str, ...]) -> set[str]:
        if properties.get(name) is None and levels is not None:
            return {code for code, value in levels.items() if value == level}
        return _category_list(properties, name, default)

    if chosen & listed("high", "risk_high_categories", DEFAULT_HIGH_CATEGORIES):
        return "high"
    if chosen & listed("medium", "risk_medium_categories", DEFAULT_MEDIUM_CATEGORIES):
        return "medium"
    return "low"
