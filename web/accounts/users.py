"""People, groups and API tokens: every change is audited in its own transaction."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, FromClause, Select, bindparam, delete, exists, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine import AuditAction, InvalidState, NotFound, PermissionDenied, PreparedRead, Runtime, append_audit
from engine.models import core
from web.accounts.principal import Principal
from web.models import ROLES, ApiToken, LoginAttempt, User, UserGroup, max_length

MIN_PASSWORD = 8
# Input limits, declared once by the columns that store the values.
USERNAME_MAX = max_length(User.username)
DISPLAY_NAME_MAX = max_length(User.display_name)
EMAIL_MAX = max_length(User.email)
GROUP_MAX = max_length(UserGroup.group_name)
TOKEN_NAME_MAX = max_length(ApiToken.name)
ADDRESS_MAX = max_length(LoginAttempt.remote_addr)
UNKNOWN_NAMES_FACTOR = 4  # failures with names that are no user, per address: this many times the per-pair limit


class UserError(ValueError):
    """A user operation was refused; the message names the field."""


def _shown(text: str, limit: int = 40) -> str:
    """``text`` as a message quotes it: never longer than ``limit`` characters."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def check_length(field: str, value: str, limit: int) -> str:
    """``value`` when it fits its column, else a UserError naming ``field`` and the limit."""
    if len(value) > limit:
        raise UserError(f"{field}: at most {limit} characters (got {len(value)})")
    return value


def _check_roles(roles: Iterable[str]) -> list[str]:
    found = sorted(set(roles))
    unknown = [r for r in found if r not in ROLES]
    if unknown:
        raise UserError(f"roles: unknown role(s) {', '.join(unknown)}; known: {', '.join(ROLES)}")
    return found


def _check_groups(groups: Iterable[str]) -> list[str]:
    found = sorted({g.strip() for g in groups if g.strip()})
    long = [g for g in found if len(g) > GROUP_MAX]
    if long:
        raise UserError(f"groups: a group name has at most {GROUP_MAX} characters: {', '.join(map(_shown, long))}")
    bad = [g for g in found if not g.replace("_", "").replace("-", "").isalnum()]
    if bad:
        raise UserError(f"groups: {', '.join(map(_shown, bad))} — use letters, digits, '-' and '_'")
    return found


def _check_password(field: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"{field}: at least {MIN_PASSWORD} characters")


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
    username = check_length("username", username.strip(), USERNAME_MAX)
    if not username or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise UserError(f"username: {_shown(username)} — use letters, digits, '.', '-' and '_'")
    check_length("display_name", display_name, DISPLAY_NAME_MAX)
    check_length("email", email, EMAIL_MAX)
    _check_password("password", password)
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
        append_audit(
            u.session,
            at=u.now,
            actor=actor,
            action=AuditAction.USER_CREATED,
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
        if user.active != active:  # deactivation ends every session; a reactivation does not revive old ones
            user.session_generation += 1
        user.roles, user.active = ",".join(role_list), active
        u.session.execute(delete(UserGroup).where(UserGroup.user_id == user_id))
        u.session.add_all(UserGroup(user_id=user_id, group_name=g) for g in group_list)
        append_audit(
            u.session,
            at=u.now,
            actor=actor,
            action=AuditAction.USER_ACCESS_CHANGED,
            payload={"user": user.username, "before": before, "after": after},
        )


def set_language(rt: Runtime, user_id: int, language: str | None, *, actor: str) -> None:
    with rt.unit() as u:
        user = u.session.get(User, user_id)
        if user is None:
            raise UserError(f"user {user_id} does not exist")
        before, user.language = user.language, language
        append_audit(
            u.session,
            at=u.now,
            actor=actor,
            action=AuditAction.USER_LANGUAGE_CHANGED,
            payload={"user": user.username, "before": before, "after": language},
        )


def create_token(rt: Runtime, user_id: int, name: str, *, actor: str) -> str:
    """A new bearer token for ``user_id``; the plain token is returned once and never stored."""
    name = check_length("name", name.strip(), TOKEN_NAME_MAX)
    if not name:
        raise UserError("name: give the token a name")
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
        append_audit(
            u.session,
            at=u.now,
            actor=actor,
            action=AuditAction.API_TOKEN_CREATED,
            payload={"user": user.username, "name": name},
        )
    return token


def change_password(rt: Runtime, user_id: int, current: str, new: str, *, actor: str) -> int:
    """Set a new password after checking the current one; every session of the user ends (the new session
    generation is returned, for the session that made the change to carry on)."""
    _check_password("new_password", new)
    with rt.unit() as u:
        user = u.session.get(User, user_id)
        if user is None:
            raise UserError(f"user {user_id} does not exist")
        if not check_password_hash(user.password_hash, current):
            raise UserError("current_password: this is not your current password")
        user.password_hash = generate_password_hash(new)
        user.session_generation += 1
        append_audit(
            u.session, at=u.now, actor=actor, action=AuditAction.USER_PASSWORD_CHANGED, payload={"user": user.username}
        )
        return user.session_generation


def end_sessions(rt: Runtime, user_id: int, *, actor: str) -> None:
    """Sign the user out everywhere: every session cookie issued before now stops working."""
    with rt.unit() as u:
        user = u.session.get(User, user_id)
        if user is None:
            return
        user.session_generation += 1
        append_audit(
            u.session, at=u.now, actor=actor, action=AuditAction.USER_SIGNED_OUT, payload={"user": user.username}
        )


# -- API tokens --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenInfo:
    """What may be shown of a token: never the token itself."""

    id: int
    user_id: int
    username: str
    name: str
    created_at: datetime
    revoked_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.username,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


_TOKEN_INFO = select(
    ApiToken.id, ApiToken.user_id, User.username, ApiToken.name, ApiToken.created_at, ApiToken.revoked_at
).join(User, User.id == ApiToken.user_id)


def list_tokens(session: Session, *, user_id: int | None = None) -> list[TokenInfo]:
    """The tokens of ``user_id`` (else of everyone), by user name then newest first."""
    query = _TOKEN_INFO if user_id is None else _TOKEN_INFO.where(ApiToken.user_id == user_id)
    rows = session.execute(query.order_by(User.username, ApiToken.created_at.desc(), ApiToken.id.desc()))
    return [TokenInfo(*row) for row in rows]


def user_id_of(session: Session, username: str) -> int | None:
    found: int | None = session.execute(select(User.id).where(User.username == username)).scalar_one_or_none()
    return found


def revoke_token(rt: Runtime, token_id: int, *, actor: str, owner_id: int | None = None) -> TokenInfo:
    """Revoke a token (only one of ``owner_id``'s when given): it stops working at once; audited."""
    with rt.unit() as u:
        row = u.session.execute(_TOKEN_INFO.where(ApiToken.id == token_id)).one_or_none()
        if row is None:
            raise NotFound(f"API token {token_id} does not exist")
        found = TokenInfo(*row)
        if owner_id is not None and found.user_id != owner_id:
            raise PermissionDenied(f"API token {token_id} is not yours")
        if found.revoked_at is not None:
            raise InvalidState(f"API token {token_id} was already revoked at {found.revoked_at:%Y-%m-%d %H:%M} UTC")
        token = u.session.get(ApiToken, token_id)
        assert token is not None
        token.revoked_at = u.now
        append_audit(
            u.session,
            at=u.now,
            actor=actor,
            action=AuditAction.API_TOKEN_REVOKED,
            payload={"user": found.username, "name": found.name, "token_id": token_id},
        )
        return TokenInfo(found.id, found.user_id, found.username, found.name, found.created_at, u.now)


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
            _users.c.session_generation,
            func.aggregate_strings(_groups.c.group_name, ","),
        )
        .select_from(source.outerjoin(_groups))
        .where(_users.c.active.is_(True))
        .group_by(_users.c.id)
    )


# by id: every page request (the session cookie); by the sha256 of an API token: every API request
_BY_ID = PreparedRead(_principal_query(_users).where(_users.c.id == bindparam("user_id")))
_BY_TOKEN = PreparedRead(
    _principal_query(_users.join(_tokens, _tokens.c.user_id == _users.c.id)).where(
        _tokens.c.token_sha256 == bindparam("digest"), _tokens.c.revoked_at.is_(None)
    )
)


def _principal(row: Sequence[Any] | None) -> Principal | None:
    if row is None:
        return None
    user_id, username, display_name, roles, language, generation, groups = row
    return Principal(
        id=user_id,
        username=username,
        display_name=display_name or username,
        roles=frozenset(r for r in roles.split(",") if r),
        groups=frozenset(g for g in (groups or "").split(",") if g),
        language=language,
        session_generation=generation,
    )


def load_principal(conn: Connection | Session, user_id: int) -> Principal | None:
    """The active user ``user_id``, else None, read in the caller's transaction."""
    return _principal(conn.execute(_BY_ID.statement, {"user_id": user_id}).one_or_none())


def principal_by_id(rt: Runtime, user_id: int) -> Principal | None:
    """The active user ``user_id``, else None: read on every page request (one statement, engine.PreparedRead)."""
    return _principal(rt.store.read_one(_BY_ID, {"user_id": user_id}))


def principal_for_token(rt: Runtime, token: str) -> Principal | None:
    """The active owner of an unrevoked API token, else None: read on every API request, so a revoked token or a
    deactivated owner is refused at once (one statement, engine.PreparedRead)."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    return _principal(rt.store.read_one(_BY_TOKEN, {"digest": digest}))


class LoginResult:
    def __init__(self, principal: Principal | None, locked_until: datetime | None = None) -> None:
        self.principal, self.locked_until = principal, locked_until


@cache
def _decoy_hash() -> str:
    """Checked against when the user name is unknown, so an unknown name costs the same time as a wrong password."""
    return generate_password_hash(secrets.token_hex(16))


def _failures(session: Session, since: datetime, *conditions: Any) -> tuple[int, datetime | None]:
    count, first = session.execute(
        select(func.count(), func.min(LoginAttempt.at)).where(LoginAttempt.at > since, *conditions)
    ).one()
    return int(count), first


def authenticate(
    rt: Runtime,
    username: str,
    password: str,
    *,
    remote_addr: str,
    max_failures: int,
    window: timedelta,
) -> LoginResult:
    """Check a password; success and failure are both audited.

    Throttled so that nobody can lock anyone else out: ``max_failures`` failed attempts in ``window`` for a
    (user name, address) pair lock that pair only, so the person signs in from any other address meanwhile; and
    failures with names that are no user, per address (``UNKNOWN_NAMES_FACTOR`` × ``max_failures``), lock out
    guessing of names from that address, never a real user's right password."""
    check_length("username", username, USERNAME_MAX)
    remote_addr = remote_addr[:ADDRESS_MAX]
    with rt.unit() as u:
        since = u.now - window
        user = u.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        pair, pair_first = _failures(
            u.session, since, LoginAttempt.username == username, LoginAttempt.remote_addr == remote_addr
        )
        no_user = ~exists().where(User.username == LoginAttempt.username)
        scan, scan_first = _failures(u.session, since, LoginAttempt.remote_addr == remote_addr, no_user)
        scanning = scan >= UNKNOWN_NAMES_FACTOR * max_failures
        if pair >= max_failures or (user is None and scanning):
            first = pair_first if pair >= max_failures else scan_first
            assert first is not None
            append_audit(
                u.session,
                at=u.now,
                actor=username or "anonymous",
                action=AuditAction.LOGIN_LOCKED,
                payload={"user": username, "remote_addr": remote_addr, "failures": max(pair, scan)},
            )
            return LoginResult(None, locked_until=first + window)
        if user is None or not user.active:
            check_password_hash(_decoy_hash(), password)
            ok = False
        else:
            ok = check_password_hash(user.password_hash, password)
        append_audit(
            u.session,
            at=u.now,
            actor=username or "anonymous",
            action=AuditAction.LOGIN_SUCCEEDED if ok else AuditAction.LOGIN_FAILED,
            payload={"user": username, "remote_addr": remote_addr},
        )
        if not ok:
            u.session.add(LoginAttempt(username=username, remote_addr=remote_addr, at=u.now))
            if scanning and scan_first is not None:  # answered like an unknown name, so the answer tells no names
                return LoginResult(None, locked_until=scan_first + window)
            return LoginResult(None)
        assert user is not None
        u.session.execute(
            delete(LoginAttempt).where(LoginAttempt.username == username, LoginAttempt.remote_addr == remote_addr)
        )
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
    """Groups known anywhere: members' groups and the candidate groups of tasks (of every task ever: one index
    probe per group name, not a read of the whole membership history)."""
    from engine.models import HumanTaskGroup
    from web.inbox.names import distinct_names

    names = set(distinct_names(session, UserGroup.group_name))
    names |= set(distinct_names(session, HumanTaskGroup.group_name))
    return sorted(names)
