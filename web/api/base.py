"""The API blueprint, its token rule for changes, and the JSON body as an object (web.api.declare checks it against
the operation's model). A bad value raises ``InvalidInput`` naming every wrong field (422; 400 when the body is
not a JSON object at all) before anything is changed. Engine errors are answered by the app's handler, which
returns JSON under /api/."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from web import payload_limits
from web.accounts.sessions import bearer_token

bp = Blueprint("api", __name__)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@bp.before_request
def changes_need_a_token() -> ResponseReturnValue | None:
    """The blueprint is CSRF-exempt, so a browser session cookie alone may read but never change anything."""
    if request.method in SAFE_METHODS or bearer_token() is not None:
        return None
    message = "changes through the API need an Authorization: Bearer <token> header"
    return jsonify({"error": "Unauthorized", "message": message}), 401


@bp.after_app_request
def allow_on_405(response: Response) -> Response:
    """A 405 under /api/ names the path's methods in ``Allow`` (the JSON error handler builds a new response)."""
    if response.status_code == 405 and request.path.startswith("/api/") and "Allow" not in response.headers:
        adapter = current_app.url_map.bind_to_environ(request.environ)
        response.headers["Allow"] = ", ".join(sorted(adapter.allowed_methods()))
    return response


class InvalidInput(Exception):
    """One message per wrong field; ``status`` is 400 for an unreadable body, 422 for wrong values."""

    def __init__(self, fields: Mapping[str, str], status: int = 422) -> None:
        self.fields, self.status = dict(fields), status
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.fields.items()))


@bp.errorhandler(InvalidInput)
def invalid_input(exc: InvalidInput) -> ResponseReturnValue:
    return jsonify({"error": "InvalidInput", "message": str(exc), "fields": exc.fields}), exc.status


def json_body() -> dict[str, Any]:
    """The request body as a JSON object; an empty body is an empty object."""
    raw = request.get_data(cache=False)
    if not raw.strip():
        return {}
    try:
        value = payload_limits.loads(raw)  # depth, size, NUL/surrogates: 400 naming the field
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput({"body": f"is not valid JSON ({exc})"}, status=400) from None
    if not isinstance(value, dict):
        raise InvalidInput({"body": f"must be a JSON object, not {kind_of(value)}"}, status=400)
    return value


def kind_of(value: Any) -> str:
    """How an error names a JSON value's type."""
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}
    return "null" if value is None else names.get(type(value), "an object")


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
