"""The API blueprint and how it reads requests: the JSON body and query parameters, checked field by field.

A bad value raises ``InvalidInput`` naming every wrong field (422; 400 when the body is not a JSON object at all)
before anything is changed. Engine errors are answered by the app's handler, which returns JSON under /api/."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

bp = Blueprint("api", __name__)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@bp.before_request
def changes_need_a_token() -> ResponseReturnValue | None:
    """The blueprint is CSRF-exempt, so a browser session cookie alone may read but never change anything."""
    if request.method in SAFE_METHODS or request.headers.get("Authorization", "").startswith("Bearer "):
        return None
    message = "changes through the API need an Authorization: Bearer <token> header"
    return jsonify({"error": "Unauthorized", "message": message}), 401


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
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput({"body": f"is not valid JSON ({exc})"}, status=400) from None
    if not isinstance(value, dict):
        raise InvalidInput({"body": f"must be a JSON object, not {_kind(value)}"}, status=400)
    return value


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}
    return "null" if value is None else names.get(type(value), "an object")


FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": False}


class Reader:
    """Reads named values from a JSON object or the query string, collecting one error per wrong field."""

    def __init__(self, values: Mapping[str, Any], known: Collection[str]) -> None:
        self.values = values
        self.errors: dict[str, str] = {name: "is not a known field" for name in values if name not in known}

    def text(self, name: str, *, required: bool = False, max_length: int = 200) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                self.errors[name] = "is required"
            return None
        if not isinstance(value, str):
            self.errors[name] = f"must be a string, not {_kind(value)}"
            return None
        if len(value) > max_length:
            self.errors[name] = f"must be at most {max_length} characters"
            return None
        return value

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.values.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.errors[name] = f"must be a JSON object, not {_kind(value)}"
            return {}
        return value

    def choice(self, name: str, choices: Collection[str], default: str) -> str:
        value = self.values.get(name) or default
        if value not in choices:
            self.errors[name] = f"must be one of {', '.join(choices)}"
            return default
        return str(value)

    def integer(self, name: str, *, default: int, low: int, high: int) -> int:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            self.errors[name] = "must be a whole number"
            return default
        if not low <= number <= high:
            self.errors[name] = f"must be between {low} and {high}"
            return default
        return number

    def whole(self, name: str, *, required: bool = False) -> int | None:
        """A JSON whole number (not a string, not a boolean)."""
        value = self.values.get(name)
        if value is None:
            if required:
                self.errors[name] = "is required"
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors[name] = "must be a whole number"
            return None
        return value

    def flag(self, name: str) -> bool:
        """true/false (also 1/0, yes/no; blank or absent is false), as a query string gives it."""
        value = str(self.values.get(name, "")).lower()
        if value not in FLAGS:
            self.errors[name] = "must be true or false"
            return False
        return FLAGS[value]

    def day(self, name: str, *, required: bool = False) -> date | None:
        """A date, YYYY-MM-DD."""
        value = self.text(name, required=required, max_length=10)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.errors[name] = "must be a date (YYYY-MM-DD)"
            return None

    def moment(self, name: str, *, end_of_day: bool = False) -> datetime | None:
        """An ISO 8601 date or date-time (UTC when no offset is given). A bare date is its first instant, or with
        ``end_of_day`` the first instant of the next day (for exclusive upper bounds)."""
        value = self.values.get(name)
        if not value:
            return None
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                return datetime.combine(day + timedelta(days=1 if end_of_day else 0), time(), UTC)
            found = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            self.errors[name] = "must be an ISO 8601 date (YYYY-MM-DD) or date-time"
            return None
        return found.replace(tzinfo=UTC) if found.tzinfo is None else found

    def done(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
