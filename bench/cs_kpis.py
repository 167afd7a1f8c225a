"""CS layer at scale: the quarter's CS KPIs (``kpi cs``), the CS dashboard and the customers list (one page) at
1,000 and at 100,000 customers, and product-event ingestion through the API against task completions through it.

Each size gets a fresh SQLite database (migrated, WAL) filled with bulk inserts straight into the tables and the
rollups consistent with them: customers (segments, CSM owners, health), MRR movements (new, expansion,
contraction, churn), a journey per customer (start, first quick win, go-live), survey answers (NPS, CSAT, CES),
product events (with ``customer_day`` and ``cs_daily``), support tickets. Times: each figure is the median of
several warm runs; ``kpi cs`` is ``processes.kpis.cs_kpis`` on a fresh session, the pages are fetched through the
Flask test client as a signed-in lead.

Then, on the large database, a real gunicorn server (2 gthread workers x 4 threads, as bench/http_throughput.py)
takes POST /api/v1/events in batches of 100 and, alternating in the same run, POST /api/v1/tasks/<id>/complete
on instances of a 10-user-task model; each path's best round counts.

Goals: customers list ratio <= 1.5; quarter KPIs ratio <= 30; events/s ÷ task completions/s >= 5.
Usage: python bench/cs_kpis.py [--large 100000] [--events-per-customer 100] [--answers-per-customer 10]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DASHBOARD_URL = "/cs/"  # the CS dashboard (web/customers/dashboard.py)
CUSTOMERS_URL = "/customers/"  # the customers list, first page
LEAD, SERVICE, PASSWORD = "bench-lead", "bench-service", "bench-password-1"
OWNERS = [f"csm{n:02d}" for n in range(20)]
SEGMENTS = [("smb", 0.6, (100, 500)), ("mid_market", 0.3, (1000, 3000)), ("enterprise", 0.1, (5000, 20000))]
FIRST_CONTRACT = date(2024, 7, 1)
CHUNK = 200_000


def pick_segment(roll: float) -> tuple[str, int, int]:
    total = 0.0
    for segment, share, (low, high) in SEGMENTS:
        total += share
        if roll <= total:
            return segment, low, high
    return SEGMENTS[-1][0], *SEGMENTS[-1][2]


def stamp(moment: datetime) -> str:
    """A timestamp as SQLAlchemy stores UTCDateTime on SQLite."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def quarter_before(today: date) -> tuple[date, date]:
    """The last whole calendar quarter before ``today``."""
    start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last = start - timedelta(days=1)
    return date(last.year, 3 * ((last.month - 1) // 3) + 1, 1), last


@dataclass
class Sizes:
    customers: int
    movements: int = 0
    answers: int = 0
    events: int = 0
    customer_days: int = 0
    tickets: int = 0
    fill_seconds: float = 0.0


# -- filling -----------------------------------------------------------------------------------------------------
class Filler:
    """Bulk inserts of a consistent CS data set (raw sqlite3 executemany, rollups computed alongside)."""

    def __init__(self, db_path: Path, now: datetime, customers: int, events_each: int, answers_each: int) -> None:
        self.db = sqlite3.connect(db_path)
        self.db.execute("PRAGMA synchronous=OFF")
        self.now, self.today = now, now.date()
        self.sizes = Sizes(customers)
        self.events_each, self.answers_each = events_each, answers_each
        self.rng = random.Random(7)
        self.daily: dict[tuple[str, str, str], list[float]] = {}
        self.people: list[tuple[str, str, str, date, date | None]] = []  # id, segment, owner, start, churned on

    def bucket(self, day: str, segment: str, owner: str) -> list[float]:
        key = (day, segment, owner)
        if key not in self.daily:
            self.daily[key] = [0] * 9
        return self.daily[key]

    def run(self, journey_definition: int) -> Sizes:
        began = time.perf_counter()
        with self.db:
            self.customers_and_mrr()
            self.journeys(journey_definition)
            self.answers()
            self.tickets()
        self.events()
        with self.db:
            rows = [
                (d, s, o, *(int(v) for v in c[:6]), float(c[6]), int(c[7]), int(c[8]))
                for (d, s, o), c in self.daily.items()
            ]
            self.db.executemany("INSERT INTO cs_daily VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        self.db.close()
        self.sizes.fill_seconds = time.perf_counter() - began
        return self.sizes

    def customers_and_mrr(self) -> None:
        rng, span = self.rng, (self.today - FIRST_CONTRACT).days - 30
        customers, movements = [], []
        created = stamp(self.now)
        for n in range(self.sizes.customers):
            cid = f"C{n:06d}"
            segment, low, high = pick_segment(rng.random())
            owner = OWNERS[n % len(OWNERS)]
            start = FIRST_CONTRACT + timedelta(days=rng.randrange(span))
            mrr = float(rng.randrange(low, high, 10))
            moves = [(start, mrr, "new", 0.0)]
            roll = rng.random()
            if roll < 0.25:
                moves.append((start + timedelta(days=rng.randrange(30, 400)), round(mrr * 1.3, 2), "expansion", mrr))
            elif roll < 0.35:
                moves.append((start + timedelta(days=rng.randrange(30, 400)), round(mrr * 0.8, 2), "contraction", mrr))
            churned = None
            if rng.random() < 0.15:
                churned = moves[-1][0] + timedelta(days=rng.randrange(30, 300))
                moves.append((churned, 0.0, "churn", moves[-1][1]))
            moves = [m for m in moves if m[0] <= self.today]
            if churned and churned > self.today:
                churned = None
            for day, new, kind, old in moves:
                movements.append((cid, f"{day} 00:00:00.000000", kind, old, new))
            current = moves[-1][1]
            health = rng.uniform(15, 98)
            band = "healthy" if health >= 70 else "watch" if health >= 40 else "at_risk"
            stage = "churned" if current == 0 else "active"
            customers.append(
                (
                    cid,
                    f"Customer {n}",
                    f"cs{n}@example.com",
                    segment,
                    "standard",
                    current,
                    "USD",
                    owner,
                    str(start),
                    str(start + timedelta(days=365)),
                    stage,
                    None,
                    round(health, 1),
                    band,
                    created,
                    created,
                    None,
                    None,
                    None,
                )
            )
            self.people.append((cid, segment, owner, start, churned))
        self.db.executemany(
            "INSERT INTO customer (id, name, email, segment, plan, mrr, currency, csm_owner, contract_start,"
            " renewal_date, stage, external_id, health_score, health_band, health_updated_at, created_at, updated_at,"
            " archived_at, purged_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            customers,
        )
        movements.sort(key=lambda row: row[1])  # append-only tables fill in time order, as in production
        self.db.executemany(
            "INSERT INTO mrr_movement (customer_id, at, kind, old_mrr, new_mrr) VALUES (?,?,?,?,?)", movements
        )
        self.sizes.movements = len(movements)

    def journeys(self, definition: int) -> None:
        """A customer_journey instance per customer, its first-win task (with KPI row) and the go-live audit row,
        each table in time order."""
        rng = self.rng
        task_id = (self.db.execute("SELECT coalesce(max(id), 0) FROM human_task").fetchone()[0]) + 1
        seq, prev = self.db.execute("SELECT last_seq, last_hash FROM audit_head").fetchone()
        plans = []
        for cid, _segment, _owner, start, _churned in self.people:
            began = datetime.combine(start, datetime.min.time(), UTC) - timedelta(days=10)
            won = began + timedelta(days=rng.randrange(15, 45), hours=rng.randrange(24))
            live = won + timedelta(days=rng.randrange(5, 30))
            if live <= self.now:
                plans.append((cid, f"J-{cid}", began, won, live))
        instances = [
            (
                iid,
                definition,
                "customer_journey",
                "[]",
                cid,
                "waiting",
                "{}",
                ",offboarding_requested,",
                "bench",
                1,
                "bench",
                stamp(began),
            )
            for cid, iid, began, _won, _live in sorted(plans, key=lambda plan: plan[2])
        ]
        tasks, kpis, audits = [], [], []
        for cid, iid, _began, won, _live in sorted(plans, key=lambda plan: plan[3]):
            created, claimed, done = stamp(won - timedelta(days=2)), stamp(won - timedelta(days=1)), stamp(won)
            name = "Confirm first win achieved"
            tasks.append(
                (
                    task_id,
                    iid,
                    f"t-{cid}",
                    "confirm_first_win",
                    name,
                    "customer_journey",
                    cid,
                    "csm",
                    50,
                    "completed",
                    created,
                    claimed,
                    done,
                    "bench",
                )
            )
            kpis.append(
                (
                    task_id,
                    iid,
                    "customer_journey",
                    "confirm_first_win",
                    name,
                    "bench",
                    created,
                    claimed,
                    done,
                    86400.0,
                    86400.0,
                    172800.0,
                    0,
                    0,
                )
            )
            task_id += 1
        for cid, iid, _began, _won, live in sorted(plans, key=lambda plan: plan[4]):
            seq += 1
            after, before = {"stage": "active"}, {"stage": "onboarding"}
            payload = json.dumps({"after": after, "before": before, "customer": cid}, separators=(",", ":"))
            digest = hashlib.sha256(f"{seq}{payload}".encode()).hexdigest()
            audits.append(
                (
                    seq,
                    stamp(live),
                    "bench",
                    "customer_updated",
                    "customer_journey",
                    iid,
                    None,
                    cid,
                    payload,
                    digest,
                    prev,
                    digest,
                    0,
                )
            )
            prev = digest
        self.db.executemany(
            "INSERT INTO process_instance (id, definition_id, process_id, called_definitions, customer_id, status,"
            " state_json, waiting_messages, serializer_version, version, started_by, started_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            instances,
        )
        self.db.executemany(
            "INSERT INTO human_task (id, instance_id, task_id, element_id, name, process_id, customer_id,"
            " candidate_groups, priority, state, created_at, claimed_at, completed_at, completed_by)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            tasks,
        )
        self.db.executemany(
            "INSERT INTO task_kpi (human_task_id, instance_id, process_id, element_id, name, completed_by, created_at,"
            " claimed_at, completed_at, wait_seconds, work_seconds, cycle_seconds, warn_reached, stuck_reached)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            kpis,
        )
        self.db.executemany(
            "INSERT INTO audit_event (seq, at, actor, action, process_id, instance_id, task_id, customer_id, payload,"
            " payload_hash, prev_hash, hash, redacted) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            audits,
        )
        self.db.execute("UPDATE audit_head SET last_seq = ?, last_hash = ?", (seq, prev))

    def _moments(self, start: date, churned: date | None, count: int) -> list[datetime]:
        """``count`` instants while the customer was a customer (at most the last year)."""
        first = max(start, self.today - timedelta(days=365))
        last = min(churned or self.today, self.today - timedelta(days=1))
        days = max(1, (last - first).days)
        base = datetime.combine(first, datetime.min.time(), UTC)
        return sorted(base + timedelta(seconds=self.rng.randrange(days * 86400)) for _ in range(count))

    def answers(self) -> None:
        rng, rows = self.rng, []
        for cid, segment, owner, start, churned in self.people:
            for moment in self._moments(start, churned, self.answers_each):
                roll = rng.random()
                kind, score, low, high = (
                    ("nps", rng.randint(0, 10), 0, 10)
                    if roll < 0.5
                    else ("csat", rng.randint(1, 5), 1, 5)
                    if roll < 0.85
                    else ("ces", rng.randint(0, 5), 0, 5)
                )
                at = stamp(moment)
                rows.append((cid, kind, score, low, high, at, "", "demo"))
                c = self.bucket(at[:10], segment, owner)
                if kind == "nps":
                    c[0] += 1
                    c[1] += score >= 9
                    c[2] += score <= 6
                elif kind == "csat":
                    c[3] += 1
                    c[4] += score >= 4
                else:
                    c[5] += 1
                    c[6] += score
        rows.sort(key=lambda row: row[5])  # in time order, as they arrive
        for first in range(0, len(rows), CHUNK):
            self._answers(rows[first : first + CHUNK])

    def _answers(self, rows: list[tuple[Any, ...]]) -> None:
        self.db.executemany(
            "INSERT INTO survey_answer (customer_id, kind, score, scale_min, scale_max, at, comment, source)"
            " VALUES (?,?,?,?,?,?,?,?)",
            rows,
        )
        self.sizes.answers += len(rows)

    def tickets(self) -> None:
        rng = self.rng
        rows: list[tuple[Any, ...]] = []
        for cid, _segment, _owner, start, churned in self.people:
            previous: datetime | None = None
            for moment in self._moments(start, churned, rng.choice((0, 0, 1, 1, 2, 3))):
                responded = moment + timedelta(minutes=rng.randrange(10, 30 * 60))
                first_contact = rng.random() < 0.45
                resolved = responded if first_contact else responded + timedelta(hours=rng.randrange(2, 120))
                repeat = previous is not None and moment - previous <= timedelta(days=30)
                rows.append(
                    (
                        f"T-{cid}-{len(rows)}",
                        cid,
                        "Bench ticket",
                        stamp(moment),
                        stamp(responded),
                        stamp(resolved) if resolved < self.now else None,
                        first_contact,
                        repeat,
                    )
                )
                previous = moment
        rows.sort(key=lambda row: row[3])
        self.db.executemany(
            "INSERT INTO support_ticket (instance_id, customer_id, subject, created_at, first_response_at,"
            " resolved_at, first_contact_resolution, repeat_within_30d) VALUES (?,?,?,?,?,?,?,?)",
            rows,
        )
        self.sizes.tickets = len(rows)

    def events(self) -> None:
        """Product events on ~1 day in 4 of the events (4 per active day), customer_day and cs_daily with them."""
        received = stamp(self.now)
        events: list[tuple[Any, ...]] = []
        days_rows: list[tuple[Any, ...]] = []
        for cid, segment, owner, start, churned in self.people:
            moments = self._moments(start, churned, max(1, self.events_each // 4))
            per_day: dict[str, int] = {}
            for moment in moments:
                day = moment.strftime("%Y-%m-%d")
                for k in range(4):
                    at = moment + timedelta(seconds=17 * k)
                    events.append((cid, "feature_used", f"{day} {at:%H:%M:%S}.000000", "{}", "demo", received))
                per_day[day] = per_day.get(day, 0) + 4
            for day, count in per_day.items():
                days_rows.append((cid, day, count))
                c = self.bucket(day, segment, owner)
                c[7] += count
                c[8] += 1
            if len(events) >= CHUNK:
                self._events(events, days_rows)
        self._events(events, days_rows)

    def _events(self, events: list[tuple[Any, ...]], days_rows: list[tuple[Any, ...]]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT INTO product_event (customer_id, name, at, properties, source, received_at)"
                " VALUES (?,?,?,?,?,?)",
                events,
            )
            self.db.executemany("INSERT INTO customer_day (customer_id, day, events) VALUES (?,?,?)", days_rows)
        self.sizes.events += len(events)
        self.sizes.customer_days += len(days_rows)
        events.clear()
        days_rows.clear()


# -- measuring ---------------------------------------------------------------------------------------------------
def median_time(action: Callable[[], object], runs: int) -> float:
    action()  # warm-up
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def signed_in(app: Any, username: str) -> Any:
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert token, "no CSRF token on /login"
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)})
    assert answer.status_code == 302, answer.status_code
    return client


@dataclass
class Site:
    folder: Path
    url: str
    runtime: Any
    token: str
    sizes: Sizes


def build(folder: Path, customers: int, now: datetime, events_each: int, answers_each: int) -> Site:
    from engine import Runtime, Store, load_config
    from engine.models import ProcessDefinition
    from processes import build_registry
    from tests.bpmn_builder import linear
    from web.accounts import users

    url = f"sqlite:///{folder / 'cs.db'}"
    store = Store(url)
    store.migrate()
    config = load_config({"database_url": url, "data_dir": str(folder)}, environ={})
    runtime = Runtime(store, build_registry(), config=config)
    files = {p.name: p.read_bytes() for p in sorted((ROOT / "bpmn").glob("*.bpmn"))}
    runtime.deploy({**files, "linear10.bpmn": linear("linear10", 10)}, actor="bench")
    users.add_user(runtime, LEAD, PASSWORD, roles=["lead"], groups=["cs_lead"], actor="bench")
    service = users.add_user(runtime, SERVICE, PASSWORD, roles=["staff"], groups=["csm"], actor="bench")
    token = users.create_token(runtime, service, "bench", actor="bench")
    with store.session() as s:
        journey = s.query(ProcessDefinition.id).filter_by(process_id="customer_journey").scalar()
    sizes = Filler(folder / "cs.db", now, customers, events_each, answers_each).run(journey)
    return Site(folder, url, runtime, token, sizes)


def measure(site: Site, quarter: tuple[date, date], runs: int) -> dict[str, float | None]:
    from processes.kpis import cs_kpis
    from web import create_app

    runtime = site.runtime

    def kpis() -> None:
        with runtime.store.session() as s:
            cs_kpis(s, first=quarter[0], last=quarter[1], config=runtime.config)

    settings = {**runtime.config, "web": {**runtime.config["web"], "cookie_secure": False, "secret_key": "bench"}}
    app = create_app(settings, runtime=runtime)
    client = signed_in(app, LEAD)

    def page(path: str) -> Callable[[], None]:
        def fetch() -> None:
            answer = client.get(path)
            assert answer.status_code == 200, f"{path}: {answer.status_code}"

        return fetch

    found: dict[str, float | None] = {"kpi": median_time(kpis, runs)}
    dashboard = f"{DASHBOARD_URL}?from={quarter[0]}&to={quarter[1]}"
    for name, path in (("dashboard", dashboard), ("customers", CUSTOMERS_URL)):
        status = client.get(path).status_code
        if status == 404:
            print(f"note: {path} answers 404 (not built yet): skipped")
            found[name] = None
        else:
            found[name] = median_time(page(path), runs)
    return found


# -- events vs task completions over HTTP -----------------------------------------------------------------------
def http_rates(site: Site, rounds: int, batches: int, instances: int, now: datetime) -> tuple[float, float, str]:
    import http_throughput as ht

    port = ht.free_port()
    server = ht.start_server(site.folder, site.url, port)
    db_path = site.folder / "cs.db"
    rng = random.Random(11)
    events_rates: list[float] = []
    task_rates: list[float] = []
    try:
        ht.wait_until_serving(server, port)
        for attempt in range(10):  # the second worker may still be booting: it accepts nothing yet
            try:
                placed = ht.placed_clients(port, site.token, 2, server.pid)
                break
            except SystemExit:
                if attempt == 9:
                    raise
                time.sleep(2)
        pool = [client for found in placed.values() for client in found]
        spread = " + ".join(str(len(found)) for found in placed.values())
        customers = site.sizes.customers

        def post_events(client: Any, count: int) -> int:
            for _ in range(count):
                at = (now - timedelta(minutes=rng.randrange(1, 600))).isoformat()
                body = {
                    "events": [
                        {
                            "customer_id": f"C{rng.randrange(customers):06d}",
                            "name": "feature_used",
                            "at": at,
                            "properties": {"feature": "reports"},
                        }
                        for _ in range(100)
                    ]
                }
                client.post("/api/v1/events", body, 201)
            return count * 100

        def in_parallel(work: Callable[[int], int]) -> float:
            return ht.in_parallel(len(pool), work)[0]

        for round_no in range(rounds):
            events_rates.append(in_parallel(lambda i: post_events(pool[i], batches)))
            shares: list[list[str]] = [[] for _ in pool]
            for n in range(instances):
                i = n % len(pool)
                body = {"process_id": "linear10", "customer_id": f"C{(round_no * instances + n) % customers:06d}"}
                shares[i].append(pool[i].post("/api/v1/instances", body, 201)["id"])
            task_rates.append(
                in_parallel(
                    lambda i, shares=shares: ht.work_through(  # type: ignore[misc]
                        db_path, shares[i], lambda task: pool[i].post(f"/api/v1/tasks/{task}/complete", ht.DATA)
                    )
                )
            )
        for client in pool:
            client.close()
    finally:
        server.terminate()
        server.wait(30)
    return max(events_rates), max(task_rates), spread


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--small", type=int, default=1000, help="customers of the small data set")
    args.add_argument("--large", type=int, default=100_000, help="customers of the large data set")
    args.add_argument("--events-per-customer", type=int, default=100, help="product events per customer")
    args.add_argument("--answers-per-customer", type=int, default=10, help="survey answers per customer")
    args.add_argument("--runs", type=int, default=5, help="timed runs per figure (the median counts)")
    args.add_argument("--rounds", type=int, default=5, help="alternating HTTP rounds (the best counts)")
    args.add_argument("--batches", type=int, default=20, help="event batches of 100 per client and round")
    args.add_argument("--instances", type=int, default=30, help="10-task instances per round")
    ns = args.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    quarter = quarter_before(now.date())
    results: dict[int, dict[str, float | None]] = {}
    sizes: dict[int, Sizes] = {}
    rates: tuple[float, float, str] | None = None
    with contextlib.ExitStack() as stack:
        for customers in (ns.small, ns.large):
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            site = build(folder, customers, now, ns.events_per_customer, ns.answers_per_customer)
            sizes[customers] = site.sizes
            s = site.sizes
            print(
                f"{customers:,} customers: {s.movements:,} MRR movements, {s.answers:,} survey answers, "
                f"{s.events:,} events ({s.customer_days:,} customer-days), {s.tickets:,} tickets; "
                f"filled in {s.fill_seconds:.0f} s",
                flush=True,
            )
            try:
                results[customers] = measure(site, quarter, ns.runs)
                if customers == ns.large:
                    rates = http_rates(site, ns.rounds, ns.batches, ns.instances, now)
            finally:
                site.runtime.close()

    small, large = results[ns.small], results[ns.large]

    def ms(value: float | None) -> str:
        return "skipped" if value is None else f"{1000 * value:8.1f} ms"

    def ratio(name: str) -> str:
        a, b = small[name], large[name]
        return "n/a" if a is None or b is None else f"{b / a:.2f}"

    print(f"quarter {quarter[0]} .. {quarter[1]}; medians of {ns.runs} warm runs")
    for name, label in (("kpi", "kpi cs (quarter)"), ("dashboard", "dashboard page"), ("customers", "customers list")):
        print(f"{label:<18} {ns.small:>7,} customers: {ms(small[name])}")
        print(f"{label:<18} {ns.large:>7,} customers: {ms(large[name])}")
    if rates is not None:
        events, tasks, spread = rates
        print(f"events ingested via POST /api/v1/events (batches of 100, clients per worker {spread}): {events:8.1f}/s")
        print(f"task completions via POST /api/v1/tasks/<id>/complete (same server, same run):  {tasks:8.1f}/s")
    print(f"customers list ratio = {ratio('customers')}  (goal <= 1.5)")
    print(f"dashboard ratio = {ratio('dashboard')}")
    print(f"quarter KPIs ratio = {ratio('kpi')}  (goal <= 30)")
    if rates is not None:
        print(f"events ratio = events/s ÷ task completions/s = {rates[0] / rates[1]:.2f}  (goal >= 5)")


if __name__ == "__main__":
    main()
