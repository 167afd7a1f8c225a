"""Issue 11's acceptance check for many nodes: two ``jornada serve`` processes and three ``jornada scheduler``
processes on one PostgreSQL database. Completions are driven through both servers at once (the same completion
sent to both at the same moment, and again later, must be refused as a conflict) while the schedulers raise the
alerts of the tasks that fall due: every completion happens once, every alert is raised (and mailed) once, each
server's pages agree, and the audit chain verifies.

No clock is injected into real processes (the command line has no clock override), so the model's second step
is due the moment it starts (SLA durations PT0S): the schedulers' first sweep finds it behind and stuck, and the
test waits (polling, with a deadline) for their work to appear."""

from __future__ import annotations

import functools
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from sqlalchemy import Connection, Engine, create_engine, func, select

from engine.models import Alert, AuditEvent, HumanTask, Outbox, ProcessInstance, SchedulerHeartbeat, TaskKpi
from tests.bpmn_builder import flow, process, user_task
from tests.system.cluster import Api, Cluster, Mailbox, page, sign_in, smtp_server, wait_for, write_config

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

N = 40  # instances, each with two steps
PROCESS = "two_steps"
FIRST, SECOND = "Step 1", "Step 2"
PASSWORD = "many-nodes-password"
THREADS = 8
T = TypeVar("T")
R = TypeVar("R")


def sla(warn: str, due: str, stuck: str) -> str:
    return (
        f'<camunda:properties><camunda:property name="sla_warn" value="{warn}"/>'
        f'<camunda:property name="sla_due" value="{due}"/><camunda:property name="sla_stuck" value="{stuck}"/>'
        "</camunda:properties>"
    )


def two_steps() -> bytes:
    """start -> Step 1 (due in days: never alerted here) -> Step 2 (behind and stuck as it starts) -> end."""
    note = '<camunda:formField id="note" label="Note" type="string"/>'
    return process(
        PROCESS,
        '<bpmn:startEvent id="start"/>\n'
        + user_task("t1", FIRST, "csm", note, sla("P1D", "P2D", "P3D"))
        + user_task("t2", SECOND, "csm", note, sla("PT0S", "PT0S", "PT0S"))
        + '<bpmn:endEvent id="end"/>\n'
        + flow("f1", "start", "t1")
        + flow("f2", "t1", "t2")
        + flow("f3", "t2", "end"),
    )


def in_parallel(items: Iterable[T], work: Callable[[T], R]) -> list[R]:
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(work, items))


@pytest.fixture
def cluster(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Cluster, Mailbox]]:
    """A fresh database, its config file and an SMTP server; every node started is stopped at the end and its
    log printed (pytest shows it when the test failed)."""
    with smtp_server() as (mailbox, port):
        nodes = Cluster(tmp_path, write_config(tmp_path, postgres_url, port))
        try:
            yield nodes, mailbox
        finally:
            nodes.stop()
            print(nodes.logs())


@pytest.fixture
def db(postgres_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_url)
    yield engine
    engine.dispose()


def set_up(nodes: Cluster, model: Path) -> str:
    """Deploy, add the worker (the API's user, with a token) and a lead (the pages' reader), all through the
    command line, three commands at once; returns the worker's token."""
    model.write_bytes(two_steps())
    commands = [
        ("--as", "ops", "deploy", str(model)),
        ("--as", "ops", "users", "add", "sam", "--role", "staff", "--group", "csm"),
        ("--as", "ops", "users", "add", "lea", "--role", "lead", "--group", "csm"),
    ]
    deployed, *_ = in_parallel(commands, lambda args: nodes.cli(*args, password=PASSWORD))
    assert f"{PROCESS} v1" in deployed.stdout
    return nodes.cli("--as", "ops", "users", "token", "sam").stdout.strip().splitlines()[-1]


def start_instance(api: Api, n: int) -> str:
    customer = api.post("/customers", {"id": f"MN-{n:02d}", "name": f"Many nodes {n}"})
    assert customer.status_code == 201, customer.text
    started = api.post("/instances", {"process_id": PROCESS, "customer_id": f"MN-{n:02d}"})
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


def open_tasks(api: Api, name: str) -> list[int]:
    return [t["id"] for t in api.get("/tasks?view=group&limit=500")["tasks"] if t["name"] == name]


Attempt = tuple[int, int, str]  # task id, HTTP status, the refusal's message


def complete_through_both(apis: list[Api], task_ids: list[int]) -> tuple[list[Attempt], list[Attempt]]:
    """Complete each task through one server, every fourth through both servers at the same moment; then try each
    once more through the other server. Returns both rounds' attempts."""
    first: list[tuple[int, Api]] = []
    for i, task_id in enumerate(task_ids):
        first.append((task_id, apis[i % 2]))
        if i % 4 == 0:  # adjacent in the queue: both requests are in flight together
            first.append((task_id, apis[1 - i % 2]))
    late = [(task_id, apis[1 - i % 2]) for i, task_id in enumerate(task_ids)]

    def complete(attempt: tuple[int, Api]) -> Attempt:
        task_id, api = attempt
        answer = api.post(f"/tasks/{task_id}/complete", {"data": {"note": "done"}})
        return task_id, answer.status_code, "" if answer.ok else str(answer.json().get("message"))

    return in_parallel(first, complete), in_parallel(late, complete)


def assert_each_completed_once(rounds: tuple[list[Attempt], list[Attempt]]) -> None:
    """One attempt per task succeeded and every other was refused as a conflict with a message; the late ones
    name the task and say it was already completed."""
    first, late = rounds
    statuses: dict[int, list[int]] = defaultdict(list)
    for task_id, status, _ in first + late:
        statuses[task_id].append(status)
    wrong = {task: found for task, found in statuses.items() if sorted(found) != [200] + [409] * (len(found) - 1)}
    assert not wrong, f"tasks not completed exactly once (HTTP statuses of the attempts): {wrong}"
    assert all(message for _, status, message in first if status != 200)
    unclear = [message for task_id, _, message in late if f"task {task_id} " not in message]
    assert not unclear and all("already completed" in message for _, _, message in late), unclear


def assert_servers_agree(apis: list[Api], browser: Any, instance_ids: list[str], open_ids: list[int]) -> None:
    """The API's task list and instances, the inbox, the alerts page and instance pages: the same from each
    server."""
    one, two = apis
    listed = one.get("/tasks?view=group&limit=500")
    assert listed == two.get("/tasks?view=group&limit=500")
    assert sorted(t["id"] for t in listed["tasks"]) == sorted(open_ids)
    for instance_id in instance_ids:
        assert one.get(f"/instances/{instance_id}") == two.get(f"/instances/{instance_id}"), instance_id
    inbox = page(browser, f"{one.url}/inbox/?view=all")
    assert inbox == page(browser, f"{two.url}/inbox/?view=all")
    for task_id in open_ids:
        assert f'href="/tasks/{task_id}"' in inbox, f"task {task_id} is not in the inbox"
    for path in ["/kpis/alerts", *(f"/instances/{instance_id}" for instance_id in instance_ids[:5])]:
        assert page(browser, f"{one.url}{path}") == page(browser, f"{two.url}{path}"), path


def count(db: Engine, query: Any) -> int:
    with db.connect() as conn:
        return int(conn.execute(query).scalar_one())


def beating(db: Engine) -> list[str]:
    with db.connect() as conn:
        return sorted(conn.execute(select(SchedulerHeartbeat.node)).scalars())


def healthy(url: str) -> bool:
    return bool(requests.get(f"{url}/healthz", timeout=30).json()["status"] == "ok")


def alerts_done(db: Engine, mailbox: Mailbox) -> tuple[int, int, int]:
    """(alerts raised, mails still unsent, mails received)."""
    alerts = count(db, select(func.count()).select_from(Alert))
    unsent = count(db, select(func.count()).select_from(Outbox).where(Outbox.sent_at.is_(None)))
    return alerts, unsent, len(mailbox.received())


def audit_payloads(conn: Connection, action: str) -> list[dict[str, Any]]:
    found = conn.execute(select(AuditEvent.payload).where(AuditEvent.action == action)).scalars()
    return [json.loads(payload) for payload in found]


def assert_every_completion_recorded_once(db: Engine) -> None:
    """Each task completed by the worker, with one KPI row and one ``task_completed`` audit event; each instance
    completed."""
    with db.connect() as conn:
        tasks = conn.execute(select(HumanTask.id, HumanTask.state, HumanTask.completed_by)).all()
        kpis = Counter(conn.execute(select(TaskKpi.human_task_id)).scalars())
        events = Counter(
            conn.execute(
                select(AuditEvent.instance_id, AuditEvent.task_id).where(AuditEvent.action == "task_completed")
            ).all()
        )
        instances = Counter(conn.execute(select(ProcessInstance.status)).scalars())
    assert len(tasks) == 2 * N and {(state, by) for _, state, by in tasks} == {("completed", "sam")}
    assert sorted(kpis) == sorted(pk for pk, _, _ in tasks) and set(kpis.values()) == {1}
    assert len(events) == 2 * N and set(events.values()) == {1}
    assert instances == {"completed": N}


def assert_every_alert_raised_once(db: Engine, mailbox: Mailbox, alerted_tasks: list[int]) -> None:
    """A behind and a stuck alert on each of ``alerted_tasks`` and on no other, each with one ``alert_raised`` and
    one ``alert_resolved`` audit event, one outbox mail sent at the first attempt and one mail received."""
    with db.connect() as conn:
        alerts = conn.execute(select(Alert.id, Alert.human_task_id, Alert.level)).all()
        raised = Counter(event["alert"] for event in audit_payloads(conn, "alert_raised"))
        resolved = Counter(event["alert"] for event in audit_payloads(conn, "alert_resolved"))
        mails = conn.execute(select(Outbox.subject, Outbox.attempts, Outbox.sent_at)).all()
    levels = Counter((task, level) for _, task, level in alerts)
    assert set(levels) == {(task, level) for task in alerted_tasks for level in ("behind", "stuck")}
    assert set(levels.values()) == {1}  # unique per task and level although three schedulers swept at once
    alert_ids = {alert_id for alert_id, _, _ in alerts}
    assert set(raised) == alert_ids and set(raised.values()) == {1}
    assert set(resolved) == alert_ids and set(resolved.values()) == {1}  # by the completion of its task
    assert len(mails) == len(alerts) and {(attempts, sent is not None) for _, attempts, sent in mails} == {(1, True)}
    received = Counter(mailbox.received())
    assert received == Counter(subject for subject, _, _ in mails) and set(received.values()) == {1}


def test_two_servers_and_three_schedulers_do_each_completion_and_each_alert_exactly_once(
    cluster: tuple[Cluster, Mailbox], db: Engine, tmp_path: Path
) -> None:
    nodes, mailbox = cluster
    nodes.cli("init-db")
    servers = [nodes.serve("server-1"), nodes.serve("server-2")]
    schedulers = [nodes.scheduler(f"scheduler-{n}") for n in (1, 2, 3)]
    token = set_up(nodes, tmp_path / "two_steps.bpmn")  # while the nodes start
    for server in servers:
        nodes.wait_until_serving(server)
    names = sorted(scheduler.name for scheduler in schedulers)
    wait_for("every scheduler's heartbeat", lambda: nodes.check_running(schedulers) and beating(db) == names)
    for server in servers:  # database reachable, migrations current, a scheduler beating
        wait_for(f"{server.name} healthy", functools.partial(healthy, server.url))
    apis = [Api(server.url, token) for server in servers]
    browser = sign_in(servers[0].url, "lea", PASSWORD)  # the lead's session cookie, good on both servers

    instance_ids = in_parallel(range(N), lambda n: start_instance(apis[n % 2], n))
    first = open_tasks(apis[1], FIRST)
    assert len(first) == N
    # The second steps start as the first complete, and the schedulers sweep them meanwhile.
    assert_each_completed_once(complete_through_both(apis, first))
    second = open_tasks(apis[0], SECOND)
    assert len(second) == N

    expected = (2 * N, 0, 2 * N)  # a behind and a stuck alert per second step, each mailed
    wait_for("every alert raised and mailed", lambda: alerts_done(db, mailbox) == expected or None)
    assert_servers_agree(apis, browser, instance_ids, second)

    assert_each_completed_once(complete_through_both(apis, second))
    assert_servers_agree(apis, browser, instance_ids, [])
    for api in apis:
        api.close()  # no keep-alive connection holds a server's worker as it stops
    browser.close()
    down = [node.name for node in nodes.nodes if not node.alive()]
    assert not down, f"nodes died during the run: {down}"
    assert nodes.stop() == {node.name: 0 for node in nodes.nodes}  # each stopped cleanly on SIGTERM
    assert beating(db) == []  # each scheduler took its heartbeat with it

    assert_every_completion_recorded_once(db)
    assert_every_alert_raised_once(db, mailbox, second)

    # each scheduler's node checks the trail against the checkpoints it signed into its own anchor file
    for verified in in_parallel(schedulers, lambda node: nodes.cli("audit", "verify", node=node.name)):
        assert "audit chain OK" in verified.stdout, verified.stdout
