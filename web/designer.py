"""PLACEHOLDER — replaced by the designer screen."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from web.permissions import requires

bp = Blueprint("designer", __name__)


@bp.get("/")
@requires("staff", "lead", "designer", "auditor", "admin")
def index() -> ResponseReturnValue:
    return "designer"
