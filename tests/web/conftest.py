"""Web fixtures: the shipped models deployed, the designer's client, the API's document and tokens, a model with
versions to migrate between, and for browser tests a real HTTP server plus Debian's headless Chromium driven by
Playwright. The app, one user per role and signed-in clients are in tests/web/fixtures.py (a plugin of
tests/conftest.py, so the process tests reach them too); plain helpers are in tests/web/helpers.py."""

from __future__ import annotations

import os
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
from processes.customers import create_customer
from tests.bpmn_builder import linear
from tests.engine.helpers import complete, without
from tests.helpers import BPMN_DIR
from tests.web.helpers import PREFIX, BrowserPage
from web.accounts import users


@pytest.fixture
def deployed(runtime: Runtime) -> None:
    runtime.deploy({p.name: p.read_bytes() for p in sorted(BPMN_DIR.glob("*.bpmn"))}, actor="test")


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


@pytest.fixture
def page(browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[BrowserPage]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    wrapped = BrowserPage(context.new_page(), live_server, request.node.name)
    yield wrapped
    context.close()
    assert not wrapped.console_errors, f"browser console errors: {wrapped.console_errors}"


@pytest.fixture
def designer(client_for: Callable[[str], FlaskClient], deployed: None) -> FlaskClient:
    return client_for("dan")


@pytest.fixture
def doc(app: Flask) -> dict[str, Any]:
    response = app.test_client().get(PREFIX + "/openapi.json")
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


@pytest.fixture
def tokens(runtime: Runtime, people: dict[str, int]) -> dict[str, str]:
    return {name: users.create_token(runtime, user_id, "tests", actor="root") for name, user_id in people.items()}


@pytest.fixture
def versions(runtime: Runtime) -> dict[str, str]:
    """v1 (t1, t2) with one instance at t1 and one at t2; v2 adds t3; v3 drops t2."""
    with runtime.store.session() as session:
        for customer_id in ("C-1", "C-2"):
            create_customer(session, customer_id, f"Customer {customer_id}", now=runtime.clock.now(), accesses=())
        session.commit()
    runtime.deploy({"p.bpmn": linear("p", 2)}, actor="designer")
    found = {"at_t1": runtime.start("p", actor="sam", customer_id="C-1")}
    found["at_t2"] = runtime.start("p", actor="sam", customer_id="C-2")
    complete(runtime, found["at_t2"], "t1")
    runtime.deploy({"p.bpmn": linear("p", 3)}, actor="designer")
    runtime.deploy({"p.bpmn": without("p", "t1", "t3")}, actor="designer")
    return found
