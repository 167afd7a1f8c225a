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
from tests.helpers import BPMN_DIR

Q1 = (date(2026, 1, 1), date(2026, 3, 31))
Q2 = (date(2026, 4, 1), date(2026, 6, 30))
# -- Q1, all customers ------------------------------------------------------------------------------------------
# MRR at 2026-01-01 00:00 (the start customers): E1 5000, E2 4000, E3 3000, E5 4500 | M1 1000, M2 1200, M3 1500,
#   M4 800, M6 1300 | S1 200, S2 300, S3 250, S4 150, S6 100 -> 14 customers, 16500 + 5800 + 1000 = 23300.
#   (E4 starts 02-01, S5 01-05, S7 03-01, M5 04-01; S8 never pays; S9 churned in 2025.)
# MRR at 2026-03-31 23:59:59: E1 6000, E3 2500, E4 2000, E5 4500 | M1 1000, M2 900, M4 800 (churned 02-10, back
#   03-15), M6 1300 | S1 200, S3 350, S4 150, S5 400, S6 100, S7 500; E2 0 (03-10), M3 0 (03-31 23:00), S2 0
#   -> 14 customers, 15000 + 4000 + 1700 = 20700.
# Cohort: churned E2, M3, S2 -> logo churn 3/14 = 0.2143, retention 11/14 = 0.7857 (M4 came back: not churned).
#   sum(e) = 6000+0+2500+4500+1000+900+0+800+1300+200+0+350+150+100 = 17800 -> NRR 17800/23300 = 0.7639
#   sum(min(e,s)) = 5000+0+2500+4500+1000+900+0+800+1300+200+0+250+150+100 = 16700 -> GRR 16700/23300 = 0.7167
#   check: churned 5800, contraction 800 (E3 500, M2 300), expansion 1100 (E1 1000, S3 100):
#   GRR = 1 - 6600/23300, NRR = 1 - (6600 - 1100)/23300.
# ARPA = 20700/14 = 1478.57; monthly churn = 1 - (11/14)^(30/90) = 0.077242; LTV = 1478.5714/0.077242 = 19142.27
# MRR vs previous: end of Feb 28: E 6000+4000+2500+2000+4500, M 1000+900+1500+0+1300, S 200+350+150+400+100
#   = 24900; end of 2025-12-31 = 23300; end of 2025-03-31: E5 4500 + S9 600 = 5100.
# NPS: E1 10, E2 3, E3 9, M1 8, M2 6, S1 10, S3 9, M4 0 (03-31 23:30); S6's 0 on 2025-12-31 is outside
#   -> 8 answers, promoters 4 (E1, E3, S1, S3), detractors 3 (E2, M2, M4) -> 100 * (4-3)/8 = 12.5
# CSAT: E1 5, E2 2, M1 4, S3 3, S1 5 -> 3/5 = 0.6.  CES: E1 1, M2 4, S1 2 -> 7/3 = 2.33
# Usage: events E1 3+2 (2 days), E3 1, M1 4, S1 1 (03-31 23:59), S5 2 -> 13 events on 6 customer-days;
#   per account (14 at the end): 6/14 = 0.43 active days, 13/14 = 0.93 events.
# Tickets created in Q1: T1..T5 -> 5/14 = 0.36 per account; repeats: T2 (15 days after T1) -> 1/5 = 0.2.
#   First response: T1 2h, T2 4h, T3 1h, T4 12h (T5 none yet) -> median of 1,2,4,12 = 3.0 h.
#   Resolved in Q1: T1 (first contact), T2, T3 (first contact), T6 (opened 2025-12-28) -> FCR 2/4 = 0.5
#   (T4 is resolved on 04-02).
# Onboarding: go-lives in Q1: E4 (01-10 09:00 -> 02-09 09:00) 30 days, S5 (2025-12-20 -> 01-09) 20 days -> 25.0;
#   first wins in Q1: E4 20 days, S5 15 days, S7 (02-01 -> 03-03) 30 days -> median 20.0.
Q1_ALL = {
    "customers_start": 14,
    "customers_end": 14,
    "logo_churn": 0.2143,
    "retention": 0.7857,
    "mrr_start": 23300.0,
    "mrr_end": 20700.0,
    "grr": 0.7167,
    "nrr": 0.7639,
    "nps": 12.5,
    "csat": 0.6,
    "ces": 2.33,
    "arpa": 1478.57,
    "ltv": 19142.27,
    "frt_median_hours": 3.0,
    "fcr": 0.5,
    "mrr_prev_month": 24900.0,
    "mrr_prev_quarter": 23300.0,
    "mrr_prev_year": 5100.0,
    "time_to_implement_median_days": 25.0,
    "time_to_first_value_median_days": 20.0,
    "active_days_per_account": 0.43,
    "events_per_account": 0.93,
    "tickets_per_account": 0.36,
    "repeat_ticket_rate": 0.2,
    "nps_answers": 8,
    "csat_answers": 5,
    "ces_answers": 3,
}
# -- Q2, all customers ------------------------------------------------------------------------------------------
# Start (2026-04-01 00:00): the 14 of Q1's end + M5 (new at exactly 04-01 00:00) -> 15, 20700 + 1100 = 21800.
# End (06-30 23:59:59): E1 6000, E3 3500, E4 2000 | M1 1000, M2 900, M4 800, M5 1100, M6 1600 | S1 200, S3 350,
#   S5 400, S6 100, S7 300; E5 0 (04-15), S4 0 (06-01) -> 13 customers, 11500 + 5400 + 1350 = 18250.
# Cohort: churned E5, S4 -> 2/15 = 0.1333, retention 0.8667. sum(e) = 18250 -> NRR 18250/21800 = 0.8372;
#   sum(min) = 6000+2500+2000+0+1000+900+800+1100+1300+200+350+0+400+100+300 = 16950 -> GRR 0.7775
#   check: churned 4650, contraction 200 (S7), expansion 1300 (E3 1000, M6 300).
# ARPA = 18250/13 = 1403.85; monthly churn = 1 - (13/15)^(30/91) = 0.046081 -> LTV = 30465.01
# vs previous: 05-31: as the end but M6... no: M6 1600 (05-20), S4 still 150 -> 18400; 03-31: 20700 (Q1's end);
#   2025-06-30: E1 5000, E5 4500, M1 1000, S1 200, S2 300, S9 600 = 11600.
# NPS: E1 9 (04-01 00:00), M6 5, S5 10 (06-30 23:59), S7 8; E3's 2 on 07-01 is outside -> 4 answers,
#   promoters 2, detractors 1 -> 25.0.  CSAT: M2 4, S5 1, E4 5 -> 2/3 = 0.6667.  CES: E3 3, M5 2 -> 2.5
# Usage: E1 2 (1 day), M5 2+1 (the same day), S7 1 -> 6 events, 3 days; /13 -> 0.46 events, 0.23 days.
# Tickets created: T7, T8 (20 days after T7: a repeat), T9 -> 3/13 = 0.23 per account, 1/3 = 0.3333 repeats.
#   First response: T7 0.5h, T8 6h, T9 5h (answered 07-01, created in Q2) -> median 5.0.
#   Resolved in Q2: T4 (no), T7 (first contact), T8 (no) -> FCR 1/3 = 0.3333 (T9 is resolved on 07-01).
# Onboarding: go-lives S7 (02-01 -> 04-05) 63 days, M5 (03-20 -> 04-19 12:00) 30.5 days -> 46.75 (E5 leaving
#   "active" on 04-14 and E4's plan change on 05-01 are no go-lives). First wins: M5 (03-20 -> 04-09 12:00) 20.5.
Q2_ALL = {
    "customers_start": 15,
    "customers_end": 13,
    "logo_churn": 0.1333,
    "retention": 0.8667,
    "mrr_start": 21800.0,
    "mrr_end": 18250.0,
    "grr": 0.7775,
    "nrr": 0.8372,
    "nps": 25.0,
    "csat": 0.6667,
    "ces": 2.5,
    "arpa": 1403.85,
    "ltv": 30465.01,
    "frt_median_hours": 5.0,
    "fcr": 0.3333,
    "mrr_prev_month": 18400.0,
    "mrr_prev_quarter": 20700.0,
    "mrr_prev_year": 11600.0,
    "time_to_implement_median_days": 46.75,
    "time_to_first_value_median_days": 20.5,
    "active_days_per_account": 0.23,
    "events_per_account": 0.46,
    "tickets_per_account": 0.23,
    "repeat_ticket_rate": 0.3333,
    "nps_answers": 4,
    "csat_answers": 3,
    "ces_answers": 2,
}
# -- Q1, enterprise ---------------------------------------------------------------------------------------------
# Start: E1 5000, E2 4000, E3 3000, E5 4500 -> 4, 16500. End: E1 6000, E3 2500, E4 2000, E5 4500 -> 4, 15000.
# Churned E2 -> 1/4 = 0.25, retention 0.75; sum(e) = 6000+0+2500+4500 = 13000 -> NRR 13000/16500 = 0.7879;
#   sum(min) = 5000+0+2500+4500 = 12000 -> GRR 0.7273. ARPA 15000/4 = 3750; monthly churn 1 - 0.75^(1/3) =
#   0.091440 -> LTV 41010.63. vs previous: 02-28: 6000+4000+2500+2000+4500 = 19000; 2025-12-31: 16500;
#   2025-03-31: E5 4500.
# NPS: E1 10, E2 3, E3 9 -> (2-1)/3 = 33.3; CSAT: E1 5, E2 2 -> 0.5; CES: E1 1 -> 1.0.
# Usage: E1 5 events on 2 days, E3 1 -> 6 events, 3 days; /4 -> 1.5 and 0.75.
# Tickets created: T1, T2 (repeat) -> 2/4 = 0.5 per account, repeats 1/2 = 0.5; FRT median of 2h, 4h = 3.0;
#   resolved in Q1: T1 (first contact), T2, T6 (E3) -> 1/3 = 0.3333.
# Onboarding: E4 only: 30 days to go-live, 20 days to the first win.
Q1_ENTERPRISE = {
    "customers_start": 4,
    "customers_end": 4,
    "logo_churn": 0.25,
    "retention": 0.75,
    "mrr_start": 16500.0,
    "mrr_end": 15000.0,
    "grr": 0.7273,
    "nrr": 0.7879,
    "nps": 33.3,
    "csat": 0.5,
    "ces": 1.0,
    "arpa": 3750.0,
    "ltv": 41010.63,
    "frt_median_hours": 3.0,
    "fcr": 0.3333,
    "mrr_prev_month": 19000.0,
    "mrr_prev_quarter": 16500.0,
    "mrr_prev_year": 4500.0,
    "time_to_implement_median_days": 30.0,
    "time_to_first_value_median_days": 20.0,
    "active_days_per_account": 0.75,
    "events_per_account": 1.5,
    "tickets_per_account": 0.5,
    "repeat_ticket_rate": 0.5,
    "nps_answers": 3,
    "csat_answers": 2,
    "ces_answers": 1,
}
CASES = [(Q1, None, Q1_ALL), (Q2, None, Q2_ALL), (Q1, "enterprise", Q1_ENTERPRISE)]
IDS = ["q1", "q2", "q1-enterprise"]
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
            version=1,  # the optimistic lock's first value, as the engine's InstanceRecord writes it
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
