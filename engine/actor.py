"""Who runs a command (kept apart from :mod:`engine.runtime`, so that the modules the runtime uses
can name it without importing the runtime)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who runs a command: recorded in history; access is decided by the API's policy."""

    username: str
    role: str = "system"
    source: str | None = None


SYSTEM = Actor("system", "system")
