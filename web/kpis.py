"""PLACEHOLDER — replaced by the kpis screen."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from web.permissions import requires

bp = Blueprint("kpis", __name__)


@bp.get("/")
@requires("staff", "lead", "designer", "auditor", "admin")
def index() -> ResponseReturnValue:
    return "kpis"
