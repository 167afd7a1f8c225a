"""The golden CS data set: 20 customers with MRR movements, survey answers, product events, support tickets and
onboarding journeys, small enough that every KPI can be worked out by hand (tests/processes/test_cs_kpis_golden.py
does so in its comments). ``golden_dataset(session, now)`` writes it into any test database; the CS dashboard's
page test reuses it.

Segments: E = enterprise, M = mid_market, S = smb. Owners: ana, bob. Times are UTC; a movement applies from its
instant on. "new" movements come from ``mrr`` + ``contract_start`` (at 00:00 of that day).

    id  seg  owner  MRR movements
    E1  ent  ana    2025-06-01 new 5000; 2026-02-15 -> 6000 (expansion)
    E2  ent  ana    2025-07-01 new 4000; 2026-03-10 -> 0 (churn)
    E3  ent  bob    2025-09-01 new 3000; 2026-02-01 -> 2500 (contraction); 2026-05-01 -> 3500 (expansion)
    E4  ent  bob    2026-02-01 new 2000
    E5  ent  ana    2025-03-01 new 4500; 2026-04-15 -> 0 (churn)
    M1  mid  ana    2025-05-01 new 1000
    M2  mid  bob    2025-08-01 new 1200; 2026-01-20 -> 900 (contraction)
    M3  mid  ana    2025-10-01 new 1500; 2026-03-31 23:00 -> 0 (churn, the last hour of Q1)
    M4  mid  bob    2025-11-01 new 800;  2026-02-10 -> 0 (churn); 2026-03-15 -> 800 (reactivation)
    M5  mid  ana    2026-04-01 new 1100 (00:00 of Q2's first day: active at Q2's start)
    M6  mid  bob    2025-12-01 new 1300; 2026-05-20 -> 1600 (expansion)
    S1  smb  ana    2025-04-01 new 200
    S2  smb  ana    2025-06-01 new 300;  2026-01-10 -> 0 (churn)
    S3  smb  bob    2025-07-01 new 250;  2026-02-20 -> 350 (expansion)
    S4  smb  bob    2025-09-01 new 150;  2026-06-01 -> 0 (churn)
    S5  smb  ana    2026-01-05 new 400
    S6  smb  bob    2025-12-15 new 100
    S7  smb  ana    2026-03-01 new 500;  2026-04-10 -> 300 (contraction)
    S8  smb  bob    (a prospect: no MRR ever)
    S9  smb  ana    2025-02-01 new 600;  2025-11-01 -> 0 (churn, before Q1)
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import _audit as audit
from engine.models import HumanTask, ProcessDefinition, ProcessInstance, TaskKpi
from processes.customers import Customer, create_customer, record_mrr
from processes.events import record_event
from processes.surveys import record_answer
from processes.tickets import SupportTicket
from tests.conftest import BPMN_DIR

SEGMENT = {"E": "enterprise", "M": "mid_market", "S": "smb"}
CONFIG: dict[str, Any] = {"surveys": {"ces_min": 0, "ces_max": 5}}


def at(text: str) -> datetime:
    """'2026-02-15' or '2026-03-31 23:00' as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# id -> (owner, first MRR, contract start, later movements (instant, new MRR))
CUSTOMERS: dict[str, tuple[str, float, str | None, list[tuple[str, float]]]] = {
    "E1": ("ana", 5000, "2025-06-01", [("2026-02-15", 6000)]),
    "E2": ("ana", 4000, "2025-07-01", [("2026-03-10", 0)]),
    "E3": ("bob", 3000, "2025-09-01", [("2026-02-01", 2500), ("2026-05-01", 3500)]),
    "E4": ("bob", 2000, "2026-02-01", []),
    "E5": ("ana", 4500, "2025-03-01", [("2026-04-15", 0)]),
    "M1": ("ana", 1000, "2025-05-01", []),
    "M2": ("bob", 1200, "2025-08-01", [("2026-01-20", 900)]),
    "M3": ("ana", 1500, "2025-10-01", [("2026-03-31 23:00", 0)]),
    "M4": ("bob", 800, "2025-11-01", [("2026-02-10", 0), ("2026-03-15", 800)]),
    "M5": ("ana", 1100, "2026-04-01", []),
    "M6": ("bob", 1300, "2025-12-01", [("2026-05-20", 1600)]),
    "S1": ("ana", 200, "2025-04-01", []),
    "S2": ("ana", 300, "2025-06-01", [("2026-01-10", 0)]),
    "S3": ("bob", 250, "2025-07-01", [("2026-02-20", 350)]),
    "S4": ("bob", 150, "2025-09-01", [("2026-06-01", 0)]),
    "S5": ("ana", 400, "2026-01-05", []),
    "S6": ("bob", 100, "2025-12-15", []),
    "S7": ("ana", 500, "2026-03-01", [("2026-04-10", 300)]),
    "S8": ("bob", 0, None, []),
    "S9": ("ana", 600, "2025-02-01", [("2025-11-01", 0)]),
}

# (customer, kind, score, instant)
ANSWERS: list[tuple[str, str, int, str]] = [
    # Q1 NPS
    ("E1", "nps", 10, "2026-01-15 10:00"),
    ("E2", "nps", 3, "2026-02-01 10:00"),
    ("E3", "nps", 9, "2026-02-10 10:00"),
    ("M1", "nps", 8, "2026-01-20 10:00"),
    ("M2", "nps", 6, "2026-03-05 10:00"),
    ("S1", "nps", 10, "2026-03-20 10:00"),
    ("S3", "nps", 9, "2026-02-25 10:00"),
    ("M4", "nps", 0, "2026-03-31 23:30"),
    ("S6", "nps", 0, "2025-12-31 23:59"),  # before Q1
    # Q2 NPS
    ("E1", "nps", 9, "2026-04-01 00:00"),
    ("M6", "nps", 5, "2026-05-02 10:00"),
    ("S5", "nps", 10, "2026-06-30 23:59"),
    ("S7", "nps", 8, "2026-05-15 10:00"),
    ("E3", "nps", 2, "2026-07-01 00:00"),  # after Q2
    # CSAT
    ("E1", "csat", 5, "2026-01-20 10:00"),
    ("E2", "csat", 2, "2026-02-02 10:00"),
    ("M1", "csat", 4, "2026-02-03 10:00"),
    ("S3", "csat", 3, "2026-03-03 10:00"),
    ("S1", "csat", 5, "2026-03-30 10:00"),
    ("M2", "csat", 4, "2026-04-20 10:00"),
    ("S5", "csat", 1, "2026-05-05 10:00"),
    ("E4", "csat", 5, "2026-06-15 10:00"),
    # CES (0-5, higher = more effort)
    ("E1", "ces", 1, "2026-01-25 10:00"),
    ("M2", "ces", 4, "2026-03-06 10:00"),
    ("S1", "ces", 2, "2026-03-21 10:00"),
    ("E3", "ces", 3, "2026-05-10 10:00"),
    ("M5", "ces", 2, "2026-04-05 10:00"),
]

# (customer, instant, how many events then)
EVENTS: list[tuple[str, str, int]] = [
    ("E1", "2026-01-10 09:00", 3),
    ("E1", "2026-01-11 09:00", 2),
    ("E3", "2026-02-01 09:00", 1),
    ("M1", "2026-03-01 09:00", 4),
    ("S1", "2026-03-31 23:59", 1),
    ("S5", "2026-01-05 09:00", 2),
    ("E1", "2026-04-01 09:00", 2),
    ("M5", "2026-05-01 10:00", 2),
    ("M5", "2026-05-01 15:00", 1),
    ("S7", "2026-06-30 12:00", 1),
    ("E4", "2026-07-01 09:00", 1),  # after Q2
]

# (ticket, customer, created, first response, resolved, resolved at first contact, repeat within 30 days)
TICKETS: list[tuple[str, str, str, str | None, str | None, bool | None, bool]] = [
    ("T1", "E1", "2026-01-05 09:00", "2026-01-05 11:00", "2026-01-05 11:00", True, False),
    ("T2", "E1", "2026-01-20 10:00", "2026-01-20 14:00", "2026-01-22 10:00", False, True),
    ("T3", "M1", "2026-02-01 08:00", "2026-02-01 09:00", "2026-02-01 09:00", True, False),
    ("T4", "S3", "2026-03-10 12:00", "2026-03-11 00:00", "2026-04-02 12:00", False, False),
    ("T5", "M2", "2026-03-30 16:00", None, None, None, False),
    ("T6", "E3", "2025-12-28 10:00", "2025-12-28 18:00", "2026-01-03 10:00", False, False),
    ("T7", "S7", "2026-04-05 09:00", "2026-04-05 09:30", "2026-04-05 09:30", True, False),
    ("T8", "S7", "2026-04-25 09:00", "2026-04-25 15:00", "2026-04-28 09:00", False, True),
    ("T9", "M6", "2026-06-30 20:00", "2026-07-01 01:00", "2026-07-01 02:00", True, False),
]

# customer -> (journey start, first quick win, go-live)
JOURNEYS: dict[str, tuple[str, str, str]] = {
    "E4": ("2026-01-10 09:00", "2026-01-30 09:00", "2026-02-09 09:00"),
    "S5": ("2025-12-20 00:00", "2026-01-04 00:00", "2026-01-09 00:00"),
    "S7": ("2026-02-01 00:00", "2026-03-03 00:00", "2026-04-05 00:00"),
    "M5": ("2026-03-20 00:00", "2026-04-09 12:00", "2026-04-19 12:00"),
}


def _journey_definition(session: Session, now: datetime) -> int:
    """The deployed customer_journey definition, or one written for the data set."""
    found = session.execute(
        select(func.max(ProcessDefinition.id)).where(ProcessDefinition.process_id == "customer_journey")
    ).scalar_one_or_none()
    if found is not None:
        return int(found)
    xml = (BPMN_DIR / "customer_journey.bpmn").read_text(encoding="utf-8")
    definition = ProcessDefinition(
        process_id="customer_journey",
        version=1,
        name="Customer journey",
        file_name="customer_journey.bpmn",
        bpmn_xml=xml,
        sha256=hashlib.sha256(xml.encode()).hexdigest(),
        deployed_by="golden",
        deployed_at=now,
    )
    session.add(definition)
    session.flush()
    return definition.id


def _stage(session: Session, customer: str, moment: datetime, before: str, after: str, instance: str | None) -> None:
    audit.append(
        session,
        at=moment,
        actor="golden",
        action="customer_updated",
        payload={"customer": customer, "before": {"stage": before}, "after": {"stage": after}},
        process_id="customer_journey" if instance else None,
        instance_id=instance,
        customer_id=customer,
    )


def _journeys(session: Session, now: datetime) -> None:
    definition = _journey_definition(session, now)
    for customer, (start, win, live) in JOURNEYS.items():
        instance = ProcessInstance(
            id=str(uuid.uuid4()),
            definition_id=definition,
            process_id="customer_journey",
            customer_id=customer,
            status="waiting",
            state_json="{}",
            waiting_messages=",offboarding_requested,",
            serializer_version="golden",
            started_by="golden",
            started_at=at(start),
        )
        session.add(instance)
        session.flush()
        won = at(win)
        created = won - timedelta(days=2)
        task = HumanTask(
            instance_id=instance.id,
            task_id=str(uuid.uuid4()),
            element_id="confirm_first_win",
            name="Confirm first win achieved",
            process_id="customer_journey",
            customer_id=customer,
            candidate_groups="csm",
            state="completed",
            created_at=created,
            claimed_at=created,
            completed_at=won,
            completed_by="golden",
        )
        session.add(task)
        session.flush()
        session.add(
            TaskKpi(
                human_task_id=task.id,
                instance_id=instance.id,
                process_id="customer_journey",
                element_id="confirm_first_win",
                name=task.name,
                completed_by="golden",
                created_at=created,
                claimed_at=created,
                completed_at=won,
                wait_seconds=0.0,
                work_seconds=(won - created).total_seconds(),
                cycle_seconds=(won - created).total_seconds(),
                sla_met=None,
                warn_reached=False,
                stuck_reached=False,
            )
        )
        _stage(session, customer, at(live), "onboarding", "active", instance.id)
    # not a go-live: E5 leaving "active"; nor is a change of another field
    _stage(session, "E5", at("2026-04-14 10:00"), "active", "offboarding", None)
    audit.append(
        session,
        at=at("2026-05-01 10:00"),
        actor="golden",
        action="customer_updated",
        payload={"before": {"plan": "standard"}, "after": {"plan": "growth"}},
        customer_id="E4",
    )


def golden_dataset(session: Session, now: datetime, config: Mapping[str, Any] | None = None) -> None:
    """Write the golden data set (see the module docstring) in ``session``'s transaction."""
    config = config or CONFIG
    customers: dict[str, Customer] = {}
    for cid, (owner, mrr, start, moves) in CUSTOMERS.items():
        customers[cid] = create_customer(
            session,
            cid,
            f"Golden {cid}",
            now=now,
            segment=SEGMENT[cid[0]],
            csm_owner=owner,
            mrr=mrr,
            contract_start=date.fromisoformat(start) if start else None,
            stage="active" if mrr else "prospect",
        )
        for moment, value in moves:
            record_mrr(session, customers[cid], at(moment), value)
    for cid, kind, score, moment in ANSWERS:
        record_answer(session, config, customer=customers[cid], kind=kind, score=score, at=at(moment), source="demo")
    for cid, moment, count in EVENTS:
        for _ in range(count):
            record_event(
                session,
                customer=customers[cid],
                name="report_viewed",
                at=at(moment),
                properties={},
                source="demo",
                now=now,
            )
    for ticket, cid, created, responded, resolved, first_contact, repeat in TICKETS:
        session.add(
            SupportTicket(
                instance_id=f"golden-{ticket}",
                customer_id=cid,
                subject=f"Golden ticket {ticket}",
                created_at=at(created),
                first_response_at=at(responded) if responded else None,
                resolved_at=at(resolved) if resolved else None,
                first_contact_resolution=first_contact,
                repeat_within_30d=repeat,
            )
        )
    _journeys(session, now)
    session.flush()
