"""Sign-in throttling that nobody can turn against someone else, and text longer than its column refused with a
clear message (the same on SQLite and PostgreSQL) at the login, admin and profile forms and the users CLI."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine import FrozenClock, Runtime
from engine.models import AuditEvent
from tests.web.helpers import PASSWORD, csrf_token
from web import plugin
from web.accounts import users
from web.models import ApiToken, LoginAttempt, User, UserGroup

ATTACKER, OFFICE = "203.0.113.9", "198.51.100.7"
MAX_FAILURES = 5  # config [web] login_max_failures in the tests


def client_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def attempt(client: FlaskClient, username: str, password: str) -> int:
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token}).status_code


def counts(runtime: Runtime) -> tuple[int, int, int, int]:
    with runtime.store.session() as s:
        return tuple(  # type: ignore[return-value]
            s.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (User, UserGroup, ApiToken, AuditEvent)
        )


# -- throttling --------------------------------------------------------------------------------------------------
def test_failures_from_one_address_do_not_lock_the_user_out_elsewhere(app: Flask, people: dict) -> None:
    attacker = client_at(app, ATTACKER)
    statuses = [attempt(attacker, "sam", "guess") for _ in range(20)]
    assert statuses[:MAX_FAILURES] == [401] * MAX_FAILURES
    assert set(statuses[MAX_FAILURES:]) == {429}
    assert attempt(client_at(app, OFFICE), "sam", PASSWORD) == 302  # the real sam, from elsewhere: signed in


def test_guessing_from_one_address_is_still_locked_until_the_window_passes(
    app: Flask, people: dict, clock: FrozenClock
) -> None:
    attacker = client_at(app, ATTACKER)
    for _ in range(MAX_FAILURES):
        assert attempt(attacker, "sam", "guess") == 401
    assert attempt(attacker, "sam", PASSWORD) == 429  # even the right password: no more guesses from there
    clock.advance(minutes=14)
    assert attempt(attacker, "sam", PASSWORD) == 429
    clock.advance(minutes=2)  # the window (15 minutes) has passed
    assert attempt(attacker, "sam", PASSWORD) == 302


def test_scanning_names_from_an_address_locks_unknown_names_not_the_people_behind_it(
    app: Flask, people: dict, runtime: Runtime
) -> None:
    shared = client_at(app, OFFICE)  # one NAT address for a whole office
    for i in range(4 * MAX_FAILURES):
        assert attempt(shared, f"nobody{i}", "guess") == 401
    assert attempt(shared, "nobody-else", "guess") == 429  # name scanning from here is throttled
    assert attempt(shared, "lea", "wrong") == 429  # a known name answers the same: the lock tells no names
    assert attempt(shared, "sam", PASSWORD) == 302  # and a colleague with the right password still signs in
    with runtime.store.session() as s:
        locked = s.execute(select(func.count()).where(AuditEvent.action == "login_locked")).scalar_one()
    assert locked == 1


def test_a_success_clears_only_that_address_failures(app: Flask, people: dict, runtime: Runtime) -> None:
    for _ in range(MAX_FAILURES - 1):
        attempt(client_at(app, ATTACKER), "sam", "guess")
    assert attempt(client_at(app, OFFICE), "sam", PASSWORD) == 302
    assert attempt(client_at(app, ATTACKER), "sam", "guess") == 401
    assert attempt(client_at(app, ATTACKER), "sam", PASSWORD) == 429  # the attacker's count was not reset


# -- lengths -----------------------------------------------------------------------------------------------------
def test_a_too_long_user_name_at_login_is_refused_and_stores_nothing(app: Flask, people: dict, runtime) -> None:
    before = counts(runtime)
    client = app.test_client()
    token = csrf_token(client, "/login")
    r = client.post("/login", data={"username": "x" * 101, "password": "guess", "csrf_token": token})
    assert r.status_code == 422
    assert "User name: at most 100 characters." in r.get_data(as_text=True)
    assert counts(runtime) == before
    with runtime.store.session() as s:
        assert s.execute(select(func.count()).select_from(LoginAttempt)).scalar_one() == 0
    assert attempt(client, "x" * 100, "guess") == 401  # exactly at the limit: an ordinary failure


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("username", "u" * 101, "username: at most 100 characters (got 101)"),
        ("display_name", "d" * 201, "display_name: at most 200 characters (got 201)"),
        ("email", "e" * 301, "email: at most 300 characters (got 301)"),
        ("groups", "g" * 1_000_000, "groups: a group name has at most 100 characters"),
    ],
)
def test_the_admin_form_refuses_text_longer_than_its_column(
    client_for, runtime: Runtime, field: str, value: str, message: str
) -> None:
    admin = client_for("root")
    before = counts(runtime)
    data = {"username": "newbie", "password": PASSWORD, "roles": ["staff"], field: value}
    r = admin.post("/admin/users", data={**data, "csrf_token": csrf_token(admin, "/admin/")})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert message in html
    assert len(html) < 100_000  # the page does not echo the megabyte back
    assert counts(runtime) == before


def test_the_admin_access_form_refuses_a_huge_group(client_for, people: dict, runtime: Runtime) -> None:
    admin = client_for("root")
    before = counts(runtime)
    data = {"roles": ["staff"], "groups": "g" * 1_000_000, "active": "on", "csrf_token": csrf_token(admin, "/admin/")}
    r = admin.post(f"/admin/users/{people['sam']}", data=data, follow_redirects=True)
    assert "groups: a group name has at most 100 characters" in r.get_data(as_text=True)
    assert len(admin.get_cookie("session").value) < 4000  # the flashed message fits in the cookie
    assert counts(runtime) == before


def test_a_too_long_token_name_is_refused(client_for, people: dict, runtime: Runtime) -> None:
    admin = client_for("root")
    before = counts(runtime)
    data = {"name": "t" * 101, "csrf_token": csrf_token(admin, "/admin/")}
    r = admin.post(f"/admin/users/{people['sam']}/tokens", data=data, follow_redirects=True)
    assert "name: at most 100 characters (got 101)" in r.get_data(as_text=True)
    assert counts(runtime) == before


def test_the_users_cli_refuses_a_too_long_name(runtime: Runtime) -> None:
    args = argparse.Namespace(
        action="add", name="u" * 101, password=PASSWORD, role=["staff"], group=None, actor="cli", token_name="api"
    )
    with pytest.raises(SystemExit, match=r"users add: username: at most 100 characters \(got 101\)"):
        plugin.cmd_users(runtime, args)
    with runtime.store.session() as s:
        assert s.execute(select(func.count()).select_from(User)).scalar_one() == 0


def test_authenticate_refuses_a_too_long_name_itself(runtime: Runtime) -> None:
    with pytest.raises(users.UserError, match="username: at most 100"):
        users.authenticate(runtime, "x" * 101, "pw", remote_addr="-", max_failures=5, window=timedelta(minutes=15))
