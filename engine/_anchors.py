"""Signed checkpoints ("anchors") of the audit trail's head, kept outside the database.

The hash chain shows a row edited or removed in the middle, and ``audit.verify`` checks the chain's end against
the head row, but someone who can write the database can delete the newest rows and move the head back, or
append a correctly chained forged row and move the head on. An anchor is the head (seq, hash) and the time,
signed with HMAC-SHA256 under a key kept outside the database (engine/_keys.py), appended as one JSON line to
``audit.anchor_file`` and written to the log. ``check`` holds the trail against every anchor: rows deleted after
a checkpoint, a truncated trail, a rewritten row and an altered anchor file are named. Rows appended after the
last checkpoint are covered by the hash chain only, until the next anchor (the scheduler anchors every
``audit.anchor_interval_seconds``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import _audit as audit
from engine._keys import anchor_key, anchor_key_file
from engine.models import AuditEvent

log = logging.getLogger(__name__)
CHUNK = 500  # seqs per IN (...) when reading the anchored rows


class AnchorError(Exception):
    """The head cannot be anchored: the chain since the last checkpoint does not verify."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    at: datetime
    signature: str
    line: int = 0  # its line in the anchor file (1-based); 0 when not read from one

    def signed(self, key: bytes) -> bool:
        return hmac.compare_digest(self.signature, sign(key, self.seq, self.hash, self.at))

    def json(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash, "at": self.at.isoformat(), "sig": self.signature})

    def __str__(self) -> str:
        return f"seq {self.seq}, time {self.at.isoformat()}"


def sign(key: bytes, seq: int, digest: str, at: datetime) -> str:
    message = f"jornada-audit-anchor\x1f{seq}\x1f{digest}\x1f{at.isoformat()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def anchor_file(config: Mapping[str, Any]) -> Path:
    configured = config["audit"]["anchor_file"]
    return Path(configured) if configured else Path(config["data_dir"]) / "audit_anchors.jsonl"


def read(path: Path) -> tuple[list[Anchor], list[str]]:
    """The anchors in ``path`` in file order, and a problem for each line that is not one."""
    if not path.exists():
        return [], []
    anchors: list[Anchor] = []
    problems: list[str] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            raw = json.loads(text)
            anchors.append(
                Anchor(int(raw["seq"]), str(raw["hash"]), datetime.fromisoformat(raw["at"]), str(raw["sig"]), number)
            )
        except (ValueError, KeyError, TypeError):
            problems.append(f"{path} line {number} is not a checkpoint: the anchor file was altered")
    return anchors, problems


def anchor(session: Session, config: Mapping[str, Any], now: datetime) -> Anchor:
    """Verify the chain since the last checkpoint, then sign its head and append it to the anchor file and the log.
    The first anchor makes the key file when no key is configured."""
    path = anchor_file(config)
    anchors, _ = read(path)
    key = anchor_key(config, create=not anchors)
    since = audit.START
    if anchors:
        last = anchors[-1]
        if not last.signed(key):
            raise AnchorError(
                f"the last checkpoint in {path} ({last}) does not verify under the key in "
                f"{anchor_key_file(config)}; run `jornada audit verify`"
            )
        since = (last.seq, last.hash)
    result = audit.verify(session, since)
    if not result.ok:
        raise AnchorError(f"not anchored: {result}")
    made = Anchor(result.last_seq, result.last_hash, now, sign(key, result.last_seq, result.last_hash, now))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(made.json() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    log.info("audit anchor %s", made.json())
    return made


@dataclass
class Report:
    """What ``check`` found: problems (the trail or the anchor file was tampered with) and notes."""

    anchors: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(session: Session, config: Mapping[str, Any]) -> Report:
    """Hold the trail against every checkpoint in the anchor file (raises MissingKeyError without the key)."""
    path = anchor_file(config)
    anchors, problems = read(path)
    newest = session.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()
    report = Report(problems=problems)
    if not anchors and not problems:
        report.notes.append(
            f"no checkpoint in {path} yet: the {newest} events are covered by the hash chain only "
            "(run `jornada audit anchor`)"
        )
        return report
    key = anchor_key(config)
    valid = []
    for found in anchors:
        if found.signed(key):
            valid.append(found)
        else:
            report.problems.append(
                f"the checkpoint on {path} line {found.line} ({found}): signature does not verify: the anchor file "
                "was altered (a forged checkpoint), or the key is not the one that signed it"
            )
    report.anchors = len(valid)
    if valid:
        _hold(session, valid, newest, report)
    return report


def _hold(session: Session, anchors: Sequence[Anchor], newest: int, report: Report) -> None:
    hashes = _hashes(session, sorted({a.seq for a in anchors if a.seq > 0}))
    highest = max(anchors, key=lambda a: a.seq)
    if highest.seq > newest:
        if newest == 0:
            report.problems.append(
                f"the whole trail was truncated: no rows are left, but the checkpoint at {highest} "
                f"vouches for rows 1..{highest.seq}"
            )
        else:
            rows = f"row {highest.seq} was" if newest + 1 == highest.seq else f"rows {newest + 1}..{highest.seq} were"
            report.problems.append(
                f"{rows} deleted after the checkpoint at {highest} (the newest row left is seq {newest})"
            )
    rewritten = [a for a in anchors if 0 < a.seq <= newest and hashes.get(a.seq) not in (None, a.hash)]
    gone = [a for a in anchors if 0 < a.seq <= newest and a.seq not in hashes]
    for found in gone:
        report.problems.append(f"row {found.seq} is missing, though the checkpoint at {found} holds it")
    if rewritten:
        first = min(rewritten, key=lambda a: a.seq)
        report.problems.append(
            f"row seq {first.seq}'s hash differs from the checkpoint at {first}: rows up to seq {first.seq} "
            f"were rewritten ({len(rewritten)} checkpoint(s) disagree)"
        )
    latest = max(anchors, key=lambda a: (a.at, a.seq))
    if newest > latest.seq:
        report.notes.append(
            f"{newest - latest.seq} events after the last checkpoint ({latest}) are not anchored yet: "
            "the hash chain alone covers them"
        )


def _hashes(session: Session, seqs: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(seqs), CHUNK):
        chunk = seqs[start : start + CHUNK]
        rows = session.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_(chunk)))
        found.update({seq: digest for seq, digest in rows})
    return found
