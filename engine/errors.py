"""Errors raised by the engine; the API maps each class to one HTTP status."""
from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Base class: a command was refused and nothing was changed."""

    status = 400

    def __init__(self, message: str, errors: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


class NotFound(EngineError):
    """The case, task or pathway does not exist (or is not visible to the caller)."""

    status = 404


class Forbidden(EngineError):
    """The actor may not run this command (e.g. a role the pathway does not start with)."""

    status = 403


class Conflict(EngineError):
    """The task is no longer open, is claimed by someone else, or the case changed meanwhile."""

    status = 409


class ValidationFailed(EngineError):
    """Submitted data do not match the form or the intake rules; ``errors`` lists each field."""

    status = 400


class PathwayFailure(EngineError):
    """The pathway could not proceed (a condition or handler failed); nothing was changed."""

    status = 422


class DefinitionInvalid(EngineError):
    """A BPMN definition or form failed validation; ``errors`` is a list of problems."""

    status = 422


class DefinitionTooLarge(EngineError):
    status = 413
