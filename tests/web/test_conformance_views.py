"""The OMG BPMN MIWG reference models (../shared/conformance/miwg) in the web viewers, in Chromium."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from engine import DeployError, Runtime
from tests.engine.helpers import MADE_EXECUTABLE, MIWG, Ran, made_executable, miwg
from tests.web.helpers import BrowserPage, csrf_token
from tests.web.on_file import customers_on_file


@pytest.mark.browser
def test_every_miwg_model_that_deploys_opens_in_the_instance_viewer_without_console_errors(
    page: BrowserPage, runtime: Runtime, people: dict
) -> None:
    """Each model made executable is deployed; each one the engine accepts starts an instance whose page draws the
    model with its state colours and no console error. (The engine refuses the others with located problems, see
    tests/engine/test_conformance.py: they have no instance, the designer's viewer opens them.)"""
    instances: dict[str, str] = {}
    customers_on_file(runtime, "C-1")
    for name in sorted(MADE_EXECUTABLE):
        data, topics = made_executable(miwg(name))
        for topic in sorted(topics - set(runtime.handlers)):
            runtime.handlers.register(topic, lambda context: {})
        try:
            deployed = runtime.deploy({name: data}, actor="dan")
        except DeployError:
            continue
        for definition in deployed:
            key = f"{name} ({definition.process_id})"
            instances[key] = runtime.start(definition.process_id, actor="lea", customer_id="C-1")
    runnable = sorted(name for name, expected in MADE_EXECUTABLE.items() if isinstance(expected, Ran))
    assert sorted({key.split()[0] for key in instances}) == runnable

    page.sign_in("lea")
    for key, instance_id in instances.items():
        page.goto(f"/instances/{instance_id}")
        page.page.wait_for_selector(".diagram.jr-diagram-ready")
        assert page.page.locator("g.djs-element.jr-done").count() >= 1, key  # at least its start event
        assert page.console_errors == [], key
        page.screenshot(key.split()[0])


@pytest.mark.browser
def test_every_miwg_model_opens_in_the_designer_without_console_errors(
    page: BrowserPage, client_for: Callable[[str], FlaskClient], people: dict
) -> None:
    """Each reference model, uploaded as it is, becomes a draft and opens in the designer's editor: drawn with
    its elements, or (without diagram layout) with a message saying so, and no console error."""
    if not MIWG.is_dir():
        miwg("SOURCES.tsv")  # fails in CI, skips elsewhere
    names = sorted(path.name for path in MIWG.glob("*.bpmn"))
    designer = client_for("dan")
    page.sign_in("dan")
    for name in names:
        token = csrf_token(designer, "/designer/")
        form = {"csrf_token": token, "file": (io.BytesIO(miwg(name)), name)}
        uploaded = designer.post("/designer/upload", data=form, content_type="multipart/form-data")
        assert uploaded.status_code == 303, (name, uploaded.get_data(as_text=True))
        page.goto(uploaded.headers["Location"])
        page.page.wait_for_selector("#designer.designer-ready")
        if page.page.locator("#designer.designer-no-diagram").count():
            assert "no diagram layout" in page.page.locator(".jr-diagram-message").inner_text(), name
        else:
            assert page.page.locator(".designer-canvas g.djs-element.djs-shape").count() >= 2, name
        assert page.console_errors == [], name
        page.screenshot(name.removesuffix(".bpmn"))
