"""Operations endpoints and per-request instrumentation: ``/healthz`` (the engine's readiness check), ``/metrics``
(Prometheus, the engine's metrics), one structured log line and one latency observation per request, the request id,
and ``web.proxy_hops`` (werkzeug's ProxyFix) so the client's address is right behind a reverse proxy.

/metrics answers a scrape from the loopback address, or, when ``web.metrics_token`` is set, a scrape from anywhere
that sends the token as the password of HTTP Basic authentication (Prometheus: ``basic_auth``; a Bearer header is
the API's). /healthz is public: it says only ok/error, the migration state and the heartbeat's age.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, Histogram
from werkzeug.middleware.proxy_fix import ProxyFix

from engine import check_readiness, configure_logging, metrics_exposition, metrics_multiprocess_dir, multi_node_warnings
from web.context import runtime

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)
log_requests = logging.getLogger("jornada.request")

REQUEST_SECONDS = Histogram(
    "jornada_http_request_duration_seconds",
    "Web request latency, by route rule, method and status class",
    ["route", "method", "status"],
)
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
SECRET_ARGS = frozenset({"token"})  # view arguments that are credentials (the public survey link's token)
LOOPBACK = frozenset({"127.0.0.1", "::1"})
UNMATCHED = "<unmatched>"
_LATENCY_CHILDREN: dict[tuple[str, str, int], Any] = {}  # (route, method, status class) -> histogram child


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    rt = runtime()
    state = check_readiness(rt.store, rt.clock, current_app.config["JORNADA"])
    response = jsonify(state.json())
    response.status_code = 200 if state.healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
def prometheus_metrics() -> ResponseReturnValue:
    refusal = _metrics_refusal()
    if refusal is not None:
        return refusal
    rt = runtime()
    return Response(metrics_exposition(rt.store, rt.clock), mimetype=CONTENT_TYPE_LATEST)


def _metrics_refusal() -> ResponseReturnValue | None:
    token = str(current_app.config["JORNADA"]["web"]["metrics_token"])
    if not token:
        if request.remote_addr in LOOPBACK:
            return None
        message = "/metrics answers the loopback address only; set web.metrics_token to scrape from elsewhere"
        return jsonify({"error": "Forbidden", "message": message}), 403
    sent = request.authorization.password if request.authorization is not None else None
    if sent is not None and hmac.compare_digest(sent.encode(), token.encode()):
        return None
    message = "/metrics needs the metrics token as the password of HTTP Basic authentication"
    response = jsonify({"error": "Unauthorized", "message": message})
    response.headers["WWW-Authenticate"] = 'Basic realm="metrics"'
    return response, 401


def _start() -> None:
    g.request_started = time.perf_counter()
    sent = request.headers.get("X-Request-ID", "")
    g.request_id = sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex


def logged_path() -> str:
    """The path without its query string, with credentials in it replaced by the argument's name; a path no route
    matched is cut to its first segment (it may be a mistyped link carrying a credential)."""
    if request.url_rule is None:
        first = request.path.split("/", 2)[1] if request.path.count("/") else ""
        return f"/{first}/…" if request.path.rstrip("/") != f"/{first}" else request.path
    path = request.path
    for name, value in (request.view_args or {}).items():
        if name in SECRET_ARGS and value:
            path = path.replace(f"/{value}", f"/<{name}>")
    return path


def _user_id() -> int | None:
    """The signed-in user's id if the request already loaded it (never loads it: no query for this line)."""
    user: Any = g.get("_login_user")
    return user.id if getattr(user, "is_authenticated", False) and hasattr(user, "id") else None


def _latency(route: str, method: str, status: int) -> Any:
    """The histogram's child for one (route, method, status class), looked up once: ``labels()`` takes a lock and
    builds its key on every call, and a worker serves few distinct combinations."""
    key = (route, method, status // 100)
    child = _LATENCY_CHILDREN.get(key)
    if child is None:
        child = _LATENCY_CHILDREN[key] = REQUEST_SECONDS.labels(route=route, method=method, status=f"{key[2]}xx")
    return child


def _finish(response: Response) -> Response:
    started = g.get("request_started")
    if started is None:  # a response made before our before_request ran (another hook answered first)
        return response
    seconds = time.perf_counter() - started
    rule, method, request_id = request.url_rule, request.method, g.request_id
    route = rule.rule if rule is not None else UNMATCHED
    _latency(route, method, response.status_code).observe(seconds)
    response.headers["X-Request-ID"] = request_id
    if log_requests.isEnabledFor(logging.INFO):  # the line's fields are built only when it is written
        fields = {
            "method": method,
            "path": logged_path(),
            "route": route,
            "status": response.status_code,
            "ms": round(seconds * 1000, 1),
            "user": _user_id(),
            "request_id": request_id,
        }
        log_requests.info("request", extra={"fields": fields})
    return response


def init_app(app: Flask) -> None:
    """Register the endpoints and the hooks; call before the other blueprints' hooks so the timing covers them."""
    hops = int(app.config["JORNADA"]["web"]["proxy_hops"])
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)  # after_request hooks run last-registered first: register ours before the others
    app.register_blueprint(bp)


def gunicorn_options(config: dict[str, Any]) -> dict[str, Any]:
    """What ``jornada serve`` adds to gunicorn's settings: our structured lines instead of gunicorn's access log
    (which writes query strings), the log format in the master and every worker, and in Prometheus multiprocess
    mode a clean samples directory at start and the samples of a dead worker's gauges dropped."""

    def on_starting(_server: Any) -> None:
        configure_logging(config)
        for warning in multi_node_warnings(config):
            log.warning(warning)
        directory = metrics_multiprocess_dir()
        if directory:
            mine = f"_{os.getpid()}.db"  # the master's own samples (its scheduler's), opened at import: kept
            for stale in Path(directory).glob("*.db"):
                if not stale.name.endswith(mine):
                    stale.unlink()

    def post_worker_init(_worker: Any) -> None:
        configure_logging(config)

    def child_exit(_server: Any, worker: Any) -> None:
        if metrics_multiprocess_dir():
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]

    return {
        "accesslog": None,
        "on_starting": on_starting,
        "post_worker_init": post_worker_init,
        "child_exit": child_exit,
    }
