"""Languages: the user's profile choice, else the browser's Accept-Language, else English."""

from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

LANGUAGES = {"en": "English", "pt_BR": "Português (Brasil)"}
# The roles as people read them (web.models.ROLES are the codes).
ROLE_LABELS = {
    "staff": _l("staff"),
    "lead": _l("lead"),
    "designer": _l("designer"),
    "auditor": _l("auditor"),
    "admin": _l("admin"),
}


def select_locale() -> str:
    if current_user and current_user.is_authenticated and getattr(current_user, "language", None) in LANGUAGES:
        return str(current_user.language)
    best = request.accept_languages.best_match(["en", "pt-BR", "pt"], default="en")
    return "pt_BR" if best.startswith("pt") else "en"
