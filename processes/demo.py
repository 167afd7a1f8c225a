"""``jornada demo``: N customers walk the whole journey on an injected clock, worked by simulated staff.

The clock starts ``days`` days ago and moves in steps; each step the staff complete some of the open tasks with
form data generated from the model's own form fields, product events and survey answers arrive, timers fire and
the stuck-step sweep runs, exactly as the scheduler would. At the end it prints the KPI table and alert counts.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from tqdm import tqdm

from engine import (
    FINAL_STATUSES,
    OPEN_TASK_STATES,
    Field,
    FrozenClock,
    InstanceStatus,
    MessageNotDelivered,
    Runtime,
    print_kpi_table,
    run_once,
    step_stats,
)
from engine.models import Alert, HumanTask, ProcessInstance
from processes import demo_book, health, ingest, playbooks, purge, surveys
from processes.customers import Contact, Customer, Invoice, create_customer
from processes.events import PlaybookRun
from processes.ingest import Incoming
from processes.surveys import SurveyLink

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"
STAFF = {
    "csm": ["ana", "bruno"],
    "support": ["carla", "diego"],
    "trainer": ["elisa"],
    "finance": ["fabio"],
    "security": ["gabi"],
    "cs_lead": ["helena"],
}
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Vandelay",
    "Pied Piper",
    "Aperture",
    "Black Mesa",
    "Oscorp",
    "Gringotts",
    "Monsters Inc",
]
# Choices that move a journey forward most of the time (loops still happen, as in life).
PREFERRED = {"exam_result": ("pass", 0.75), "outcome": ("paid", 0.6), "severity": ("normal", 0.5)}
# Deletion agreements keep the data a few weeks at most (the form allows ten years: the demo would never purge).
RETENTION_DAYS = (0, 0, 7, 30)


def fill(field: Field, rng: random.Random, today: date) -> Any:
    if field.type == "boolean":
        return rng.random() < 0.85
    if field.type == "long":
        low = int(float(field.constraints.get("min") or 0))
        high = int(float(field.constraints.get("max") or low + 100))
        return rng.randint(low, max(low, high))
    if field.type == "date":
        return today.isoformat()
    if field.type == "enum":
        options = [option for option, _ in field.options]
        preferred = PREFERRED.get(field.id)
        if preferred and preferred[0] in options and rng.random() < preferred[1]:
            return preferred[0]
        return rng.choice(options)
    limit = int(field.constraints.get("maxlength") or 40)
    samples = [f"{field.label} ok"[:limit], "acme-1", "cs@acme.example", "REF-2026-001", "https://acme.example"]
    if "email" in field.id:
        samples.insert(0, "cs@acme.example")
    pattern = field.constraints.get("pattern")
    return next((s for s in samples if not pattern or re.fullmatch(pattern, s)), samples[0])


class Simulation:
    def __init__(self, runtime: Runtime, clock: FrozenClock, rng: random.Random) -> None:
        self.runtime, self.clock, self.rng = runtime, clock, rng
        self.engagement: dict[str, float] = {}  # 0..1 per customer: how often they use the product

    def work_tasks(self, share: float, budget_minutes: int = 180) -> int:
        """Staff claim and complete about ``share`` of the open tasks; the minutes spent working move the clock,
        at most ``budget_minutes`` in all (they work side by side), so a step never outruns its slot."""
        with self.runtime.store.session() as s:
            rows = s.execute(select(HumanTask).where(HumanTask.state.in_(OPEN_TASK_STATES))).scalars().all()
        done = 0
        for row in rows:
            if self.rng.random() > share:
                continue
            group = (row.candidate_groups.split(",") or ["csm"])[0]
            actor = self.rng.choice(STAFF.get(group, ["ana"]))
            if row.assignee is None:
                self.runtime.claim(row.id, actor=actor)
                minutes = min(self.rng.randint(5, 90), budget_minutes)
                budget_minutes -= minutes
                self.clock.advance(minutes=minutes)
            else:
                actor = row.assignee
            self.runtime.complete(row.id, actor=actor, data=self.form_data(row))
            done += 1
        return done

    def release_held_purges(self) -> None:
        """A purge held back by the customer's open instances (a ticket still waiting for its survey): security
        cancels them and retries the deletion, as the incident tells them to."""
        with self.runtime.store.session() as s:
            held = s.execute(
                select(ProcessInstance.id, ProcessInstance.customer_id).where(
                    ProcessInstance.status == InstanceStatus.INCIDENT,
                    ProcessInstance.incident.contains(purge.HELD_BACK),
                )
            ).all()
        for instance_id, customer_id in held:
            with self.runtime.store.session() as s:
                others = s.execute(
                    select(ProcessInstance.id).where(
                        ProcessInstance.customer_id == customer_id,
                        ProcessInstance.id != instance_id,
                        ProcessInstance.status.not_in(FINAL_STATUSES),
                    )
                ).scalars()
                still_open = list(others)
            for other in still_open:
                self.runtime.cancel(other, actor="gabi", reason="customer offboarded: its data is being purged")
            self.runtime.retry(instance_id, actor="gabi", reason="open instances cancelled")

    def form_data(self, row: HumanTask) -> dict[str, Any]:
        today = self.clock.now().date()
        data = {f.id: fill(f, self.rng, today) for f in self.runtime.task_view(row.id).fields if not f.readonly}
        if "retention_days" in data:
            data["retention_days"] = self.rng.choice(RETENTION_DAYS)
        money = [key for key in data if "mrr" in key]
        if money and row.customer_id:  # an MRR figure: the customer's own, grown (expansions mostly grow)
            with self.runtime.store.session() as s:
                current = s.get(Customer, row.customer_id)
                base = current.mrr if current is not None and current.mrr else 500.0
            for key in money:
                data[key] = int(round(base * self.rng.uniform(1.1, 1.6), -1))
        return data

    def product_events(self, customers: list[str]) -> None:
        """Customers use the product (events through the same ingestion as the events API: stored, counted,
        delivered to waiting instances, playbook rules); a few use a key feature for the first time."""
        incoming = []
        now = self.clock.now()
        for customer_id in customers:
            if self.rng.random() < 0.3 * self.engagement.get(customer_id, 0.7) ** 2:
                feature = self.rng.choice(demo_book.FEATURES)
                incoming.append(Incoming(customer_id, "feature_used", now, {"feature": feature}))
            if self.rng.random() < 0.05:
                incoming.append(Incoming(customer_id, "first_use", now, {"feature": "reports"}))
        if not incoming:
            return
        with self.runtime.unit() as u:
            known = ingest.known_customers(u.session, {e.customer_id for e in incoming})
            live = [e for e in incoming if e.customer_id in known and known[e.customer_id].purged_at is None]
            ingest.ingest(self.runtime, u, live, known, actor="events-api", source="demo")
        playbooks.start_pending(self.runtime)

    def nps_answers(self, customers: list[str]) -> None:
        """The quarterly relationship survey: a few customers answer NPS each day (detractors and promoters then
        meet the playbook rules, as any answer does)."""
        config = self.runtime.config
        for customer_id in customers:
            if self.rng.random() > 0.03:
                continue
            with self.runtime.unit() as u:
                customer = u.session.get(Customer, customer_id)
                if customer is None or customer.stage in ("churned", "prospect") or customer.purged_at is not None:
                    continue
                score = demo_book.nps_score(self.rng, self.engagement.get(customer_id, 0.6))
                answer = surveys.record_answer(
                    u.session, config, customer=customer, kind="nps", score=score, at=u.now, source="api"
                )
                surveys.answered(u.session, config, answer, u.now, actor="nps-survey")
        playbooks.start_pending(self.runtime)

    def survey_answers(self) -> None:
        """Contacts answer about half of the survey links mailed to them (support tickets' CSAT and CES)."""
        now = self.clock.now()
        with self.runtime.store.session() as s:
            links = s.execute(
                select(SurveyLink.id).where(SurveyLink.answered_at.is_(None), SurveyLink.expires_at > now)
            ).scalars()
            pending = list(links)
        config = self.runtime.config
        for link_id in pending:
            if self.rng.random() > 0.5:
                continue
            with self.runtime.unit() as u:
                link = u.session.get(SurveyLink, link_id)
                assert link is not None
                low, high = surveys.scale(link.kind, config)

                token = surveys.link_token(config, link_id)
                surveys.answer_link(
                    u.session,
                    config,
                    token,
                    self.rng.randint(low, high),
                    "",
                    u.now,
                    deliver=surveys.delivering(self.runtime, u),
                )
        playbooks.start_pending(self.runtime)

    def occurrences(self, customers: list[str]) -> None:
        """Active customers open tickets, ask for training, grow, and promoters refer."""
        with self.runtime.store.session() as s:
            active = (
                s.execute(select(Customer.id).where(Customer.id.in_(customers), Customer.stage == "active"))
                .scalars()
                .all()
            )
        for customer_id in active:
            roll = self.rng.random()
            troubled = self.engagement.get(customer_id, 1.0) < demo_book.TROUBLED
            if roll < (0.3 if troubled else 0.08):
                subject = self.rng.choice(("Cannot export report", "SSO login fails", "Report is empty again"))
                self.runtime.start(
                    "support",
                    actor="events-api",
                    customer_id=customer_id,
                    data={"subject": subject, "severity": "normal"},
                )
            elif roll < 0.10:
                self.runtime.start(
                    "expansion",
                    actor="ana",
                    customer_id=customer_id,
                    data={"signal": self.rng.choice(["usage", "seats"]), "new_mrr": 1500},
                )
            elif roll < 0.11:
                self.runtime.start("referrals", actor="ana", customer_id=customer_id, data={"nps": 10})
            elif roll < 0.12:
                self.runtime.start("advanced_training", actor="elisa", customer_id=customer_id)
            elif roll < 0.135:
                # only a journey hears it; the established book runs no journey instance
                with contextlib.suppress(MessageNotDelivered):
                    self.runtime.send_message(
                        "offboarding_requested", {"reason": "budget"}, actor="ana", customer_id=customer_id
                    )


def run_demo(runtime: Runtime, args: argparse.Namespace) -> int:
    if args.if_empty:
        with runtime.store.session() as s:
            if s.execute(select(func.count()).select_from(Customer)).scalar_one():
                print("demo: customers exist already; nothing to add")
                return 0
    rng = random.Random(args.seed)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=args.days)
    clock = FrozenClock(start)
    sim_runtime = Runtime(runtime.store, runtime.handlers, clock=clock, config=runtime.config, sandbox=runtime.sandbox)
    sim_runtime.deploy({p.name: p.read_bytes() for p in sorted(BPMN_DIR.glob("*.bpmn"))}, actor="demo")
    sim = Simulation(sim_runtime, clock, rng)
    customers = []
    with sim_runtime.unit() as u:
        offset = u.session.execute(select(func.count()).select_from(Customer)).scalar_one()
        for n in range(args.customers):
            cid = f"C-{offset + n + 1:04d}"
            name = f"{COMPANIES[(offset + n) % len(COMPANIES)]} {offset + n + 1}"
            segment = rng.choice(demo_book.SEGMENTS)
            create_customer(
                u.session,
                cid,
                name,
                now=u.now,
                email=f"cs@{name.split()[0].lower()}.example",
                segment=segment,
                mrr=float(rng.randrange(*demo_book.SEGMENT_MRR[segment], 50)),
                csm_owner=rng.choice(STAFF["csm"]),
                contract_start=u.now.date(),
                renewal_date=u.now.date() + timedelta(days=365),
            )
            u.session.add(
                Invoice(
                    customer_id=cid,
                    amount=rng.choice([0.0, 450.0, 900.0]),
                    due_at=u.now + timedelta(days=rng.randint(20, 60)),
                )
            )
            u.session.add(
                Contact(
                    customer_id=cid,
                    name=f"{name} admin",
                    email=f"admin@{name.split()[0].lower()}.example",
                    role="admin",
                    language=rng.choice(("en", "pt_BR")),
                    created_at=u.now,
                )
            )
            customers.append(cid)
        engagement = demo_book.add_book(
            u.session,
            rng,
            count=args.book,
            first_number=offset + args.customers + 1,
            now=u.now,
            owners=STAFF["csm"] + ["helena"],
            names=COMPANIES,
            config=runtime.config,
        )
    book = list(engagement)
    sim.engagement = {**{cid: rng.uniform(0.45, 0.95) for cid in customers}, **engagement}
    steps = args.days * 6
    starts: dict[int, list[str]] = {}
    signup_steps = max(1, int(steps * args.signup_share))
    for index, cid in enumerate(customers):  # sign-ups spread over the first part of the period
        starts.setdefault(index * signup_steps // max(1, len(customers)), []).append(cid)
    with tqdm(total=steps, desc="demo", unit="step", disable=args.quiet) as bar:
        for step in range(steps):
            for cid in starts.get(step, []):
                sim_runtime.start("customer_journey", actor="sales-bot", customer_id=cid)
            if step < steps - args.idle_hours // 4:
                sim.work_tasks(share=0.35)
                sim.release_held_purges()
            sim.product_events(customers + book)
            if step % 6 == 0:
                sim.occurrences(customers + book)
                sim.survey_answers()
                sim.nps_answers(customers + book)
            clock.advance(max(timedelta(0), start + timedelta(hours=4 * (step + 1)) - clock.now()))
            run_once(sim_runtime)  # timers, stuck-step alerts, outbox, the playbook rules and health passes
            bar.update(1)
    with sim_runtime.unit() as u:  # every customer's health as of now (the passes above only touch changes)
        every = list(u.session.execute(select(Customer.id).where(Customer.purged_at.is_(None))).scalars())
        health.recompute_many(u.session, every, u.now, sim_runtime.config, "demo", "demo")
    playbooks.start_pending(sim_runtime)
    with sim_runtime.store.session() as s:
        print()
        print_kpi_table(step_stats(s))
        levels = Counter(s.execute(select(Alert.level)).scalars().all())
        statuses = Counter(s.execute(select(ProcessInstance.status)).scalars().all())
        stages = Counter(s.execute(select(Customer.stage)).scalars().all())
        bands = Counter(s.execute(select(Customer.health_band)).scalars().all())
        plays = Counter(s.execute(select(PlaybookRun.process_id)).scalars().all())
    print(f"\nalerts raised: behind={levels.get('behind', 0)} stuck={levels.get('stuck', 0)}")
    print("instances: " + ", ".join(f"{k}={v}" for k, v in sorted(statuses.items())))
    print("customers by stage: " + ", ".join(f"{k}={v}" for k, v in sorted(stages.items())))
    print("customers by health: " + ", ".join(f"{k}={v}" for k, v in sorted(bands.items(), key=lambda i: str(i[0]))))
    print("playbooks started: " + (", ".join(f"{k}={v}" for k, v in sorted(plays.items())) or "none"))
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--days", type=int, default=90, help="simulated days, ending now")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--book", type=int, default=36, help="established customers with months of history (MRR, surveys, usage)"
    )
    parser.add_argument("--if-empty", action="store_true", help="only when the database has no customers yet")
    parser.add_argument(
        "--signup-share", type=float, default=1 / 3, help="share of the period over which the customers sign up"
    )
    parser.add_argument(
        "--idle-hours",
        type=int,
        default=0,
        help="the simulated staff stop working this many hours before now, leaving their tasks open in the inbox",
    )
