"""Service-task handlers: the registry the engine dispatches ``camunda:topic`` values to.

Handlers are plain functions registered explicitly (see ``processes/__init__.py``). A handler gets a
``HandlerContext`` and returns a mapping merged into the task data. It runs inside the operation's transaction,
in a savepoint: if it raises, its database writes are undone and the instance goes to ``incident``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection
from sqlalchemy.orm import Session

_PLACEHOLDER = re.compile(r"^\$\{(\w+)\}$")


class Mailer(Protocol):
    def queue_mail(self, recipient: str, subject: str, body: str) -> int:
        """Queue a mail in the outbox (same transaction); returns the outbox id."""
        ...


@dataclass
class HandlerContext:
    session: Session
    now: datetime
    actor: str
    instance_id: str
    process_id: str
    customer_id: str | None
    element_id: str
    data: Mapping[str, Any]
    properties: Mapping[str, str]
    config: Mapping[str, Any]
    mailer: Mailer
    audit: Callable[[str, dict[str, Any]], None] = field(repr=False)
    scrub: Callable[[Collection[str]], None] = field(repr=False, default=lambda keep: None)
    scrub_others: Callable[[Collection[str], Collection[str]], None] = field(
        repr=False, default=lambda instance_ids, keep: None
    )

    def scrub_instance_data(self, keep: Collection[str]) -> None:
        """Erase every task's data in this instance (call activities included) but the ``keep`` keys; used when a
        customer's confidential data is purged while the purging instance itself still runs."""
        self.scrub(keep)

    def scrub_finished_instances(self, instance_ids: Collection[str], keep: Collection[str]) -> None:
        """Erase every task's data but the ``keep`` keys in other, finished instances (their structure stays: states,
        ids, the path they took); each is audited ``instance_data_scrubbed``. See ``Runtime.scrub_instances``."""
        self.scrub_others(instance_ids, keep)

    def prop(self, name: str, default: str | None = None) -> str | None:
        """An extension property of the service task: literal text, or ``${key}`` for a task-data value."""
        raw = self.properties.get(name, default)
        if raw is None:
            return None
        match = _PLACEHOLDER.match(raw.strip())
        if not match:
            return raw
        value = self.data.get(match.group(1))
        if value is None:
            raise HandlerError(f"{self.element_id}: property {name}={raw!r} names task data that is not set")
        return str(value)

    def require(self, key: str) -> Any:
        """A task-data value the handler cannot do without."""
        if key not in self.data or self.data[key] in (None, ""):
            raise HandlerError(f"{self.element_id}: task data has no {key!r}")
        return self.data[key]


Handler = Callable[[HandlerContext], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Happened:
    """An audited action of an instance, as a listener sees it, inside the operation's transaction. ``conn`` is the
    transaction's connection; ``session`` an ORM session joined to it, made on first use (most completions need
    none, and making one costs more than the statements a listener usually runs)."""

    conn: Connection
    open_session: Callable[[], Session] = field(repr=False)
    now: datetime
    actor: str
    action: str
    process_id: str
    instance_id: str
    customer_id: str | None
    task_id: str | None
    payload: Mapping[str, Any]
    config: Mapping[str, Any]

    @property
    def session(self) -> Session:
        return self.open_session()


# A listener runs inside the operation's transaction, after the audit event of its action: what it writes commits
# or rolls back with the operation. It raises HandlerError to refuse; the operation then fails as a whole.
Listener = Callable[[Happened], None]


@dataclass(frozen=True)
class StartRequest:
    """A process about to start, as a start guard sees it (inside the start's transaction)."""

    session: Session
    now: datetime
    process_id: str
    customer_id: str | None
    business_key: str | None
    data: Mapping[str, Any]
    by_message: str | None  # the message name when a message start event starts it


# A start guard raises StartRefused (a clear reason) to refuse a start; nothing is written then.
StartGuard = Callable[[StartRequest], None]


@dataclass(frozen=True)
class PeriodicJob:
    """A plugin's job the scheduler runs on every pass: ``job(runtime)`` does its own transactions, claims its work
    so that several schedulers never do it twice, and returns a one-line summary of what it did."""

    name: str
    seconds: float | None  # None: every sweep interval (scheduler.sweep_interval_seconds)
    job: Callable[[Any], str]


class HandlerError(Exception):
    """A handler could not do its work; the message is shown on the incident."""


class HandlerRegistry:
    """Service-task handlers by topic, plus the domain's listeners on audited actions and its start guards."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._listeners: dict[str, list[Listener]] = {}
        self.start_guards: list[StartGuard] = []
        self.periodic: list[PeriodicJob] = []

    def every(self, seconds: float | None, name: str, job: Callable[[Any], str]) -> None:
        """Have the scheduler run ``job(runtime)`` every ``seconds`` (None: each stuck-step sweep) and on each
        ``jornada scheduler --once`` pass; ``job`` returns a one-line summary."""
        if any(p.name == name for p in self.periodic):
            raise ValueError(f"a periodic job named {name!r} is already registered")
        self.periodic.append(PeriodicJob(name, seconds, job))

    def listen(self, action: str, listener: Listener) -> None:
        """Call ``listener`` whenever an instance records ``action`` (e.g. task_completed, instance_started)."""
        self._listeners.setdefault(action, []).append(listener)

    def listeners(self, action: str) -> list[Listener]:
        return self._listeners.get(action, [])

    def guard_start(self, guard: StartGuard) -> None:
        self.start_guards.append(guard)

    def register(self, topic: str, handler: Handler) -> None:
        if topic in self._handlers:
            raise ValueError(f"handler for topic {topic!r} is already registered")
        self._handlers[topic] = handler

    def handler(self, topic: str) -> Callable[[Handler], Handler]:
        """Decorator form of ``register``."""

        def decorate(func: Handler) -> Handler:
            self.register(topic, func)
            return func

        return decorate

    def get(self, topic: str) -> Handler:
        try:
            return self._handlers[topic]
        except KeyError:
            raise HandlerError(f"no handler is registered for topic {topic!r}") from None

    def __contains__(self, topic: object) -> bool:
        return topic in self._handlers

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._handlers))
