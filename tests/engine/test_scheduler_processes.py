"""Three scheduler processes against one PostgreSQL database share the work without doing any of it twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import FrozenClock, Runtime, Store
from engine.models import Alert, AuditEvent, Outbox
from processes import build_registry
from processes.customers import create_customer
from tests.bpmn_builder import linear
from tests.engine.helpers import WAIT
from tests.helpers import ROOT

N = 12
pytestmark = pytest.mark.postgres


def test_three_scheduler_processes_raise_each_alert_and_fire_each_timer_exactly_once(
    postgres_url: str, clock: FrozenClock, config: dict, sandbox, tmp_path: Path
) -> None:
    store = Store(postgres_url)
    store.migrate()
    runtime = Runtime(store, build_registry(), clock=clock, config=config, sandbox=sandbox, send_after_commit=False)
    runtime.deploy({"l.bpmn": linear("lin", 1), "w.bpmn": WAIT}, actor="d")
    with runtime.unit() as u:  # the domain's start guard wants the customers on file
        for n in range(N):
            for customer_id in (f"C-{n}", f"W-{n}"):
                create_customer(u.session, customer_id, customer_id, now=u.now, accesses=())
    for n in range(N):
        runtime.start("lin", actor="a", customer_id=f"C-{n}")
        runtime.start("wait", actor="a", customer_id=f"W-{n}", data={"delay": "P1D"})
    later = clock.now() + timedelta(days=3, minutes=1)  # past warn (P1D), stuck (P3D) and every timer
    start_at = time.time() + 2.0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.engine.sweeper",
                postgres_url,
                later.isoformat(),
                str(start_at),
                str(tmp_path),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outputs]
    totals = Counter()
    for out, _ in outputs:
        totals.update(json.loads(out.strip().splitlines()[-1]))
    with store.session() as s:
        levels = Counter(s.execute(select(Alert.level)).scalars())
        fired = s.execute(select(func.count()).where(AuditEvent.action == "timer_fired")).scalar_one()
        attempts = Counter(s.execute(select(Outbox.attempts).where(Outbox.sent_at.is_not(None))).scalars())
    assert levels == {"behind": N, "stuck": N}
    assert fired == N and totals["timers_fired"] == N
    assert totals["alerts_raised"] == 2 * N
    assert attempts == {1: 2 * N}  # every alert mail sent, each exactly once
    runtime.close()
