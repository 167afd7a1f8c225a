"""The unit of work: one database transaction, the one way engine code and its callers open one.

A ``Unit`` holds a Core connection in a transaction from the start, and an ORM session joined to that same
transaction, made only when something asks for it (most task operations run only Core statements). Two doors open
one, both yielding a ``Unit``:

- ``Store.unit()``: just the transaction (commit if the block returns, roll back if it raises). For work that is
  not an engine operation: sending queued mail, the scheduler heartbeat, the alert sweep, caches, tests.
- ``Runtime.unit()``: an engine operation. It adds the injected clock, turns optimistic-lock and uniqueness races
  into ``ConflictError``, keeps the workflows it loaded (engine._live) and sends the mail it queued, once committed.

There used to be a second kind, ``Store.transaction()`` yielding a bare ``Session``; code that held one could not
pass it to anything written for a ``Unit``, and vice versa. Now everything takes a ``Unit`` (``unit.session`` when
it needs the ORM).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from engine._execution import Execution, Observers

OUTBOX_QUEUED = "outbox_queued"  # session.info key: a mail was queued in this unit (engine._outbox)


class Unit:
    """One operation's transaction. ``conn`` is in it from the start; ``session``, an ORM session joined to the same
    transaction, is made the first time something asks for it: most task operations run only Core statements, and
    opening and closing a session costs more than they do."""

    def __init__(self, conn: Connection, now: datetime, observers: Observers | None = None) -> None:
        self.conn = conn
        self.now = now
        self.loaded: list[Execution] = []
        self.opened: Session | None = None  # the session, once made
        self.observers = observers

    @property
    def session(self) -> Session:
        if self.opened is None:
            # joined to the connection's transaction: flushes go into it, rollback() rolls it back, commit() does not
            # commit it (the unit does, after flushing this session)
            self.opened = Session(bind=self.conn, expire_on_commit=False, join_transaction_mode="rollback_only")
        return self.opened

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A SAVEPOINT around the block, for the session's and ``conn``'s statements alike: rolled back (with the
        session's objects) if the block raises. (SQLAlchemy emits a session's SAVEPOINT only when the savepoint first
        uses the connection, so it is made to use it at once.)"""
        with self.session.begin_nested():
            self.session.connection()
            yield

    @property
    def queued_mail(self) -> bool:
        """Whether something queued a mail in this unit (read after it committed, to send it)."""
        return self.opened is not None and bool(self.opened.info.get(OUTBOX_QUEUED))


@contextlib.contextmanager
def open_unit(conn: Connection, now: datetime, observers: Observers | None = None) -> Iterator[Unit]:
    """A unit on ``conn``: commits if the block returns (after flushing the session), rolls back if it raises."""
    unit = Unit(conn, now, observers)
    try:
        with conn.begin():
            yield unit
            if unit.opened is not None:
                unit.opened.flush()
    finally:
        if unit.opened is not None:
            unit.opened.close()
