"""Who may open what: one decorator, checked on pages and API alike."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, request
from flask_login import current_user

from web.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])

# Screens and the roles that open them. Auditors read, never change (they hold no *_write permission).
READ_INSTANCES = ("lead", "admin", "auditor")
WORK_TASKS = ("staff", "lead", "admin")
LEADS = ("lead", "admin")
DESIGN = ("designer", "admin")
AUDIT = ("auditor", "admin")
KPIS = ("lead", "admin", "auditor")
ADMIN = ("admin",)


def requires(*roles: str) -> Callable[[F], F]:
    """Signed in and holding one of ``roles``: else 401 (login redirect for pages) or 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if request.path.startswith("/api/"):
                    abort(401)
                return login_manager.unauthorized()
            if not current_user.has(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate
