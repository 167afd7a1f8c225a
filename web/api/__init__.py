"""The REST API under /api/v1: JSON in and out, bearer-token auth, the same permission rules as the pages.
Each module adds its routes to ``bp``; openapi.py describes them all."""

from __future__ import annotations

from web.api import (
    audit,
    customers,
    events,
    external_tasks,
    imports,
    instances,
    kpis,
    messages,
    migrations,
    openapi,
    surveys,
    tasks,
    tokens,
)
from web.api.base import bp

__all__ = [
    "audit",
    "bp",
    "customers",
    "events",
    "external_tasks",
    "imports",
    "instances",
    "kpis",
    "messages",
    "migrations",
    "openapi",
    "surveys",
    "tasks",
    "tokens",
]
