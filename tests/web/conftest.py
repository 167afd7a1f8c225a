"""Web fixtures: the app on the test database and clock, one user per role, signed-in test clients, and for
browser tests a real HTTP server plus Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

import web.models  # noqa: F401  (the web tables join the schema the store fixture creates)
from engine import Runtime
from tests.conftest import BPMN_DIR, ROOT
from web import create_app, users

PASSWORD = "correct-horse-1"
# name -> (roles, groups). "fin" is staff outside the csm/support groups, for the permission tests.
PEOPLE: dict[str, tuple[list[str], list[str]]] = {
    "sam": (["staff"], ["csm", "support"]),
    "fin": (["staff"], ["finance"]),
    "lea": (["lead"], ["cs_lead"]),
    "dan": (["designer"], []),
    "ada": (["auditor"], []),
    "root": (["admin"], []),
}
ROLE_USER = {"staff": "sam", "lead": "lea", "designer": "dan", "auditor": "ada", "admin": "root"}
SCREENSHOTS = ROOT / "var" / "screenshots"


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
def deployed(runtime: Runtime) -> None:
    runtime.deploy({p.name: p.read_bytes() for p in sorted(BPMN_DIR.glob("*.bpmn"))}, actor="test")


def csrf_token(client: FlaskClient, path: str = "/profile") -> str:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> FlaskClient:
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def client_for(app: Flask, people: dict[str, int]) -> Callable[[str], FlaskClient]:
    """A signed-in test client for a user of PEOPLE."""

    def make(username: str) -> FlaskClient:
        return sign_in(app.test_client(), username)

    return make


# -- browser tests ---------------------------------------------------------------------------------------------
CHROMIUM = os.environ.get("JORNADA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app on a real HTTP server on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium package")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class BrowserPage:
    """A Playwright page that records console errors and failed requests, and saves named screenshots."""

    def __init__(self, page: Any, base_url: str, test_name: str) -> None:
        self.page, self.base_url, self.test_name = page, base_url, test_name
        self.console_errors: list[str] = []
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(f"page error: {e}"))

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        self.goto("/login")
        self.page.get_by_label("User name").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.test_name}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def page(browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[BrowserPage]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    wrapped = BrowserPage(context.new_page(), live_server, request.node.name)
    yield wrapped
    context.close()
    assert not wrapped.console_errors, f"browser console errors: {wrapped.console_errors}"
