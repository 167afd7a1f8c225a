"""Who may see a human task: the one rule the facade, the pages and the API apply.

A user sees a task when the user sees every task (leads and admins: ``groups`` is ``None``), holds it (is its
``assignee``), or is a member of one of its candidate groups. The facade checks it on the task row
(``candidate_groups``), the pages on a task they loaded, and the lists in SQL (``human_task_group`` for any task,
``open_task_group`` for open ones), all through this module.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, or_, select, true

from engine.models import HumanTask, HumanTaskGroup, OpenTaskGroup


def group_list(candidate_groups: str | None) -> frozenset[str]:
    """The groups of a task row's ``candidate_groups`` (comma-separated, written with its group rows)."""
    return frozenset(g for g in (candidate_groups or "").split(",") if g)


def may_see(*, user: str, groups: Collection[str] | None, assignee: str | None, task_groups: Collection[str]) -> bool:
    """Whether ``user`` (member of ``groups``; ``None``: sees every task) may see a task held by ``assignee`` and
    offered to ``task_groups``."""
    if groups is None or (assignee is not None and assignee == user):
        return True
    return not set(task_groups).isdisjoint(groups)


def in_groups(groups: Collection[str]) -> ColumnElement[bool]:
    """Tasks (open or closed) offered to any of ``groups``."""
    members = select(HumanTaskGroup.human_task_id).where(HumanTaskGroup.group_name.in_(sorted(groups)))
    return HumanTask.id.in_(members)


def in_open_groups(groups: Collection[str]) -> ColumnElement[bool]:
    """Open tasks offered to any of ``groups`` (``open_task_group`` holds no closed task however long the history)."""
    members = select(OpenTaskGroup.human_task_id).where(OpenTaskGroup.group_name.in_(sorted(groups)))
    return HumanTask.id.in_(members)


def visible_to(user: str, groups: Collection[str] | None) -> ColumnElement[bool]:
    """The SQL form of ``may_see`` on ``human_task``."""
    if groups is None:
        return true()
    return or_(HumanTask.assignee == user, in_groups(groups))
