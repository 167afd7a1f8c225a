"""The Customer Success screens. Here (blueprint ``customers``): the list (at-risk first, my accounts, filters, sorts,
pages), the customer 360 page, and the forms that create, edit and archive customers and keep their contacts; staff,
leads and admins read and write, auditors read. Beside it, with their own blueprints: the CS dashboard
(``dashboard``, /cs) and the survey pages (``surveys``, /survey/<token>); ``labels`` holds the words all three show."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("customers", __name__)

READ = ("staff", "lead", "admin", "auditor")
WRITE = ("staff", "lead", "admin")

from web.customers import edits, pages  # noqa: E402  (they add their routes to bp)

__all__ = ["READ", "WRITE", "bp", "edits", "pages"]
