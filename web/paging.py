"""How many pages a list has and how its counts read: the one rule behind every pager (inbox, instances, audit,
customers) and the macro in templates/shared/pager.html. A count that stopped at a cap reads "1,000+" (pt-BR
"1.000+"): past the cap the list was not counted, so its number of pages is unknown."""

from __future__ import annotations

from flask_babel import format_decimal


def page_count(total: int, size: int) -> int:
    """The pages ``total`` rows fill at ``size`` a page; an empty list still shows its (empty) first page."""
    return max(1, -(-total // size))


def capped_pages(total: int, size: int, cap: int) -> int | None:
    """``page_count``, or None when ``total`` passed ``cap`` (a count that stopped at ``cap`` + 1)."""
    return None if total > cap else page_count(total, size)


def count_label(count: int, cap: int | None = None) -> str:
    """A count as people read it in the page's locale; past ``cap``, the cap and a plus sign."""
    if cap is not None and count > cap:
        return f"{format_decimal(cap)}+"
    return str(format_decimal(count))
