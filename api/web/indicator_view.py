"""The indicators as people read them: each figure by its label in the page's language, totals
apart from their breakdowns, shares as percentages, age bands in their order, every breakdown
drawn as bars beside its numbers — and a hidden cell (a small count, or one that would give it
back) shown as "x". The exports (:mod:`api.indicator_export`) keep the codes; this is the page."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import format_decimal, gettext

from engine.indicators import AGE_BANDS, PREVENTION_COUNTS, empty_prevention

from . import labels


@dataclass(frozen=True)
class Line:
    label: str
    value: Any  # a count, None when hidden or not known
    share: float | None = None  # of the breakdown's total, in per cent
    width: float = 0.0  # the bar's length, per cent of the largest

    @property
    def shown(self) -> str:
        """The value as the page's language writes it (2,5 in French; a count as it is)."""
        if isinstance(self.value, float):
            return str(format_decimal(self.value, format="#,##0.#"))
        return "" if self.value is None else str(self.value)


@dataclass
class Breakdown:
    key: str
    title: str
    lines: list[Line]
    total: Any = None
    note: str = ""
    total_label: str = ""


@dataclass
class Section:
    key: str
    title: str
    figures: list[tuple[str, str, str]] = field(default_factory=list)  # (key, label, shown value)
    breakdowns: list[Breakdown] = field(default_factory=list)


def _shown(value: Any, hidden: bool, *, percent: bool = False) -> str:
    if value is None:
        return "x" if hidden else "—"
    if percent:
        return f"{round(100 * value):d} %"
    return str(value)


def _lines(pairs: list[tuple[str, Any]], total: Any) -> list[Line]:
    top = max((v for _k, v in pairs if isinstance(v, int | float)), default=0) or 1
    return [Line(label, value,
                 round(100 * value / total, 1) if isinstance(value, int | float) and isinstance(total, int) and total
                 else None,
                 round(100 * value / top, 1) if isinstance(value, int | float) else 0.0)
            for label, value in pairs]


def age_band_label(band: str) -> str:
    if band == "unknown":
        return gettext("age not known")
    if band.endswith("+"):
        return gettext("%(low)s years and older", low=band[:-1])
    low, _dash, high = band.partition("-")
    return gettext("%(low)s to %(high)s years", low=low, high=high)


def sections(result: Mapping[str, Any], *, step_titles: Mapping[str, str], unit_names: Mapping[str, str],
             province_names: Mapping[str, str]) -> list[Section]:
    """The page's sections from an indicators result (:func:`engine.indicators.compute`)."""
    hidden = bool(result.get("suppressed_below"))
    served = result["children_served"]
    total = served["total"]
    children = Section("children", gettext("Children served"), [
        ("children_served", str(labels.INDICATOR_LABELS["children_served"]), _shown(total, hidden))])

    def add(key: str, title: Any, pairs: list[tuple[str, Any]]) -> None:
        children.breakdowns.append(Breakdown(key, str(title), _lines(pairs, total), total,
                                             total_label=gettext("All children served")))

    add("by_sex", labels.INDICATOR_LABELS["children_served_by_sex"],
        [(str(labels.SEX_LABELS.get(k) or labels.CHILD_SEX_LABELS.get(k) or labels.CHILD_SEX_LABELS["U"]), v)
         for k, v in served.get("by_sex", {}).items()])
    bands = served.get("by_age_band", {})
    order = [label for _low, _high, label in AGE_BANDS] + ["unknown"]
    add("by_age_band", labels.INDICATOR_LABELS["children_served_by_age_band"],
        [(age_band_label(b), bands[b]) for b in order if b in bands])
    add("by_category", labels.INDICATOR_LABELS["children_served_by_category"],
        sorted(((str(labels.CATEGORY_LABELS.get(k, k)), v) for k, v in served.get("by_category", {}).items()),
               key=lambda kv: -(kv[1] if isinstance(kv[1], int) else -1)))
    children.breakdowns[-1].note = gettext("A child may be in several categories: they do not add up to the total.")
    add("by_unit", labels.INDICATOR_LABELS["children_served_by_unit"],
        sorted(((unit_names.get(k) or k or "—", v) for k, v in served.get("by_unit", {}).items()),
               key=lambda kv: kv[0]))
    if len(served.get("by_province", {})) > 1 or result.get("provinces") is None:
        add("by_province", labels.INDICATOR_LABELS["children_served_by_province"],
            sorted(((province_names.get(k) or k or "—", v) for k, v in served.get("by_province", {}).items()),
                   key=lambda kv: kv[0]))

    steps = result["steps"]
    late_share = steps.get("late_share")
    on_time_share = None if late_share is None else 1 - late_share
    pathway = Section("pathway", gettext("Cases and steps"), [
        ("cases_opened", str(labels.INDICATOR_LABELS["cases_opened"]), _shown(result["cases_opened"], hidden)),
        ("cases_closed", str(labels.INDICATOR_LABELS["cases_closed"]), _shown(result["cases_closed"], hidden)),
        ("steps_completed", str(labels.INDICATOR_LABELS["steps_completed"]), _shown(steps["completed"], hidden)),
        ("steps_late", str(labels.INDICATOR_LABELS["steps_late"]), _shown(steps["late"], hidden)),
        ("steps_on_time_share", gettext("Share of steps completed on time"),
         _shown(on_time_share, hidden, percent=True)),
    ])
    medians = steps.get("median_days", {})
    pathway.breakdowns.append(Breakdown(
        "median_days", str(labels.INDICATOR_LABELS["median_days_per_step"]),
        _lines(sorted(((step_titles.get(k, k), v.get("median")) for k, v in medians.items()),
                      key=lambda kv: -(kv[1] if isinstance(kv[1], int | float) else -1)), None),
        note=gettext("From the step's start to its completion, in days, over the steps completed in the period.")))

    trainings = result["trainings"]
    reports = result["statistical_reports"]
    activity = Section("activity", gettext("Trainings and reports"), [
        ("trainings_organised", str(labels.INDICATOR_LABELS["trainings_organised"]),
         _shown(trainings["sessions"], hidden)),
        ("staff_trained", str(labels.INDICATOR_LABELS["staff_trained"]), _shown(trainings["staff_trained"], hidden)),
        ("statistical_reports_due", str(labels.INDICATOR_LABELS["statistical_reports_due"]),
         _shown(reports["due"], hidden)),
    ])
    activity.breakdowns.append(Breakdown("statistical_reports", gettext("Quarterly reports due in the period"), _lines([
        (str(labels.INDICATOR_LABELS["statistical_reports_published_on_time"]), reports["published_on_time"]),
        (str(labels.INDICATOR_LABELS["statistical_reports_published_late"]), reports["published_late"]),
        (str(labels.INDICATOR_LABELS["statistical_reports_unpublished"]), reports["unpublished"]),
    ], reports["due"]), reports["due"], total_label=gettext("All reports due")))
    activity.figures.append(("statistical_reports_on_time_share",
                             str(labels.INDICATOR_LABELS["statistical_reports_on_time_share"]),
                             _shown(reports.get("on_time_share"), hidden, percent=True)))
    prevention = result.get("prevention") or empty_prevention()
    awareness = Section("prevention", gettext("Prevention and awareness"), [
        (f"prevention_{key}", str(labels.INDICATOR_LABELS[f"prevention_{key}"]), _shown(prevention.get(key), hidden))
        for key in PREVENTION_COUNTS])
    awareness.breakdowns.append(Breakdown(
        "prevention_by_theme", str(labels.INDICATOR_LABELS["prevention_sessions_by_theme"]),
        _lines(sorted(((str(labels.THEME_LABELS.get(k, k)), v) for k, v in (prevention.get("by_theme") or {}).items()),
                      key=lambda kv: -(kv[1] if isinstance(kv[1], int) else -1)), prevention.get("sessions")),
        prevention.get("sessions"), total_label=gettext("All activities")))
    return [children, pathway, activity, awareness]
