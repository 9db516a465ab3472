"""Production serving with gunicorn (``himaya serve``); ``--dev`` uses Flask's server."""
from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication


class _HimayaServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        from .app import create_app

        return create_app()


def run_gunicorn(*, host: str, port: int, workers: int | None = None) -> None:
    _HimayaServer({
        "bind": f"{host}:{port}",
        "workers": workers or os.cpu_count() or 2,
        # threads overlap one request's database waits with another's Python work
        "worker_class": "gthread",
        "threads": int(os.environ.get("HIMAYA_THREADS", "4")),
        "accesslog": "-",
        "timeout": 60,
    }).run()
