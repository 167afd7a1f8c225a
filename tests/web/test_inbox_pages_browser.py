"""Acceptance: a lead with more than a thousand open tasks sees "1,000+" (pt-BR "1.000+") on the All tab and the
range, walks Next / Last / Previous / First on a desktop and on a phone (390 px) without horizontal scrolling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine import FrozenClock, Runtime
from tests.web.helpers import PASSWORD, PHONE, SCREENSHOTS, BrowserPage, backlog, no_horizontal_scroll


def _page(browser: Any, live_server: str, name: str, **options: Any) -> BrowserPage:
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    return BrowserPage(context.new_page(), live_server, name)


@pytest.fixture
def screens(browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[dict[str, BrowserPage]]:
    name = request.node.name
    desktop = {"viewport": {"width": 1400, "height": 900}}
    phone = {"viewport": PHONE, "is_mobile": True, "has_touch": True}
    pages = {
        "desktop-en": _page(browser, live_server, name, locale="en-US", **desktop),
        "desktop-pt": _page(browser, live_server, name, locale="pt-BR", **desktop),
        "phone-en": _page(browser, live_server, name, locale="en-US", **phone),
        "phone-pt": _page(browser, live_server, name, locale="pt-BR", **phone),
    }
    yield pages
    for page in pages.values():
        page.page.context.close()
        assert not page.console_errors, f"browser console errors: {page.console_errors}"


def close_ups(page: BrowserPage, name: str) -> None:
    """The top of the screen (tabs, range) and the pager, the parts a full-page screenshot of 50 rows shrinks."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=str(SCREENSHOTS / f"{page.test_name}-{name}-top.png"))
    page.page.locator("nav.pager").screenshot(path=str(SCREENSHOTS / f"{page.test_name}-{name}-pager.png"))


def sign_in(page: BrowserPage, username: str) -> None:
    """BrowserPage.sign_in by the fields' names: their labels are translated."""
    page.goto("/login")
    page.page.locator('input[name="username"]').fill(username)
    page.page.locator('input[name="password"]').fill(PASSWORD)
    page.page.locator('form button[type="submit"]').first.click()
    page.page.wait_for_load_state()


@pytest.mark.browser
def test_a_lead_walks_a_backlog_of_more_than_a_thousand_tasks_on_a_desktop_and_a_phone(
    screens: dict[str, BrowserPage], people: dict, deployed: None, runtime: Runtime, clock: FrozenClock
) -> None:
    backlog(runtime, 1003, clock.now(), seed=5)
    # the links by their addresses: the pt-BR words come with the catalogue (var/i18n/inbox-pages.json)
    for screen, page in screens.items():
        english = screen.endswith("en")
        browser = page.page
        sign_in(page, "lea")
        page.goto("/inbox/?view=all")
        pager = browser.locator("nav.pager")
        count = browser.locator('nav.tabs a[aria-current="page"] .count').inner_text()
        assert count == ("1,000+" if english else "1.000+")
        if english:
            assert "1–50 of 1,000+" in browser.locator(".bulk-bar").inner_text()
            assert [a.inner_text() for a in pager.locator("a").all()] == ["Next →", "Last »"]
        assert no_horizontal_scroll(browser)
        page.screenshot(f"{screen}-1-first")
        close_ups(page, f"{screen}-1-first")

        pager.locator('a[href*="at=last"]').click()
        browser.wait_for_load_state()
        assert browser.locator(".inbox-table tbody tr").count() == 50
        assert pager.locator('a[rel="next"]').count() == 0
        if english:
            assert "50 shown of 1,000+" in browser.locator(".bulk-bar").inner_text()
            assert [a.inner_text() for a in pager.locator("a").all()] == ["« First", "← Previous"]
        assert no_horizontal_scroll(browser)
        page.screenshot(f"{screen}-2-last")
        close_ups(page, f"{screen}-2-last")

        pager.locator("a").first.click()  # First
        browser.wait_for_load_state()
        pager.locator('a[rel="next"]').click()
        browser.wait_for_load_state()
        if english:
            assert "Page 2" in pager.inner_text()
        page.screenshot(f"{screen}-3-second")
        pager.locator('a[rel="prev"]').click()
        browser.wait_for_load_state()
        assert browser.url.endswith("/inbox/?view=all")
