from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine import Runtime
from engine import _audit as audit
from engine._errors import ConflictError
from engine.models import AuditEvent
from tests.bpmn_builder import linear


def events(runtime: Runtime) -> list[AuditEvent]:
    with runtime.store.session() as s:
        return list(s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars())


def verify(runtime: Runtime) -> audit.Verification:
    with runtime.store.session() as s:
        return audit.verify(s)


@pytest.fixture
def started(runtime: Runtime) -> str:
    runtime.deploy({"l.bpmn": linear("lin", 2)}, actor="designer")
    return runtime.start("lin", actor="alice", customer_id="C-1", data={"secret": "s3cr3t"})


def test_every_operation_writes_its_audit_event_with_actor_and_values(runtime: Runtime, started: str) -> None:
    from tests.engine.helpers import open_tasks

    [task] = open_tasks(runtime, started)
    runtime.claim(task.id, actor="bob")
    runtime.complete(task.id, actor="bob", data={"note": "called"})
    actions = [(e.action, e.actor) for e in events(runtime)]
    assert actions == [
        ("definition_deployed", "designer"),
        ("instance_started", "alice"),
        ("task_claimed", "bob"),
        ("task_completed", "bob"),
    ]
    completed = events(runtime)[-1]
    assert '"after":{"note":"called"}' in completed.payload and '"before":{"note":null}' in completed.payload
    assert verify(runtime).ok


def test_a_failing_operation_writes_no_audit_event(runtime: Runtime, started: str) -> None:
    from tests.engine.helpers import open_tasks

    [task] = open_tasks(runtime, started)
    runtime.complete(task.id, actor="bob")
    count = len(events(runtime))
    with pytest.raises(ConflictError):
        runtime.complete(task.id, actor="carol")
    assert len(events(runtime)) == count


def test_verify_names_the_first_edited_row(runtime: Runtime, started: str) -> None:
    assert verify(runtime).ok
    with runtime.store.unit() as unit:
        s = unit.session
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="mallory"))
    result = verify(runtime)
    assert (result.ok, result.broken_seq) == (False, 2)
    assert "seq 2" in str(result)


def test_verify_catches_an_edited_payload(runtime: Runtime, started: str) -> None:
    with runtime.store.unit() as unit:
        s = unit.session
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(payload='{"data":{}}'))
    result = verify(runtime)
    assert (result.ok, result.broken_seq) == (False, 2)
    assert "payload" in result.reason


def test_verify_catches_a_deleted_row(runtime: Runtime, started: str) -> None:
    from sqlalchemy import delete

    with runtime.store.unit() as unit:
        s = unit.session
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 1))
    assert verify(runtime).broken_seq == 1


def test_redaction_keeps_the_chain_valid_and_removes_the_values(runtime: Runtime, started: str) -> None:
    with runtime.unit() as u:
        rows = u.session.execute(select(AuditEvent).where(AuditEvent.customer_id == "C-1")).scalars().all()
        seqs = audit.redact(u.session, rows, at=u.now, actor="dpo", reason="GDPR erasure")
    assert seqs == [2]
    assert "s3cr3t" not in "".join(e.payload for e in events(runtime))
    assert events(runtime)[-1].action == "audit_redacted"
    assert verify(runtime).ok


def test_a_forged_tombstone_does_not_verify(runtime: Runtime, started: str) -> None:
    with runtime.store.unit() as unit:
        s = unit.session
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(payload="{}", redacted=True))
    result = verify(runtime)
    assert (result.ok, result.broken_seq) == (False, 2)
    assert "no redaction event" in result.reason
