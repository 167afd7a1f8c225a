"""What the models say to people, in Brazilian Portuguese: every process, step, field and option name and every
user-task instruction of every shipped model has a translation in bpmn/translations/pt_BR.json that keeps the
instruction's Jinja placeholders; every mail template has a pt_BR variant with the same variables; and a pt_BR
user sees the inbox and the task page in Portuguese only."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import Environment, meta
from lxml import etree

from engine import Runtime
from engine.models import HumanTask
from processes import mail
from processes.customers import Contact
from tests.helpers import BPMN_DIR
from tests.web.helpers import add_customer, open_tasks, post, text, ticket
from web import model_text
from web.accounts import users

Client = Callable[[str], FlaskClient]

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "camunda": "http://camunda.org/schema/1.0/bpmn"}
CATALOGUE = BPMN_DIR / "translations" / "pt_BR.json"
MAIL_DIR = Path(mail.TEMPLATES)
# the flow elements whose names people read: steps, events, gateways and the paths out of gateways
NAMED = (
    *("userTask", "manualTask", "task", "serviceTask", "sendTask", "receiveTask", "scriptTask", "businessRuleTask"),
    *("callActivity", "subProcess", "startEvent", "endEvent", "boundaryEvent", "intermediateCatchEvent"),
    *("intermediateThrowEvent", "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway"),
    *("complexGateway", "sequenceFlow"),
)
# the same in both languages: codes, product and plan names, and words Portuguese borrows as they are
SAME_IN_PORTUGUESE = frozenset(
    {"API", "SSO", "NPS", "CSAT", "MRR", "SFTP", "Bug", "Chat", "E-mail", "Normal", "Starter", "Growth", "Enterprise"}
)
PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def model_texts(path: Path) -> dict[str, str]:
    """Text of one model that a person reads -> what it is (for the failure message)."""
    root = etree.parse(str(path))
    found: dict[str, str] = {}

    def add(value: str | None, what: str) -> None:
        if value and value.strip():
            found.setdefault(value.strip(), f"{path.name}: {what}")

    for node in root.iterfind(".//bpmn:process", NS):
        add(node.get("name"), "process name")
    for kind in NAMED:
        for node in root.iterfind(f".//bpmn:{kind}", NS):
            add(node.get("name"), f"{kind} {node.get('id')}")
    for node in root.iterfind(".//camunda:formField", NS):
        add(node.get("label"), f"label of field {node.get('id')}")
        for option in node.iterfind("camunda:value", NS):
            add(option.get("name"), f"option {option.get('id')} of field {node.get('id')}")
    for kind in ("userTask", "manualTask"):
        for node in root.iterfind(f".//bpmn:{kind}", NS):
            for doc in node.iterfind("bpmn:documentation", NS):
                add(doc.text, f"instructions of {node.get('id')}")
    return found


def every_model_text() -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in sorted(BPMN_DIR.glob("*.bpmn")):
        for key, where in model_texts(path).items():
            texts.setdefault(key, where)
    return texts


def catalogue() -> dict[str, str]:
    loaded: dict[str, str] = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(autouse=True)
def fresh_catalogue() -> Iterator[None]:
    model_text.catalogue.cache_clear()
    yield
    model_text.catalogue.cache_clear()


# -- the catalogue -------------------------------------------------------------------------------------------
def test_the_catalogue_is_sorted_json_of_non_empty_strings() -> None:
    raw = CATALOGUE.read_text(encoding="utf-8")
    pairs = json.loads(raw, object_pairs_hook=list)
    keys = [key for key, _ in pairs]
    assert keys == sorted(keys) and len(keys) == len(set(keys)), "keys sorted, none twice"
    assert all(isinstance(value, str) and value.strip() == value and value for _, value in pairs)


def test_every_text_of_every_shipped_model_has_a_portuguese_translation() -> None:
    texts, translations = every_model_text(), catalogue()
    assert len(texts) > 300  # the shipped models were read
    missing = {text: where for text, where in texts.items() if not translations.get(text, "").strip()}
    assert not missing, f"no pt_BR translation in {CATALOGUE.name}: {json.dumps(missing, indent=1)}"
    untranslated = {
        text: where
        for text, where in texts.items()
        if translations[text].strip() == text and text not in SAME_IN_PORTUGUESE
    }
    assert not untranslated, f"translation equals the English: {json.dumps(untranslated, indent=1)}"


def test_translations_keep_every_placeholder_of_the_instructions() -> None:
    for english, portuguese in catalogue().items():
        assert sorted(PLACEHOLDER.findall(portuguese)) == sorted(PLACEHOLDER.findall(english)), english
        assert portuguese.count("{") == english.count("{") and portuguese.count("}") == english.count("}"), english


def test_translate_picks_the_language_given_or_the_pages() -> None:
    assert model_text.translate("Triage ticket", "pt_BR") == "Fazer a triagem do chamado"
    assert model_text.translate("Triage ticket", "en") == "Triage ticket"
    assert model_text.translate("  Triage ticket\n", "pt_BR") == "Fazer a triagem do chamado"
    assert model_text.translate("A step nobody translated", "pt_BR") == "A step nobody translated"
    assert model_text.translate(None, "pt_BR") == ""
    assert model_text.translate("Triage ticket") == "Triage ticket"  # no request: English
    for english, portuguese in catalogue().items():
        assert model_text.translate(english, "pt_BR") == portuguese
        assert model_text.translate(english, "en") == english


def test_translate_follows_the_request_language(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "pt-BR,pt;q=0.9"}):
        assert model_text.translate("Support ticket") == "Chamado de suporte"
        assert app.jinja_env.filters["model_text"]("Severity") == "Gravidade"
    with app.test_request_context("/", headers={"Accept-Language": "en-US"}):
        assert model_text.translate("Support ticket") == "Support ticket"


# -- mail templates ------------------------------------------------------------------------------------------
def _variables(source: str) -> set[str]:
    return set(meta.find_undeclared_variables(Environment().parse(source)))


def test_every_mail_template_has_a_portuguese_variant_with_the_same_variables() -> None:
    templates = mail.template_names()
    assert templates
    for name in templates:
        english = (MAIL_DIR / f"{name}.txt").read_text(encoding="utf-8")
        variant = MAIL_DIR / f"{name}.pt_BR.txt"
        assert variant.is_file(), f"{name}.txt has no pt_BR translation"
        portuguese = variant.read_text(encoding="utf-8")
        assert _variables(portuguese) == _variables(english), name
        assert portuguese.count("{%") == english.count("{%"), name
        assert portuguese.splitlines()[0] != english.splitlines()[0], f"{name}: subject not translated"


def test_send_mail_speaks_the_language_of_the_primary_contact(runtime: Runtime) -> None:
    add_customer(runtime, "C-1")
    add_customer(runtime, "C-2", "Beta Ltda")
    with runtime.unit() as u:
        for customer_id, name, language in (("C-1", "Ann", "en"), ("C-1", "Bia", "pt_BR"), ("C-2", "Caio", "pt_BR")):
            email = f"{name.lower()}@example.com"
            u.session.add(Contact(customer_id=customer_id, name=name, email=email, language=language, created_at=u.now))
    with runtime.store.session() as s:
        assert mail.contact_language(s, "C-1") is None  # the first contact reads English
        assert mail.contact_language(s, "C-2") == "pt_BR"
        assert mail.contact_language(s, "C-404") is None
        assert mail.contact_language(s, None) is None
    subject, body = mail.render("welcome_day1", {"customer": {"name": "Beta Ltda"}, "data": {}}, language="pt_BR")
    assert subject == "Boas-vindas, Beta Ltda!" and "Olá, equipe Beta Ltda" in body


# -- the pages -----------------------------------------------------------------------------------------------
@pytest.fixture
def brazilian(client_for: Client, runtime: Runtime, people: dict[str, int]) -> FlaskClient:
    """sam, whose profile says pt_BR (his browser says English: the profile wins)."""
    users.set_language(runtime, people["sam"], "pt_BR", actor="test")
    client = client_for("sam")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US"
    return client


def test_a_brazilian_user_sees_tasks_fields_and_options_in_portuguese(
    deployed: None, brazilian: FlaskClient, runtime: Runtime
) -> None:
    add_customer(runtime)
    task = ticket(runtime, "Export fails", customer_id="C-1")
    inbox = text(brazilian.get("/inbox/?view=groups"))
    assert 'class="task-link">Fazer a triagem do chamado</a>' in inbox
    assert ">Chamado de suporte<" in inbox
    assert ">Triage ticket<" not in inbox

    page = text(brazilian.get(f"/tasks/{task}"))
    assert "<h1>Fazer a triagem do chamado</h1>" in page
    assert "Chamado de suporte" in page
    # instructions: the Portuguese template, rendered with the data (the option code printed as its label)
    assert "Chamado &#34;Export fails&#34; do cliente C-1 (gravidade informada: Alta)." in page
    assert '<label for="field-severity">Gravidade <span class="req"' in page
    assert '<label for="field-category">Categoria <span class="req"' in page
    assert '<label for="field-triage_notes">Notas da triagem' in page
    for option in ("Baixa", "Normal", "Alta", "Urgente", "Dúvida de uso", "Configuração", "Faturamento"):
        assert re.search(rf'<option value="\w+" (selected)?>{option}</option>', page), option
    for english in ("Triage ticket", "Severity", "Category", "How-to question", "Urgent", "Confirm or correct"):
        assert not re.search(rf"\b{re.escape(english)}\b", page), english

    # the next step: the case so far names the step and its answers in Portuguese
    done = post(brazilian, task, "complete", {"severity": "urgent", "category": "how_to", "triage_notes": "ok"})
    assert done.status_code in (302, 303), text(done)
    following = open_tasks(runtime, _task_instance(runtime, task))[0]
    page = text(brazilian.get(f"/tasks/{following.id}"))
    assert "<h1>Enviar a primeira resposta</h1>" in page
    assert "<strong>Fazer a triagem do chamado</strong>" in page
    assert "<dt>Gravidade</dt><dd>Urgente</dd>" in page and "<dt>Categoria</dt><dd>Dúvida de uso</dd>" in page
    assert "(Urgente, Dúvida de uso)" in page  # the instructions of the next step


def _task_instance(runtime: Runtime, task_id: int) -> str:
    with runtime.store.session() as s:
        found = s.get(HumanTask, task_id)
        assert found is not None
        return found.instance_id


def test_an_english_user_still_reads_the_models_as_written(
    deployed: None, client_for: Client, runtime: Runtime
) -> None:
    task = ticket(runtime, "Export fails")
    page = text(client_for("sam").get(f"/tasks/{task}"))
    assert "<h1>Triage ticket</h1>" in page and '<option value="urgent" >Urgent</option>' in page
