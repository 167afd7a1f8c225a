"""Who a request comes from, settled before any view runs.

- ``Authorization: Bearer <token>``: the token's owner, whatever session cookie comes along; a token that is
  unknown, revoked or whose owner is deactivated is refused with 401 (JSON under /api, a page elsewhere), never
  quietly replaced by the cookie's user.
- A session cookie: valid only while it carries the user's current session generation (``User.session_generation``,
  raised by sign-out, a password change and deactivation); a replayed older cookie is signed out on the spot.

An API request with a bearer header never reads nor writes the cookie session (``SessionInterface``): the token
alone says who it is, and the API keeps nothing in the session, so the cookie is neither decoded nor re-signed.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response, abort, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_login import current_user, login_user, logout_user
from itsdangerous import URLSafeTimedSerializer

from web.accounts import users
from web.accounts.principal import Principal
from web.context import runtime
from web.extensions import login_manager

GENERATION_KEY = "_generation"
API_PREFIX = "/api/"


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header (scheme case-insensitive), "" when it is empty, None when
    the request has no bearer header (another scheme, e.g. a proxy's Basic auth, is not ours to judge)."""
    return _bearer_of(request)


def _bearer_of(req: Request) -> str | None:
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _token_api_call(req: Request) -> bool:
    return req.path.startswith(API_PREFIX) and _bearer_of(req) is not None


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with two savings on the request path: the signing serializer is built once
    per secret key (Flask builds it on every request), and a token-authenticated API call gets an empty session
    that is never saved, so its cookie, if any, is neither verified nor re-signed (CSRF-exempt JSON views keep
    nothing in the session). ``Vary: Cookie`` is still sent when the empty session was looked at, as before."""

    def __init__(self) -> None:
        self._serializer: tuple[tuple[Any, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = self._serializer
        if cached is None or cached[0] != keys:  # built again when the app's keys change (tests, rotation)
            cached = self._serializer = (keys, super().get_signing_serializer(app))
        return cached[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if _token_api_call(request) and app.secret_key:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if _token_api_call(request):
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def establish_user() -> None:
    """The before-request hook: the bearer token's owner, else the session's user if the session is current."""
    token = bearer_token()
    if token is not None:
        principal = users.principal_for_token(runtime(), token) if token else None
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
