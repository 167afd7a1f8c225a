"""Paths and settings shared by every test area.

A test module imports helpers from a helpers module, never from another test module or a conftest.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BPMN_DIR = ROOT / "bpmn"
PG_ADMIN_URL = os.environ.get("JORNADA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def backend() -> str:
    return os.environ.get("JORNADA_TEST_DB", "sqlite")


def bpmn_files(*names: str) -> dict[str, bytes]:
    return {f"{n}.bpmn": (BPMN_DIR / f"{n}.bpmn").read_bytes() for n in names}
