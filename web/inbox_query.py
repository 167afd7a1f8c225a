"""The inbox's read side: which open tasks a view shows, its filters, sort order and page, and the SLA state of a
task (one rule, in Python for a badge and in SQL for the filter and the default order). Reads only the
``human_task`` table (plus the customer's name), never the workflow JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from engine.execution import OPEN_STATES
from engine.models import HumanTask, HumanTaskGroup, ProcessDefinition
from processes.customers import Customer
from web.params import whole_number
from web.principal import Principal

VIEWS = ("mine", "groups", "all")
PER_PAGE = 50
SOON = timedelta(hours=24)
# SLA states, most urgent first; the rank is the state's index.
SLA_STATES = ("red", "yellow", "green", "grey")
SORTS = ("task", "process", "customer", "due", "priority", "age", "assignee")
UNASSIGNED = "-"
NARROWING = ("process", "customer", "group", "assignee", "sla", "q")  # the filters within a view


# -- SLA -----------------------------------------------------------------------------------------------------
def sla_state(task: Any, now: datetime) -> str:
    """red: overdue or past stuck; yellow: due within 24 h or past warn; green: due later; grey: no due date."""
    due, warn, stuck = task.due_at, task.warn_at, task.stuck_at
    if (due is not None and due <= now) or (stuck is not None and stuck <= now):
        return "red"
    if (due is not None and due - now < SOON) or (warn is not None and warn <= now):
        return "yellow"
    return "green" if due is not None else "grey"


def sla_rank(now: datetime) -> ColumnElement[int]:
    """``sla_state`` as a SQL expression: the index of the state in SLA_STATES."""
    t = HumanTask
    red = or_(and_(t.due_at.is_not(None), t.due_at <= now), and_(t.stuck_at.is_not(None), t.stuck_at <= now))
    yellow = or_(and_(t.due_at.is_not(None), t.due_at < now + SOON), and_(t.warn_at.is_not(None), t.warn_at <= now))
    return case((red, 0), (yellow, 1), (t.due_at.is_not(None), 2), else_=3)


# -- filters -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InboxFilters:
    """What the inbox shows, read from and written back to the query string (unknown values fall back)."""

    view: str = "mine"
    process: str = ""
    customer: str = ""
    group: str = ""
    assignee: str = ""
    sla: str = ""
    q: str = ""
    sort: str = ""
    dir: str = "asc"
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> InboxFilters:
        text = {f.name: (args.get(f.name) or "").strip()[:200] for f in fields(cls) if f.name != "page"}
        page = whole_number(args.get("page")) or 1  # page() clamps it to the last page
        found = cls(**text, page=page)  # type: ignore[arg-type]
        return replace(
            found,
            view=found.view if found.view in VIEWS else "mine",
            sla=found.sla if found.sla in SLA_STATES else "",
            sort=found.sort if found.sort in SORTS else "",
            dir="desc" if found.dir == "desc" else "asc",
        )

    def params(self, **changes: Any) -> dict[str, str]:
        """The non-default values (after ``changes``), as query-string parameters."""
        changed = replace(self, **changes)
        default = InboxFilters()
        return {
            f.name: str(getattr(changed, f.name))
            for f in fields(self)
            if getattr(changed, f.name) != getattr(default, f.name)
        }

    def url_query(self, **changes: Any) -> str:
        return urlencode(self.params(**changes))

    def sort_query(self, column: str) -> str:
        """The query string of a column header: sort by it, or flip the direction if it is already the sort."""
        flip = "desc" if self.sort == column and self.dir == "asc" else "asc"
        return self.url_query(sort=column, dir=flip, page=1)

    @property
    def saved_query(self) -> str:
        """What a saved filter keeps: everything but the page."""
        return self.url_query(page=1)

    @property
    def narrowed(self) -> bool:
        return any(getattr(self, name) for name in NARROWING)

    @property
    def cleared_query(self) -> str:
        """The same view and sort order without the narrowing filters."""
        return self.url_query(page=1, **dict.fromkeys(NARROWING, ""))


# -- rows ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InboxRow:
    id: int
    name: str
    process_id: str
    instance_id: str
    customer_id: str | None
    customer_name: str | None
    candidate_groups: str
    assignee: str | None
    priority: int
    state: str
    created_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    stuck_at: datetime | None

    @property
    def customer_label(self) -> str:
        return self.customer_name or self.customer_id or ""

    @property
    def groups(self) -> list[str]:
        return [g for g in self.candidate_groups.split(",") if g]


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int
    page: int
    pages: int

    @property
    def first(self) -> int:
        return (self.page - 1) * PER_PAGE + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.page * PER_PAGE, self.total)


# The columns of an InboxRow, in its field order.
_ROW_COLUMNS: tuple[Any, ...] = (
    HumanTask.id,
    HumanTask.name,
    HumanTask.process_id,
    HumanTask.instance_id,
    HumanTask.customer_id,
    Customer.name,
    HumanTask.candidate_groups,
    HumanTask.assignee,
    HumanTask.priority,
    HumanTask.state,
    HumanTask.created_at,
    HumanTask.due_at,
    HumanTask.warn_at,
    HumanTask.stuck_at,
)


def in_groups(groups: Any) -> ColumnElement[bool]:
    return HumanTask.id.in_(select(HumanTaskGroup.human_task_id).where(HumanTaskGroup.group_name.in_(groups)))


def _scope(view: str, me: Principal) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [HumanTask.state.in_(OPEN_STATES)]
    if view == "mine":
        where.append(HumanTask.assignee == me.username)
    elif view == "groups":
        where.append(in_groups(sorted(me.groups)))
    return where


def _narrowing(f: InboxFilters, now: datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.process:
        where.append(HumanTask.process_id == f.process)
    if f.customer:
        where.append(
            or_(
                HumanTask.customer_id == f.customer,
                func.lower(Customer.name).contains(f.customer.lower(), autoescape=True),
            )
        )
    if f.group:
        where.append(in_groups([f.group]))
    if f.assignee == UNASSIGNED:
        where.append(HumanTask.assignee.is_(None))
    elif f.assignee:
        where.append(HumanTask.assignee == f.assignee)
    if f.sla:
        where.append(sla_rank(now) == SLA_STATES.index(f.sla))
    if f.q:
        where.append(func.lower(HumanTask.name).contains(f.q.lower(), autoescape=True))
    return where


def _order(f: InboxFilters, now: datetime) -> list[Any]:
    t = HumanTask
    overdue = case((and_(t.due_at.is_not(None), t.due_at <= now), 0), else_=1)
    no_due = case((t.due_at.is_(None), 1), else_=0)
    default = [overdue, no_due, t.due_at.asc(), t.priority.desc(), t.id.asc()]
    if not f.sort:
        return default
    columns: dict[str, list[Any]] = {
        "task": [func.lower(t.name)],
        "process": [t.process_id],
        "customer": [func.lower(func.coalesce(Customer.name, t.customer_id, ""))],
        "due": [no_due, t.due_at],
        "priority": [t.priority],
        "assignee": [case((t.assignee.is_(None), 1), else_=0), t.assignee],
    }
    if f.sort == "age":  # ascending age: the youngest task first
        chosen = [t.created_at.desc() if f.dir == "asc" else t.created_at.asc()]
    else:
        chosen = [c.desc() if f.dir == "desc" else c for c in columns[f.sort]]
    return [*chosen, *default]


def search(session: Session, me: Principal, f: InboxFilters, now: datetime) -> InboxPage:
    where = _scope(f.view, me) + _narrowing(f, now)
    total = session.execute(
        select(func.count())
        .select_from(HumanTask)
        .outerjoin(Customer, Customer.id == HumanTask.customer_id)
        .where(*where)
    ).scalar_one()
    pages = max(1, -(-total // PER_PAGE))
    page = min(f.page, pages)
    found = session.execute(
        select(*_ROW_COLUMNS)
        .outerjoin(Customer, Customer.id == HumanTask.customer_id)
        .where(*where)
        .order_by(*_order(f, now))
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    rows = [InboxRow(*row) for row in found]
    return InboxPage(rows, total, page, pages)


def view_counts(session: Session, me: Principal) -> dict[str, int]:
    """How many open tasks each view holds, unfiltered, for the tabs."""
    views = VIEWS if me.sees_all_tasks else VIEWS[:2]
    return {
        view: session.execute(select(func.count()).select_from(HumanTask).where(*_scope(view, me))).scalar_one()
        for view in views
    }


def process_names(session: Session) -> dict[str, str]:
    """Process id → the name of its latest deployed version."""
    names: dict[str, str] = {}
    rows = session.execute(
        select(ProcessDefinition.process_id, ProcessDefinition.name).order_by(ProcessDefinition.version)
    )
    for process_id, name in rows:
        names[process_id] = name or process_id
    return dict(sorted(names.items(), key=lambda item: item[1].lower()))
