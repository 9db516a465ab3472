"""Compiled definitions for execution, by content hash."""
from __future__ import annotations

from ..models import PathwayVersion
from .checking import check_definition
from .model import CheckedDefinition


class DefinitionCache:
    """Compiled definitions by content hash: each version is parsed once per process.

    Keyed by content rather than by row id, so the cache can never hand out the spec of
    another definition, whatever happens to the table.
    """

    def __init__(self) -> None:
        self._compiled: dict[str, CheckedDefinition] = {}

    def by_hash(self, content_hash: str | None) -> CheckedDefinition | None:
        return self._compiled.get(content_hash) if content_hash else None

    def get(self, row: PathwayVersion) -> CheckedDefinition:
        compiled = self._compiled.get(row.content_hash)
        if compiled is None:
            # Checked at deploy: a handler missing now fails at run time, and a stricter timer
            # minimum or the connection rule applies to new deploys, not to the versions cases
            # already run on.
            compiled = check_definition(row.bpmn_xml, row.forms, handler_names=_any_names(), timer_minimum=None,
                                        connections=False)
            self._compiled[row.content_hash] = compiled
        compiled.versions[row.id] = row.version
        return compiled


class _AnyNames(frozenset[str]):
    """Stored definitions were checked at deploy; a handler missing now fails at run time."""

    def __contains__(self, item: object) -> bool:
        return True


def _any_names() -> frozenset[str]:
    return _AnyNames()
