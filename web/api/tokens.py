"""API tokens: list them (admins: everyone's, or one user's; others: their own) and revoke one. A revoked token
stops working at once; the plain token is shown only when it is issued (admin page, ``jornada users token``)."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import Field

from engine import NotFound, PermissionDenied
from web.accounts import users
from web.accounts.permissions import EVERYONE
from web.api.declare import Query, Response, Shape, When, operation, text
from web.context import me, read_session, runtime


class TokenQuery(Query):
    user: str | None = text(
        users.USERNAME_MAX, "only this user's tokens (admins; others may name only themselves)", default=None
    )


class Token(Shape):
    id: int
    user: str = Field(description="the user name the token acts as")
    name: str
    created_at: When
    revoked_at: When | None = Field(description="null while the token works")


class TokenList(Shape):
    tokens: list[Token]


@operation(
    "get",
    "/tokens",
    summary="API tokens (admins: everyone's; others: their own)",
    roles=EVERYONE,
    query=TokenQuery,
    ok=Response(200, TokenList, "The tokens, by user name, newest first"),
    errors=(403, 404),
)
def list_tokens(query: TokenQuery) -> ResponseReturnValue:
    principal, username = me(), query.user
    if not principal.has("admin"):
        if username not in (None, principal.username):
            raise PermissionDenied("only admins list other people's API tokens")
        username = principal.username
    with read_session() as session:
        user_id = None if username is None else users.user_id_of(session, username)
        if username is not None and user_id is None:
            raise NotFound(f"user {username!r} does not exist")
        found = users.list_tokens(session, user_id=user_id)
    return jsonify({"tokens": [token.as_json() for token in found]})


@operation(
    "delete",
    "/tokens/<int:token_id>",
    summary="Revoke an API token (admins: any; others: their own)",
    roles=EVERYONE,
    ok=Response(200, Token, "Revoked; the token no longer works"),
    errors=(403, 404, 409),
    description="Audited as api_token_revoked. Revoking a revoked token answers 409.",
)
def revoke_token(token_id: int) -> ResponseReturnValue:
    principal = me()
    owner = None if principal.has("admin") else principal.id
    revoked = users.revoke_token(runtime(), token_id, actor=principal.username, owner_id=owner)
    return jsonify(revoked.as_json())
