"""The health score: a 0-100 weighted average of components, weights and thresholds in config.toml, with history.

Components (each 0-100, higher is healthier, with a detail string people read):

- ``usage``: active days (days with a product event) in the last ``usage_window_days``: 100 x days / window.
  Left out while the customer has no product event at all (a product that sends no events).
- ``support``: tickets opened in the last 90 days: 100 - 10 per ticket - 20 more per repeat (a ticket opened
  within 30 days of the previous one, or reopened), at least 0. No ticket is 100.
- ``sentiment``: the latest NPS answer (score x 10) and the latest CSAT answer ((score - 1) x 25) of the last
  180 days, their mean when both exist. Left out without an answer in that time.
- ``payment``: unpaid invoices past due: 100 - 25 per such invoice - 1 per day the oldest is overdue (at most 50),
  at least 0. Left out for a customer without invoices.
- ``stuck_steps``: the customer's open human tasks past their stuck moment: 100 - 30 each, at least 0.
- ``mrr_trend``: MRR now against 90 days ago (each: the newest movement at or before that instant): a fall costs
  2 points per percent (-20 % is 60), flat or growing is 100. Left out without MRR 90 days ago.

A component left out has no value and weight 0; the weights of the others are renormalised to sum to 1 (each
component's ``weight`` is its share of the score). The score is the weighted mean rounded to 1 decimal; the band is
``at_risk`` below ``at_risk_below``, ``watch`` below ``watch_below``, else ``healthy``.

The score is recomputed when an input changes: ``health_changed`` / ``health_changed_many`` called by what stores
survey answers and product events, engine listeners for tickets and support/collections steps, the scheduler's
``recompute_stale`` for steps gone stuck and invoices fallen due (docs/health.md); never by a full scan except
``jornada health recompute --all``. A changed score or band is kept as a ``HealthSnapshot`` (the history a trend
is drawn from) and audited as ``health_changed``; entering ``at_risk`` is audited as ``health_threshold_crossed``
and requests the ``at_risk_playbook`` process.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, bindparam, delete, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine import AuditAction, ConfigError, HandlerRegistry, Happened, Prepared, append_audit, load_config
from engine.models import OPEN_TASK_SQL, Base, HumanTask, UTCDateTime, core
from processes.customers import BANDS as BANDS  # healthy | watch | at_risk, re-exported for the pages
from processes.customers import Customer, Invoice
from processes.health_components import Raw, measure
from processes.playbooks import request_playbook, start_pending

if TYPE_CHECKING:
    from engine import Runtime

# in the order pages show them; config.toml [health] has weight_<key> for each
COMPONENT_KEYS = ("usage", "support", "sentiment", "payment", "stuck_steps", "mrr_trend")
ACTOR = "health"
PLAYBOOK_RULE = "health_at_risk"
INPUT_PROCESSES = ("support", "collections")  # their completed steps change tickets or invoices
_CHUNK = 500  # ids per IN (...) list


class HealthSnapshot(Base):
    """One computed score: kept as history (the trend), the newest is also on the customer row."""

    __tablename__ = "health_snapshot"
    __table_args__ = (Index("ix_health_snapshot_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    score: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(20))
    components: Mapped[str] = mapped_column(Text)  # JSON: {name: {"value": 0-100, "weight": w, "detail": ...}}
    reason: Mapped[str] = mapped_column(String(200), default="")  # the input that changed


class HealthPending(Base):
    """Customers whose inputs changed in bulk (product events) and whose score the next scheduler pass recomputes:
    an events batch only marks them (one statement), so ingestion stays cheap, and each customer is recomputed once
    per pass however many events arrived."""

    __tablename__ = "health_pending"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)  # the latest mark
    reason: Mapped[str] = mapped_column(String(100))


@dataclass(frozen=True)
class Component:
    value: float | None  # 0-100; None: no data, left out of the score
    weight: float  # the share of the score (the configured weights renormalised over the components with data)
    detail: str


@dataclass(frozen=True)
class Health:
    score: float
    band: str
    components: dict[str, Component]

    def components_json(self) -> str:
        return json.dumps({key: vars(c) for key, c in self.components.items()}, sort_keys=True)


@dataclass(frozen=True)
class Settings:
    weights: dict[str, float]
    watch_below: float
    at_risk_below: float
    usage_window_days: int
    at_risk_playbook: str


def settings(config: Mapping[str, Any]) -> Settings:
    """The [health] settings, checked: weights >= 0 and not all zero, 0 <= at_risk_below < watch_below <= 100, a
    window of at least one day. A bad value raises ConfigError naming its key."""
    section = config["health"]
    weights: dict[str, float] = {}
    for key in COMPONENT_KEYS:
        name = f"weight_{key}"
        try:
            weight = float(section[name])
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"config key 'health.{name}': {section.get(name)!r} is not a number") from None
        if not weight >= 0:
            raise ConfigError(f"config key 'health.{name}': {weight} must not be negative")
        weights[key] = weight
    if not any(weights.values()):
        raise ConfigError("config keys 'health.weight_*': at least one weight must be above 0")
    watch, at_risk = float(section["watch_below"]), float(section["at_risk_below"])
    if not 0 <= watch <= 100:
        raise ConfigError(f"config key 'health.watch_below': {watch} must be from 0 to 100")
    if not 0 <= at_risk < watch:
        raise ConfigError(f"config key 'health.at_risk_below': {at_risk} must be from 0 to below watch_below ({watch})")
    window = int(section["usage_window_days"])
    if window < 1:
        raise ConfigError(f"config key 'health.usage_window_days': {window} must be at least 1")
    return Settings(weights, watch, at_risk, window, str(section["at_risk_playbook"] or "").strip())


def band_of(score: float, s: Settings) -> str:
    return "at_risk" if score < s.at_risk_below else "watch" if score < s.watch_below else "healthy"


def _weigh(raw: Raw, s: Settings) -> Health:
    present = {key: v for key, v in raw.items() if isinstance(v, tuple)}
    total = sum(s.weights[key] for key in present)
    components: dict[str, Component] = {}
    score = 0.0
    for key in COMPONENT_KEYS:
        found = raw[key]
        if isinstance(found, tuple):
            share = s.weights[key] / total if total else 1 / len(present)
            score += found[0] * share
            components[key] = Component(round(found[0], 1), round(share, 4), found[1])
        else:
            components[key] = Component(None, 0.0, f"{found}: left out, the other weights renormalised")
    score = round(score, 1)
    return Health(score, band_of(score, s), components)


def compute_many(
    session: Session, customer_ids: Collection[str], now: datetime, config: Mapping[str, Any]
) -> dict[str, Health]:
    """The health of each customer, from a few grouped queries per 500 customers."""
    s = settings(config)
    ids = sorted(set(customer_ids))
    found: dict[str, Health] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        raw = measure(session, chunk, now, s.usage_window_days)
        found.update({cid: _weigh(raw[cid], s) for cid in chunk})
    return found


def compute(session: Session, customer_id: str, now: datetime, config: Mapping[str, Any]) -> Health:
    """The customer's health at ``now`` (nothing is written)."""
    return compute_many(session, [customer_id], now, config)[customer_id]


# -- recomputing: history, the customer row, audit, the playbook -------------------------------------------------
def recompute_many(
    session: Session,
    customer_ids: Collection[str],
    now: datetime,
    config: Mapping[str, Any],
    reason: str,
    actor: str = ACTOR,
) -> list[HealthSnapshot]:
    """Recompute the customers' health inside the caller's transaction; returns the snapshots stored (one per
    customer whose score or band changed, or that had none). Purged and unknown customers are skipped; a churned
    customer has no health any more: its score and band are cleared (audited), and it leaves the at-risk lists."""
    s = settings(config)
    ids = sorted(set(customer_ids))
    found: list[Customer] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        found += session.scalars(select(Customer).where(Customer.id.in_(chunk), Customer.purged_at.is_(None)))
    customers = [c for c in found if c.stage != "churned"]
    for gone in (c for c in found if c.stage == "churned" and c.health_band is not None):
        before = {"score": gone.health_score, "band": gone.health_band}
        gone.health_score, gone.health_band, gone.health_updated_at = None, None, now
        payload = {"before": before, "after": {"score": None, "band": None}, "reason": "customer churned"}
        append_audit(
            session, at=now, actor=actor, action=AuditAction.HEALTH_CHANGED, customer_id=gone.id, payload=payload
        )
    healths = compute_many(session, [c.id for c in customers], now, config)
    snapshots = []
    for customer in customers:
        health = healths[customer.id]
        before = {"score": customer.health_score, "band": customer.health_band}
        after = {"score": health.score, "band": health.band}
        customer.health_updated_at = now
        if before == after:
            continue
        snapshot = HealthSnapshot(
            customer_id=customer.id,
            at=now,
            score=health.score,
            band=health.band,
            components=health.components_json(),
            reason=reason[:200],
        )
        session.add(snapshot)
        snapshots.append(snapshot)
        customer.health_score, customer.health_band = health.score, health.band
        values = {key: c.value for key, c in health.components.items()}
        payload = {"before": before, "after": after, "reason": reason, "components": values}
        append_audit(
            session, at=now, actor=actor, action=AuditAction.HEALTH_CHANGED, customer_id=customer.id, payload=payload
        )
        entered_risk = health.band == "at_risk" and before["band"] != "at_risk"
        if health.band == before["band"] or (before["band"] is None and not entered_risk):
            continue
        run = None
        if entered_risk and s.at_risk_playbook:
            trigger = f"health {before['score']} ({before['band']}) -> {health.score} (at_risk): {reason}"
            run = request_playbook(
                session,
                customer_id=customer.id,
                process_id=s.at_risk_playbook,
                rule=PLAYBOOK_RULE,
                trigger=trigger[:500],
                now=now,
                config=config,
            )
        payload = {
            "before": {"band": before["band"]},
            "after": {"band": health.band},
            "score": health.score,
            "reason": reason,
            "playbook": s.at_risk_playbook if entered_risk else None,
            "playbook_run": run.id if run is not None else None,
        }
        append_audit(
            session,
            at=now,
            actor=actor,
            action=AuditAction.HEALTH_THRESHOLD_CROSSED,
            customer_id=customer.id,
            payload=payload,
        )
    session.flush()
    return snapshots


def recompute(
    session: Session, customer_id: str, now: datetime, config: Mapping[str, Any], reason: str, actor: str = ACTOR
) -> HealthSnapshot | None:
    """Recompute one customer's health; the snapshot stored, or None when neither score nor band changed."""
    stored = recompute_many(session, [customer_id], now, config, reason, actor)
    return stored[0] if stored else None


def health_changed(
    session: Session, customer_id: str, now: datetime, reason: str, config: Mapping[str, Any] | None = None
) -> HealthSnapshot | None:
    """The hook input modules call, in their own transaction, after storing what changed (an answer, events, a
    ticket, an invoice). Pass ``config`` (without it, config.toml is read again). For a batch call
    ``health_changed_many`` once with the batch's customers rather than this once per row."""
    return recompute(session, customer_id, now, config if config is not None else load_config(), reason)


def health_changed_many(
    session: Session, customer_ids: Collection[str], now: datetime, reason: str, config: Mapping[str, Any]
) -> list[HealthSnapshot]:
    """``health_changed`` for a batch (e.g. an events API call): each customer once, grouped queries."""
    return recompute_many(session, customer_ids, now, config, reason)


# -- the triggers: engine listeners and the scheduler's pass ------------------------------------------------------
# written as the partial index's own WHERE, so both databases read ix_human_task_open_stuck_at
OPEN_TASK_ROWS = text(f"human_task.{OPEN_TASK_SQL}")
COMPLETED_TASK = select(HumanTask.process_id, HumanTask.element_id, HumanTask.stuck_at).where(
    HumanTask.id == bindparam("b_id")
)  # built once: it runs on every completion


def on_task_completed(happened: Happened) -> None:
    """A ticket or payment step done, or a stuck step unstuck, changes the customer's inputs."""
    if not happened.customer_id:
        return
    # one indexed read on the connection: most completions change no input, and need no ORM session
    task = happened.conn.execute(COMPLETED_TASK, {"b_id": happened.payload.get("task")}).first()
    if task is None:
        return
    was_stuck = task.stuck_at is not None and task.stuck_at <= happened.now
    if task.process_id in INPUT_PROCESSES or was_stuck:
        reason = f"step {task.element_id} of {task.process_id} completed"
        recompute(happened.session, happened.customer_id, happened.now, happened.config, reason, ACTOR)


def on_ticket_opened(happened: Happened) -> None:
    if happened.customer_id and happened.process_id == "support":
        recompute(happened.session, happened.customer_id, happened.now, happened.config, "ticket opened", ACTOR)


def stale_customers(session: Session, now: datetime, limit: int = 1000) -> list[str]:
    """Customers whose inputs changed with time alone since their last computation: a step passed its stuck
    moment (what raises a stuck alert) or an unpaid invoice fell due."""
    last = Customer.health_updated_at
    stuck = (
        select(HumanTask.customer_id)
        .join(Customer, Customer.id == HumanTask.customer_id)
        .where(OPEN_TASK_ROWS, HumanTask.stuck_at <= now)
        .where(or_(last.is_(None), HumanTask.stuck_at > last))
    )
    due = (
        select(Invoice.customer_id)
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(Invoice.paid_at.is_(None), Invoice.due_at <= now)
        .where(or_(last.is_(None), Invoice.due_at > last))
    )
    live = Customer.purged_at.is_(None)
    found = session.execute(stuck.where(live).union(due.where(live)).limit(limit)).scalars()
    return sorted({cid for cid in found if cid})


def mark_pending(session: Session, customer_ids: Collection[str], now: datetime, reason: str) -> None:
    """Queue ``customer_ids`` for the next pass of ``recompute_pending`` (one statement for the whole batch)."""
    if not customer_ids:
        return
    conn = session.connection()
    rows = [{"customer_id": c, "since": now, "reason": reason} for c in sorted(customer_ids)]
    MARK_PENDING[conn.dialect.name == "postgresql"].run_many(conn, rows)


def _mark_pending(insert: Any) -> Prepared:
    statement = insert(core(HealthPending))
    return Prepared(
        statement.on_conflict_do_update(
            index_elements=["customer_id"],
            set_={"since": statement.excluded.since, "reason": statement.excluded.reason},
        )
    )


MARK_PENDING = {False: _mark_pending(sqlite_insert), True: _mark_pending(pg_insert)}  # by "is PostgreSQL"


def recompute_pending(runtime: Runtime, limit: int = 1000) -> int:
    """Recompute the customers ``mark_pending`` queued, in one transaction; a mark made after they were read stays
    for the next pass. Returns how many customers were recomputed."""
    with runtime.unit() as u:
        rows = u.session.execute(
            select(HealthPending.customer_id, HealthPending.reason).order_by(HealthPending.since).limit(limit)
        ).all()
        if not rows:
            return 0
        ids = [customer_id for customer_id, _ in rows]
        reasons = ", ".join(sorted({reason for _, reason in rows}))
        recompute_many(u.session, ids, u.now, runtime.config, reasons, ACTOR)
        u.session.execute(delete(HealthPending).where(HealthPending.customer_id.in_(ids), HealthPending.since <= u.now))
    start_pending(runtime)
    return len(ids)


def recompute_stale(runtime: Runtime) -> int:
    """One scheduler pass: recompute the ``stale_customers`` in one transaction, then start the playbooks that
    requested. Returns how many customers were recomputed."""
    with runtime.unit() as u:
        ids = stale_customers(u.session, u.now)
        if ids:
            recompute_many(u.session, ids, u.now, runtime.config, "stuck step or invoice due", ACTOR)
    if ids:
        start_pending(runtime)
    return len(ids)


def scheduler_job(runtime: Runtime) -> str:
    queued = recompute_pending(runtime)
    stale = recompute_stale(runtime)
    return f"health recomputed: {queued} after product events, {stale} for stuck steps or invoices due"


def register(registry: HandlerRegistry) -> None:
    """Listeners and the periodic job; registered after the modules whose rows the score reads (tickets)."""
    registry.listen(AuditAction.TASK_COMPLETED, on_task_completed)
    registry.listen(AuditAction.INSTANCE_STARTED, on_ticket_opened)
    registry.every(None, "health", scheduler_job)
