"""Jornada's web app: ``create_app(config)`` builds it; one blueprint per screen, server-rendered pages, the
REST API under /api/v1. The engine runtime is built here (or injected by tests) and shared by every request."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template, request, send_from_directory
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_decimal, get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from engine import (
    OPEN_STATUSES,
    OPEN_TASK_STATES,
    EngineError,
    InstanceStatus,
    Runtime,
    TaskState,
    load_config,
    secret_key,
)
from web.extensions import babel, csrf, login_manager
from web.i18n import LANGUAGES, ROLE_LABELS, select_locale
from web.params import BoundedInt

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY_BYTES = 5 * 1024 * 1024  # a bigger request body is refused whole (413)
SECURITY_HEADERS = (  # on every response, unless the view set the header itself
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "font-src 'self' data:; object-src 'none'; frame-ancestors 'none'",
    ),
)


def _build_runtime(config: dict[str, Any]) -> Runtime:
    from engine import build_runtime

    return build_runtime(config)


def create_app(config: Mapping[str, Any] | None = None, *, runtime: Runtime | None = None) -> Flask:
    """The app for ``config`` (a mapping of overrides on top of config.toml and JORNADA_* variables)."""
    settings = load_config(config)
    app = Flask(__name__)
    app.url_map.converters["int"] = BoundedInt  # before any rule: an id no id column holds matches no route (404)
    app.config.update(
        JORNADA=settings,
        SECRET_KEY=secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings["web"]["cookie_secure"]),
        REMEMBER_COOKIE_SECURE=bool(settings["web"]["cookie_secure"]),
        REMEMBER_COOKIE_HTTPONLY=True,
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).resolve().parent / "translations"),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
    )
    app.extensions["jornada.runtime"] = runtime or _build_runtime(settings)
    from web.accounts.sessions import SessionInterface

    app.session_interface = SessionInterface()  # no cookie session for token API calls (web.accounts.sessions)
    from web import ops

    ops.init_app(app)  # /healthz, /metrics, a log line and a latency per request: hooks before everyone else's

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    _register_blueprints(app)
    _register_hooks(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from web import api, audit, designer, imports, instances, kpis
    from web.accounts import admin, auth
    from web.inbox import views as inbox
    from web.tasks import views as tasks

    app.register_blueprint(auth.bp)
    app.register_blueprint(inbox.bp, url_prefix="/inbox")
    app.register_blueprint(tasks.bp, url_prefix="/tasks")
    app.register_blueprint(designer.bp, url_prefix="/designer")
    app.register_blueprint(instances.bp, url_prefix="/instances")
    app.register_blueprint(audit.bp, url_prefix="/audit")
    app.register_blueprint(kpis.bp, url_prefix="/kpis")
    from web.customers import dashboard

    app.register_blueprint(dashboard.bp, url_prefix="/cs")
    from web import customers

    app.register_blueprint(customers.bp, url_prefix="/customers")
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(imports.bp, url_prefix="/imports")
    from web.customers import surveys

    app.register_blueprint(surveys.bp)  # the public survey page: /survey/<token>, no sign-in
    from web import migrations_page

    app.register_blueprint(migrations_page.bp, url_prefix="/migrations")  # instances to another version
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    csrf.exempt(api.bp)


def _register_hooks(app: Flask) -> None:
    from web import payload_limits, vocabulary
    from web.accounts import permissions, users
    from web.context import problems_json, runtime, status_of
    from web.customers import labels as cs_labels

    # flask-login calls one of these at most once per request and keeps the result.
    @login_manager.user_loader
    def load_user(user_id: str) -> users.Principal | None:
        return users.principal_by_id(runtime(), int(user_id))

    # the nav shows the screens the permissions open
    app.jinja_env.globals.update(
        languages=LANGUAGES,
        role_labels=ROLE_LABELS,
        stage_labels=cs_labels.STAGE_LABELS,
        band_labels=cs_labels.BAND_LABELS,
        permissions=permissions,
        view_functions=app.view_functions,
        # the engine's vocabulary, so templates compare with members and show labels (web.vocabulary)
        TaskState=TaskState,
        InstanceStatus=InstanceStatus,
        OPEN_TASK_STATES=OPEN_TASK_STATES,
        OPEN_STATUSES=OPEN_STATUSES,
        status_label=vocabulary.status_label,
        task_state_label=vocabulary.task_state_label,
        action_label=vocabulary.action_label,
    )
    from web.model_text import translate as model_text  # process, task, field and option names of the models

    app.jinja_env.filters.update(format_date=format_date, format_decimal=format_decimal, model_text=model_text)

    @app.context_processor
    def globals_for_templates() -> dict[str, Any]:
        return {"locale": str(get_locale())}  # Babel's choice for this request (select_locale), kept by Babel

    @app.after_request
    def security_headers(response: Response) -> Response:
        """Each header of SECURITY_HEADERS a view did not set itself (one pass over the response's headers)."""
        headers = response.headers
        present = set(headers.keys(lower=True))
        for name, value in SECURITY_HEADERS:
            if name.lower() not in present:
                headers.add(name, value)
        return response

    # NUL characters and lone surrogates anywhere, JSON too deep or too big: 400 naming the field, before any view
    app.before_request(payload_limits.check_request)

    @app.get("/favicon.ico")
    def favicon() -> ResponseReturnValue:
        return send_from_directory(STATIC, "favicon.svg", mimetype="image/svg+xml")

    def wants_json() -> bool:
        return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"

    @app.errorhandler(EngineError)
    def engine_error(exc: EngineError) -> ResponseReturnValue:
        code = status_of(exc)
        if wants_json():
            body: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
            if hasattr(exc, "errors"):
                body["fields"] = {e.field: e.message for e in exc.errors}
            if hasattr(exc, "problems"):
                body["problems"] = problems_json(exc.problems)
            return jsonify(body), code
        return render_template("errors/error.html", code=code, message=str(exc)), code

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        if isinstance(exc, RequestEntityTooLarge):
            limit = (app.config["MAX_CONTENT_LENGTH"] or 0) // (1024 * 1024)
            exc.description = _("The request is larger than the limit of %(mb)d MB.", mb=limit)
        if wants_json():
            body: dict[str, Any] = {"error": exc.name, "message": exc.description}
            fields = getattr(exc, "fields", None)  # the field(s) a refusal names (web.params, web.payload_limits)
            if fields:
                body["fields"] = fields
            return jsonify(body), code
        return render_template("errors/error.html", code=code, message=exc.description), code
