"""What every reader is given: the engine, who reads, in which language, as of when."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.definitions.model import CheckedDefinition
from engine.runtime import Engine

from ..auth import Principal


@dataclass(frozen=True)
class ReadContext:
    engine: Engine
    principal: Principal
    language: str
    now: datetime

    def definition(self, pathway_version_id: int) -> CheckedDefinition:
        """The compiled pathway version (titles of steps, forms), cached by the engine."""
        return self.engine.definition(pathway_version_id)
