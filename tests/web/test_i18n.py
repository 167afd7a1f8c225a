"""Every user-facing string is translatable and translated: the pt_BR catalogue covers every message the code
and templates mark, and templates carry no bare (unmarked) text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.helpers import ROOT

WEB = ROOT / "web"
CATALOGUE = WEB / "translations" / "pt_BR" / "LC_MESSAGES" / "messages.po"
METHODS = [("web/**.py", "python"), ("web/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
# Text that is the same in every language: the product name, symbols, units.
UNIVERSAL = re.compile(r"^(·? ?Jornada|v|p50 · p90|[\W\d_]+|p50|p90|SLA|KPIs?|CSV|ID|MRR|API|BPMN|OK|UTC)$")


def marked_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS, options_map={"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_marked_message_has_a_brazilian_portuguese_translation() -> None:
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    # A plural entry has a tuple id (singular, plural) and one msgstr per form; every form must be filled.
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalogue
        if m.id and all(m.string if isinstance(m.string, tuple) else [m.string]) and not m.fuzzy
    }
    missing = sorted(m for m in marked_messages() if m not in translated)
    assert not missing, f"{len(missing)} messages without a pt_BR translation (run scripts/i18n.sh): {missing[:20]}"


def bare_text(template: Path) -> list[str]:
    text = template.read_text(encoding="utf-8")
    text = re.sub(r"{#.*?#}|{%.*?%}|{{.*?}}", " ", text, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
    found = []
    for chunk in re.findall(r">([^<>]+)<", text):
        words = chunk.strip()
        if words and re.search(r"[A-Za-z]", words) and not UNIVERSAL.match(words):
            found.append(words)
    for attribute in re.findall(r'\b(?:placeholder|title|aria-label|alt)="([^"{}]*[A-Za-z][^"{}]*)"', text):
        found.append(attribute)
    return found


@pytest.mark.parametrize("template", sorted(WEB.glob("templates/**/*.html")), ids=lambda p: p.name)
def test_templates_have_no_unmarked_text(template: Path) -> None:
    assert not bare_text(template), f"{template.relative_to(ROOT)}: wrap in {{{{ _('…') }}}}: {bare_text(template)}"
