"""Who a request comes from, settled before any view runs.

- ``Authorization: Bearer <token>``: the token's owner, whatever session cookie comes along; a token that is
  unknown, revoked or whose owner is deactivated is refused with 401 (JSON under /api, a page elsewhere), never
  quietly replaced by the cookie's user.
- A session cookie: valid only while it carries the user's current session generation (``User.session_generation``,
  raised by sign-out, a password change and deactivation); a replayed older cookie is signed out on the spot.
"""

from __future__ import annotations

from flask import abort, request, session
from flask_login import current_user, login_user, logout_user

from web.accounts import users
from web.accounts.principal import Principal
from web.context import runtime
from web.extensions import login_manager

GENERATION_KEY = "_generation"


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header (scheme case-insensitive), "" when it is empty, None when
    the request has no bearer header (another scheme, e.g. a proxy's Basic auth, is not ours to judge)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def establish_user() -> None:
    """The before-request hook: the bearer token's owner, else the session's user if the session is current."""
    token = bearer_token()
    if token is not None:
        with runtime().store.reading() as conn:
            principal = users.principal_for_token(conn, token) if token else None
        if principal is None:
            abort(401, description="The bearer token is not valid: unknown, revoked, or its user is deactivated.")
        login_manager._update_request_context_with_user(principal)  # this request only; the cookie is untouched
        return
    if request.endpoint == "static":
        return
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    if isinstance(user, Principal) and session.get(GENERATION_KEY) != user.session_generation:
        end_this_session()


def start_session(principal: Principal) -> None:
    login_user(principal)
    session[GENERATION_KEY] = principal.session_generation


def carry_on(generation: int) -> None:
    """After a change that ended every session of the signed-in user: this one continues with ``generation``."""
    session[GENERATION_KEY] = generation


def end_this_session() -> None:
    logout_user()
    session.pop(GENERATION_KEY, None)
