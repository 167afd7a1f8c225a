"""Translations of what the process models say to people: process and task names, form-field labels, option
names and instructions. The shipped models are written in English; their Brazilian Portuguese text lives in
``bpmn/translations/pt_BR.json`` (English text → translation), beside the models, and a test holds it complete
for every shipped model. Text with no translation (a designer's new model, until its strings are added to the
catalogue) is shown as written."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask_babel import get_locale

CATALOGUES = Path(__file__).resolve().parent.parent / "bpmn" / "translations"


@cache
def catalogue(locale: str) -> dict[str, str]:
    path = CATALOGUES / f"{locale}.json"
    if not path.is_file():
        return {}
    found: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return found


def translate(text: str | None, locale: str | None = None) -> str:
    """``text`` from a model in the page's language (or ``locale``'s)."""
    if not text:
        return text or ""
    locale = locale or str(get_locale() or "en")
    if locale == "en":
        return text
    return catalogue(locale).get(text.strip(), text)
