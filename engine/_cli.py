"""The ``jornada`` command. Handlers and extra commands come from plugins (entry-point group
``jornada.plugins``: a module with ``register(registry)`` and optionally ``add_commands(subparsers)``), so the
engine never imports the CS domain (engine/_assembly.py builds the runtime)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine import _anchors as anchors
from engine import _audit as audit
from engine import _kpi as kpi
from engine import _version_cli as version_cli
from engine._assembly import build_runtime, plugins
from engine._audit_csv import audit_csv_lines
from engine._enums import OPEN_TASK_STATES
from engine._errors import EngineError, Problem
from engine._keys import MissingKeyError
from engine._runtime import Runtime
from engine.models import Alert, HumanTask, HumanTaskGroup

Command = Callable[[Runtime, argparse.Namespace], int]


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"--data is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise SystemExit("--data must be a JSON object")
    return value


def cmd_init_db(rt: Runtime, args: argparse.Namespace) -> int:
    rt.store.migrate()
    print(f"database ready: {rt.store.engine.url.render_as_string(hide_password=True)}")
    return 0


def cmd_deploy(rt: Runtime, args: argparse.Namespace) -> int:
    files = {str(path): Path(path).read_bytes() for path in args.files}
    shown: set[Problem] = set()
    for deployed in rt.deploy(files, actor=args.actor):
        print(deployed)
        for warning in deployed.warnings:
            if warning not in shown:  # a file's warning on no process comes with each of its processes
                shown.add(warning)
                print(f"  {warning}")
    return 0


def cmd_start(rt: Runtime, args: argparse.Namespace) -> int:
    iid = rt.start(
        args.process, actor=args.actor, customer_id=args.customer, business_key=args.business_key, data=_json(args.data)
    )
    print(iid)
    return 0


def cmd_tasks(rt: Runtime, args: argparse.Namespace) -> int:
    with rt.store.session() as s:
        query = select(HumanTask).where(HumanTask.state.in_(OPEN_TASK_STATES)).order_by(HumanTask.due_at)
        if args.role:
            query = query.join(HumanTaskGroup).where(HumanTaskGroup.group_name == args.role)
        if args.assignee:
            query = query.where(HumanTask.assignee == args.assignee)
        rows = s.execute(query).scalars().all()
    print(f"{'id':>6}  {'task':<36} {'process':<20} {'customer':<10} {'role':<10} {'assignee':<10} due")
    for r in rows:
        due = f"{r.due_at:%Y-%m-%d %H:%M}" if r.due_at else "-"
        print(
            f"{r.id:>6}  {r.name[:36]:<36} {r.process_id[:20]:<20} {r.customer_id or '-':<10} "
            f"{r.candidate_groups[:10]:<10} {r.assignee or '-':<10} {due}"
        )
    return 0


def cmd_claim(rt: Runtime, args: argparse.Namespace) -> int:
    rt.claim(args.task, actor=args.actor)
    print(f"task {args.task} claimed by {args.actor}")
    return 0


def cmd_complete(rt: Runtime, args: argparse.Namespace) -> int:
    status = rt.complete(args.task, actor=args.actor, data=_json(args.data))
    print(f"task {args.task} completed; instance is {status}")
    return 0


def cmd_send_event(rt: Runtime, args: argparse.Namespace) -> int:
    ids = rt.send_message(
        args.name, _json(args.data), actor=args.actor, customer_id=args.customer, business_key=args.business_key
    )
    print(f"message {args.name!r} delivered to {', '.join(ids)}")
    return 0


def cmd_scheduler(rt: Runtime, args: argparse.Namespace) -> int:
    from engine import _logs as logs
    from engine._scheduler import run_forever, run_once

    logs.configure(rt.config)  # one structured line per job ([logging] format and level)
    if args.once:
        print(run_once(rt))
        return 0
    run_forever(rt)
    return 0


def cmd_backup(rt: Runtime, args: argparse.Namespace) -> int:
    from engine._backup import backup_sqlite

    size = backup_sqlite(rt.store, Path(args.file))
    print(f"backed up to {args.file} ({size} bytes)")
    return 0


def cmd_alerts(rt: Runtime, args: argparse.Namespace) -> int:
    if args.ack:
        rt.acknowledge_alert(args.ack, actor=args.actor)
        print(f"alert {args.ack} acknowledged")
        return 0
    with rt.store.session() as s:
        rows = s.execute(select(Alert, HumanTask).join(HumanTask).order_by(Alert.raised_at)).all()
    for alert, task in rows:
        print(
            f"{alert.id:>5} {alert.level:<7} {alert.raised_at:%Y-%m-%d %H:%M} task {task.id} {task.name} "
            f"[{task.customer_id}] {alert_state(alert)}"
        )
    return 0


def alert_state(alert: Alert) -> str:
    """open | ack by <who> | resolved (<why>) by <who> at <when>, with the acknowledgement when there was one."""
    ack = f"ack by {alert.acknowledged_by}" if alert.acknowledged_by else ""
    if alert.resolved_at is None:
        return ack or "open"
    resolved = f"resolved ({alert.resolution}) by {alert.resolved_by} at {alert.resolved_at:%Y-%m-%d %H:%M}"
    return f"{resolved}, {ack}" if ack else resolved


def cmd_audit(rt: Runtime, args: argparse.Namespace) -> int:
    try:
        if args.action == "verify":
            return audit_verify(rt)
        if args.action == "anchor":
            return audit_anchor(rt)
    except MissingKeyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return audit_export(rt, args)


def audit_verify(rt: Runtime) -> int:
    """The whole chain, its end against the head, and the trail against the signed checkpoints."""
    with rt.store.session() as s:
        result = audit.verify(s)
        report = anchors.check(s, rt.config)
    print(result)
    print(f"checkpoints: {report.anchors} verified against the trail" if report.ok else "checkpoints: TAMPERING FOUND")
    for problem in report.problems:
        print(f"  TAMPERED: {problem}")
    for note in report.notes:
        print(f"  note: {note}")
    return 0 if result.ok and report.ok else 1


def audit_anchor(rt: Runtime) -> int:
    try:
        with rt.store.session() as s:
            made = anchors.anchor(s, rt.config, rt.clock.now())
    except anchors.AnchorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"anchored the audit head: {made} (hash {made.hash}) in {anchors.anchor_file(rt.config)}")
    return 0


def audit_export(rt: Runtime, args: argparse.Namespace) -> int:
    """The whole trail, oldest first, in the web export's CSV form (engine/_audit_csv.py)."""
    events = audit.stream(rt.store.session, audit.Filters(), newest_first=False)
    if not args.out:
        sys.stdout.writelines(audit_csv_lines(events))
        return 0
    with open(args.out, "w", newline="", encoding="utf-8") as out:
        out.writelines(audit_csv_lines(events))
    return 0


def print_kpi_table(rows: Sequence[kpi.StepStats]) -> None:
    print(
        "Per step (wait = claimed − created; work = completed − claimed; cycle = completed − created; "
        "SLA % = completed ≤ due)"
    )
    head = f"{'process':<18} {'step':<30} {'n':>4} {'wait p50':>9} {'p90':>7} {'work p50':>9} {'p90':>7} "
    print(head + f"{'cycle p50':>10} {'p90':>7} {'SLA %':>6}")
    for r in rows:
        sla = f"{r.sla_percent:5.1f}" if r.sla_percent is not None else "    -"
        print(
            f"{r.process_id[:18]:<18} {r.name[:30]:<30} {r.count:>4} {kpi.human(r.wait_median):>9} "
            f"{kpi.human(r.wait_p90):>7} {kpi.human(r.work_median):>9} {kpi.human(r.work_p90):>7} "
            f"{kpi.human(r.cycle_median):>10} {kpi.human(r.cycle_p90):>7} {sla:>6}"
        )


def cmd_kpi(rt: Runtime, args: argparse.Namespace) -> int:
    if args.first is not None and args.last is not None and args.last < args.first:
        print(f"error: --to ({args.last}) is before --from ({args.first})", file=sys.stderr)
        return 2
    if args.what != "steps":
        report: Command = args.kpi_reports[args.what][0]
        return report(rt, args)
    since = datetime.combine(args.first, time(), UTC) if args.first else None
    until = datetime.combine(args.last + timedelta(days=1), time(), UTC) if args.last else None
    with rt.store.session() as s:
        rows = kpi.step_stats(s, args.process, since=since, until=until)
    if args.json:
        print(json.dumps([dataclasses.asdict(row) for row in rows], indent=2))
    else:
        print_kpi_table(rows)
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


KpiReport = tuple[Command, Callable[[argparse.ArgumentParser], None]]


def kpi_reports() -> dict[str, KpiReport]:
    """``jornada kpi WHAT`` reports from plugins: a plugin's ``kpi_reports()`` maps WHAT to (run, configure), where
    configure adds the report's own options to the kpi command and run(runtime, args) prints it."""
    found: dict[str, KpiReport] = {}
    for plugin in plugins():
        found.update(getattr(plugin, "kpi_reports", dict)())
    return found


def parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    p = argparse.ArgumentParser(prog="jornada", description="Jornada: BPMN customer-journey engine")
    p.add_argument("--as", dest="actor", default="cli", help="the user name recorded in the audit trail")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    commands: dict[str, Command] = {}

    def add(name: str, func: Command, help: str) -> argparse.ArgumentParser:
        commands[name] = func
        return sub.add_parser(name, help=help)

    add("init-db", cmd_init_db, "create or upgrade the database schema")
    add("deploy", cmd_deploy, "lint and deploy BPMN files").add_argument("files", nargs="+")
    s = add("start", cmd_start, "start a process instance")
    s.add_argument("process")
    s.add_argument("--customer")
    s.add_argument("--business-key")
    s.add_argument("--data", help="initial data as a JSON object")
    t = add("tasks", cmd_tasks, "list open human tasks")
    t.add_argument("--role")
    t.add_argument("--assignee")
    add("claim", cmd_claim, "claim a task").add_argument("task", type=int)
    c = add("complete", cmd_complete, "complete a task")
    c.add_argument("task", type=int)
    c.add_argument("--data", help="form data as a JSON object")
    e = add("send-event", cmd_send_event, "send a message to waiting instances")
    e.add_argument("name")
    e.add_argument("--customer")
    e.add_argument("--business-key")
    e.add_argument("--data")
    add("scheduler", cmd_scheduler, "run the timer and stuck-step scheduler").add_argument(
        "--once", action="store_true"
    )
    add("backup", cmd_backup, "copy a SQLite database while it is in use (PostgreSQL: pg_dump)").add_argument(
        "file", help="the new backup file (must not exist)"
    )
    add("alerts", cmd_alerts, "list stuck-step alerts").add_argument("--ack", type=int, help="acknowledge an alert")
    version_cli.configure(add("instances", version_cli.run, "move running instances to another version"))
    a = add("audit", cmd_audit, "verify, anchor (sign its head outside the database) or export the audit trail")
    a.add_argument("action", choices=["verify", "anchor", "export"])
    a.add_argument("--out", help="CSV file for export (default: stdout)")
    reports = kpi_reports()
    k = add("kpi", cmd_kpi, "task timing KPIs per step, and the KPI reports plugins add")
    k.add_argument("what", choices=["steps", *reports])
    k.add_argument("--process", help="steps: only this process")
    k.add_argument("--from", dest="first", type=_day, help="first day of the period (YYYY-MM-DD, UTC)")
    k.add_argument("--to", dest="last", type=_day, help="last day of the period, inclusive (YYYY-MM-DD, UTC)")
    k.add_argument("--json", action="store_true", help="print JSON instead of a table")
    for _run, configure in reports.values():
        configure(k)
    k.set_defaults(kpi_reports=reports)
    for plugin in plugins():
        for name, func, help, configure in getattr(plugin, "commands", lambda: [])():
            configure(add(name, func, help))
    return p, commands


def main(argv: Sequence[str] | None = None) -> int:
    p, commands = parser()
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    logging.getLogger(anchors.__name__).setLevel(logging.INFO)  # every anchor reaches the log, not only with -v
    runtime = build_runtime()
    try:
        return commands[args.command](runtime, args)
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        runtime.close()


if __name__ == "__main__":
    sys.exit(main())
