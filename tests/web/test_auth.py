"""Sign-in, rate limiting, CSRF, roles on the admin page, and the audit of logins and role changes."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from engine import Runtime
from engine.models import AuditEvent
from tests.web.helpers import PASSWORD, csrf_token, sign_in
from web.models import User


def actions(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.store.session() as s:
        return [(e.actor, e.action) for e in s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()]


def test_sign_in_redirects_to_the_roles_home_and_is_audited(app: Flask, people: dict, runtime: Runtime) -> None:
    client = app.test_client()
    assert client.get("/inbox/").status_code == 302  # not signed in: to the login page
    sign_in(client, "sam")
    assert client.get("/").headers["Location"].endswith("/inbox/")
    assert ("sam", "login_succeeded") in actions(runtime)


def test_wrong_password_is_refused_audited_and_rate_limited(app: Flask, people: dict, runtime: Runtime) -> None:
    client = app.test_client()
    for _ in range(5):
        token = csrf_token(client, "/login")
        r = client.post("/login", data={"username": "sam", "password": "nope", "csrf_token": token})
        assert r.status_code == 401
        assert "wrong password" in r.get_data(as_text=True)
    token = csrf_token(client, "/login")
    r = client.post("/login", data={"username": "sam", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429  # locked even with the right password until the window passes
    assert "Too many failed sign-ins" in r.get_data(as_text=True)
    assert actions(runtime).count(("sam", "login_failed")) == 5
    assert ("sam", "login_locked") in actions(runtime)


def test_a_form_without_the_csrf_token_is_refused(app: Flask, people: dict) -> None:
    r = app.test_client().post("/login", data={"username": "sam", "password": PASSWORD})
    assert r.status_code == 400
    assert "CSRF" in r.get_data(as_text=True)


def test_session_cookie_is_httponly_and_samesite(app: Flask, people: dict) -> None:
    client = app.test_client()
    token = csrf_token(client, "/login")
    r = client.post("/login", data={"username": "sam", "password": PASSWORD, "csrf_token": token})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_admin_changes_roles_with_before_and_after_in_the_audit(
    client_for, people: dict[str, int], runtime: Runtime
) -> None:
    admin = client_for("root")
    token = csrf_token(admin, "/admin/")
    r = admin.post(
        f"/admin/users/{people['sam']}",
        data={"roles": ["staff", "lead"], "groups": "csm", "active": "on", "csrf_token": token},
    )
    assert r.status_code == 303
    with runtime.store.session() as s:
        user = s.execute(select(User).where(User.username == "sam")).scalar_one()
        assert user.role_set == {"staff", "lead"}
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "user_access_changed")).scalar_one()
    assert '"before":{"active":true,"groups":["csm","support"],"roles":["staff"]}' in event.payload
    assert '"after":{"active":true,"groups":["csm"],"roles":["lead","staff"]}' in event.payload


def test_admin_page_refuses_a_bad_user_naming_the_field_and_stores_nothing(
    client_for, people: dict, runtime: Runtime
) -> None:
    admin = client_for("root")
    token = csrf_token(admin, "/admin/")
    r = admin.post(
        "/admin/users", data={"username": "newbie", "password": "short", "roles": ["staff"], "csrf_token": token}
    )
    assert r.status_code == 422
    assert "password: at least 8 characters" in r.get_data(as_text=True)
    assert 'value="newbie"' in r.get_data(as_text=True)  # entered values kept
    with runtime.store.session() as s:
        assert s.execute(select(User).where(User.username == "newbie")).first() is None


def test_staff_cannot_open_the_admin_page(client_for) -> None:
    assert client_for("sam").get("/admin/").status_code == 403


def test_language_from_the_browser_then_from_the_profile(client_for, app: Flask, people: dict) -> None:
    anonymous = app.test_client()
    assert "Entrar" in anonymous.get("/login", headers={"Accept-Language": "pt-BR,pt;q=0.9"}).get_data(as_text=True)
    client = client_for("sam")
    token = csrf_token(client)
    client.post("/profile", data={"language": "pt_BR", "csrf_token": token})
    assert "Perfil" in client.get("/profile", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_sign_in_never_redirects_off_the_site(app: Flask, people: dict) -> None:
    for target in ["//evil.example/", "/\\evil.example/", "https://evil.example/", "/inbox/?view=mine"]:
        client = app.test_client()
        token = csrf_token(client, "/login")
        r = client.post(
            "/login?next=" + target.replace("\\", "%5C"),
            data={"username": "sam", "password": PASSWORD, "csrf_token": token},
        )
        expected = "/inbox/?view=mine" if target.startswith("/inbox") else "/inbox/"
        assert r.headers["Location"] == expected, target
