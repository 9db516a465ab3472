"""A child's identity as finding and matching need it: search keys, and possible earlier reports.

The keys of each name (:mod:`engine.names`) are kept in ``child_name_keys`` with the case's
province. Everything here compares keys, never names, so that the keys can become keyed
hashes without changing what matches. Two reports are possible duplicates when their family
names and first names meet on keys; the birth date (or year, or estimated age) and the sex
raise or lower the score; a child reported without a known name has no duplicates by name
(an alias is for finding, not for matching: "the boy at the bus station" is many children).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Subquery, and_, delete, insert, or_, select, union_all

from . import crypto, names
from .models import Case, ChildNameKey

KEYS, CASES = ChildNameKey.__table__, Case.__table__
FIRST, LAST, ALIAS = "first", "last", "alias"

# A possible duplicate is raised from this score (0..1); reasons say why, as codes the pages label.
DUPLICATE_THRESHOLD = 0.6
CANDIDATES = 200  # most earlier reports looked at for one check (the best-keyed first)
REASONS = ("same_first_name", "similar_first_name", "same_family_name", "similar_family_name",
           "same_birth_date", "same_birth_year", "close_age", "same_sex")


@dataclass(frozen=True)
class Identity:
    """Who a report is about, as matching sees it."""

    first_names: tuple[str, ...] = ()  # as written, in either script (the other script's too)
    last_names: tuple[str, ...] = ()
    alias: str | None = None
    sex: str | None = None
    birth_date: date | None = None
    birth_year: int | None = None
    exact_year: bool = False  # the year comes from a birth date, not an estimated age

    @classmethod
    def of_child(cls, child: Mapping[str, Any], reported_on: date) -> Identity:
        """From a validated intake's ``child`` (or an identity correction merged into one)."""
        other = child.get("names_other_script") or {}
        first = tuple(n for n in (child.get("first_name"), other.get("first_name")) if n)
        last = tuple(n for n in (child.get("last_name"), other.get("last_name")) if n)
        return cls(first, last, child.get("alias"), child.get("sex"), child.get("birth_date"),
                   birth_year(child.get("birth_date"), child.get("age_estimate"), reported_on),
                   child.get("birth_date") is not None)

    @property
    def named(self) -> bool:
        return bool(self.first_names and self.last_names)


def birth_year(born: date | None, age_estimate: int | None, reported_on: date) -> int | None:
    if born is not None:
        return born.year
    if age_estimate is not None:
        return reported_on.year - age_estimate
    return None


def _field_keys(texts: Iterable[str]) -> frozenset[str]:
    return frozenset().union(*(names.name_keys(t) for t in texts))


def plain_key_rows(identity: Identity) -> list[tuple[str, str]]:
    """The ``(field, key)`` pairs of an identity's names, before hashing."""
    rows = [(FIRST, k) for k in sorted(_field_keys(identity.first_names))]
    rows += [(LAST, k) for k in sorted(_field_keys(identity.last_names))]
    if identity.alias:
        rows += [(ALIAS, k) for k in sorted(names.name_keys(identity.alias))]
    return rows


def key_rows(identity: Identity, keyring: crypto.Keyring) -> list[tuple[str, str]]:
    """The ``(field, key)`` pairs to store for an identity, each key hashed with the database's
    index key (:meth:`engine.crypto.Keyring.hashed_key`: its kind kept); computed before any
    transaction."""
    return [(field, keyring.hashed_key(key)) for field, key in plain_key_rows(identity)]


def hashed_sets(keyring: crypto.Keyring, key_sets: list[frozenset[str]]) -> list[frozenset[str]]:
    """Key sets (per token of a name) as the database stores them: hashed."""
    return [frozenset(keyring.hashed_key(k) for k in keys) for keys in key_sets]


def birth_date_key(keyring: crypto.Keyring, born: date | None) -> str | None:
    """The keyed hash a search by birth date finds the (sealed) birth date by."""
    return keyring.hashed(f"birth:{born.isoformat()}") if born is not None else None


def store_keys(conn: Connection, case_id: str, province: str, rows: list[tuple[str, str]], *,
               year: int | None, replace: bool = False) -> None:
    """Write a case's keys with the child's birth year (``replace``: after an identity correction
    or a move of province)."""
    if replace:
        conn.execute(delete(KEYS).where(KEYS.c.case_id == case_id))
    if rows:
        conn.execute(insert(KEYS), [{"case_id": case_id, "province": province, "field": field, "key": key,
                                     "birth_year": year} for field, key in rows])


def reindex(conn: Connection) -> int:
    """Rebuild every child's keys from the cases (after a change of :mod:`engine.names`, or once
    when the table is created); returns the number of cases indexed."""
    keyring = crypto.keyring_of(conn.dialect)
    conn.execute(delete(KEYS))
    rows = conn.execute(select(CASES.c.id, CASES.c.province, CASES.c.opened_at, CASES.c.child_first_name,
                               CASES.c.child_last_name, CASES.c.child_first_name_other,
                               CASES.c.child_last_name_other, CASES.c.child_alias, CASES.c.child_birth_date,
                               CASES.c.child_age_estimate)
                        .where(CASES.c.subject_kind == "child")).all()
    for row in rows:
        child = {"first_name": row.child_first_name, "last_name": row.child_last_name, "alias": row.child_alias,
                 "names_other_script": {"first_name": row.child_first_name_other,
                                        "last_name": row.child_last_name_other}}
        year = birth_year(row.child_birth_date, row.child_age_estimate, row.opened_at.date())
        store_keys(conn, row.id, row.province, key_rows(Identity.of_child(child, row.opened_at.date()), keyring),
                   year=year)
        conn.execute(CASES.update().where(CASES.c.id == row.id).values(child_birth_year=year))
    return len(rows)


@dataclass(frozen=True)
class Match:
    """An earlier report that may be of the same child."""

    case_id: str
    reference: str
    province: str
    unit: str
    status: str
    score: float
    reasons: tuple[str, ...]

    def body(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "reference": self.reference, "score": round(self.score, 2),
                "reasons": list(self.reasons)}


def default_kept(case_id: str, case_status: str | None, match_id: str, match_status: str | None) -> str:
    """The case that continues when a duplicate is confirmed without saying: the earlier report
    (``match``), unless it was closed and the new one is open (the child was reported again)."""
    if match_status != "open" and case_status == "open":
        return case_id
    return match_id


def _name_part(mine: list[frozenset[str]], theirs: frozenset[str], same: str, similar: str
               ) -> tuple[float, str | None]:
    """How well my name (key sets per token) is met by theirs, with its reason."""
    if not mine:
        return 0.0, None
    score = names.field_match(mine, theirs)
    if score >= 0.999:
        return score, same
    return score, similar if score >= 0.5 else None


def _score(identity: Identity, first: list[frozenset[str]], last: list[frozenset[str]],
           keys: Mapping[str, frozenset[str]], case: Any) -> tuple[float, tuple[str, ...]]:
    first_score, first_reason = _name_part(first, keys.get(FIRST, frozenset()), "same_first_name",
                                           "similar_first_name")
    last_score, last_reason = _name_part(last, keys.get(LAST, frozenset()), "same_family_name",
                                         "similar_family_name")
    if first_score < 0.5 or last_score < 0.5:
        return 0.0, ()
    score = 0.3 * first_score + 0.3 * last_score
    reasons = [r for r in (first_reason, last_reason) if r]
    if identity.sex in ("F", "M") and case.child_sex in ("F", "M"):
        if identity.sex != case.child_sex:
            return 0.0, ()  # a girl and a boy are two children, however alike their names
        score += 0.1
        reasons.append("same_sex")
    if identity.birth_date is not None and case.child_birth_date is not None:
        if identity.birth_date == case.child_birth_date:
            score += 0.3
            reasons.append("same_birth_date")
        elif identity.birth_date.year == case.child_birth_date.year:
            score += 0.1
            reasons.append("same_birth_year")
        elif abs(identity.birth_date.year - case.child_birth_date.year) > 1:
            score -= 0.3  # two known birth dates years apart: not the same child
    elif identity.birth_year is not None and case.child_birth_year is not None:
        gap = abs(identity.birth_year - case.child_birth_year)
        if gap == 0:
            score += 0.2
            reasons.append("same_birth_year")
        elif gap <= 2:
            score += 0.1
            reasons.append("close_age")
        else:
            score -= 0.3
    return max(0.0, min(1.0, score)), tuple(reasons)


def find_duplicates(conn: Connection, identity: Identity, *, exclude: str | None = None,
                    limit: int = 10) -> list[Match]:
    """Earlier reports of the child, in every province, best first (the caller decides what the
    person asking may be shown). Two indexed look-ups of keys: cases met on the family name and
    on the first name, then their keys and rows."""
    if not identity.named:
        return []
    keyring = crypto.keyring_of(conn.dialect)
    first = hashed_sets(keyring, [ks for n in identity.first_names for ks in names.keys_per_token(n)])
    last = hashed_sets(keyring, [ks for n in identity.last_names for ks in names.keys_per_token(n)])
    first_keys, last_keys = frozenset().union(*first), frozenset().union(*last)
    if not first_keys or not last_keys:
        return []
    # Candidates meet on a family-name key and a first-name key other than a bare skeleton: a
    # name met by skeletons only scores below what a duplicate needs (:func:`_score`), and the
    # skeletons of short names (Alaoui: "l") meet thousands of families.
    met_last = _met(_strong(last_keys), LAST, identity)
    met_first = _met(_strong(first_keys), FIRST, identity)
    if conn.dialect.name == "postgresql":  # a hashed set intersection of the two index scans
        met: list[Any] = [CASES.c.id.in_(select(met_last.c.case_id).intersect(select(met_first.c.case_id)))]
    else:  # SQLite sorts both sides of an INTERSECT: it looks each family-name candidate up instead
        met = [CASES.c.id.in_(select(met_last.c.case_id)), CASES.c.id.in_(select(met_first.c.case_id))]
    cases = conn.execute(select(CASES.c.id, CASES.c.reference, CASES.c.province, CASES.c.unit, CASES.c.status,
                                CASES.c.child_sex, CASES.c.child_birth_date, CASES.c.child_birth_year)
                         .where(*met, *_could_be(identity, exclude)).limit(CANDIDATES)).all()
    if not cases:
        return []
    wanted = first_keys | last_keys
    keys_of: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in conn.execute(select(KEYS.c.case_id, KEYS.c.field, KEYS.c.key).where(
            KEYS.c.case_id.in_([c.id for c in cases]))):
        if row.key in wanted:  # the candidates' few keys, filtered here: cheaper than a second key look-up
            keys_of[row.case_id][row.field].add(row.key)
    found = []
    for case in cases:
        keys = {field: frozenset(values) for field, values in keys_of[case.id].items()}
        score, reasons = _score(identity, first, last, keys, case)
        if score >= DUPLICATE_THRESHOLD:
            found.append(Match(case.id, case.reference, case.province, case.unit, case.status, score, reasons))
    found.sort(key=lambda m: (-m.score, m.reference))
    return found[:limit]


# A search leaves out the bare consonant skeletons (``s:``, ``js:``): on the name pair set they
# find every variant but one with them or without, and without them four times fewer other
# names (Mohamed would also find Mahmoud). The duplicate check keeps them, at their low weight.
SEARCH_SKIPS = ("s:", "js:")


def _strong(keys: frozenset[str]) -> list[str]:
    return sorted(k for k in keys if not k.startswith(SEARCH_SKIPS)) or sorted(keys)


def _met(keys: list[str], field: str, identity: Identity) -> Subquery:
    """The cases having one of ``keys`` in ``field``, born within two years of ``identity`` when
    its year is known (or of an unknown year). The keys carry the birth year, so each part is a
    range of the key index read alone (no table rows): a common name meets thousands of families,
    a third of them in those years. The two parts are a union, not an OR, which would make
    PostgreSQL merge bitmaps and read the table."""
    met = select(KEYS.c.case_id).where(KEYS.c.key.in_(keys), KEYS.c.field == field)
    if identity.birth_year is None:
        return met.subquery()
    near = met.where(KEYS.c.birth_year.between(identity.birth_year - 2, identity.birth_year + 2))
    return union_all(near, met.where(KEYS.c.birth_year.is_(None))).subquery()


def _could_be(identity: Identity, exclude: str | None) -> list[Any]:
    """What an earlier report of the same child must be, before any name is compared: a child's
    case not linked into another (the one it continues in is the match), of the same sex or an
    unknown one, born within two years when both years are known (:func:`_score` refuses the
    others whatever their names)."""
    conditions: list[Any] = [CASES.c.subject_kind == "child", CASES.c.duplicate_of.is_(None)]
    if exclude is not None:
        conditions.append(CASES.c.id != exclude)
    if identity.sex in ("F", "M"):
        conditions.append(or_(CASES.c.child_sex.is_(None), CASES.c.child_sex.in_([identity.sex, "U"])))
    if identity.birth_year is not None:
        conditions.append(or_(CASES.c.child_birth_year.is_(None),
                              CASES.c.child_birth_year.between(identity.birth_year - 2, identity.birth_year + 2)))
    return conditions


def search_condition(query_tokens: list[frozenset[str]], province: str | None, keyring: crypto.Keyring) -> Any:
    """SQL condition on ``Case``: every token of a search meets one of the case's keys (in
    ``province``'s keys, or every province's for a reader of all); the tokens' keys are hashed as
    the stored ones are."""
    conditions = []
    for token_keys in hashed_sets(keyring, query_tokens):
        found = select(KEYS.c.case_id).where(KEYS.c.key.in_(_strong(token_keys)))
        if province is not None:
            found = found.where(KEYS.c.province == province)
        conditions.append(Case.id.in_(found))
    return and_(*conditions)
