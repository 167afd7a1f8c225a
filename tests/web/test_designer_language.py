"""The designer in the page's language: for a designer whose profile says pt_BR, bpmn-js's palette, context pad,
replace menu, lint button and properties panel (the SLA group included) speak Brazilian Portuguese; for everyone
else they stay English."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine import Runtime
from tests.web.helpers import BrowserPage
from web.accounts import users

pytestmark = pytest.mark.browser


def open_support_editor(page: BrowserPage) -> None:
    page.sign_in("dan")
    page.goto("/designer/support/")
    page.page.locator('.designer-canvas [data-element-id="triage_ticket"]').wait_for()


def select_triage_ticket(page: BrowserPage) -> None:
    page.page.locator('.designer-canvas .djs-element.djs-shape[data-element-id="triage_ticket"]').click()
    page.page.locator(".designer-panel .bio-properties-panel-header-label", has_text="Triage ticket").wait_for()


def palette_label(page: BrowserPage, action: str) -> str | None:
    return page.page.locator(f'.djs-palette [data-action="{action}"]').get_attribute("aria-label")


def pad_title(page: BrowserPage, action: str) -> str | None:
    return page.page.locator(f'.djs-context-pad [data-action="{action}"]').get_attribute("title")


def group_titles(page: BrowserPage) -> list[str]:
    return page.page.locator(".designer-panel .bio-properties-panel-group-header-title").all_inner_texts()


def test_a_portuguese_speaking_designer_gets_the_editor_in_portuguese(
    page: BrowserPage, runtime: Runtime, people: dict, deployed: None
) -> None:
    users.set_language(runtime, people["dan"], "pt_BR", actor="test")
    open_support_editor(page)
    assert page.page.locator("html").get_attribute("lang") == "pt-BR"

    # the palette's tooltips (aria-label) and the lint button
    assert palette_label(page, "create.start-event") == "Criar evento de início"
    assert palette_label(page, "create.task") == "Criar tarefa"
    assert palette_label(page, "create.exclusive-gateway") == "Criar gateway"
    assert palette_label(page, "hand-tool") == "Ativar a ferramenta mão"
    assert palette_label(page, "lasso-tool") == "Ativar a ferramenta laço"
    assert palette_label(page, "create.participant-expanded") == "Criar pool/participante"
    expect(page.page.locator(".bjsl-button")).to_contain_text("Nenhum problema")

    # the context pad of a user task and the properties panel
    select_triage_ticket(page)
    assert pad_title(page, "append.append-task") == "Adicionar tarefa em seguida"
    assert pad_title(page, "append.end-event") == "Adicionar evento de fim em seguida"
    assert pad_title(page, "append.gateway") == "Adicionar gateway em seguida"
    assert pad_title(page, "replace") == "Mudar o tipo do elemento"
    assert pad_title(page, "delete") == "Excluir"
    panel = page.page.locator(".designer-panel")
    expect(panel.locator(".bio-properties-panel-header-type")).to_have_text("Tarefa de usuário")
    titles = group_titles(page)
    for title in ("Geral", "Documentação", "Atribuição de usuário", "SLA do Jornada", "Formulários"):
        assert title in titles, titles
    assert titles.index("SLA do Jornada") == titles.index("Atribuição de usuário") + 1
    assert "User assignment" not in titles and "General" not in titles
    expect(panel.get_by_label("Grupos candidatos", exact=True)).to_have_value("support")
    expect(panel.get_by_label("Responsável", exact=True)).to_have_value("")
    expect(panel.get_by_label("Prioridade", exact=True)).to_have_value("70")
    expect(panel.get_by_label("Travada após (sla_stuck)")).to_have_value("PT4H")
    expect(panel.locator(".bio-properties-panel-group-header-button").first).to_have_attribute(
        "title", "Expandir/recolher seção"
    )

    # the replace menu ("Mudar o tipo do elemento")
    page.page.locator('.djs-context-pad [data-action="replace"]').click()
    menu = page.page.locator(".djs-popup")
    expect(menu).to_contain_text("Mudar o tipo do elemento")
    expect(menu.get_by_text("Tarefa de serviço", exact=True)).to_be_visible()
    expect(menu.get_by_text("Tarefa de script", exact=True)).to_be_visible()
    assert "Service task" not in menu.inner_text()
    page.screenshot("replace-menu")
    page.page.keyboard.press("Escape")
    expect(menu).to_be_hidden()

    # an invalid SLA duration is refused in Portuguese
    warn = panel.get_by_label("Avisar após (sla_warn)")
    warn.fill("")
    warn.press_sequentially("logo")
    expect(panel.locator(".bio-properties-panel-error")).to_contain_text("Não é uma duração ISO-8601")
    page.screenshot("panel")
    warn.fill("")
    expect(panel.locator(".bio-properties-panel-error")).to_have_count(0)


def test_an_english_speaking_designer_keeps_the_editor_in_english(
    page: BrowserPage, runtime: Runtime, people: dict, deployed: None
) -> None:
    open_support_editor(page)
    assert page.page.locator("html").get_attribute("lang") == "en"
    assert palette_label(page, "create.task") == "Create task"
    assert palette_label(page, "hand-tool") == "Activate hand tool"
    select_triage_ticket(page)
    assert pad_title(page, "append.append-task") == "Append task"
    titles = group_titles(page)
    for title in ("General", "User assignment", "Jornada SLA", "Forms"):
        assert title in titles, titles
    expect(page.page.locator(".designer-panel").get_by_label("Candidate groups", exact=True)).to_have_value("support")
    expect(page.page.locator(".designer-panel").get_by_label("Stuck after (sla_stuck)")).to_have_value("PT4H")
