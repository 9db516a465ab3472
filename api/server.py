"""Production serving with gunicorn (``himaya serve``); ``--dev`` uses Flask's server.

gunicorn reads each request line and header before the application sees it, and refuses what is
too large or malformed (:data:`REQUEST_LIMITS`); its workers here (:class:`JsonErrorWorker`)
answer those refusals in the contract's JSON error shape instead of gunicorn's HTML page.
"""
from __future__ import annotations

import ipaddress
import json
import os
import socket
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from engine.settings import Settings

# What gunicorn lets through to the application (docs/deploy.md): a longer request line
# (method, path, query, version) is a 400; more headers, or a longer one, a 431.
REQUEST_LIMITS = {
    "limit_request_line": 4094,  # bytes
    "limit_request_fields": 100,  # headers
    "limit_request_field_size": 8190,  # bytes of one header
}
_REFUSALS = {
    400: "The request is malformed, or its request line (address and query) is too long.",
    403: "Request forbidden.",
    431: "The request headers are too many or too large.",
    500: "Internal error.",
    501: "Not implemented.",
}


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error``, in the contract's shape: ``{"code", "status", "message"}``
    (gunicorn's own words, such as "Request Line is too large (5000 > 4094)", under ``errors``)."""
    body: dict[str, Any] = {"code": status_int, "status": reason,
                            "message": _REFUSALS.get(status_int, "The request was refused.")}
    if mesg:
        body["errors"] = {"request": [mesg]}
    payload = json.dumps(body).encode("utf-8")
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + payload)


class JsonErrorWorker(ThreadWorker):
    """gunicorn's threaded worker, whose own refusals (a request line or header too large, a
    malformed request) are JSON like every other error of the API."""

    def init_process(self) -> None:
        util.write_error = write_json_error  # in this worker process: gunicorn's handle_error calls it
        super().init_process()


def listens_beyond_this_machine(host: str) -> bool:
    """Whether ``--host`` opens the server to other machines (anything but a loopback address)."""
    if host.lower() == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it resolves to some interface
        return True


def insecure_cookies_warning(host: str, settings: Settings) -> str | None:
    """The start-up warning when ``himaya serve`` is reachable from other machines while its
    cookies are not ``Secure`` (``HIMAYA_HTTPS`` is not ``1``); ``None`` otherwise."""
    if settings.https or not listens_beyond_this_machine(host):
        return None
    return (f"himaya serve listens on {host}, reachable from other machines, but HIMAYA_HTTPS is not 1: "
            "session cookies go without the Secure flag and without HSTS, so a session can travel in clear "
            "text. Serve Himaya behind an HTTPS proxy and set HIMAYA_HTTPS=1 (docs/deploy.md).")


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


def _warn_when_ready(warning: str) -> Callable[[Any], None]:
    def when_ready(arbiter: Any) -> None:  # gunicorn's hook: its log is set up, the socket bound
        arbiter.log.warning(warning)

    return when_ready


def run_gunicorn(settings: Settings, *, host: str, port: int, workers: int | None = None) -> None:
    """gunicorn with Himaya's workers and limits; its log repeats the insecure cookies warning."""
    warning = insecure_cookies_warning(host, settings)
    hooks = {"when_ready": _warn_when_ready(warning)} if warning else {}
    _HimayaServer({
        "bind": f"{host}:{port}",
        "workers": workers or os.cpu_count() or 2,
        # threads overlap one request's database waits with another's Python work
        "worker_class": f"{__name__}.JsonErrorWorker",
        "threads": settings.threads,
        "accesslog": "-",
        "timeout": 60,
        **REQUEST_LIMITS,
        **hooks,
    }, settings).run()
