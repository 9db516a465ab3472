"""The Flask application factory: configuration, the engine, the REST API, errors."""
from __future__ import annotations

import logging
import os
import secrets
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_smorest import Api, abort
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError, StatementError
from werkzeug.exceptions import HTTPException

from engine import crypto
from engine.assembly import assemble_engine
from engine.db import Database
from engine.documents import scanner_health
from engine.errors import DefinitionInvalid, EngineError, ValidationFailed
from engine.private_files import FILE_MODE, private_file, private_folder, tighten
from engine.runtime import Engine
from engine.settings import Settings

from .assets import Assets
from .i18n import init_i18n, translate_errors, translate_message
from .json_input import BoundedJSONProvider
from .plan_export import ExportUnavailable
from .routing import rule_class

log = logging.getLogger("himaya.api")

# No inline script anywhere (the interactive API docs too: api/templates/swagger_ui.html starts
# Swagger UI from a static file); bpmn-js and Swagger UI style elements, hence style attributes.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
                           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

_DEFAULT_MESSAGES = {
    400: "The request has invalid fields.", 401: "Authentication required.", 403: "You are not allowed to do this.",
    404: "Not found.", 405: "Method not allowed.", 409: "Conflict.", 413: "The request is too large.",
    415: "Unsupported media type.", 422: "Unprocessable request.", 429: "Too many requests.",
    500: "Internal error.", 503: "Service unavailable.",
}


class HimayaJSONProvider(BoundedJSONProvider):
    """Flask's JSON: request bodies parsed within bounds (:mod:`api.json_input`), and answers with
    dates and times in ISO 8601 (``2013-05-02``) as the contract says, not as HTTP dates ("Thu, 02
    May 2013 00:00:00 GMT"), wherever a value reaches a response without a schema field (a case's
    ``child``, free dictionaries)."""

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, (date, datetime, time)):
            return o.isoformat()
        return DefaultJSONProvider.default(o)


def _exception_headers(error: HTTPException) -> dict[str, str]:
    """The headers an HTTP error carries itself (``Allow`` of a 405), its HTML content type aside."""
    return {name: value for name, value in error.get_headers() if name.lower() != "content-type"}


class HimayaApi(Api):
    """flask-smorest's API with every error in the contract's shape, translated.

    The OpenAPI document is built when it is first read (``/api/v1/openapi.json``, the docs
    page, ``flask openapi``), not while the blueprints are registered: describing ~100
    operations costs about as much as the rest of the application's start, and most workers
    and test applications never serve it. The document is the same, path for path and in the
    same order (``tests/test_api_contract.py``)."""

    def __init__(self, app: Flask | None = None, **kwargs: Any) -> None:
        self._undocumented: list[tuple[Any, str, Any]] = []
        self._built_spec: Any = None
        super().__init__(app, **kwargs)

    @property
    def spec(self) -> Any:
        pending, self._undocumented = self._undocumented, []
        for blueprint, name, parameters in pending:  # in the order they were registered
            blueprint.register_views_in_doc(self, self._app, self._built_spec, name=name, parameters=parameters)
            self._built_spec.tag({"name": name, "description": blueprint.description})
        return self._built_spec

    @spec.setter
    def spec(self, value: Any) -> None:
        self._built_spec = value

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        """flask-smorest's registration, its documentation left for when the document is read."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def handle_http_exception(self, error: HTTPException) -> tuple[dict[str, Any], int, Any]:
        payload, code, headers = super().handle_http_exception(error)
        headers = {**_exception_headers(error), **(headers or {})}
        message = payload.get("message") or _DEFAULT_MESSAGES.get(code, error.name)
        payload["message"] = translate_message(message)
        if "errors" in payload:
            payload["errors"] = translate_errors(payload["errors"])
        if code >= 500:
            log.error("server error %s on a request", code)
        return payload, code, headers


def _private_instance(folder: Path) -> None:
    """The instance folder's files and folders made owner-only (:mod:`engine.private_files`),
    said once in the log, by count (never a name's content, never the key)."""
    if folder.is_dir() and (tightened := tighten(folder)):
        log.warning("instance folder: %d file(s) or folder(s) readable by others were made owner-only (0600/0700)",
                    tightened)


def _secret_key(configured: str | None, instance_path: str) -> str:
    """HIMAYA_SECRET_KEY, or a random key kept in the instance folder (shared by workers)."""
    if configured:
        return configured
    path = private_folder(Path(instance_path)) / "secret_key"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return private_file(path).read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        key = secrets.token_urlsafe(48)
        handle.write(key)
    return key


def create_app(config: dict[str, Any] | None = None, *, engine: Engine | None = None,
               settings: Settings | None = None) -> Flask:
    """The application: ``settings`` are read from the environment when not given (a bad value
    raises :class:`~engine.settings.SettingsError` naming the variable); ``engine`` is built from
    them when not given."""
    settings = settings or Settings.from_environment()
    app = Flask(__name__, static_folder=None,  # static files: api/assets.py
                instance_path=str(settings.instance_path.resolve()) if settings.instance_path else None)
    app.url_rule_class = rule_class()  # URL builders compiled on first use (api/routing.py)
    app.json = HimayaJSONProvider(app)  # bounded request bodies (400, not 500), ISO 8601 dates in answers
    app.config.update(
        MAX_CONTENT_LENGTH=1024 * 1024,
        API_TITLE="Himaya", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs", OPENAPI_SWAGGER_UI_URL="/api/v1/docs-assets/",
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
    )
    app.config.update(config or {})
    _private_instance(Path(app.instance_path))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(settings.secret_key, app.instance_path)
    if engine is None:
        engine = assemble_engine(Database(settings.database), settings=settings)
        engine.db.check_keys()  # a missing or wrong master key stops the start, with its reason
    app.extensions["himaya"] = engine
    app.extensions["himaya_settings"] = settings
    app.extensions["himaya_assets"] = Assets()
    init_i18n(app)

    api = HimayaApi(app, spec_kwargs={
        "info": {"description": "Himaya — the territorial child-protection pathway. "
                                "Contract: docs/api.md."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    })
    from .schemas import decimal_bounds_as_numbers

    api.ma_plugin.converter.add_attribute_function(decimal_bounds_as_numbers)
    from .rest import (
        action_plans,
        auth,
        cases,
        conventions,
        documents,
        duplicates,
        incidents,
        indicators,
        notifications,
        pathways,
        reports,
        supervision,
        task_views,
        tasks,
        transfers,
        units,
    )

    for module in (auth, cases, duplicates, tasks, supervision, pathways, notifications, incidents, indicators,
                   reports, action_plans, conventions, units, task_views, documents, transfers):
        api.register_blueprint(module.blp)
    from .rest import notes as case_notes  # a case's notes and contacts

    api.register_blueprint(case_notes.blp)
    api.register_blueprint(case_notes.contacts_blp)
    from .rest import referrals  # referrals of a child to partners

    api.register_blueprint(referrals.blp)
    from .rest import admin as administration  # units and users, administered; out of office

    api.register_blueprint(administration.blp)
    api.register_blueprint(administration.away_blp)
    from .rest import categories as case_categories  # the case categories, reference data

    api.register_blueprint(case_categories.blp)
    app.extensions["himaya_api"] = api
    _register_error_handlers(app, api)
    from .web import bp as web_pages
    from .web.admin import bp as admin_pages

    app.register_blueprint(web_pages)
    app.register_blueprint(admin_pages)
    from .web.accounts import bp as account_pages  # units and users administered; my account

    app.register_blueprint(account_pages)
    from .jobs import Jobs

    jobs = Jobs.from_settings(engine, settings)  # a bad HIMAYA_SMTP_URL refuses start-up
    app.extensions["himaya_jobs"] = jobs
    if settings.scheduler:
        scheduler = jobs.scheduler()
        scheduler.start()
        app.extensions["himaya_scheduler"] = scheduler

    @app.get("/api/v1/docs-assets/<path:filename>")
    def docs_assets(filename: str) -> Response:
        """Swagger UI's files from the swagger-ui-bundle package: no CDN, works offline."""
        import swagger_ui_bundle
        from flask import send_from_directory

        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        try:
            with engine.db.reading() as session:
                session.execute(text("SELECT 1"))
            database = "ok"
        except Exception:  # the database is down: say so, never crash
            database = "unreachable"
        body = {"status": "ok" if database == "ok" else "unavailable", "database": database,
                "scheduler": "running" if app.extensions.get("himaya_scheduler") else "off"}
        body.update(scanner_health(settings))  # documents: "scanning off", or whether ClamAV answers
        return jsonify(body), 200 if database == "ok" else 503

    @app.before_request
    def refuse_unstorable_text() -> None:
        """NUL characters and lone surrogates cannot be stored as text: refuse them up front."""
        problem = _unstorable(request.path) or any(_unstorable(v) for v in request.args.values())
        if not problem and request.is_json and request.content_length:
            problem = _unstorable_json(request.get_json(silent=True))
        if problem:
            abort(400, message=_("The request has invalid fields."),
                  errors={"json": [_("Text may not contain NUL characters or invalid Unicode.")]})

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if request.is_secure or app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    return app


def _unstorable_json(value: Any) -> bool:
    if isinstance(value, str):
        return _unstorable(value)
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable_json(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable_json(v) for v in value)
    return False


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _error_page(error: EngineError) -> tuple[str, int]:
    """A refused command or an unseen record on a page, as the error page."""
    messages = {404: _("This page does not exist, or you may not see it."), 403: _("You are not allowed to do this.")}
    message = messages.get(error.status) or translate_message(error.message)
    return render_template("error.html", code=error.status, message=message), error.status


def _register_error_handlers(app: Flask, api: HimayaApi) -> None:
    def shaped(code: int, message: str, errors: Any = None) -> tuple[Response, int]:
        from werkzeug.http import HTTP_STATUS_CODES

        body: dict[str, Any] = {"code": code, "status": HTTP_STATUS_CODES.get(code, ""),
                                "message": translate_message(message)}
        if errors is not None:
            body["errors"] = translate_errors(errors)
        return jsonify(body), code

    @app.errorhandler(EngineError)
    def engine_error(error: EngineError) -> ResponseReturnValue:
        if not request.path.startswith("/api/"):  # a page: the error page (404 says no more than it must)
            return _error_page(error)
        if isinstance(error, ValidationFailed):
            return shaped(400, error.message, {"json": error.errors})
        if isinstance(error, DefinitionInvalid):
            return shaped(422, error.message, error.errors)
        return shaped(error.status, error.message, error.errors)

    @app.errorhandler(ExportUnavailable)
    def export_unavailable(error: ExportUnavailable) -> ResponseReturnValue:
        log.error("PDF export unavailable: %s", error)
        message = _("PDF exports need a Unicode font on the server (fonts-dejavu-core); XLSX works.")
        if request.path.startswith("/api/"):
            return shaped(503, message)
        return render_template("error.html", code=503, message=message), 503

    @app.errorhandler(crypto.SealedValueError)
    @app.errorhandler(crypto.KeyProblem)
    def sealed_unreadable(error: Exception) -> ResponseReturnValue:
        return _unsealable(error)

    @app.errorhandler(StatementError)
    def statement_error(error: StatementError) -> ResponseReturnValue:
        if isinstance(error.orig, (crypto.SealedValueError, crypto.KeyProblem)):
            return _unsealable(error.orig)
        log.error("database statement error: %s", type(error.orig).__name__)
        return shaped(500, _("Internal error."))

    def _unsealable(error: Exception) -> ResponseReturnValue:
        log.error("a sealed value does not open (%s): see `himaya keys check`", type(error).__name__)
        message = _("Part of this file cannot be opened with the data keys (altered, truncated, or a wrong key): "
                    "nothing of it is shown. Tell the administrator, who checks it with `himaya keys check`.")
        if request.path.startswith("/api/"):
            return shaped(503, message)
        return render_template("error.html", code=503, message=message), 503

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_down(error: Exception) -> ResponseReturnValue:
        log.error("database error: %s", type(error).__name__)
        if isinstance(error, OperationalError) or getattr(error, "connection_invalidated", False):
            return shaped(503, _("The database is unavailable; try again shortly."))
        return shaped(500, _("Internal error."))
