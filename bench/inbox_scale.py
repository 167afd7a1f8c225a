"""Issue 11's acceptance check: the inbox at 10,000 and at 1,000,000 ``human_task`` rows, in two shapes.

- share: the open share is constant (14 % of the rows are open: 1,400 at 10 k, 140,000 at 1 M); goal ratio <= 3.
- backlog: the open backlog is constant (~1,400 open tasks), only the history of closed tasks grows; goal <= 1.5.

For each database (SQLite; PostgreSQL when JORNADA_TEST_PG_URL or --pg-url is set) and shape, both sizes are built
in bulk (bench/inbox_data.py), then measured with the real code, the two sizes taking turns run after run (a busy
moment of a shared machine falls on both alike): the median of --runs timed runs after a warm-up of
``web.inbox.query.search`` (each in a fresh read session) for each view (mine, groups, all) on page 1 and on the
last page and for the groups view with a process filter, and of GET /inbox/ through the Flask test client (groups
view as a staff member in three groups, all view as a lead). Prints one line per figure: shape, database, what,
the time at each size, the ratio, the goal and OK / OVER. A bench: it exits 0 whatever the ratios.

Usage: python bench/inbox_scale.py [--sizes 10000,1000000] [--shapes share,backlog] [--db sqlite,postgresql]
                                   [--runs 7] [--backlog 1400] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from inbox_data import BACKLOG, LEAD, NOW, PASSWORD, STAFF, STAFF_GROUPS, Built, Plan, build, database  # noqa: E402

SHAPES = {"share": 3.0, "backlog": 1.5}  # shape -> goal ratio
DATABASES = ("sqlite", "postgresql")
FILTER_PROCESS = "support"


# -- measuring -----------------------------------------------------------------------------------------------------
WHAT = (
    "mine, page 1",
    "mine, last page",
    "groups, page 1",
    "groups, last page",
    "all, page 1",
    "all, last page",
    f"groups, process={FILTER_PROCESS}, page 1",
    "GET /inbox/?view=groups (staff)",
    "GET /inbox/?view=all (lead)",
)


class PageFailed(Exception):
    """A page did not answer 200."""


def signed_in(app: Any, username: str) -> Any:
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert token, "no CSRF token on /login"
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)})
    assert answer.status_code == 302, f"signing in {username}: {answer.status_code}"
    return client


def held(found: Any) -> str:
    return f"{found.total:,}{'+' if getattr(found, 'more', False) else ''}"


def last_page(first: Any, found: Any) -> Any:
    """The filters of the view's last page: ``at="last"`` (keyset pages), else the last page's number."""
    if "at" in {f.name for f in fields(first)}:
        return replace(first, at="last")
    return replace(first, page=found.pages)


@dataclass
class Site:
    """One built database with the app on it: each figure of WHAT as an action, and what each view holds."""

    runtime: Any
    actions: dict[str, Callable[[], object]]
    totals: dict[str, str]  # as the view's page says ("1,001+" past the inbox's count cap)

    @classmethod
    def open(cls, store: Any, folder: Path) -> Site:
        from engine import FrozenClock, Runtime, load_config
        from processes import build_registry

        config = load_config({"database_url": store.url, "data_dir": str(folder)}, environ={})
        runtime = Runtime(store, build_registry(), clock=FrozenClock(NOW), config=config)
        try:
            return cls(runtime, *cls._actions(runtime))
        except BaseException:
            runtime.close()
            raise

    @staticmethod
    def _actions(runtime: Any) -> tuple[dict[str, Callable[[], object]], dict[str, str]]:
        from web import create_app
        from web.accounts import users
        from web.inbox import query as inbox_query
        from web.inbox.filters import InboxFilters

        store = runtime.store
        staff = users.add_user(runtime, STAFF, PASSWORD, roles=["staff"], groups=list(STAFF_GROUPS), actor="bench")
        lead = users.add_user(runtime, LEAD, PASSWORD, roles=["lead"], groups=["cs_lead"], actor="bench")
        with store.reading() as conn:
            staff_me, lead_me = users.load_principal(conn, staff), users.load_principal(conn, lead)
        assert staff_me is not None and lead_me is not None

        def search(me: Any, filters: InboxFilters) -> Any:
            with store.session() as session:  # a fresh read session, as a request has
                return inbox_query.search(session, me, filters, NOW)

        def searching(me: Any, filters: InboxFilters) -> Callable[[], object]:
            return lambda: search(me, filters)

        actions: dict[str, Callable[[], object]] = {}
        totals: dict[str, str] = {}
        for view, me in (("mine", staff_me), ("groups", staff_me), ("all", lead_me)):
            first = InboxFilters(view=view)
            found = search(me, first)
            totals[view] = held(found)
            actions[f"{view}, page 1"] = searching(me, first)
            actions[f"{view}, last page"] = searching(me, last_page(first, found))
        narrowed = InboxFilters(view="groups", process=FILTER_PROCESS)
        totals["filtered"] = held(search(staff_me, narrowed))
        actions[WHAT[6]] = searching(staff_me, narrowed)

        settings = {**runtime.config, "web": {**runtime.config["web"], "cookie_secure": False, "secret_key": "bench"}}
        app = create_app(settings, runtime=runtime)
        for what, username, path in ((WHAT[7], STAFF, "/inbox/?view=groups"), (WHAT[8], LEAD, "/inbox/?view=all")):
            client = signed_in(app, username)

            def fetch(client: Any = client, path: str = path) -> None:
                answer = client.get(path)
                if answer.status_code != 200:
                    raise PageFailed(f"GET {path} answered {answer.status_code}")

            actions[what] = fetch
        return actions, totals


def medians_ms(actions: Sequence[Callable[[], object]], runs: int) -> list[float]:
    """The median time of each action, in ms: one warm-up each, then the actions take turns run after run, so a
    busy moment of the machine falls on every size alike. NaN for an action whose page failed."""
    times: list[list[float]] = [[] for _ in actions]
    try:
        for action in actions:
            action()
        for _ in range(runs):
            for n, action in enumerate(actions):
                began = time.perf_counter()
                action()
                times[n].append(time.perf_counter() - began)
    except PageFailed as failed:  # the other figures still count; the table says FAILED
        print(f"note: {failed}", flush=True)
        return [math.nan for _ in actions]
    return [1000 * statistics.median(found) for found in times]


# -- the run -------------------------------------------------------------------------------------------------------
Results = dict[tuple[str, str], dict[str, list[float]]]  # (shape, database) -> what -> ms at each size


def describe(kind: str, built: Built, site: Site) -> str:
    plan, c, t = built.plan, built.counts, site.totals
    return (
        f"{kind} {plan.shape} {plan.size:,}: built in {built.seconds:.1f} s — human_task {c['human_task']:,} "
        f"({plan.open_count:,} open), human_task_group {c['human_task_group']:,}, open_task_group "
        f"{c['open_task_group']:,}; views hold mine {t['mine']}, groups {t['groups']}, all {t['all']}, "
        f"groups+{FILTER_PROCESS} {t['filtered']}"
    )


def run(
    dbs: Sequence[str], shapes: Sequence[str], sizes: Sequence[int], runs: int, backlog: int, pg_url: str | None
) -> Results:
    """Build both sizes of every (database, shape), then time each figure on both, taking turns."""
    from engine import Store

    results: Results = {}
    for kind in dbs:
        for shape in shapes:
            with contextlib.ExitStack() as stack:
                sites = []
                for size in sizes:
                    url = stack.enter_context(database(kind, pg_url, f"{shape}_{size}"))
                    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="inbox-scale-")))
                    store = Store(url)
                    stack.callback(store.dispose)
                    built = build(store, Plan.of(shape, size, backlog))
                    site = Site.open(store, folder)
                    stack.callback(site.runtime.close)
                    print(describe(kind, built, site), flush=True)
                    sites.append(site)
                results[(shape, kind)] = {
                    what: medians_ms([site.actions[what] for site in sites], runs) for what in WHAT
                }
    return results


def table(results: Results, sizes: Sequence[int], runs: int) -> list[str]:
    small, large = sizes
    head = f"{'shape':<8} {'db':<10} {'what':<34} {f'{small:,}':>10} {f'{large:,}':>10} {'ratio':>7}  goal"
    lines = [f"medians of {runs} warm runs (the two sizes taking turns), ms", head]
    for (shape, kind), by_what in results.items():
        goal = SHAPES[shape]
        for what in WHAT:
            a, b = by_what[what]
            ratio = b / a
            verdict = "FAILED" if math.isnan(ratio) else "OK" if ratio <= goal else "OVER"
            lines.append(
                f"{shape:<8} {kind:<10} {what:<34} {a:>10.2f} {b:>10.2f} {ratio:>7.2f}  <= {goal:<4} {verdict}"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument("--sizes", default="10000,1000000", help="the two task-row counts, small,large")
    args.add_argument("--shapes", default="share,backlog", help=f"of {', '.join(SHAPES)}")
    args.add_argument("--db", default="sqlite,postgresql", help="of sqlite, postgresql (PostgreSQL needs a URL)")
    args.add_argument("--runs", type=int, default=7, help="timed runs per figure (the median counts)")
    args.add_argument("--backlog", type=int, default=BACKLOG, help="open tasks of the backlog shape")
    args.add_argument("--pg-url", default=os.environ.get("JORNADA_TEST_PG_URL"), help="PostgreSQL admin URL")
    ns = args.parse_args(argv)
    sizes = [s.strip().replace("_", "") for s in ns.sizes.split(",") if s.strip()]
    shapes = [s.strip() for s in ns.shapes.split(",") if s.strip()]
    dbs = [d.strip() for d in ns.db.split(",") if d.strip()]
    if len(sizes) != 2 or not all(s.isdigit() and int(s) > 0 for s in sizes):
        args.error(f"--sizes: give two positive row counts, small,large (got {ns.sizes!r})")
    if ns.runs < 1 or ns.backlog < 1:
        args.error("--runs and --backlog: at least 1")
    if unknown := [s for s in shapes if s not in SHAPES] + [d for d in dbs if d not in DATABASES]:
        args.error(f"unknown shape or database: {', '.join(unknown)}")
    if "postgresql" in dbs and not ns.pg_url:
        print("note: PostgreSQL skipped (set JORNADA_TEST_PG_URL or --pg-url)")
        dbs.remove("postgresql")
    counts = [int(s) for s in sizes]
    results = run(dbs, shapes, counts, ns.runs, ns.backlog, ns.pg_url)
    print("\n".join(table(results, counts, ns.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
