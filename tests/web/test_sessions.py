"""Sessions end for real: a session cookie copied before sign-out, a password change or a deactivation no longer
opens anything; a bearer header is judged on its own (a bad token is refused even next to a good cookie)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import Runtime
from engine.models import AuditEvent
from tests.web.helpers import PASSWORD, csrf_token, sign_in
from web.accounts import users

NEW_PASSWORD = "battery-staple-2"


def replay(app: Flask, client: FlaskClient) -> FlaskClient:
    """A second client holding a copy of ``client``'s session cookie, as a thief would."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def audit_actions(runtime: Runtime) -> list[str]:
    with runtime.store.session() as s:
        return list(s.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())


def test_a_cookie_copied_before_sign_out_no_longer_opens_the_inbox(app: Flask, client_for) -> None:
    client = client_for("sam")
    thief = replay(app, client)
    assert thief.get("/inbox/").status_code == 200  # the copy works while the session lives
    other_device = sign_in(app.test_client(), "sam")

    r = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")

    for stale in (thief, other_device):  # signing out ends every session of the user
        r = stale.get("/inbox/")
        assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert sign_in(app.test_client(), "sam").get("/inbox/").status_code == 200  # a new sign-in works


def test_sign_out_is_audited(app: Flask, client_for, runtime: Runtime) -> None:
    client = client_for("sam")
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert "user_signed_out" in audit_actions(runtime)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app: Flask, client_for, runtime) -> None:
    laptop = client_for("sam")
    phone = sign_in(app.test_client(), "sam")
    thief = replay(app, laptop)

    r = phone.post(
        "/profile/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "csrf_token": csrf_token(phone)},
    )
    assert r.status_code == 303

    for stale in (laptop, thief):
        r = stale.get("/inbox/")
        assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert phone.get("/inbox/").status_code == 200  # the session that changed it carries on
    sign_in(app.test_client(), "sam", NEW_PASSWORD)
    assert "user_password_changed" in audit_actions(runtime)


def test_a_wrong_current_password_or_a_short_new_one_changes_nothing(app: Flask, client_for) -> None:
    client = client_for("sam")
    other = sign_in(app.test_client(), "sam")
    for current, new, message in [
        ("wrong-password", NEW_PASSWORD, "This is not your current password."),
        (PASSWORD, "short", "The new password needs at least 8 characters."),
    ]:
        r = client.post(
            "/profile/password",
            data={"current_password": current, "new_password": new, "csrf_token": csrf_token(client)},
        )
        assert r.status_code == 422
        assert message in r.get_data(as_text=True)
    assert other.get("/inbox/").status_code == 200  # no session ended
    sign_in(app.test_client(), "sam", PASSWORD)


def test_deactivation_ends_every_session_and_reactivation_does_not_revive_them(
    app: Flask, client_for, people: dict[str, int]
) -> None:
    staff = client_for("sam")
    thief = replay(app, staff)
    admin = client_for("root")

    def set_active(active: bool) -> None:
        data = {"roles": ["staff"], "groups": "csm, support", "csrf_token": csrf_token(admin, "/admin/")}
        if active:
            data["active"] = "on"
        assert admin.post(f"/admin/users/{people['sam']}", data=data).status_code == 303

    set_active(False)
    set_active(True)
    for stale in (staff, thief):
        r = stale.get("/inbox/")
        assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert sign_in(app.test_client(), "sam").get("/inbox/").status_code == 200


def test_a_bad_bearer_token_is_refused_even_with_a_good_session_cookie(app: Flask, client_for) -> None:
    client = client_for("sam")
    garbage = {"Authorization": "Bearer garbage"}
    r = client.get("/api/v1/tasks", headers=garbage)
    assert r.status_code == 401 and r.is_json
    assert "bearer token is not valid" in r.get_json()["message"]
    assert client.get("/inbox/", headers=garbage).status_code == 401
    assert client.post("/api/v1/instances", headers=garbage, json={"process_id": "support"}).status_code == 401
    assert client.get("/api/v1/tasks", headers={"Authorization": "Bearer "}).status_code == 401
    assert client.get("/inbox/").status_code == 200  # the cookie alone still works: it was not signed out


def test_a_revoked_token_is_refused(app: Flask, runtime: Runtime, people: dict[str, int]) -> None:
    token = users.create_token(runtime, people["sam"], "robot", actor="test")
    bearer = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert client.get("/api/v1/tasks", headers=bearer).status_code == 200
    with runtime.store.session() as s:
        (found,) = users.list_tokens(s, user_id=people["sam"])
    users.revoke_token(runtime, found.id, actor="root")
    r = client.get("/api/v1/tasks", headers=bearer)
    assert r.status_code == 401 and r.is_json


def test_a_good_token_wins_over_another_users_cookie(app: Flask, client_for, runtime, people) -> None:
    token = users.create_token(runtime, people["ada"], "robot", actor="test")
    client = client_for("sam")  # staff; ada is an auditor
    r = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200  # the auditor's token counts, not sam's cookie
    assert client.get("/api/v1/audit").status_code == 403
