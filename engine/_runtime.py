"""The engine facade. Every public operation is one database transaction that writes the workflow state, the
inbox and timer rows, the audit events and the KPI rows together, or nothing.

This module is the list of operations; what they rest on lives beside it: the unit of work (engine/_unit.py),
loading and saving an instance (engine/_execution.py, engine/_live.py), who holds a task (engine/_assignment.py),
definition id -> spec (engine/_spec_lookup.py), the read-only views (engine/_views.py), and putting a runtime
together from the config and the plugins (engine/_assembly.py)."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Collection, Iterator, Mapping
from typing import Any, NamedTuple

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import _alerts as alerts
from engine import _assignment as assignment
from engine import _deploy as deploying
from engine import _external as external
from engine import _forms as forms
from engine import _interventions as interventions
from engine import _kpi as kpi
from engine import _messages as messages
from engine import _metrics as metrics
from engine import _open_groups as open_groups
from engine import _specs as specs
from engine import _versions as versions
from engine import _views as views
from engine._clock import Clock, SystemClock, TickAhead, engine_clock
from engine._config import load_config
from engine._dialects import DEFAULT_GROUP, MessageEventDefinition
from engine._due_work import due_timer_instances
from engine._enums import FINAL_STATUSES, OPEN_TASK_STATES, AlertResolution, AuditAction, InstanceStatus, TaskState
from engine._errors import ConflictError, FormValidationError, InvalidState, MessageNotDelivered, NotFound
from engine._execution import (
    DEFAULT_MAX_STEPS,
    Execution,
    InstanceRecord,
    JornadaScriptEngine,
    Observers,
    due_timers,
)
from engine._handlers import HandlerContext, HandlerRegistry, StartRequest
from engine._live import Kept, LiveWorkflows
from engine._outbox import OutboxSender, SessionMailer, Transport, transport_from_config
from engine._sandbox import Sandbox, SandboxedEnvironment
from engine._spec_lookup import NamesDefinitions, SpecLookup
from engine._store import Store
from engine._unit import Unit
from engine.models import ProcessInstance

SYSTEM = "system"
RUNNABLE = (InstanceStatus.RUNNING, InstanceStatus.WAITING)  # statuses a message or a timer moves on (not incident)


class Started(NamedTuple):
    """What ``Runtime.launch`` returns: the new instance's id and its status once its first steps ran."""

    id: str
    status: InstanceStatus


class Runtime:
    def __init__(
        self,
        store: Store,
        handlers: HandlerRegistry,
        *,
        clock: Clock | None = None,
        config: Mapping[str, Any] | None = None,
        transport: Transport | None = None,
        send_after_commit: bool = True,
        sandbox: Sandbox | None = None,
        live_cache: bool = True,
    ) -> None:
        """``live_cache=False`` keeps no deserialized workflow between operations (see engine._live)."""
        self.store = store
        self.handlers = handlers
        self.clock = clock or SystemClock()
        self.config = dict(config or load_config())
        limits = self.config["sandbox"]
        self._own_sandbox = sandbox is None
        self.sandbox = sandbox or Sandbox(float(limits["budget_seconds"]), int(limits["memory_mb"]))
        self.specs = specs.SpecCache()
        self.outbox = OutboxSender(store, transport or transport_from_config(self.config), self.clock)
        self.send_after_commit = send_after_commit
        self.spec_lookup = SpecLookup(self.specs)  # definition id -> spec, memoised (engine/_spec_lookup.py)
        self.live = LiveWorkflows() if live_cache else LiveWorkflows(capacity=0)
        self.message_starts = messages.MessageStarts()
        self.observers = Observers(handlers, self.config)
        self.max_steps = max_steps_per_operation(self.config)
        self.default_group = default_group(self.config)
        self.external = external.ExternalTasks(self)  # topics with no in-process handler (engine/_external.py)
        self.versions = versions.Versions(self)  # moving instances between versions (engine/_versions.py)

    def close(self) -> None:
        if self._own_sandbox:
            self.sandbox.close()
        self.store.dispose()

    # -- transactions ----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def unit(self) -> Iterator[Unit]:
        """One engine operation's transaction (engine._unit): on the injected clock, uniqueness races become
        ConflictError (as a stale row version already is, in ``InstanceRecord.update``), and once it committed
        the loaded workflows are kept and queued mail is sent."""
        try:
            with engine_clock(self.clock), self.store.unit(self.clock.now(), self.observers) as unit:
                yield unit
        except IntegrityError as exc:
            raise ConflictError(f"a concurrent change got there first: {exc.orig}") from exc
        for ex in unit.loaded:  # committed: the objects match what the database now holds
            projected = ex.projection() if ex.saved else None
            self.live.check_in(ex.instance.id, Kept(ex.instance.version, ex.workflow, ex.instance, projected))
        if unit.queued_mail and self.send_after_commit:
            self.outbox.send_pending()

    # -- definitions -----------------------------------------------------------------------------------------
    def deploy(self, files: Mapping[str, bytes], *, actor: str) -> list[deploying.Deployed]:
        with self.unit() as u:
            return deploying.deploy(
                u.session, files, topics=self.handlers, actor=actor, now=u.now, default_group=self.default_group
            )

    def _definition(self, session: Session, definition_id: int) -> tuple[str, str]:
        """(process id, BPMN text) of a deployed definition (engine/_spec_lookup.py)."""
        return self.spec_lookup.definition(session, definition_id)

    def _spec_pair(self, session: Session, instance: NamesDefinitions) -> specs.SpecPair:
        """The specs ``instance`` runs on (engine/_spec_lookup.py)."""
        return self.spec_lookup.pair(session, instance)

    # -- loading ---------------------------------------------------------------------------------------------
    def _attach(self, ex: Execution) -> None:
        engine = JornadaScriptEngine(environment=SandboxedEnvironment(self.sandbox, clock=lambda: ex.now))
        engine.call_handler = lambda task, topic, props: self._call_handler(ex, task, topic, props)
        engine.has_handler = self.handlers.__contains__
        ex.workflow.script_engine = engine
        ex.max_steps = self.max_steps
        ex.default_group = self.default_group

    def _load(self, u: Unit, instance_id: str, actor: str, version: int | None = None) -> Execution:
        """``version``: the instance row's version if the caller read it (then a kept copy of that version is
        used without reading the row again)."""
        kept = None if version is None else self.live.check_out(instance_id, version)
        if kept is not None:
            instance = kept.instance
        else:
            found = InstanceRecord.fetch(u.conn, instance_id)
            if found is None:
                raise NotFound(f"process instance {instance_id} does not exist")
            instance = found
            kept = self.live.check_out(instance.id, instance.version)
        if kept is None:
            workflow = specs.load(instance.state_json, self._spec_pair(u.session, instance))
            ex = Execution(u, instance, workflow, actor, u.now)
        else:
            ex = Execution(u, instance, kept.workflow, actor, u.now, projected=kept.projected)
        self._attach(ex)
        u.loaded.append(ex)
        return ex

    def _call_handler(self, ex: Execution, task: Task, topic: str, props: Mapping[str, str]) -> Mapping[str, Any]:
        handler = self.handlers.get(topic)
        element = task.task_spec.bpmn_id or task.task_spec.name
        context = HandlerContext(
            session=ex.session,
            now=ex.now,
            actor=ex.actor,
            instance_id=ex.instance.id,
            process_id=task.workflow.spec.name,
            customer_id=ex.instance.customer_id,
            element_id=element,
            data=dict(task.data),
            properties=props,
            config=self.config,
            mailer=SessionMailer(ex.session, ex.now),
            audit=lambda action, payload: ex.record(action, payload, str(task.id)),
            scrub=ex.scrub_data,
            scrub_others=lambda ids, keep: self.scrub_instances(ex.unit, ids, keep=keep, actor=ex.actor),
        )
        with ex.unit.savepoint():
            result = dict(handler(context) or {})
            ex.record(
                AuditAction.SERVICE_TASK_COMPLETED, {"element": element, "topic": topic, "result": result}, str(task.id)
            )
        return result

    def _finish(self, ex: Execution) -> None:
        """Advance, route thrown messages, save."""
        ex.advance()
        thrown = ex.workflow.get_events()
        ex.save()
        for event in thrown:
            definition = event.event_definition
            if isinstance(definition, MessageEventDefinition):
                payload = event.payload.get("payload") if isinstance(event.payload, dict) else event.payload
                self._deliver(
                    ex.unit,
                    definition.name,
                    payload,
                    actor=ex.actor,
                    customer_id=ex.instance.customer_id,
                    business_key=None,
                    exclude=ex.instance.id,
                )

    # -- instances -------------------------------------------------------------------------------------------
    def start(
        self,
        process_id: str,
        *,
        actor: str,
        customer_id: str | None = None,
        business_key: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> str:
        """Start an instance of the newest version of ``process_id``; returns its id."""
        return self.launch(process_id, actor=actor, customer_id=customer_id, business_key=business_key, data=data).id

    def launch(
        self,
        process_id: str,
        *,
        actor: str,
        customer_id: str | None = None,
        business_key: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Started:
        """``start``, returning the instance's status after its first steps too (running, waiting, completed or
        incident), so that a caller who reports it need not read it back."""
        with self.unit() as u:
            ex = self._start(
                u, process_id, actor=actor, customer_id=customer_id, business_key=business_key, data=data or {}
            )
        return Started(ex.instance.id, InstanceStatus(ex.instance.status))

    def _start(
        self,
        u: Unit,
        process_id: str,
        *,
        actor: str,
        customer_id: str | None,
        business_key: str | None,
        data: Mapping[str, Any],
        message: tuple[str, Any] | None = None,
    ) -> Execution:
        definition = deploying.latest(u.session, process_id)
        if definition is None:
            raise NotFound(f"process {process_id!r} is not deployed")
        if self.handlers.start_guards:
            request = StartRequest(
                session=u.session,
                now=u.now,
                process_id=process_id,
                customer_id=customer_id,
                business_key=business_key,
                data=data,
                by_message=message[0] if message else None,
            )
            for guard in self.handlers.start_guards:
                guard(request)
        instance = InstanceRecord(
            id=str(uuid.uuid4()),
            definition_id=definition.id,
            process_id=process_id,
            called_definitions=json.dumps(self.spec_lookup.called(u.session, process_id, definition.bpmn_xml)),
            customer_id=customer_id,
            business_key=business_key,
            status=InstanceStatus.RUNNING,
            incident=None,
            state_json="{}",
            waiting_messages="",
            serializer_version=specs.SERIALIZER_VERSION,
            version=1,
            started_by=actor,
            started_at=u.now,
            ended_at=None,
        )
        spec, subprocess_specs = self._spec_pair(u.session, instance)
        workflow = BpmnWorkflow(spec, subprocess_specs)
        seed = {**data, "customer_id": customer_id, "business_key": business_key}
        workflow.get_next_task(state=SpiffState.READY).data.update(seed)
        ex = Execution(u, instance, workflow, actor, u.now)
        self._attach(ex)
        u.loaded.append(ex)
        instance.insert(u.conn)
        ex.record(AuditAction.INSTANCE_STARTED, {"version": definition.version, "data": seed})
        if message is not None:
            ex.advance()
            messages.catch(ex, *message)
        self._finish(ex)
        return ex

    def cancel(self, instance_id: str, *, actor: str, reason: str) -> None:
        with self.unit() as u:
            ex = self._load(u, instance_id, actor)
            if ex.instance.status in FINAL_STATUSES:
                raise InvalidState(f"instance {instance_id} is already {ex.instance.status}")
            ex.workflow.cancel()
            before = ex.instance.status
            ex.instance.status = InstanceStatus.CANCELLED
            ex.record(AuditAction.INSTANCE_CANCEL_REQUESTED, {"reason": reason, "before": before})
            ex.save()

    def retry(self, instance_id: str, *, actor: str, reason: str = "", data: Mapping[str, Any] | None = None) -> str:
        """Run the failed task(s) of an instance in incident again, with ``data`` (e.g. a variable that was
        missing) added to their data first; returns the new status."""
        supplied = dict(data or {})
        with self.unit() as u:
            ex = self._load(u, instance_id, actor)
            if ex.instance.status != InstanceStatus.INCIDENT:
                raise InvalidState(f"instance {instance_id} has no incident to retry (status {ex.instance.status})")
            failed = ex.workflow.get_tasks(state=SpiffState.ERROR)
            ex.record(
                AuditAction.INCIDENT_RETRIED,
                {
                    "incident": ex.instance.incident,
                    "tasks": [t.task_spec.bpmn_id for t in failed],
                    "reason": reason,
                    "data": supplied,
                },
            )
            ex.instance.incident = None
            ex.reopen_failed(supplied)
            self._finish(ex)
            return ex.instance.status

    def scrub_instances(self, u: Unit, instance_ids: Collection[str], *, keep: Collection[str], actor: str) -> None:
        """Inside an open unit: erase the task data of finished instances but the ``keep`` keys, keeping their
        structure, through ``Execution.scrub_data`` (audited ``instance_data_scrubbed``); a leftover incident text
        goes too. An open instance is refused: it still needs its data to finish."""
        for instance_id in instance_ids:
            ex = self._load(u, instance_id, actor)
            if ex.instance.status not in FINAL_STATUSES:
                raise InvalidState(f"instance {instance_id} is {ex.instance.status}: only a finished one is scrubbed")
            ex.scrub_data(keep)
            ex.instance.incident = None
            ex.save()

    # -- human tasks -----------------------------------------------------------------------------------------
    def claim(self, task_pk: int, *, actor: str, groups: Collection[str] | None = None) -> None:
        with self.unit() as u:
            assignment.claim(u, assignment.open_task(u, task_pk, groups, actor), actor)

    def unclaim(self, task_pk: int, *, actor: str, groups: Collection[str] | None = None) -> None:
        with self.unit() as u:
            assignment.unclaim(u, assignment.open_task(u, task_pk, groups, actor), actor, groups)

    def assign(self, task_pk: int, assignee: str, *, actor: str, groups: Collection[str] | None = None) -> None:
        with self.unit() as u:
            assignment.assign(u, assignment.open_task(u, task_pk, groups, actor), assignee, actor)

    def complete(
        self, task_pk: int, *, actor: str, data: Mapping[str, Any] | None = None, groups: Collection[str] | None = None
    ) -> str:
        """Complete a READY human task with form data; returns the instance's new status."""
        with self.unit() as u:
            row = assignment.open_task(u, task_pk, groups, actor)
            if row.assignee is not None and row.assignee != actor and groups is not None:
                raise ConflictError(f"task {task_pk} ({row.name}) is claimed by {row.assignee}")
            ex = self._load(u, row.instance_id, actor, row.instance_version)
            task = ex.task(row.task_id)
            if task is None or task.state != SpiffState.READY or not task.task_spec.manual:
                state = SpiffState.get_name(task.state) if task is not None else "missing"
                raise InvalidState(f"task {task_pk} ({row.name}) is {state}, not a ready human task")
            clean, errors = forms.validate(task.task_spec, data or {})
            if errors:
                raise FormValidationError(row.name, errors)
            missing = assignment.missing_outputs(task, clean)
            if missing:
                raise FormValidationError(row.name, missing)
            before = {key: task.data.get(key) for key in clean}
            task.data.update(clean)
            with ex.guard():  # what completing runs (post scripts, data outputs, what comes next) may fail
                task.run()
            done = {
                "state": TaskState.COMPLETED,
                "completed_at": u.now,
                "completed_by": actor,
                "claimed_at": row.claimed_at or u.now,
                "assignee": row.assignee or actor,
            }
            # SET only what changes: naming an indexed column (assignee) rewrites its index entry even when equal
            changes = {key: value for key, value in done.items() if row._mapping[key] != value}
            alerted_at = assignment.CLOSE_TASK.run_returning(u.conn, {"b_id": row.id, **changes})
            open_groups.remove(u.conn, [row.id])
            kpi.record(u.conn, {**row._mapping, **done})
            ex.closed.add(row.task_id)
            ex.record(
                AuditAction.TASK_COMPLETED,
                {"task": row.id, "element": row.element_id, "name": row.name, "before": before, "after": clean},
                row.task_id,
            )
            if alerted_at is not None:
                alerts.resolve(u.conn, [row], resolution=AlertResolution.TASK_COMPLETED, actor=actor, now=u.now)
            self._finish(ex)
        metrics.TASKS_COMPLETED.inc()  # committed
        return ex.instance.status

    # -- messages --------------------------------------------------------------------------------------------
    def send_message(
        self,
        name: str,
        payload: Mapping[str, Any] | None = None,
        *,
        actor: str,
        customer_id: str | None = None,
        business_key: str | None = None,
    ) -> list[str]:
        """Deliver a message to the instances of ``customer_id`` / ``business_key`` waiting for it, or start
        the process whose message start event names it. Returns the instance ids that received it."""
        if not customer_id and not business_key:
            raise MessageNotDelivered("a message needs a customer_id or a business_key to be correlated")
        with self.unit() as u:
            return self._deliver(
                u,
                name,
                dict(payload or {}),
                actor=actor,
                customer_id=customer_id,
                business_key=business_key,
                exclude=None,
                must=True,
            )

    def deliver(
        self,
        u: Unit,
        name: str,
        payload: Mapping[str, Any],
        *,
        actor: str,
        customer_id: str,
        instance_id: str | None = None,
        start: bool = False,
    ) -> list[str]:
        """Inside an open unit: deliver message ``name`` to the customer's instances waiting for it (only to
        ``instance_id`` when given; and with ``start``, start a process whose message start event names it when none
        waits). Returns the instance ids that received it; none is not an error (a product event nobody waits for)."""
        return self._deliver(
            u,
            name,
            dict(payload),
            actor=actor,
            customer_id=customer_id,
            business_key=None,
            exclude=None,
            start=start,
            only=instance_id,
        )

    def _deliver(
        self,
        u: Unit,
        name: str,
        payload: Any,
        *,
        actor: str,
        customer_id: str | None,
        business_key: str | None,
        exclude: str | None,
        must: bool = False,
        start: bool = True,
        only: str | None = None,
    ) -> list[str]:
        query = select(ProcessInstance.id).where(
            ProcessInstance.status.in_(RUNNABLE),
            ProcessInstance.waiting_messages.is_(None) | ProcessInstance.waiting_messages.contains(f",{name},"),
        )
        if customer_id:
            query = query.where(ProcessInstance.customer_id == customer_id)
        if business_key:
            query = query.where(ProcessInstance.business_key == business_key)
        if only:
            query = query.where(ProcessInstance.id == only)
        delivered = []
        for instance_id in u.session.execute(query.order_by(ProcessInstance.started_at)).scalars().all():
            if instance_id == exclude:
                continue
            ex = self._load(u, instance_id, actor)
            if messages.catch(ex, name, payload):
                self._finish(ex)
                delivered.append(instance_id)
        if not delivered and start:
            for process_id in self.message_starts.processes(u.session, name):
                ex = self._start(
                    u,
                    process_id,
                    actor=actor,
                    customer_id=customer_id,
                    business_key=business_key,
                    data={},
                    message=(name, payload),
                )
                delivered.append(ex.instance.id)
        if must and not delivered:
            who = f"customer {customer_id}" if customer_id else f"business key {business_key}"
            raise MessageNotDelivered(
                f"no instance of {who} is waiting for message {name!r}, and no process starts with it"
            )
        return delivered

    # -- timers ----------------------------------------------------------------------------------------------
    def fire_due_timers(self, limit: int = 200) -> int:
        """Fire the BPMN timers due now, the ``limit`` first ones, of instances that can run (not in incident: a
        retry fires theirs); each instance in its own transaction. Returns instances advanced."""
        with self.store.session() as session:
            query = due_timer_instances(session.get_bind().dialect.name)
            due = session.execute(query, {"b_now": self.clock.now(), "b_limit": limit}).scalars().all()
        fired = 0
        for instance_id in dict.fromkeys(due):
            try:
                with self.unit() as u:
                    ex = self._load(u, instance_id, SYSTEM)
                    due_now = sorted({t.task_spec.bpmn_id for t, at in due_timers(ex.workflow) if at <= u.now})
                    if ex.instance.status not in RUNNABLE or not due_now:
                        continue  # cancelled, finished, or another scheduler fired it since our query
                    ex.record(AuditAction.TIMER_FIRED, {"elements": due_now})
                    with engine_clock(TickAhead(self.clock)):
                        self._finish(ex)
                    fired += 1
            except ConflictError:
                continue  # another scheduler fired it first
        return fired

    # -- alerts ----------------------------------------------------------------------------------------------
    def sweep_stuck_steps(self, actor: str = "scheduler") -> list[int]:
        """Raise ``behind`` and ``stuck`` alerts for human tasks past their thresholds; returns new alert ids."""
        raised = alerts.sweep(self.store, self.clock.now(), self.config, actor=actor)
        metrics.ALERTS_RAISED.inc(len(raised))
        if raised and self.send_after_commit:
            self.outbox.send_pending()
        return raised

    def acknowledge_alert(self, alert_id: int, *, actor: str) -> None:
        alerts.acknowledge(self.store, alert_id, actor=actor, now=self.clock.now())

    # -- interventions (engine/_interventions.py) -------------------------------------------------------------
    def skip(self, instance_id: str, element_id: str, *, actor: str, reason: str) -> str:
        """Finish the ready human task(s) or failed step(s) of ``element_id`` without form validation, marked
        skipped, and advance; returns the instance's new status."""
        why = interventions.require_reason(reason, f"skip {element_id}")
        with self.unit() as u:
            ex = self._load(u, instance_id, actor)
            interventions.require_open(instance_id, ex.instance.status)
            status = ex.instance.status
            skipped = interventions.skip(ex.workflow, element_id)
            ids = [str(task.id) for task, _ in skipped]
            task_table = assignment.TASK
            closed = u.conn.execute(
                task_table.update()
                .where(
                    task_table.c.instance_id == instance_id,
                    task_table.c.task_id.in_(ids),
                    task_table.c.state.in_(OPEN_TASK_STATES),
                )
                .values(state=TaskState.SKIPPED, completed_at=u.now, completed_by=actor)
                .returning(*alerts.CLOSED_COLUMNS)
            ).all()
            rows = [row.id for row in closed]
            open_groups.remove(u.conn, rows)
            ex.closed.update(ids)
            if any(before == "ERROR" for _, before in skipped):
                ex.instance.incident = None  # the save names any failure that is left
            task = skipped[0][0]
            ex.record(
                AuditAction.STEP_SKIPPED,
                {
                    "element": element_id,
                    "name": task.task_spec.bpmn_name or element_id,
                    "reason": why,
                    "tasks": sorted(rows),
                    "before": {"state": skipped[0][1], "status": status},
                    "after": {"state": TaskState.SKIPPED},
                },
                ids[0],
            )
            alerted = [row for row in closed if row.alerted_at is not None]
            if alerted:
                alerts.resolve(u.conn, alerted, resolution=AlertResolution.TASK_SKIPPED, actor=actor, now=u.now)
            self._finish(ex)
            return ex.instance.status

    def repeat(self, instance_id: str, element_id: str, *, actor: str, reason: str) -> str:
        """Go back to the latest run of ``element_id`` (completed or open) and run it again: what followed it is
        removed, its open tasks are closed, and the step starts over. Returns the instance's new status."""
        why = interventions.require_reason(reason, f"repeat {element_id}")
        with self.unit() as u:
            ex = self._load(u, instance_id, actor)
            interventions.require_open(instance_id, ex.instance.status)
            status, open_before = ex.instance.status, interventions.open_elements(ex.workflow)
            task, state, removed = interventions.repeat(ex.workflow, element_id)
            ex.instance.incident = None  # the save names any failure that is left
            ex.record(
                AuditAction.STEP_REPEATED,
                {
                    "element": element_id,
                    "name": task.task_spec.bpmn_name or element_id,
                    "reason": why,
                    "removed": len(removed),
                    "before": {"state": state, "status": status, "open": open_before},
                    "after": {
                        "state": SpiffState.get_name(task.state),
                        "open": interventions.open_elements(ex.workflow),
                    },
                },
                str(task.id),
            )
            self._finish(ex)
            return ex.instance.status

    # -- moving instances between versions (engine/_versions.py) ---------------------------------------------------
    def migration_preview(self, process_id: str, from_version: int, to_version: int) -> versions.Preview:
        """The running, waiting and incident instances on ``from_version``: which can move to ``to_version``, and
        why the others cannot. Reads only."""
        return self.versions.preview(process_id, from_version, to_version)

    def migrate_instances(
        self, process_id: str, from_version: int, to_version: int, instance_ids: Collection[str], *, actor: str
    ) -> versions.Outcome:
        """Move the chosen instances to ``to_version``, each in its own transaction (re-checked on the current
        row, audited ``instance_migrated``); those that cannot move are refused with their reasons."""
        return self.versions.migrate(process_id, from_version, to_version, instance_ids, actor=actor)

    # -- reads (engine/_views.py) -------------------------------------------------------------------------------
    def instance_view(self, instance_id: str) -> interventions.InstanceView:
        """An instance as its page shows it: the row, its definition's XML, the state of each element, its
        current data and the steps a lead can skip or repeat."""
        return views.instance_view(self.store, self.spec_lookup, instance_id)

    def task_view(self, task_pk: int) -> views.TaskView:
        """What a person needs to work a task: its row, form fields, current data and instructions."""
        return views.task_view(self.store, self.spec_lookup, task_pk)


def max_steps_per_operation(config: Mapping[str, Any]) -> int:
    """[engine] max_steps_per_operation: engine steps one operation may run on one instance (default 1000)."""
    section = config.get("engine")
    value = section.get("max_steps_per_operation") if isinstance(section, Mapping) else None
    return int(value) if isinstance(value, int) and value > 0 else DEFAULT_MAX_STEPS


def default_group(config: Mapping[str, Any]) -> str:
    """[engine] default_group: the queue of a human step that names no role (default ``cs_lead``)."""
    section = config.get("engine")
    value = section.get("default_group") if isinstance(section, Mapping) else None
    return value.strip() if isinstance(value, str) and value.strip() else DEFAULT_GROUP
