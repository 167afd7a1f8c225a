"""Mails (and later webhooks) leave through the outbox: queued in the operation's transaction, sent after commit.
A rollback therefore sends nothing, and a crash between commit and send re-sends from the table."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine._clock import Clock
from engine._store import Store
from engine._unit import OUTBOX_QUEUED
from engine.models import Outbox

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
MAIL = "mail"
# a mail whose recipient is erased once it has left (or has finally failed to leave): the certificate of deletion
# goes to an address the purge has otherwise forgotten, and the outbox must not keep it
MAIL_FORGET_RECIPIENT = "mail.forget_to"
FORGOTTEN = "[erased after sending]"


class Transport(Protocol):
    def send(self, recipient: str, subject: str, body: str) -> None: ...


class LogTransport:
    """Records mails in the log only (the embedded default)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, recipient: str, subject: str, body: str) -> None:
        self.sent.append((recipient, subject, body))
        log.info("mail to %s: %s", recipient, subject)


class SmtpTransport:
    def __init__(self, host: str, port: int, sender: str) -> None:
        self.host, self.port, self.sender = host, port, sender

    def send(self, recipient: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = recipient
        message["Subject"] = subject
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            smtp.send_message(message)


def transport_from_config(config: Mapping[str, Any]) -> Transport:
    mail = config["mail"]
    if mail["transport"] == "smtp":
        return SmtpTransport(mail["smtp_host"], int(mail["smtp_port"]), mail["sender"])
    return LogTransport()


@dataclass
class SessionMailer:
    """The ``Mailer`` handlers and alerts use: queues into the current transaction."""

    session: Session
    now: datetime

    def queue_mail(self, recipient: str, subject: str, body: str) -> int:
        return queue_mail(self.session, self.now, recipient, subject, body)


def queue_mail(
    session: Session, now: datetime, recipient: str, subject: str, body: str, *, forget_recipient: bool = False
) -> int:
    """Queue a mail in ``session``'s transaction; returns its outbox id. With ``forget_recipient`` the address is
    erased from the outbox once the mail has been sent (or has failed for the last time)."""
    kind = MAIL_FORGET_RECIPIENT if forget_recipient else MAIL
    row = Outbox(kind=kind, recipient=recipient, subject=subject, body=body, created_at=now, attempts=0)
    session.add(row)
    session.flush()
    session.info[OUTBOX_QUEUED] = True
    return row.id


class OutboxSender:
    def __init__(self, store: Store, transport: Transport, clock: Clock) -> None:
        self.store, self.transport, self.clock = store, transport, clock

    def send_pending(self, limit: int = 100) -> int:
        """Send unsent mails; each is marked sent (or its error recorded) in its own transaction."""
        with self.store.session() as session:
            pending = (
                session.execute(
                    select(Outbox.id)
                    .where(Outbox.sent_at.is_(None), Outbox.attempts < MAX_ATTEMPTS)
                    .order_by(Outbox.id)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        sent = 0
        for outbox_id in pending:
            with self.store.unit(self.clock.now()) as unit:
                session = unit.session
                claimed = session.execute(
                    update(Outbox)
                    .where(Outbox.id == outbox_id, Outbox.sent_at.is_(None))
                    .values(attempts=Outbox.attempts + 1)
                )
                if claimed.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                row = session.get(Outbox, outbox_id)
                assert row is not None
                try:
                    self.transport.send(row.recipient, row.subject, row.body)
                except (OSError, smtplib.SMTPException) as exc:
                    row.last_error = f"{exc.__class__.__name__}: {exc}"
                    log.warning("outbox %s not sent: %s", outbox_id, row.last_error)
                    if row.attempts >= MAX_ATTEMPTS and row.kind == MAIL_FORGET_RECIPIENT:
                        row.recipient = FORGOTTEN  # never sent, never retried: the address is not kept either
                    continue
                row.sent_at = self.clock.now()
                row.last_error = None
                if row.kind == MAIL_FORGET_RECIPIENT:
                    row.recipient = FORGOTTEN
                sent += 1
        return sent
