"""The case categories (reference data, :mod:`engine.categories`) as the pages and the API show them."""
from __future__ import annotations

from typing import Any

from engine import categories
from engine.runtime import Engine


def category_rules(engine: Engine) -> categories.Rules:
    """Every category, active or not, in its order."""
    with engine.db.reading() as session:
        return categories.rules(session)


def present(category: categories.Category, language: str | None = None) -> dict[str, Any]:
    labels = {lang: category.label(lang) for lang in categories.LANGUAGES}
    body: dict[str, Any] = {"code": category.code, "labels": labels,
                            "risk_level": category.risk_level, "inform_prosecutor": category.inform_prosecutor,
                            "active": category.active}
    if language:
        body["label"] = category.label(language)
    return body


def category_list(engine: Engine, language: str, *, active_only: bool = False) -> list[dict[str, Any]]:
    return [present(c, language) for c in category_rules(engine).categories if c.active or not active_only]
