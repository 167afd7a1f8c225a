"""The audit trail held against its head and against the signed checkpoints kept outside the database: deleting the
newest rows, truncating the trail, appending or rewriting rows and altering the anchor file are each named."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from engine import FrozenClock, Runtime
from engine import _anchors as anchors
from engine import _audit as audit
from engine._keys import MissingKeyError, anchor_key_file
from engine.models import AuditEvent, AuditHead


def fill(runtime: Runtime, n: int) -> None:
    for i in range(n):
        with runtime.unit() as u:
            audit.append(u.session, at=u.now, actor="sam", action="note_added", payload={"i": i})


def verify(runtime: Runtime) -> audit.Verification:
    with runtime.store.session() as s:
        return audit.verify(s)


def anchor(runtime: Runtime) -> anchors.Anchor:
    with runtime.store.session() as s:
        return anchors.anchor(s, runtime.config, runtime.clock.now())


def check(runtime: Runtime) -> anchors.Report:
    with runtime.store.session() as s:
        return anchors.check(s, runtime.config)


def delete_newest(runtime: Runtime, n: int, *, move_head: bool) -> None:
    """What someone with write access to the database does; with ``move_head`` they also cover their tracks."""
    with runtime.store.unit() as unit:
        s = unit.session
        newest = audit.last_seq(s)
        s.execute(delete(AuditEvent).where(AuditEvent.seq > newest - n))
        if move_head:
            left = s.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one_or_none()
            head = (0, audit.GENESIS) if left is None else (left.seq, left.hash)
            s.execute(update(AuditHead).values(last_seq=head[0], last_hash=head[1]))


def rechain(s: Session) -> None:
    """Recompute every row's hashes and the head, as a forger who knows the scheme would."""
    prev = audit.GENESIS
    for event in s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars():
        event.payload_hash = audit.sha256(event.payload)
        event.prev_hash = prev
        event.hash = audit.row_hash(event)
        prev = event.hash
    s.flush()
    s.execute(update(AuditHead).values(last_seq=audit.last_seq(s), last_hash=prev))


def forge_append(runtime: Runtime, *, move_head: bool) -> int:
    """Append a correctly chained row behind the engine's back."""
    with runtime.store.unit() as unit:
        s = unit.session
        last = s.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        text = audit.canonical({"refund": 10_000})
        forged = AuditEvent(
            seq=last.seq + 1,
            at=last.at,
            actor="mallory",
            action="refund_approved",
            payload=text,
            payload_hash=audit.sha256(text),
            prev_hash=last.hash,
            redacted=False,
        )
        forged.hash = audit.row_hash(forged)
        s.add(forged)
        if move_head:
            s.flush()
            s.execute(update(AuditHead).values(last_seq=forged.seq, last_hash=forged.hash))
        return forged.seq


@pytest.mark.parametrize(("deleted", "named"), [(1, "row 100 is missing"), (50, "rows 51..100 are missing")])
def test_deleting_the_newest_rows_is_named_against_the_head(runtime: Runtime, deleted: int, named: str) -> None:
    fill(runtime, 100)
    delete_newest(runtime, deleted, move_head=False)
    result = verify(runtime)
    assert (result.ok, result.broken_seq) == (False, 101 - deleted)
    assert named in str(result) and "the head records seq 100" in str(result)


def test_deleting_every_row_is_named_not_passed_as_an_empty_trail(runtime: Runtime) -> None:
    fill(runtime, 100)
    delete_newest(runtime, 100, move_head=False)
    result = verify(runtime)
    assert not result.ok
    assert str(result).startswith("audit chain BROKEN at seq 1: rows 1..100 are missing")


@pytest.mark.parametrize(
    ("deleted", "named"),
    [
        (1, "row 100 was deleted after the checkpoint at seq 100, time 2026-01-05T09:00:00+00:00"),
        (50, "rows 51..100 were deleted after the checkpoint at seq 100, time 2026-01-05T09:00:00+00:00"),
        (100, "the whole trail was truncated: no rows are left, but the checkpoint at seq 100"),
    ],
)
def test_deleting_the_newest_rows_and_moving_the_head_back_is_named_by_the_checkpoint(
    runtime: Runtime, deleted: int, named: str
) -> None:
    fill(runtime, 100)
    anchor(runtime)
    delete_newest(runtime, deleted, move_head=True)
    assert verify(runtime).ok  # the database is consistent with itself: only the anchor outside it knows
    report = check(runtime)
    assert not report.ok
    assert any(named in problem for problem in report.problems), report.problems


def test_a_chained_row_appended_without_moving_the_head_is_named(runtime: Runtime) -> None:
    fill(runtime, 5)
    forge_append(runtime, move_head=False)
    result = verify(runtime)
    assert (result.ok, result.broken_seq) == (False, 6)
    assert "beyond the head (seq 5)" in result.reason


def test_a_row_appended_after_the_last_checkpoint_is_reported_as_not_anchored_yet(
    runtime: Runtime, clock: FrozenClock
) -> None:
    fill(runtime, 5)
    anchor(runtime)
    clock.advance(minutes=5)
    forge_append(runtime, move_head=True)
    assert verify(runtime).ok  # rows after the last checkpoint are covered by the chain only
    report = check(runtime)
    assert report.ok
    assert report.notes == [
        "1 events after the last checkpoint (seq 5, time 2026-01-05T09:00:00+00:00) are not anchored yet: "
        "the hash chain alone covers them"
    ]


def test_a_row_rewritten_before_the_checkpoint_is_named(runtime: Runtime) -> None:
    fill(runtime, 10)
    with runtime.store.unit() as unit:
        s = unit.session
        s.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(actor="mallory"))
    result = verify(runtime)
    assert (result.ok, result.broken_seq, result.reason) == (False, 4, "row fields do not match its hash")


def test_a_rewritten_and_rechained_trail_is_named_by_the_first_checkpoint_that_disagrees(
    runtime: Runtime, clock: FrozenClock
) -> None:
    fill(runtime, 10)
    anchor(runtime)
    clock.advance(hours=1)
    fill(runtime, 10)
    anchor(runtime)
    with runtime.store.unit() as unit:
        s = unit.session
        s.execute(update(AuditEvent).where(AuditEvent.seq == 14).values(actor="mallory"))
        rechain(s)
    assert verify(runtime).ok
    report = check(runtime)
    assert report.problems == [
        "row seq 20's hash differs from the checkpoint at seq 20, time 2026-01-05T10:00:00+00:00: rows up to seq 20 "
        "were rewritten (1 checkpoint(s) disagree)"
    ]


def test_an_altered_checkpoint_is_named_as_a_forged_anchor(runtime: Runtime) -> None:
    fill(runtime, 3)
    anchor(runtime)
    path = anchors.anchor_file(runtime.config)
    line = json.loads(path.read_text())
    path.write_text(json.dumps({**line, "seq": 2}) + "\n")
    report = check(runtime)
    assert not report.ok
    assert f"the checkpoint on {path} line 1 (seq 2, time 2026-01-05T09:00:00+00:00)" in report.problems[0]
    assert "signature does not verify" in report.problems[0]
    path.write_text("not json\n")
    assert check(runtime).problems == [f"{path} line 1 is not a checkpoint: the anchor file was altered"]


def test_the_first_anchor_makes_a_private_key_and_writes_the_checkpoint_to_the_log(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    fill(runtime, 2)
    with caplog.at_level(logging.INFO, logger="engine._anchors"):
        made = anchor(runtime)
    key = anchor_key_file(runtime.config)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (made.seq, made.hash) == (2, verify(runtime).last_hash)
    assert anchors.anchor_file(runtime.config).read_text() == made.json() + "\n"
    assert f"audit anchor {made.json()}" in caplog.text
    assert check(runtime).ok and check(runtime).anchors == 1


def test_a_lost_key_is_a_clear_error_not_a_new_key(runtime: Runtime) -> None:
    fill(runtime, 2)
    anchor(runtime)
    key = anchor_key_file(runtime.config)
    key.unlink()
    with pytest.raises(MissingKeyError, match=f"audit anchor key is missing: {key} does not exist"):
        check(runtime)
    with pytest.raises(MissingKeyError):
        anchor(runtime)
    assert not key.exists()


def test_a_configured_key_signs_and_the_key_file_is_not_needed(runtime: Runtime, tmp_path: Path) -> None:
    runtime.config["audit"] = {**runtime.config["audit"], "anchor_key": "k" * 64}
    fill(runtime, 2)
    anchor(runtime)
    assert not anchor_key_file(runtime.config).exists()
    assert check(runtime).ok
    runtime.config["audit"] = {**runtime.config["audit"], "anchor_key": "other"}
    assert "signature does not verify" in check(runtime).problems[0]


def test_a_broken_chain_is_not_anchored(runtime: Runtime) -> None:
    fill(runtime, 3)
    with runtime.store.unit() as unit:
        s = unit.session
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="mallory"))
    with pytest.raises(anchors.AnchorError, match="not anchored: audit chain BROKEN at seq 2"):
        anchor(runtime)
    assert not anchors.anchor_file(runtime.config).exists()


def test_verify_from_a_mark_reads_only_the_rows_after_it(runtime: Runtime) -> None:
    fill(runtime, 30)
    full = verify(runtime)
    fill(runtime, 3)
    with runtime.store.session() as s:
        since = audit.verify(s, (full.last_seq, full.last_hash))
    assert (since.ok, since.checked, since.last_seq) == (True, 3, 33)
    with runtime.store.unit() as unit:
        s = unit.session
        s.execute(update(AuditEvent).where(AuditEvent.seq == 30).values(hash="0" * 64))
    with runtime.store.session() as s:
        moved = audit.verify(s, (full.last_seq, full.last_hash))
    assert (moved.ok, moved.broken_seq, moved.reason) == (False, 30, "row's hash differs from the one verified before")
    with runtime.store.unit() as unit:
        s = unit.session
        s.execute(delete(AuditEvent).where(AuditEvent.seq.between(29, 31)))
    with runtime.store.session() as s:
        gone = audit.verify(s, (full.last_seq, full.last_hash))
    assert (gone.ok, gone.broken_seq) == (False, 29)
    assert gone.reason == "rows 29..31 are missing, though verified up to row 30 before"


def test_the_scheduler_anchors_the_head_every_configured_interval(runtime: Runtime) -> None:
    from datetime import timedelta

    from engine._scheduler import build_scheduler

    fill(runtime, 2)
    job = build_scheduler(runtime).get_job("audit-anchor")
    assert job is not None and job.trigger.interval == timedelta(hours=1)
    job.func()
    assert check(runtime).anchors == 1
    runtime.config["audit"] = {**runtime.config["audit"], "anchor_interval_seconds": 0}
    assert build_scheduler(runtime).get_job("audit-anchor") is None
