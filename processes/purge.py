"""privacy.purge: erase what Jornada holds about a customer as a person, wherever it is kept.

A purge covers, in one transaction:

- the task data of every instance of the customer (message payloads included), erased by the engine
  (``ctx.scrub_finished_instances``, ``ctx.scrub_instance_data``: the structure stays), and the purging instance's
  own data down to ids and the agreement;
- the audit payloads of the customer and of its instances (tombstones through ``engine._audit.redact``: the chain
  still verifies);
- the outbox: every mail to, or mentioning, the customer's or its contacts' names and addresses;
- task comments on the customer's instances (the web layer's ``task_comment`` table, reached by name: the domain
  never imports the web layer);
- the CS records: contacts deleted, survey comments, event properties, ticket subjects, access details and
  playbook triggers emptied;
- the customer's export archives on disk.

``purge_scope`` decides what happens to what is left once the personal data is gone: ``confidential`` keeps the
anonymous records (scores, counts, amounts, dates), so the KPIs of past periods do not change; ``all_records``
deletes the customer's survey answers, product events, health history, playbook runs and support tickets as well.
Invoices and MRR movements (accounting) and the customer's tombstone row are kept in both.

An instance of the customer that is still open is refused, with its id in the incident: its data is needed to
finish it, and purging around it would leave it half-erased. Finish or cancel it, then retry the purge.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Executable,
    case,
    column,
    delete,
    func,
    inspect,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.orm import Session

from engine import FINAL_STATUSES, AuditAction, HandlerContext, HandlerError, redact_audit_events
from engine import MAIL_MAX_ATTEMPTS as MAX_ATTEMPTS
from engine.models import AuditEvent, Outbox, ProcessInstance
from processes.customers import AccessGrant, Contact, Customer, get_customer
from processes.events import PlaybookRun, ProductEvent
from processes.export import exports_folder
from processes.health import HealthPending, HealthSnapshot
from processes.rollups import CustomerDay
from processes.surveys import SurveyAnswer, SurveyLink
from processes.tickets import SupportTicket

CONFIDENTIAL, ALL_RECORDS = "confidential", "all_records"
SCOPES = (CONFIDENTIAL, ALL_RECORDS)
PURGED = "[purged]"
# What survives a purge in the purging instance's own data: ids and the agreement, nothing personal.
KEPT_AFTER_PURGE = ("customer_id", "business_key", "agreement_reference", "retention_days", "purged_at")
# e-mail addresses mentioned anywhere in the customer's task data or audit payloads
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# the names of the export archives build_archive writes: <customer id>-<timestamp>-<digest prefix>.zip
_ARCHIVE = r"-\d{8}T\d{6}-[0-9a-f]{8}\.zip"
MIN_NAME_LENGTH = 3  # shorter names are not searched for in mails (too many false matches)
HELD_BACK = "still has open instances"  # the words of the incident an open instance causes


def purge_scope(data: Any) -> str:
    """The agreed scope from the task data (``confidential`` when none is given); a clear error otherwise."""
    scope = data.get("purge_scope") or CONFIDENTIAL
    if scope not in SCOPES:
        raise HandlerError(f"purge_scope {scope!r} is not a known scope: use one of {', '.join(SCOPES)}")
    return str(scope)


@dataclass
class PersonalValues:
    """What identifies the customer as a person, read before anything is erased."""

    names: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)

    def add_text(self, text: str) -> None:
        self.emails.update(_EMAIL.findall(text))

    def searched(self) -> list[str]:
        names = {n for n in self.names if len(n) >= MIN_NAME_LENGTH}
        return sorted(names | self.emails)


def purge(ctx: HandlerContext) -> dict[str, Any]:
    """Erase the customer's personal data from every table that holds it (see the module docstring); returns the
    counts staff see, and audits the full summary as ``customer_purged``.

    The archives go last, once everything else is in place: should the transaction still fail, the database is
    whole and an export can be built again. The e-mail address is kept until ``privacy.deliver_certificate`` has
    sent the certificate of deletion."""
    scope = purge_scope(ctx.data)
    session = ctx.session
    customer = get_customer(session, ctx.customer_id)
    instances = list(
        session.execute(select(ProcessInstance).where(ProcessInstance.customer_id == customer.id)).scalars()
    )
    others = [i for i in instances if i.id != ctx.instance_id]
    still_open = sorted(f"{i.process_id} {i.id} ({i.status})" for i in others if i.status not in FINAL_STATUSES)
    if still_open:
        raise HandlerError(
            f"customer {customer.id} {HELD_BACK}: {', '.join(still_open)}; finish or cancel them, then retry the purge"
        )
    instance_ids = [i.id for i in instances]
    events = list(
        session.execute(
            select(AuditEvent)
            .where(
                or_(AuditEvent.customer_id == customer.id, AuditEvent.instance_id.in_(instance_ids)),
                AuditEvent.redacted.is_(False),
            )
            .order_by(AuditEvent.seq)
        ).scalars()
    )
    values = personal_values(session, customer, [i.state_json for i in instances], [e.payload for e in events])
    archives = export_archives(ctx, customer.id, events)

    reference = str(ctx.data.get("agreement_reference") or "deletion agreement")
    seqs = redact_audit_events(
        session, events, at=ctx.now, actor=ctx.actor, reason=f"customer data purged: {reference}"
    )
    # after the redaction: the scrubs' own audit events name no one, and are not tombstoned with the customer's
    ctx.scrub_finished_instances([i.id for i in others], ())
    mails = redact_outbox(session, values)
    comments = redact_task_comments(session, instance_ids)
    records = purge_cs_records(session, customer.id, scope)
    customer.name, customer.purged_at = f"[deleted {customer.id}]", ctx.now
    ctx.scrub_instance_data(KEPT_AFTER_PURGE)
    for archive in archives:
        archive.unlink(missing_ok=True)
        ctx.audit(AuditAction.EXPORT_DELETED, {"customer": customer.id, "file": archive.name})
    summary = {
        "purge_scope": scope,
        "purged_instances": len(others),
        "redacted_audit_events": len(seqs),
        "redacted_mails": mails,
        "redacted_comments": comments,
        "deleted_exports": len(archives),
        **records,
    }
    ctx.audit(AuditAction.CUSTOMER_PURGED, {"customer": customer.id, **summary})
    shown = ("purged_instances", "redacted_audit_events", "deleted_exports", "deleted_contacts")
    return {
        "purged_at": ctx.now.isoformat(),
        **{key: summary[key] for key in shown},
        "redacted_answers": records["redacted_answers"] + records["deleted_answers"],
        "redacted_events": records["redacted_events"] + records["deleted_events"],
    }


def personal_values(
    session: Session, customer: Customer, states: Iterable[str], payloads: Iterable[str]
) -> PersonalValues:
    """The customer's and its contacts' names and addresses, and every address its task data and audit payloads
    mention (a referral's contact, a training participant)."""
    found = PersonalValues(names={customer.name}, emails={customer.email} if customer.email else set())
    for name, email in session.execute(
        select(Contact.name, Contact.email).where(Contact.customer_id == customer.id)
    ).all():
        found.names.add(name)
        found.emails.add(email)
    for text in [*states, *payloads]:
        found.add_text(text)
    found.names.discard("")
    return found


def _changed(session: Session, statement: Executable) -> int:
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(cast(CursorResult[Any], result).rowcount)


def redact_outbox(session: Session, values: PersonalValues) -> int:
    """Blank every mail sent to one of the customer's addresses or naming the customer, one of its people or an
    address its data mentions; a mail not sent yet is not sent at all (its attempts are used up, its error says
    why). The database finds the candidates (case-insensitive substrings); a name counts only as a whole word
    ("Acme 1" is not in a mail to "Acme 10")."""
    searched = values.searched()
    if not searched:
        return 0
    emails = {e.lower() for e in values.emails}
    candidates: list[ColumnElement[bool]] = [func.lower(Outbox.recipient).in_(sorted(emails))] if emails else []
    for value in searched:
        candidates += [Outbox.subject.icontains(value, autoescape=True), Outbox.body.icontains(value, autoescape=True)]
    words = re.compile("|".join(rf"(?<!\w){re.escape(v)}(?!\w)" for v in searched), re.IGNORECASE)
    rows = session.execute(select(Outbox.id, Outbox.recipient, Outbox.subject, Outbox.body).where(or_(*candidates)))
    ids = [
        row.id for row in rows if row.recipient.lower() in emails or words.search(row.subject) or words.search(row.body)
    ]
    if not ids:
        return 0
    unsent = Outbox.sent_at.is_(None)
    return _changed(
        session,
        update(Outbox)
        .where(Outbox.id.in_(ids))
        .values(
            recipient=PURGED,
            subject=PURGED,
            body="",
            attempts=case((unsent, MAX_ATTEMPTS), else_=Outbox.attempts),
            last_error=case((unsent, "not sent: the customer's data was purged"), else_=Outbox.last_error),
        ),
    )


# the web layer's comments on human tasks, by name: processes never import web
TASK_COMMENT = table("task_comment", column("instance_id"), column("body"))


def redact_task_comments(session: Session, instance_ids: Collection[str]) -> int:
    """Blank the comments staff wrote on the customer's tasks (when the web layer's table exists)."""
    if not instance_ids or not inspect(session.connection()).has_table("task_comment"):
        return 0
    return _changed(
        session, update(TASK_COMMENT).where(TASK_COMMENT.c.instance_id.in_(list(instance_ids))).values(body=PURGED)
    )


def purge_cs_records(session: Session, customer_id: str, scope: str = CONFIDENTIAL) -> dict[str, int]:
    """Erase what the CS records hold about people: contacts are deleted (answers keep their score, not who gave
    it), survey comments, open survey links, event properties, ticket subjects, access details and playbook
    triggers are emptied. With ``confidential`` scores, counts and dates stay (the KPIs of past periods do not
    change); with ``all_records`` the answers, events, health history, playbook runs and tickets are deleted."""
    mine = customer_id
    counts = {"deleted_answers": 0, "deleted_events": 0, "deleted_tickets": 0}
    counts["redacted_answers"] = _changed(
        session, update(SurveyAnswer).where(SurveyAnswer.customer_id == mine).values(comment="", contact_id=None)
    )
    _changed(session, delete(SurveyLink).where(SurveyLink.customer_id == mine))
    counts["deleted_contacts"] = _changed(session, delete(Contact).where(Contact.customer_id == mine))
    counts["redacted_events"] = _changed(
        session, update(ProductEvent).where(ProductEvent.customer_id == mine).values(properties="{}")
    )
    _changed(session, update(SupportTicket).where(SupportTicket.customer_id == mine).values(subject=""))
    _changed(session, update(AccessGrant).where(AccessGrant.customer_id == mine).values(detail=""))
    _changed(session, update(PlaybookRun).where(PlaybookRun.customer_id == mine).values(trigger=""))
    if scope == ALL_RECORDS:
        counts["deleted_answers"] = _changed(session, delete(SurveyAnswer).where(SurveyAnswer.customer_id == mine))
        counts["redacted_answers"] = 0
        counts["deleted_events"] = _changed(session, delete(ProductEvent).where(ProductEvent.customer_id == mine))
        counts["redacted_events"] = 0
        counts["deleted_tickets"] = _changed(session, delete(SupportTicket).where(SupportTicket.customer_id == mine))
        for model in (HealthSnapshot, HealthPending, PlaybookRun, CustomerDay):
            _changed(session, delete(model).where(model.customer_id == mine))
    return counts


def export_archives(ctx: HandlerContext, customer_id: str, events: Iterable[AuditEvent]) -> list[Path]:
    """The customer's export archives still on disk: those its ``export_built`` events name (read before the
    payloads become tombstones) and any other file named as build_archive names the customer's; only files
    inside <data_dir>/exports count."""
    folder = exports_folder(ctx.config).resolve()
    found: set[Path] = set()
    for event in events:
        if event.action == AuditAction.EXPORT_BUILT:
            path = Path(json.loads(event.payload).get("path", "")).resolve()
            if path.parent == folder and path.is_file():
                found.add(path)
    if folder.is_dir():
        pattern = re.compile(re.escape(customer_id) + _ARCHIVE)
        found.update(path for path in folder.iterdir() if pattern.fullmatch(path.name) and path.is_file())
    return sorted(found)
