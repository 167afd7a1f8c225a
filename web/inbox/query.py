"""The inbox's read side: which open tasks a view shows, its filters, sort order and page, and the SLA state of a
task (one rule, in Python for a badge and in SQL for the filter). Reads only the ``human_task`` and
``open_task_group`` tables (plus the customer's name), never the workflow JSON.

Pages of the default order are keyset pages (web/inbox/keyset.py): a page costs the same whatever the history
and backlog. ``search(session, principal, InboxFilters(view=...), now)`` gives page 1;
``InboxFilters(view=..., at="last")`` the last page; ``after=``/``before=`` a page's ``Key.cursor()`` the next /
previous one (``InboxPage.links`` holds their query strings). ``page=N`` without a cursor walks from the top and
stops at the count cap (then it shows the last page). Counts stop at ``COUNT_CAP`` + 1: ``InboxPage.more`` says
the view holds more than ``COUNT_CAP`` tasks ("1,000+").
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, text
from sqlalchemy.orm import Session

from engine import in_open_groups
from engine.models import OPEN_TASK_SQL, HumanTask, OpenTaskGroup, ProcessDefinition
from processes.customers import Customer
from web.accounts.principal import Principal
from web.inbox.filters import SLA_STATES, VIEWS, InboxFilters
from web.inbox.keyset import COUNT_CAP, Key, KeyColumns, capped_count, capped_distinct, merge, walk
from web.paging import capped_pages

PER_PAGE = 50
SOON = timedelta(hours=24)
UNASSIGNED = "-"
# Written as the partial indexes' WHERE clause, literally: SQLite and PostgreSQL use a partial index only for a
# query whose WHERE clause implies the index's, which a bound parameter does not.
OPEN = text(f"human_task.{OPEN_TASK_SQL}")


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
    total: int  # counted up to COUNT_CAP + 1
    number: int | None  # the page's number, None when unknown
    links: dict[str, str] = field(default_factory=dict)  # first / prev / next / last -> query string

    @property
    def more(self) -> bool:
        """More matches than COUNT_CAP: ``total`` is only a floor."""
        return self.total > COUNT_CAP

    @property
    def pages(self) -> int | None:
        return capped_pages(self.total, PER_PAGE, COUNT_CAP)

    @property
    def page(self) -> int | None:  # the name of ``number`` before keyset pages
        return self.number

    @property
    def first(self) -> int | None:
        """The position of the page's first row, when known."""
        if not self.rows or self.number is None:
            return None
        return (self.number - 1) * PER_PAGE + 1

    @property
    def last(self) -> int | None:
        first = self.first
        return None if first is None else first + len(self.rows) - 1


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
_TASK_KEY = KeyColumns(HumanTask.due_at, HumanTask.priority, HumanTask.id)
_GROUP_KEY = KeyColumns(OpenTaskGroup.due_at, OpenTaskGroup.priority, OpenTaskGroup.human_task_id)


def _group_scope(f: InboxFilters, me: Principal) -> list[str] | None:
    """The groups whose queues the view reads, or None when it reads the task table itself."""
    if f.view == "groups":
        return [g for g in sorted(me.groups) if not f.group or g == f.group]
    return [f.group] if f.group else None


def _narrowing(f: InboxFilters, me: Principal, now: datetime) -> list[ColumnElement[bool]]:
    """The conditions of the view and its filters on the task row, but the groups (``_group_scope``)."""
    where: list[ColumnElement[bool]] = []
    if f.view == "mine":
        where.append(HumanTask.assignee == me.username)
    if f.process:
        where.append(HumanTask.process_id == f.process)
    return where + _task_narrowing(f, now)


def _task_narrowing(f: InboxFilters, now: datetime) -> list[ColumnElement[bool]]:
    """The filters only the task row answers (open_task_group holds the groups, the sort keys and the process)."""
    where: list[ColumnElement[bool]] = []
    if f.customer:
        where.append(
            or_(
                HumanTask.customer_id == f.customer,
                func.lower(Customer.name).contains(f.customer.lower(), autoescape=True),
            )
        )
    if f.assignee == UNASSIGNED:
        where.append(HumanTask.assignee.is_(None))
    elif f.assignee:
        where.append(HumanTask.assignee == f.assignee)
    if f.sla:
        where.append(sla_rank(now) == SLA_STATES.index(f.sla))
    if f.q:
        where.append(func.lower(HumanTask.name).contains(f.q.lower(), autoescape=True))
    return where


_NO_SLA_FILTER = datetime(1970, 1, 1, tzinfo=UTC)  # the clock of reads without an SLA filter (unread)
Source = tuple[Select[Any], KeyColumns]  # a select of the key's three columns, and those columns


def _sources(f: InboxFilters, me: Principal, now: datetime) -> list[Source]:
    """What a view reads, as keyset sources: the open tasks (index ix_human_task_inbox_*), or one range of
    open_task_group per group of the view (index ix_open_task_group_order), joined to the task only to filter."""
    groups = _group_scope(f, me)
    if groups is None:
        base = select(*_TASK_KEY.columns).where(OPEN, *_narrowing(f, me, now))
        return [(_with_customer(base, f), _TASK_KEY)]
    on_task = _task_narrowing(f, now)
    if f.view == "mine":
        on_task.append(HumanTask.assignee == me.username)
    sources: list[Source] = []
    for group in groups:
        # with a process: index ix_open_task_group_process, the process filter without reading the task rows
        base = select(*_GROUP_KEY.columns).where(OpenTaskGroup.group_name == group)
        if f.process:
            base = base.where(OpenTaskGroup.process_id == f.process)
        if on_task:
            base = _with_customer(base.join(HumanTask, HumanTask.id == OpenTaskGroup.human_task_id), f).where(*on_task)
        sources.append((base, _GROUP_KEY))
    return sources


def _with_customer(query: Select[Any], f: InboxFilters) -> Select[Any]:
    return query.outerjoin(Customer, Customer.id == HumanTask.customer_id) if f.customer else query


def _walk(session: Session, sources: list[Source], limit: int, *, forward: bool, start: Key | None) -> list[Key]:
    streams = [walk(session, base, cols, limit, forward=forward, start=start) for base, cols in sources]
    return merge(streams, limit, forward=forward)


def _count(session: Session, sources: list[Source]) -> int:
    if len(sources) == 1:
        return capped_count(session, *sources[0])
    return capped_distinct(session, sources)


def _rows(session: Session, ids: list[int]) -> list[InboxRow]:
    """The rows of ``ids``, in that order."""
    if not ids:
        return []
    found = session.execute(
        select(*_ROW_COLUMNS).outerjoin(Customer, Customer.id == HumanTask.customer_id).where(HumanTask.id.in_(ids))
    )
    by_id = {row.id: InboxRow(*row) for row in found}
    return [by_id[i] for i in ids if i in by_id]


def search(session: Session, me: Principal, f: InboxFilters, now: datetime) -> InboxPage:
    """One page of a view. The default order reads keyset pages; a column sort reads numbered pages with OFFSET
    over the sorted matches (it sorts every open match: those sorts have no index)."""
    if f.sort:
        return _sorted_page(session, me, f, now)
    sources = _sources(f, me, now)
    total = _count(session, sources)
    if not total:
        return InboxPage([], 0, 1)
    pages = capped_pages(total, PER_PAGE, COUNT_CAP)
    keys, number, has_prev, has_next = _position(session, sources, f, total, pages)
    links = _links(f, keys, number, has_prev, has_next)
    return InboxPage(_rows(session, [k.id for k in keys]), total, number, links)


Placed = tuple[list[Key], int | None, bool, bool]  # the page's keys, its number, whether pages come before / after


def _position(session: Session, sources: list[Source], f: InboxFilters, total: int, pages: int | None) -> Placed:
    """The keys of the page ``f`` asks for (by cursor, by number from the top, or the last one)."""
    n = PER_PAGE

    def walk_from(start: Key | None, limit: int, forward: bool = True) -> list[Key]:
        return _walk(session, sources, limit, forward=forward, start=start)

    def last_page() -> Placed:
        # as many rows as the last page of the walk from the top, when the count is known: Previous then goes
        # back along the same pages as Next
        size = total % n or n if pages is not None else n
        keys = walk_from(None, size, forward=False)[::-1]
        return keys, pages, bool(keys) and bool(walk_from(keys[0], 1, forward=False)), False

    before, after = Key.from_cursor(f.before), Key.from_cursor(f.after)
    if f.at == "last":
        return last_page()
    if before is not None:
        keys = walk_from(before, n + 1, forward=False)
        if len(keys) > n:
            keys = keys[:n][::-1]
            number = f.page or None
            return keys, number, True, bool(walk_from(keys[-1], 1))
        # at the top: the first page (below)
    elif after is not None:
        keys = walk_from(after, n + 1)
        if keys:
            return keys[:n], f.page or None, bool(walk_from(keys[0], 1, forward=False)), len(keys) > n
        return last_page()
    page = max(1, f.page) if before is None else 1
    skip = (page - 1) * n
    if skip >= min(total, COUNT_CAP):  # past the last page, or past what a walk from the top may read
        return last_page()
    keys = walk_from(None, skip + n + 1)
    return keys[skip : skip + n], page, page > 1, len(keys) > skip + n


def _links(f: InboxFilters, keys: list[Key], number: int | None, has_prev: bool, has_next: bool) -> dict[str, str]:
    """The pager's query strings: first, prev (the row before ours as the cursor), next, last."""
    links: dict[str, str] = {}
    if has_prev and keys:
        links["first"] = f.url_query(page=1)
        if number == 2:
            links["prev"] = links["first"]
        else:
            links["prev"] = f.url_query(before=keys[0].cursor(), after="", at="", page=number - 1 if number else 0)
    if has_next and keys:
        links["next"] = f.url_query(after=keys[-1].cursor(), before="", at="", page=number + 1 if number else 0)
        links["last"] = f.url_query(at="last", after="", before="", page=1)
    return links


# -- column sorts: numbered pages ----------------------------------------------------------------------------
def _sorted_page(session: Session, me: Principal, f: InboxFilters, now: datetime) -> InboxPage:
    where: list[Any] = [OPEN, *_narrowing(f, me, now)]  # Any: OPEN is literal SQL text
    groups = _group_scope(f, me)
    if groups is not None:
        where.append(in_open_groups(groups))
    matches = select(*_ROW_COLUMNS).outerjoin(Customer, Customer.id == HumanTask.customer_id).where(*where)
    total = capped_count(session, _with_customer(select(*_TASK_KEY.columns).where(*where), f), _TASK_KEY)
    if not total:
        return InboxPage([], 0, 1)
    pages = capped_pages(total, PER_PAGE, COUNT_CAP)
    order = _order(f, now)
    number: int | None = f.page or 1
    if f.at == "last" or (pages is not None and f.page > pages):
        size = total % PER_PAGE or PER_PAGE if pages is not None else PER_PAGE  # the pages Next walks
        found = session.execute(matches.order_by(*_sql_order(order, forward=False)).limit(size))
        rows = [InboxRow(*row) for row in found][::-1]
        number = pages
        has_prev, has_next = pages != 1, False
    else:
        page = f.page or 1
        found = session.execute(matches.order_by(*_sql_order(order)).limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE))
        rows = [InboxRow(*row) for row in found]
        if not rows:  # past the end of more than COUNT_CAP matches
            return _sorted_page(session, me, replace(f, at="last"), now)
        has_prev, has_next = page > 1, len(rows) > PER_PAGE
        rows = rows[:PER_PAGE]
    links: dict[str, str] = {}
    if has_prev:
        links["first"] = f.url_query(page=1)
        if number is not None:
            links["prev"] = f.url_query(page=number - 1)
    if has_next:
        links["next"] = f.url_query(page=(number or 1) + 1)
        links["last"] = f.url_query(at="last", page=1)
    return InboxPage(rows, total, number, links)


Ordering = list[tuple[Any, bool]]  # (expression, descending)


def _order(f: InboxFilters, now: datetime) -> Ordering:
    """A column sort, then the default order (written with CASE: these sorts read no index anyway)."""
    t = HumanTask
    no_due = case((t.due_at.is_(None), 1), else_=0)
    default: Ordering = [(no_due, False), (t.due_at, False), (t.priority, True), (t.id, False)]
    columns: dict[str, list[Any]] = {
        "task": [func.lower(t.name)],
        "process": [t.process_id],
        "customer": [func.lower(func.coalesce(Customer.name, t.customer_id, ""))],
        "due": [no_due, t.due_at],
        "priority": [t.priority],
        "assignee": [case((t.assignee.is_(None), 1), else_=0), t.assignee],
    }
    if f.sort == "age":  # ascending age: the youngest task first
        chosen: Ordering = [(t.created_at, f.dir == "asc")]
    else:
        chosen = [(c, f.dir == "desc") for c in columns[f.sort]]
    return [*chosen, *default]


def _sql_order(order: Ordering, *, forward: bool = True) -> list[Any]:
    """ORDER BY terms, or their exact reverse (each flipped term also flips where NULL goes, on both databases)."""
    return [expr.desc() if descending == forward else expr.asc() for expr, descending in order]


def view_counts(session: Session, me: Principal) -> dict[str, int]:
    """How many open tasks each view holds (up to COUNT_CAP + 1), unfiltered, for the tabs."""
    views = VIEWS if me.sees_all_tasks else VIEWS[:2]
    unfiltered = {view: _sources(InboxFilters(view=view), me, _NO_SLA_FILTER) for view in views}
    return {view: _count(session, sources) for view, sources in unfiltered.items()}


def process_names(session: Session) -> dict[str, str]:
    """Process id → the name of its latest deployed version."""
    names: dict[str, str] = {}
    rows = session.execute(
        select(ProcessDefinition.process_id, ProcessDefinition.name).order_by(ProcessDefinition.version)
    )
    for process_id, name in rows:
        names[process_id] = name or process_id
    return dict(sorted(names.items(), key=lambda item: item[1].lower()))
