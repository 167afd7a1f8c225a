"""Saved inbox filters: a name for a query string, kept by its owner and optionally shared with one of the
owner's groups. Saving and deleting are audited in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import AuditAction
from web.accounts.principal import Principal
from web.context import audited_unit, record
from web.models import SavedFilter, User

MAX_NAME = 100


class FilterError(ValueError):
    """A saved filter was refused; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Saved:
    id: int
    name: str
    query: str
    shared_group: str | None
    owner: str
    mine: bool


def visible_to(session: Session, me: Principal) -> list[Saved]:
    """My filters and those shared with one of my groups, by name."""
    shared = SavedFilter.shared_group.in_(sorted(me.groups))
    rows = session.execute(
        select(SavedFilter, User.username)
        .join(User, User.id == SavedFilter.owner_id)
        .where(or_(SavedFilter.owner_id == me.id, shared))
        .order_by(SavedFilter.name, SavedFilter.id)
    )
    return [Saved(f.id, f.name, f.query, f.shared_group, owner, f.owner_id == me.id) for f, owner in rows]


def save(me: Principal, name: str, query: str, shared_group: str) -> None:
    name = name.strip()
    if not name:
        raise FilterError("name", _("Name: give the filter a name."))
    if len(name) > MAX_NAME:
        raise FilterError("name", _("Name: at most %(n)s characters.", n=MAX_NAME))
    if shared_group and shared_group not in me.groups:
        raise FilterError("shared_group", _("Share with: you are not a member of %(group)s.", group=shared_group))
    with audited_unit() as u:
        taken = u.session.execute(
            select(SavedFilter.id).where(SavedFilter.owner_id == me.id, SavedFilter.name == name)
        ).first()
        if taken is not None:
            raise FilterError("name", _("Name: you already have a filter called %(name)s.", name=name))
        u.session.add(
            SavedFilter(owner_id=me.id, name=name, query=query, shared_group=shared_group or None, created_at=u.now)
        )
        record(
            u,
            AuditAction.FILTER_SAVED,
            {"before": None, "after": {"name": name, "query": query, "shared_group": shared_group or None}},
        )


def delete(me: Principal, filter_id: int) -> str:
    """Delete one of my filters; returns its name."""
    with audited_unit() as u:
        found = u.session.get(SavedFilter, filter_id)
        if found is None or found.owner_id != me.id:
            raise FilterError("filter", _("Saved filter %(id)s is not one of yours.", id=filter_id))
        before = {"name": found.name, "query": found.query, "shared_group": found.shared_group}
        u.session.delete(found)
        record(u, AuditAction.FILTER_DELETED, {"before": before, "after": None})
        return before["name"] or ""
