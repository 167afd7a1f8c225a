"""What the inbox shows, read from and written back to the query string: the view, the filters within it, the
sort order and where the page starts (its number, a keyset cursor, or the last page)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlencode

from web.inbox.keyset import Key
from web.params import whole_number

VIEWS = ("mine", "groups", "all")
# SLA states, most urgent first; the rank is the state's index.
SLA_STATES = ("red", "yellow", "green", "grey")
SORTS = ("task", "process", "customer", "due", "priority", "age", "assignee")
NARROWING = ("process", "customer", "group", "assignee", "sla", "q")  # the filters within a view
POSITION = ("after", "before", "at")  # where in the order a page starts (besides its number)


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
    page: int = 1  # the page's number; 0 when unknown (a cursor's page past the count cap)
    after: str = ""  # the cursor (Key.cursor) of the row before the page: the next page
    before: str = ""  # the cursor of the row after the page: the previous page
    at: str = ""  # "last": the last page

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> InboxFilters:
        text = {f.name: (args.get(f.name) or "").strip()[:200] for f in fields(cls) if f.name != "page"}
        found = cls(**text)  # type: ignore[arg-type]
        found = replace(
            found,
            view=found.view if found.view in VIEWS else "mine",
            sla=found.sla if found.sla in SLA_STATES else "",
            sort=found.sort if found.sort in SORTS else "",
            dir="desc" if found.dir == "desc" else "asc",
            after=found.after if Key.from_cursor(found.after) else "",
            before=found.before if Key.from_cursor(found.before) else "",
            at="last" if found.at == "last" else "",
        )
        cursor = found.after or found.before
        # search() shows the last page for a number past the last one
        page = whole_number(args.get("page")) or (0 if cursor else 1)
        return replace(found, page=page)

    def params(self, **changes: Any) -> dict[str, str]:
        """The non-default values (after ``changes``), as query-string parameters. A change of the page number
        alone (``page=1``) starts from the top: it drops the cursor."""
        if "page" in changes and not set(POSITION) & changes.keys():
            changes = {**changes, **dict.fromkeys(POSITION, "")}
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
