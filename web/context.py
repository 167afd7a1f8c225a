"""What every blueprint needs from the app: the engine runtime, the signed-in principal, audited web-only
writes, and the mapping of engine errors to HTTP statuses."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from flask import current_app
from flask_login import current_user
from sqlalchemy.orm import Session

from engine import (
    ConflictError,
    DeployError,
    EngineError,
    FormValidationError,
    InvalidState,
    MessageNotDelivered,
    NotFound,
    PermissionDenied,
    Problem,
    Runtime,
    StartRefused,
    Unit,
    append_audit,
)
from web.accounts.principal import Principal


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["jornada.runtime"]
    return rt


def me() -> Principal:
    """The signed-in principal (pages: flask-login; API: the token's owner)."""
    principal: Principal = current_user._get_current_object()  # type: ignore[attr-defined]
    return principal


def read_session() -> Session:
    """A session for reads; use as a context manager."""
    return runtime().store.session()


def audited_unit() -> contextlib.AbstractContextManager[Unit]:
    """One transaction for a web-only change; write its audit event with ``record`` inside it."""
    return runtime().unit()


def record(unit: Unit, action: str, payload: dict[str, Any], *, actor: str | None = None, **ids: Any) -> None:
    append_audit(unit.session, at=unit.now, actor=actor or me().username, action=action, payload=payload, **ids)


STATUS: list[tuple[type[EngineError], int]] = [
    (NotFound, 404),
    (PermissionDenied, 403),
    (FormValidationError, 422),
    (DeployError, 422),
    (ConflictError, 409),
    (InvalidState, 409),
    (MessageNotDelivered, 422),
    (StartRefused, 422),
]


def status_of(exc: EngineError) -> int:
    return next((code for kind, code in STATUS if isinstance(exc, kind)), 400)


def problems_json(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    """The engine's lint/deploy problems as the JSON answers (API errors, the designer) list them."""
    return [
        {"file": p.file, "element": p.element_id, "line": p.line, "message": p.message, "severity": p.severity}
        for p in problems
    ]
