"""The web fixtures any test may ask for: the app on the test database and clock, one user per role, signed-in
test clients. Registered as a plugin by tests/conftest.py (``pytest_plugins``), so the process tests that read the
API use them without importing from the web tests' conftest."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import Runtime
from tests.web.helpers import PASSWORD, sign_in
from web import create_app
from web.accounts import users

# name -> (roles, groups). "fin" is staff outside the csm/support groups, for the permission tests.
PEOPLE: dict[str, tuple[list[str], list[str]]] = {
    "sam": (["staff"], ["csm", "support"]),
    "fin": (["staff"], ["finance"]),
    "lea": (["lead"], ["cs_lead"]),
    "dan": (["designer"], []),
    "ada": (["auditor"], []),
    "root": (["admin"], []),
}


@pytest.fixture
def app(runtime: Runtime, config: dict) -> Flask:
    settings = {**config, "web": {**config["web"], "cookie_secure": False, "secret_key": "test-secret"}}
    app = create_app(settings, runtime=runtime)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def people(runtime: Runtime) -> dict[str, int]:
    """The users of PEOPLE, by name → id."""
    return {
        name: users.add_user(runtime, name, PASSWORD, roles=roles, groups=groups, actor="test")
        for name, (roles, groups) in PEOPLE.items()
    }


@pytest.fixture
def client_for(app: Flask, people: dict[str, int]) -> Callable[[str], FlaskClient]:
    """A signed-in test client for a user of PEOPLE."""

    def make(username: str) -> FlaskClient:
        return sign_in(app.test_client(), username)

    return make
