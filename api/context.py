"""The request's engine, reader and actor, for the REST blueprints and the pages alike."""
from __future__ import annotations

from flask import current_app, g, request

from engine.runtime import Actor, Engine
from engine.settings import Settings

from .i18n import current_language
from .readers.context import ReadContext


def engine() -> Engine:
    return current_app.extensions["himaya"]


def settings() -> Settings:
    """The settings the application was started with."""
    return current_app.extensions["himaya_settings"]


def client_address() -> str | None:
    return (request.remote_addr or "")[:64] or None


def actor() -> Actor:
    """Who runs the request's command (recorded in history)."""
    p = g.principal
    return Actor(p.username, p.role, client_address())


def reader() -> ReadContext:
    """The signed-in principal reading, in the request's language, as of now."""
    himaya = engine()
    return ReadContext(himaya, g.principal, current_language(), himaya.now())
