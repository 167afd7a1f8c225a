"""The one CSV form of the audit trail, written by the web export (/audit/export.csv) and ``jornada audit export``.

The columns are the web's, which is what auditors download: the row's ids, ``before`` and ``after`` lifted out of
the payload as canonical JSON (the change reads without parsing the payload), the payload itself and the row's
``hash``. The CLI used to write ``payload_hash`` and ``prev_hash`` instead of ``before``/``after``; it was not a
superset, and the chain is verified by ``jornada audit verify`` against the database and its signed anchors, not
from a spreadsheet, so the CLI now writes the same file as the web.

Text cells that a spreadsheet would run as a formula (starting with ``= + - @``, a tab or a carriage return) get
a leading apostrophe; ``payload``, ``before``, ``after`` and ``hash`` are JSON or hex and are written as they
are. Rows are produced in chunks, so an export of the whole trail streams instead of being built in memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from engine._audit import canonical
from engine.models import AuditEvent

AUDIT_CSV_COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "process_id",
    "instance_id",
    "task_id",
    "customer_id",
    "before",
    "after",
    "payload",
    "hash",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str | None) -> str:
    """Text as a spreadsheet will not run it as a formula."""
    text = text or ""
    return "'" + text if text.startswith(FORMULA_START) else text


def audit_csv_row(event: AuditEvent) -> list[str]:
    """One event as the cells of :data:`AUDIT_CSV_COLUMNS` (a redacted row has no before/after)."""
    payload = {} if event.redacted else json.loads(event.payload)
    part = {key: canonical(payload[key]) if key in payload else "" for key in ("before", "after")}
    return [
        str(event.seq),
        event.at.isoformat(),
        _cell(event.actor),
        _cell(event.action),
        _cell(event.process_id),
        _cell(event.instance_id),
        _cell(event.task_id),
        _cell(event.customer_id),
        part["before"],
        part["after"],
        event.payload,
        event.hash,
    ]


def audit_csv_lines(events: Iterable[AuditEvent], every: int = 200) -> Iterator[str]:
    """The header, then the events' rows, as text chunks of ``every`` rows (CRLF line ends, as RFC 4180 says)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(AUDIT_CSV_COLUMNS)
    for n, event in enumerate(events, 1):
        writer.writerow(audit_csv_row(event))
        if n % every == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
