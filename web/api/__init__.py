"""PLACEHOLDER — replaced by the REST API."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__)
