"""Production serving with gunicorn (``himaya serve``); ``--dev`` uses Flask's server."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from engine.settings import Settings


class _HimayaServer(BaseApplication):
    def __init__(self, options: dict[str, Any], settings: Settings) -> None:
        self.options = options
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from .app import create_app

        return create_app(settings=self.settings)


def run_gunicorn(settings: Settings, *, host: str, port: int, workers: int | None = None) -> None:
    _HimayaServer({
        "bind": f"{host}:{port}",
        "workers": workers or os.cpu_count() or 2,
        # threads overlap one request's database waits with another's Python work
        "worker_class": "gthread",
        "threads": settings.threads,
        "accesslog": "-",
        "timeout": 60,
    }, settings).run()
