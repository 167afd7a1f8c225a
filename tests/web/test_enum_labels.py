"""Every member of the engine's vocabulary enums has a label in English and in pt-BR (issue 12).

The label tables in web/vocabulary.py are keyed by the enum members, so a member added to ``TaskState``,
``InstanceStatus`` or ``AuditAction`` without a label fails here instead of reaching a page as its raw code. The
pt-BR check reads the catalogue (web/translations/pt_BR/.../messages.po) and the var/i18n/*.json files waiting to be
merged into it, without compiling anything."""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from engine import AuditAction, InstanceStatus, TaskState
from web.vocabulary import ACTION_LABELS, CUSTOMER_WORDING, INSTANCE_STATUS_LABELS, TASK_STATE_LABELS

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "web" / "translations" / "pt_BR" / "LC_MESSAGES" / "messages.po"
PENDING = sorted((ROOT / "var" / "i18n").glob("*.json"))

TABLES: list[tuple[type[StrEnum], Mapping[Any, Any]]] = [
    (TaskState, TASK_STATE_LABELS),
    (InstanceStatus, INSTANCE_STATUS_LABELS),
    (AuditAction, ACTION_LABELS),
]
MEMBERS = [(enum, table, member) for enum, table in TABLES for member in enum]


def _portuguese() -> dict[str, str]:
    """msgid → non-empty pt-BR msgstr, from the catalogue and the JSON files the lead merges into it."""
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="pt_BR")
    found = {str(m.id): str(m.string) for m in catalogue if m.id and isinstance(m.id, str) and m.string}
    for path in PENDING:
        found.update({k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items() if v})
    return found


PT_BR = _portuguese()


def _msgid(label: Any) -> str:
    """The English msgid behind a lazy label (what the catalogue is keyed by)."""
    return str(label._args[0]) if hasattr(label, "_args") else str(label)


@pytest.mark.parametrize(("enum", "table", "member"), MEMBERS, ids=[f"{e.__name__}.{m.name}" for e, _, m in MEMBERS])
def test_every_member_has_an_english_and_a_portuguese_label(
    enum: type[StrEnum], table: Mapping[Any, Any], member: StrEnum
) -> None:
    assert member in table, f"{enum.__name__}.{member.name} has no label in web/vocabulary.py"
    english = _msgid(table[member])
    assert english.strip()
    if "_" in member.value:  # a one-word code ("running") is its own English word; a compound one is not
        assert english not in (member.value, member.value.replace("_", " ")), f"{member.name}: the label is the code"
    assert PT_BR.get(english, "").strip(), f"{english!r} ({enum.__name__}.{member.name}) has no pt-BR translation"


@pytest.mark.parametrize(("enum", "table"), TABLES, ids=[e.__name__ for e, _ in TABLES])
def test_tables_hold_members_only(enum: type[StrEnum], table: Mapping[Any, Any]) -> None:
    """Keys are enum members (not strings that happen to match), and nothing else."""
    assert all(isinstance(key, enum) for key in table)
    assert set(table) == set(enum)


def test_customer_wording_differs_only_for_instance_events() -> None:
    assert set(CUSTOMER_WORDING) <= set(AuditAction)
    for member, label in CUSTOMER_WORDING.items():
        assert PT_BR.get(_msgid(label), "").strip(), member
