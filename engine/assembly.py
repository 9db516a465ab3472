"""Where the engine is assembled: an :class:`~engine.runtime.Engine` with the hooks of every subject.

The runtime knows the pathways whose subject is not a child only through the hooks it is
given (see :mod:`engine.subjects`). They are plugged in here, once, so that every caller (the
app, the CLI, the tests and the benchmarks) runs the same engine, and none runs without them.
"""
from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from . import action_plans, statistical_reports
from .clock import Clock
from .db import Database
from .definitions.cache import DefinitionCache
from .runtime import Engine
from .settings import Settings
from .subjects import Hook

SUBJECT_HOOKS: Mapping[str, Hook] = MappingProxyType({
    statistical_reports.KIND: statistical_reports.follow_pathway,
    action_plans.KIND: action_plans.follow_pathway,
})


def assemble_engine(database: Database, *, clock: Clock | None = None, definitions: DefinitionCache | None = None,
                    settings: Settings | None = None, workflow_cache_size: int = 1024) -> Engine:
    """An engine on ``database`` that follows every subject's pathway with its hook; ``settings``
    give it the escalation ladder and the shortest timer a deploy accepts (defaults without)."""
    settings = settings or Settings()
    return Engine(database, subject_hooks=SUBJECT_HOOKS, clock=clock, definitions=definitions,
                  escalation=settings.escalation, timer_minimum=settings.timer_minimum,
                  workflow_cache_size=workflow_cache_size)
