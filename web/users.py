"""People, groups and API tokens: every change is audited in its own transaction."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, FromClause, Row, Select, bindparam, delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine import audit
from engine.models import core
from engine.runtime import Runtime
from web.models import ROLES, ApiToken, LoginAttempt, User, UserGroup
from web.principal import Principal

MIN_PASSWORD = 8


class UserError(ValueError):
    """A user operation was refused; the message names the field."""


def _check_roles(roles: Iterable[str]) -> list[str]:
    found = sorted(set(roles))
    unknown = [r for r in found if r not in ROLES]
    if unknown:
        raise UserError(f"roles: unknown role(s) {', '.join(unknown)}; known: {', '.join(ROLES)}")
    return found


def _check_groups(groups: Iterable[str]) -> list[str]:
    found = sorted({g.strip() for g in groups if g.strip()})
    bad = [g for g in found if not g.replace("_", "").replace("-", "").isalnum()]
    if bad:
        raise UserError(f"groups: {', '.join(bad)} — use letters, digits, '-' and '_'")
    return found


def add_user(
    rt: Runtime,
    username: str,
    password: str,
    *,
    roles: Iterable[str],
    groups: Iterable[str] = (),
    display_name: str = "",
    email: str = "",
    actor: str,
) -> int:
    username = username.strip()
    if not username or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise UserError(f"username: {username!r} — use letters, digits, '.', '-' and '_'")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    role_list, group_list = _check_roles(roles), _check_groups(groups)
    with rt.unit() as u:
        if u.session.execute(select(User.id).where(User.username == username)).first():
            raise UserError(f"username: {username!r} already exists")
        user = User(
            username=username,
            display_name=display_name,
            email=email,
            password_hash=generate_password_hash(password),
            roles=",".join(role_list),
            created_at=u.now,
        )
        u.session.add(user)
        u.session.flush()
        u.session.add_all(UserGroup(user_id=user.id, group_name=g) for g in group_list)
        audit.append(
            u.session,
            at=u.now,
            actor=actor,
            action="user_created",
            payload={"user": username, "after": {"roles": role_list, "groups": group_list}},
        )
        return user.id


def update_access(
    rt: Runtime,
    user_id: int,
    *,
    roles: Iterable[str],
    groups: Iterable[str],
    active: bool,
    actor: str,
) -> None:
    """Set a user's roles, groups and active flag; audited with before/after values."""
    role_list, group_list = _check_roles(roles), _check_groups(groups)
    with rt.unit() as u:
        user = u.session.get(User, user_id)
        if user is None:
            raise UserError(f"user {user_id} does not exist")
        before_groups = sorted(
            u.session.execute(select(UserGroup.group_name).where(UserGroup.user_id == user_id)).scalars()
        )
        before = {"roles": sorted(user.role_set), "groups": before_groups, "active": user.active}
        after = {"roles": role_list, "groups": group_list, "active": active}
        if before == after:
            return
        if "admin" in user.role_set and ("admin" not in role_list or not active):
            admins = u.session.execute(
                select(func.count()).select_from(User).where(User.roles.contains("admin"), User.active.is_(True))
            ).scalar_one()
            if admins <= 1:
                raise UserError("roles: this is the last active admin; make another admin first")
        user.roles, user.active = ",".join(role_list), active
        u.session.execute(delete(UserGroup).where(UserGroup.user_id == user_id))
        u.session.add_all(UserGroup(user_id=user_id, group_name=g) for g in group_list)
        audit.append(
            u.session,
            at=u.now,
            actor=actor,
            action="user_access_changed",
            payload={"user": user.username, "before": before, "after": after},
        )


def set_language(rt: Runtime, user_id: int, language: str | None, *, actor: str) -> None:
    with rt.unit() as u:
        user = u.session.get(User, user_id)
        if user is None:
            raise UserError(f"user {user_id} does not exist")
        before, user.language = user.language, language
        audit.append(
            u.session,
            at=u.now,
            actor=actor,
            action="user_language_changed",
            payload={"user": user.username, "before": before, "after": language},
        )


def create_token(rt: Runtime, user_id: int, name: str, *, actor: str) -> str:
    """A new bearer token for ``user_id``; the plain token is returned once and never stored."""
    token = "jt_" + secrets.token_urlsafe(32)
    with rt.unit() as u:
        user = u.session.get(User, user_id)
        if user is None:
            raise UserError(f"user {user_id} does not exist")
        u.session.add(
            ApiToken(
                user_id=user_id, name=name, token_sha256=hashlib.sha256(token.encode()).hexdigest(), created_at=u.now
            )
        )
        audit.append(
            u.session, at=u.now, actor=actor, action="api_token_created", payload={"user": user.username, "name": name}
        )
    return token


_users, _groups, _tokens = core(User), core(UserGroup), core(ApiToken)


def _principal_query(source: FromClause) -> Select[*tuple[Any, ...]]:
    """An active user and their groups in one indexed query (built once, at import)."""
    return (
        select(
            _users.c.id,
            _users.c.username,
            _users.c.display_name,
            _users.c.roles,
            _users.c.language,
            func.aggregate_strings(_groups.c.group_name, ","),
        )
        .select_from(source.outerjoin(_groups))
        .where(_users.c.active.is_(True))
        .group_by(_users.c.id)
    )


# by id: every page request (the session cookie); by the sha256 of an API token: every API request
_BY_ID = _principal_query(_users).where(_users.c.id == bindparam("user_id"))
_BY_TOKEN = _principal_query(_users.join(_tokens, _tokens.c.user_id == _users.c.id)).where(
    _tokens.c.token_sha256 == bindparam("digest"), _tokens.c.revoked_at.is_(None)
)


def _principal(row: Row[*tuple[Any, ...]] | None) -> Principal | None:
    if row is None:
        return None
    user_id, username, display_name, roles, language, groups = row
    return Principal(
        id=user_id,
        username=username,
        display_name=display_name or username,
        roles=frozenset(r for r in roles.split(",") if r),
        groups=frozenset(g for g in (groups or "").split(",") if g),
        language=language,
    )


def load_principal(conn: Connection | Session, user_id: int) -> Principal | None:
    """The active user ``user_id``, else None."""
    return _principal(conn.execute(_BY_ID, {"user_id": user_id}).one_or_none())


def principal_for_token(conn: Connection, token: str) -> Principal | None:
    """The active owner of an unrevoked API token, else None."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    return _principal(conn.execute(_BY_TOKEN, {"digest": digest}).one_or_none())


class LoginResult:
    def __init__(self, principal: Principal | None, locked_until: datetime | None = None) -> None:
        self.principal, self.locked_until = principal, locked_until


def authenticate(
    rt: Runtime,
    username: str,
    password: str,
    *,
    remote_addr: str,
    max_failures: int,
    window: timedelta,
) -> LoginResult:
    """Check a password, rate-limited per user name and per address; success and failure are both audited."""
    with rt.unit() as u:
        since = u.now - window
        by_name = u.session.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                LoginAttempt.username == username, LoginAttempt.at > since
            )
        ).one()
        by_addr = u.session.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                LoginAttempt.remote_addr == remote_addr, LoginAttempt.at > since
            )
        ).one()
        for count, first, limit in ((by_name[0], by_name[1], max_failures), (by_addr[0], by_addr[1], 4 * max_failures)):
            if count >= limit:
                audit.append(
                    u.session,
                    at=u.now,
                    actor=username or "anonymous",
                    action="login_locked",
                    payload={"user": username, "remote_addr": remote_addr, "failures": count},
                )
                return LoginResult(None, locked_until=first + window)
        user = u.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        ok = user is not None and user.active and check_password_hash(user.password_hash, password)
        if not ok:
            u.session.add(LoginAttempt(username=username, remote_addr=remote_addr, at=u.now))
        audit.append(
            u.session,
            at=u.now,
            actor=username or "anonymous",
            action="login_succeeded" if ok else "login_failed",
            payload={"user": username, "remote_addr": remote_addr},
        )
        if not ok:
            return LoginResult(None)
        assert user is not None
        u.session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
        return LoginResult(load_principal(u.session, user.id))


def memberships(session: Session) -> dict[int, list[str]]:
    """Each user's groups (by user id, sorted), in one query."""
    found: dict[int, list[str]] = {}
    for user_id, group in session.execute(
        select(UserGroup.user_id, UserGroup.group_name).order_by(UserGroup.user_id, UserGroup.group_name)
    ):
        found.setdefault(user_id, []).append(group)
    return found


def all_groups(session: Session) -> list[str]:
    """Groups known anywhere: members' groups and the candidate groups of tasks."""
    from engine.models import HumanTaskGroup

    names = set(session.execute(select(UserGroup.group_name).distinct()).scalars())
    names |= set(session.execute(select(HumanTaskGroup.group_name).distinct()).scalars())
    return sorted(names)
