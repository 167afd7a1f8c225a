"""The inbox's pages at any backlog: Next / Previous / First / Last walk the default order (overdue first, due
date, no due date last, priority, age) without a duplicate or a gap, ties on the due date and tasks without one
included; a task in two of my groups is listed once; counts stop at "1,000+" and the pager copes."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from flask.testing import FlaskClient

from engine import FrozenClock, Runtime
from tests.web.helpers import Task, as_task, backlog, task_ids, task_row, text, ticket
from web.accounts.principal import Principal
from web.inbox.keyset import Key
from web.inbox.query import InboxFilters, search

Client = Callable[[str], FlaskClient]


def in_order(tasks: Iterable[Task]) -> list[int]:
    """Ids in the default order, computed here independently of the SQL."""
    earliest = datetime.min.replace(tzinfo=UTC)
    return [t[0] for t in sorted(tasks, key=lambda t: (t[1] is None, t[1] or earliest, -t[2], t[0]))]


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)"[^>]*>[^<]*{re.escape(rel)}', page)
    return html_lib.unescape(found.group(1)) if found else None


def walk(client: FlaskClient, start: str, rel: str) -> list[list[int]]:
    """The ids of every page from ``start``, following the link named ``rel`` ("Next", "Previous")."""
    pages: list[list[int]] = []
    url: str | None = start
    while url is not None:
        page = client.get(url)
        assert page.status_code == 200
        pages.append(task_ids(text(page)))
        url = link(text(page), rel)
        assert len(pages) < 50, "the pager goes round in circles"
    return pages


def test_next_and_previous_walk_the_whole_groups_queue_in_order_without_duplicates_or_gaps(
    deployed: None, client_for: Client, runtime: Runtime, clock: FrozenClock
) -> None:
    tasks = backlog(runtime, 140, clock.now())
    triage = task_row(runtime, ticket(runtime))  # the engine's own rows are in the queue too
    mine = [t for t in tasks if {"csm", "support"} & set(t[3])]
    mine.append(as_task(triage))
    sam = client_for("sam")
    first = text(sam.get("/inbox/?view=groups"))
    assert f"Page 1 of {-(-len(mine) // 50)}" in first

    forward = walk(sam, "/inbox/?view=groups", "Next")
    shown = [i for page in forward for i in page]
    assert shown == in_order(mine)
    assert len(shown) == len(set(shown))
    assert all(len(page) == 50 for page in forward[:-1])

    last_url = link(first, "Last")
    assert last_url is not None
    backward = walk(sam, last_url, "Previous")
    assert [i for page in reversed(backward) for i in page] == shown
    assert backward[0] == forward[-1]  # the last page is the same whichever way it is reached


def test_keyset_pages_of_all_tasks_filtered_by_process_match_the_order_and_the_last_page(
    deployed: None, runtime: Runtime, clock: FrozenClock
) -> None:
    now = clock.now()
    tasks = [t for t in backlog(runtime, 180, now, seed=11) if t[4] == "training"]
    lead = Principal(id=1, username="lea", display_name="Lea", roles=frozenset({"lead"}), groups=frozenset())
    expected = in_order(tasks)
    shown: list[int] = []
    with runtime.store.session() as s:
        f = InboxFilters(view="all", process="training")
        while True:
            page = search(s, lead, f, now)
            shown += [row.id for row in page.rows]
            if "next" not in page.links:
                break
            after = page.links["next"].split("after=")[1].split("&")[0]
            f = InboxFilters(view="all", process="training", after=after.replace("%2E", "."), page=0)
        assert shown == expected
        last = search(s, lead, InboxFilters(view="all", process="training", at="last"), now)
        assert [row.id for row in last.rows] == expected[-len(last.rows) :]
        assert len(last.rows) == len(expected) % 50 or len(last.rows) == 50
        assert last.number == last.pages == -(-len(expected) // 50) and "next" not in last.links
        # a previous page from a cursor in the undated rows, and one whose row has closed since
        undated = next(t for t in tasks if t[1] is None)
        before = search(s, lead, InboxFilters(view="all", process="training", before=_cursor(undated), page=0), now)
        at = expected.index(undated[0])
        assert [row.id for row in before.rows] == (expected[at - 50 : at] if at > 50 else expected[:50])


def _cursor(task: Task) -> str:
    return Key(task[1], task[2], task[0]).cursor()


def test_a_task_in_two_of_my_groups_is_listed_once_and_counted_once(
    deployed: None, client_for: Client, runtime: Runtime, clock: FrozenClock
) -> None:
    tasks = backlog(runtime, 12, clock.now(), seed=3)
    both = [t[0] for t in tasks if t[3] == ("csm", "support")]
    assert both
    mine = [t[0] for t in tasks if {"csm", "support"} & set(t[3])]
    page = text(client_for("sam").get("/inbox/?view=groups"))
    assert sorted(task_ids(page)) == sorted(mine)
    assert f"1–{len(mine)} of {len(mine)}" in page
    assert f'queue <span class="count" aria-label="{len(mine)} open">{len(mine)}</span>' in page


def test_counts_stop_at_a_thousand_and_the_pager_still_reaches_the_last_page(
    deployed: None, client_for: Client, runtime: Runtime, clock: FrozenClock
) -> None:
    tasks = backlog(runtime, 1003, clock.now(), seed=5)
    lea = client_for("lea")
    first = text(lea.get("/inbox/?view=all"))
    assert "1–50 of 1,000+" in first
    assert 'aria-label="1,000+ open">1,000+<' in first  # the All tab
    assert "Page 1</span>" in first and "Page 1 of" not in first  # the number of pages is unknown
    last = text(lea.get(link(first, "Last") or ""))
    assert task_ids(last) == in_order(tasks)[-50:]
    assert "50 shown of 1,000+" in last and link(last, "Next") is None and link(last, "Previous")
    second = text(lea.get(link(first, "Next") or ""))
    assert "51–100 of 1,000+" in second and "Page 2</span>" in second
    assert link(second, "Previous") == "/inbox/?view=all"  # back to the top, the first page's own address

    brazil = text(lea.get("/inbox/?view=all", headers={"Accept-Language": "pt-BR"}))
    assert "1.000+" in brazil and "1,000+" not in brazil


def test_a_page_number_past_the_end_or_a_broken_cursor_still_shows_a_page(
    deployed: None, client_for: Client, runtime: Runtime, clock: FrozenClock
) -> None:
    tasks = backlog(runtime, 60, clock.now(), seed=9)
    lea = client_for("lea")
    both = task_ids(text(lea.get("/inbox/?view=all"))) + task_ids(text(lea.get("/inbox/?view=all&page=2")))
    assert set(in_order(tasks)) <= set(both)
    past = text(lea.get("/inbox/?view=all&page=999999"))
    assert task_ids(past) == task_ids(text(lea.get("/inbox/?view=all&at=last")))
    for broken in ("x", "1.2", "n.50.99999999999999999999", "99999999999999999999999.1.1"):
        response = lea.get(f"/inbox/?view=all&after={broken}")
        assert response.status_code == 200
        assert task_ids(text(response)) == task_ids(text(lea.get("/inbox/?view=all")))
