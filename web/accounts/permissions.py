"""Who may open what: one decorator, checked on pages and API alike."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, request
from flask_login import current_user
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from engine import OPEN_TASK_STATES, PermissionDenied
from engine.models import HumanTask, HumanTaskGroup
from web.accounts.principal import Principal
from web.extensions import login_manager
from web.models import ROLES

F = TypeVar("F", bound=Callable[..., Any])

# Screens and the roles that open them. Auditors read, never change (they hold no *_write permission).
READ_INSTANCES = ("lead", "admin", "auditor")
WORK_TASKS = ("staff", "lead", "admin")
LEADS = ("lead", "admin")
DESIGN = ("designer", "admin")
AUDIT = ("auditor", "admin")
KPIS = ("lead", "admin", "auditor")
ADMIN = ("admin",)
EVERYONE = ROLES  # any signed-in person (their own things: profile, their API tokens)


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


def check_instance_read(session: Session, principal: Principal, instance_id: str, started_by: str) -> None:
    """Who may read one process instance: the readers of all instances (READ_INSTANCES), the person or service
    account that started it, and task workers who can act on one of its open tasks (assigned to them, or in one
    of their groups). Anyone else: PermissionDenied (403)."""
    if principal.has(*READ_INSTANCES) or started_by == principal.username:
        return
    if principal.has(*WORK_TASKS) and _works_on(session, principal, instance_id):
        return
    raise PermissionDenied(
        f"process instance {instance_id}: only its starter, staff of its open tasks' groups, leads, admins and "
        "auditors may read it"
    )


def _works_on(session: Session, principal: Principal, instance_id: str) -> bool:
    in_my_groups = exists().where(
        HumanTaskGroup.human_task_id == HumanTask.id, HumanTaskGroup.group_name.in_(sorted(principal.groups))
    )
    query = select(HumanTask.id).where(
        HumanTask.instance_id == instance_id,
        HumanTask.state.in_(OPEN_TASK_STATES),
        or_(HumanTask.assignee == principal.username, in_my_groups),
    )
    return session.execute(query.limit(1)).first() is not None
