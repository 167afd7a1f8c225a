"""Helpers shared by the tests of tests/web/.

A test module imports helpers from a helpers module, never from another test module or a conftest.
"""

from __future__ import annotations

import io
import json
import random
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, insert, select
from werkzeug.test import TestResponse

from engine import OPEN_TASK_STATES, Runtime
from engine import _audit as audit
from engine.models import AuditEvent, HumanTask, HumanTaskGroup, OpenTaskGroup, ProcessDefinition, ProcessInstance
from processes.customers import create_customer
from tests.helpers import BPMN_DIR, ROOT
from web.models import ProcessDraft

Task = tuple[int, datetime | None, int, tuple[str, ...], str]  # id, due, priority, groups, process
PASSWORD = "correct-horse-1"
ROLE_USER = {"staff": "sam", "lead": "lea", "designer": "dan", "auditor": "ada", "admin": "root"}
SCREENSHOTS = ROOT / "var" / "screenshots"


def csrf_token(client: FlaskClient, path: str = "/profile") -> str:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> FlaskClient:
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


class BrowserPage:
    """A Playwright page that records console errors and failed requests, and saves named screenshots."""

    def __init__(self, page: Any, base_url: str, test_name: str) -> None:
        self.page, self.base_url, self.test_name = page, base_url, test_name
        self.console_errors: list[str] = []
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(f"page error: {e}"))

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        self.goto("/login")
        self.page.get_by_label("User name").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.test_name}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


# -- helpers shared with test_tasks.py --------------------------------------------------------------------------
def add_customer(runtime: Runtime, customer_id: str = "C-1", name: str = "Acme Corp", mrr: float = 1200.0) -> str:
    with runtime.unit() as u:
        create_customer(u.session, customer_id, name, now=u.now, email="cs@acme.example", mrr=mrr, csm_owner="sam")
    return customer_id


def open_tasks(runtime: Runtime, instance_id: str) -> list[HumanTask]:
    with runtime.store.session() as s:
        return list(
            s.execute(
                select(HumanTask)
                .where(HumanTask.instance_id == instance_id, HumanTask.state.in_(OPEN_TASK_STATES))
                .order_by(HumanTask.id)
            ).scalars()
        )


def ticket(runtime: Runtime, subject: str = "Export fails", customer_id: str | None = None) -> int:
    """A support ticket; returns the id of its first task, "Triage ticket" for the group support."""
    iid = runtime.start("support", actor="test", customer_id=customer_id, data={"subject": subject, "severity": "high"})
    return open_tasks(runtime, iid)[0].id


def contract(runtime: Runtime, customer_id: str) -> int:
    """A sign-up; returns the id of "Confirm contract signed" for the group csm (due in two days)."""
    iid = runtime.start("sign_up", actor="test", customer_id=customer_id)
    return open_tasks(runtime, iid)[0].id


def task_row(runtime: Runtime, task_id: int) -> HumanTask:
    with runtime.store.session() as s:
        found = s.get(HumanTask, task_id)
        assert found is not None
        return found


def audit_rows(runtime: Runtime, action: str) -> list[tuple[str, dict]]:
    with runtime.store.session() as s:
        events = s.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).scalars()
        return [(e.actor, json.loads(e.payload)) for e in events]


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def task_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'name="task" value="(\d+)"', html)]


def post(client: FlaskClient, task_id: int, action: str, data: dict | None = None) -> TestResponse:
    token = csrf_token(client, "/inbox/")
    return client.post(f"/tasks/{task_id}/{action}", data={**(data or {}), "csrf_token": token})


PREFIX = "/api/v1"


def conformance(value: Any, schema: dict[str, Any], doc: dict[str, Any], where: str = "$") -> list[str]:
    """What in ``value`` breaks ``schema`` (type, enum, required, properties, items, oneOf, $ref)."""
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "oneOf" in schema:
        fits = [conformance(value, option, doc, where) for option in schema["oneOf"]]
        return [] if any(not f for f in fits) else [f"{where}: fits none of oneOf ({fits})"]
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(type_ok(value, kind) for kind in kinds):
            return [f"{where}: {value!r} is not {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} is not one of {schema['enum']}"]
    problems: list[str] = []
    if isinstance(value, dict):
        problems += [f"{where}: missing {key!r}" for key in schema.get("required", []) if key not in value]
        for key, item in value.items():
            sub = schema.get("properties", {}).get(key, schema.get("additionalProperties"))
            if isinstance(sub, dict):
                problems += conformance(item, sub, doc, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += conformance(item, schema["items"], doc, f"{where}[{i}]")
    return problems


class Api:
    """Calls the API with a bearer token; asserts the status and that the body matches the documented response."""

    def __init__(self, client: FlaskClient, token: str | None, doc: dict[str, Any]) -> None:
        self.client, self.token, self.doc = client, token, doc

    def operation(self, method: str, path: str) -> dict[str, Any]:
        bare = path.split("?")[0]
        for template, operations in self.doc["paths"].items():
            if re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), bare) and method.lower() in operations:
                return operations[method.lower()]  # type: ignore[no-any-return]
        raise AssertionError(f"{method} {path} is not in the OpenAPI document")

    def call(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.client.open(PREFIX + path, method=method, headers=headers, **kwargs)
        assert response.status_code == status, response.get_data(as_text=True)
        documented = self.operation(method, path)["responses"]
        assert str(status) in documented, f"{method} {path} answered {status}, which is not documented"
        body = response.get_json()
        schema = documented[str(status)]["content"]["application/json"]["schema"]
        assert conformance(body, schema, self.doc) == [], body
        return body

    def get(self, path: str, status: int = 200) -> Any:
        return self.call("GET", path, status)

    def post(self, path: str, body: Any = None, status: int = 200, **kwargs: Any) -> Any:
        if body is not None:
            kwargs["json"] = body
        return self.call("POST", path, status, **kwargs)


SUPPORT = (BPMN_DIR / "support.bpmn").read_text()
TRIAGE_STUCK = '<camunda:property name="sla_stuck" value="PT4H"/>'


def post_xml(client: FlaskClient, path: str, xml: str | bytes) -> Any:
    """What the editor's JavaScript does: the model as the body, CSRF in the X-CSRFToken header, JSON back."""
    token = csrf_token(client, "/designer/")
    headers = {"X-CSRFToken": token, "Accept": "application/json", "Content-Type": "application/xml"}
    return client.post(path, data=xml, headers=headers)


def upload(client: FlaskClient, name: str, data: bytes, *, json: bool = False, into: str = "") -> Any:
    token = csrf_token(client, "/designer/")
    form = {"csrf_token": token, "file": (io.BytesIO(data), name), "into": into}
    headers = {"Accept": "application/json"} if json else {}
    return client.post("/designer/upload", data=form, headers=headers, content_type="multipart/form-data")


def versions(runtime: Runtime, process_id: str) -> list[tuple[int, str]]:
    with runtime.store.session() as s:
        rows = s.execute(
            select(ProcessDefinition.version, ProcessDefinition.deployed_by)
            .where(ProcessDefinition.process_id == process_id)
            .order_by(ProcessDefinition.version)
        )
        return [(v, who) for v, who in rows]


def audit_actions(runtime: Runtime, action: str) -> list[tuple[str, str | None, dict]]:
    with runtime.store.session() as s:
        rows = s.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).scalars()
        return [(e.actor, e.process_id, json.loads(e.payload)) for e in rows]


def drafts(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.store.session() as s:
        return [(d.process_id, d.saved_by) for d in s.execute(select(ProcessDraft)).scalars()]


def count(runtime: Runtime, table: Any) -> int:
    with runtime.store.session() as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())


def as_csv(event: AuditEvent) -> dict[str, str]:
    payload = json.loads(event.payload)
    return {
        "seq": str(event.seq),
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "process_id": event.process_id or "",
        "instance_id": event.instance_id or "",
        "task_id": event.task_id or "",
        "customer_id": event.customer_id or "",
        "before": audit.canonical(payload["before"]) if "before" in payload else "",
        "after": audit.canonical(payload["after"]) if "after" in payload else "",
        "payload": event.payload,
        "hash": event.hash,
    }


def backlog(runtime: Runtime, count: int, now: datetime, seed: int = 7) -> list[Task]:
    """``count`` open tasks written straight to the inbox tables (as the engine writes them): due dates from a
    handful of moments (ties) or none, three priorities, groups csm / support / both / finance, two processes."""
    rng = random.Random(seed)
    moments = [None, now - timedelta(hours=3), now + timedelta(hours=1), now + timedelta(days=2)]
    choices = [("csm",), ("support",), ("csm", "support"), ("finance",)]
    instance = runtime.start("support", actor="test", data={"subject": "x", "severity": "low"})
    tasks = [as_task(row) for row in open_tasks(runtime, instance)]  # the engine's own task: its triage
    with runtime.unit() as u:
        for _ in range(count):
            due, priority, groups = rng.choice(moments), rng.choice([30, 50, 70]), rng.choice(choices)
            process = rng.choice(["support", "training"])
            row = {
                "instance_id": instance,
                "task_id": str(uuid.uuid4()),
                "element_id": "step",
                "name": "Step",
                "process_id": process,
                "candidate_groups": ",".join(groups),
                "priority": priority,
                "state": "ready",
                "created_at": now,
                "due_at": due,
            }
            task_pk = u.conn.execute(insert(HumanTask).returning(HumanTask.id), row).scalar_one()
            u.conn.execute(insert(HumanTaskGroup), [{"human_task_id": task_pk, "group_name": g} for g in groups])
            u.conn.execute(
                insert(OpenTaskGroup),
                [
                    {
                        "human_task_id": task_pk,
                        "group_name": g,
                        "due_at": due,
                        "priority": priority,
                        "process_id": process,
                    }
                    for g in groups
                ],
            )
            tasks.append((task_pk, due, priority, groups, process))
    return tasks


PHONE = {"width": 390, "height": 844}


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def on_version(runtime: Runtime, iid: str) -> int:
    with runtime.store.session() as s:
        return s.execute(
            select(ProcessDefinition.version)
            .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
            .where(ProcessInstance.id == iid)
        ).scalar_one()


def audit_count(runtime: Runtime) -> int:
    with runtime.store.session() as s:
        return s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def as_task(row: HumanTask) -> Task:
    return (row.id, row.due_at, row.priority, tuple(row.candidate_groups.split(",")), row.process_id)


# -- a client that checks every answer against the OpenAPI document --------------------------------------------
def type_ok(value: Any, kind: str) -> bool:
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
    }
    return checks[kind](value)
