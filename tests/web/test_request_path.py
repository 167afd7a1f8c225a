"""The savings on the API request path (issue 13) keep every check: a token API call neither reads nor writes the
cookie session, the token is looked up on every request (a revocation counts at once), the session's signing
serializer follows the secret key, the security headers and the latency histogram stay as they were."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from engine import Runtime
from web.accounts import users
from web.accounts.sessions import SessionInterface


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_api_call_acts_as_the_token_owner_and_leaves_the_cookie_alone(
    client_for: Callable[[str], FlaskClient], tokens: dict[str, str]
) -> None:
    browser = client_for("ada")  # an auditor signed in with a cookie; the token is staff sam's
    r = browser.get("/api/v1/tasks?view=mine", headers=bearer(tokens["sam"]))
    assert r.status_code == 200, r.data  # auditors may not list tasks: the token's owner acted, not the cookie's
    assert "Set-Cookie" not in r.headers
    assert r.headers["Vary"] == "Cookie"
    r = browser.post("/api/v1/instances", json={}, headers=bearer(tokens["sam"]))
    assert r.status_code == 422 and "Set-Cookie" not in r.headers
    assert browser.get("/profile").status_code == 200  # the browser session carries on
    assert browser.get("/api/v1/tasks?view=mine").status_code == 403  # and is still ada's


def test_a_revoked_token_is_refused_on_the_very_next_request(
    app: Flask, runtime: Runtime, people: dict[str, int]
) -> None:
    token = users.create_token(runtime, people["sam"], "robot", actor="test")
    client = app.test_client()
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    with runtime.store.session() as session:
        (found,) = [t for t in users.list_tokens(session, user_id=people["sam"]) if t.name == "robot"]
    users.revoke_token(runtime, found.id, actor="root")
    r = client.get("/api/v1/tasks", headers=bearer(token))
    assert r.status_code == 401 and r.get_json()["error"] == "Unauthorized"
    assert client.post("/api/v1/tasks/1/complete", json={}, headers=bearer(token)).status_code == 401


def test_the_session_serializer_follows_the_secret_key(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    assert isinstance(app.session_interface, SessionInterface)
    browser = client_for("sam")
    assert browser.get("/profile").status_code == 200
    app.secret_key = "another-secret"  # a rotated key: the cookie signed with the old one is not accepted
    assert browser.get("/profile").status_code == 302


def test_security_headers_are_added_unless_the_view_set_its_own(app: Flask) -> None:
    (hook,) = [f for f in app.after_request_funcs[None] if f.__name__ == "security_headers"]
    with app.test_request_context("/"):
        own = hook(Response(headers={"x-frame-options": "SAMEORIGIN"}))
    assert own.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert own.headers["X-Content-Type-Options"] == "nosniff"
    assert own.headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in own.headers["Content-Security-Policy"]
    r = app.test_client().get("/api/v1/openapi.json")
    assert r.headers.getlist("X-Frame-Options") == ["DENY"] and r.headers["X-Content-Type-Options"] == "nosniff"


def test_every_request_is_counted_in_its_route_method_and_status_class(app: Flask, tokens: dict[str, str]) -> None:
    labels = {"route": "/api/v1/tasks/<int:task_id>", "method": "GET", "status": "4xx"}

    def count() -> float:
        return REGISTRY.get_sample_value("jornada_http_request_duration_seconds_count", labels) or 0.0

    before = count()
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/tasks/999999", headers=bearer(tokens["sam"])).status_code == 404
    assert count() == before + 3
