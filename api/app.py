"""The Flask application factory."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask, jsonify
from sqlalchemy import text

from engine.db import Database
from engine.runtime import Engine


def create_app(config: dict[str, Any] | None = None, *, engine: Engine | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("HIMAYA_INSTANCE_PATH") or None)
    app.config.update(
        SECRET_KEY=os.environ.get("HIMAYA_SECRET_KEY", ""),
        HIMAYA_DATABASE_URL=os.environ.get("HIMAYA_DATABASE_URL"),
        HIMAYA_SCHEDULER=os.environ.get("HIMAYA_SCHEDULER", "off"),
        MAX_CONTENT_LENGTH=4 * 1024 * 1024,
    )
    app.config.update(config or {})
    if engine is None:
        engine = Engine(Database(app.config["HIMAYA_DATABASE_URL"] or None))
    app.extensions["himaya"] = engine

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        try:
            with engine.db.reading() as session:
                session.execute(text("SELECT 1"))
            database = "ok"
        except Exception:  # the database is down: say so, never crash
            database = "unreachable"
        body = {"status": "ok" if database == "ok" else "unavailable", "database": database,
                "scheduler": "running" if app.config["HIMAYA_SCHEDULER"] == "on" else "off"}
        return jsonify(body), 200 if database == "ok" else 503

    return app
