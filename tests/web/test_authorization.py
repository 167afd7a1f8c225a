"""The authorization matrix: every route × every role → the expected answer, by page and by API.

The expectations below are written out by hand (not derived from web.accounts.permissions), and every route of the
app must appear in them, so a new route without a decision fails this test."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import FrozenClock, Runtime
from engine.models import Alert, HumanTask
from processes import accounts
from processes.customers import create_customer
from tests.web.helpers import ROLE_USER, csrf_token, sign_in
from web.accounts import users
from web.models import SavedFilter

ALL = {"staff", "lead", "designer", "auditor", "admin"}
WORK = {"staff", "lead", "admin"}
READ = {"lead", "admin", "auditor"}
LEADS = {"lead", "admin"}
DESIGN = {"designer", "admin"}
AUDIT = {"auditor", "admin"}
MOVE = {"lead", "designer", "admin"}  # moving running instances to another version
CUSTOMERS = {"staff", "lead", "admin", "auditor"}  # auditors read customers, never change them

# endpoint -> roles that may use it. Anything else: 403 (signed in), login redirect (pages) or 401 (API).
EXPECTED: dict[str, set[str]] = {
    "auth.profile": ALL,
    "auth.change_password": ALL,
    "admin.index": {"admin"},
    "admin.add": {"admin"},
    "admin.update": {"admin"},
    "admin.token": {"admin"},
    "admin.revoke_token": {"admin"},
    "inbox.index": WORK,
    "inbox.bulk": WORK,
    "inbox.save_filter": WORK,
    "inbox.delete_filter": WORK,
    "tasks.show": WORK,
    "tasks.diagram": WORK,
    "tasks.claim": WORK,
    "tasks.unclaim": WORK,
    "tasks.reassign": WORK,
    "tasks.comment": WORK,
    "tasks.complete": WORK,
    "designer.index": DESIGN,
    "designer.editor": DESIGN,
    "designer.model": DESIGN,
    "designer.compare_versions": DESIGN,
    "designer.deploy": DESIGN,
    "designer.review_deploy": DESIGN,
    "designer.save_draft": DESIGN,
    "designer.download_draft": DESIGN,
    "designer.discard_draft": DESIGN,
    "designer.check": DESIGN,
    "designer.download_version": DESIGN,
    "designer.new": DESIGN,
    "designer.upload": DESIGN,
    "instances.index": READ,
    "instances.show": READ,
    "instances.diagram": READ,
    "instances.operate": LEADS,
    "audit.index": AUDIT,
    "audit.export": AUDIT,
    "kpis.index": READ,
    "cs.index": READ,
    "cs.export": READ,
    "kpis.alerts": READ,
    "kpis.diagram": READ,
    "kpis.acknowledge": LEADS,
    "kpis.acknowledge_selected": LEADS,
    "imports.index": LEADS,
    "imports.upload": LEADS,
    "api.list_events": AUDIT,
    "api.import_csv": LEADS,
    "api.start_instance": WORK,
    "api.migrate_instances": MOVE,
    "migrations.index": MOVE,
    "migrations.migrate": MOVE,
    "api.get_instance": READ | {"staff"},  # staff: its open task is in sam's group (fin: 403, tested below)
    "api.list_tokens": ALL,  # admins: everyone's; others: their own
    "api.revoke_token": {"admin"},  # the token is fin's: only an admin (or fin) may revoke it
    "api.cs_kpis_report": READ,
    "api.send_message": WORK,
    "api.ingest_events": WORK,
    "api.record_survey": WORK,
    "api.list_tasks": WORK,
    "api.get_task": WORK,
    "api.assign": WORK,
    "api.claim": WORK,
    "api.complete": WORK,
    "api.unclaim": WORK,
    "api.list_external_tasks": WORK,
    "api.external_fetch_and_lock": WORK,
    "api.external_complete": WORK,
    "api.external_failure": WORK,
    "api.external_bpmn_error": WORK,
    "api.external_extend_lock": WORK,
    "api.external_unlock": WORK,
    "customers.index": CUSTOMERS,
    "customers.show": CUSTOMERS,
    "customers.journey_diagram": CUSTOMERS,
    "customers.new": WORK,
    "customers.create": WORK,
    "customers.edit": WORK,
    "customers.update": WORK,
    "customers.archive": WORK,
    "customers.unarchive": WORK,
    "customers.add_contact": WORK,
    "customers.edit_contact": WORK,
    "customers.remove_contact": WORK,
    "api.list_customers": CUSTOMERS,
    "api.get_customer": CUSTOMERS,
    "api.create_customer": WORK,
    "api.update_customer": WORK,
    "api.archive_customer": WORK,
    "api.unarchive_customer": WORK,
    "api.add_contact": WORK,
    "api.remove_contact": WORK,
}
# Open to everyone (sign-in, the sign-in redirect, assets, the API's own description, the signed survey links
# mailed to customers' contacts) or signed-in only.
# /healthz and /metrics: public to the monitoring (/metrics from loopback or with its token; tests/web/test_ops.py)
PUBLIC = {
    "static",
    "favicon",
    "auth.login",
    "auth.root",
    "api.openapi",
    "auth.logout",
    "surveys.answer",
    "ops.healthz",
    "ops.prometheus_metrics",
}


@pytest.fixture
def world(runtime: Runtime, clock: FrozenClock, people: dict[str, int], deployed: None) -> dict[str, Any]:
    """A support ticket (its task belongs to group support, which sam is in and fin is not) with an alert."""
    with runtime.unit() as u:  # the customer on file, with a contact (the start guard refuses unknown customers)
        create_customer(u.session, "C-1", "Acme", now=u.now)
        contact_id = accounts.add_contact(
            u.session, "C-1", {"name": "Rita", "email": "r@acme.example"}, now=u.now, actor="t"
        ).id
    instance = runtime.start(
        "support", actor="test", customer_id="C-1", data={"subject": "Export fails", "severity": "high"}
    )
    clock.advance(days=10)
    runtime.sweep_stuck_steps()
    with runtime.store.session() as s:
        task = s.execute(select(HumanTask).where(HumanTask.instance_id == instance)).scalars().first()
        alert = s.execute(select(Alert.id)).scalars().first()
    assert task is not None and alert is not None and "support" in task.candidate_groups
    tokens = {
        name: users.create_token(runtime, people[name], "t", actor="test") for name in [*ROLE_USER.values(), "fin"]
    }
    users.create_token(runtime, people["fin"], "spare", actor="test")
    with runtime.store.session() as s:
        spare = max(t.id for t in users.list_tokens(s, user_id=people["fin"]))
    with runtime.unit() as u:  # one saved filter per person, so each may delete their own
        rows = [SavedFilter(owner_id=i, name="mine", query="view=mine", created_at=u.now) for i in people.values()]
        u.session.add_all(rows)
        u.session.flush()
        filters = {name: row.id for name, row in zip(people, rows, strict=True)}
    return {
        "task_id": task.id,
        "instance_id": instance,
        "alert_id": alert,
        "user_id": people["fin"],
        "process_id": "support",
        "version": 1,
        "filter_id": filters,
        "operation": "cancel",
        "kind": "customers",
        "tokens": tokens,
        "customer_id": "C-1",
        "contact_id": contact_id,
        "token_id": spare,
    }


def routes(app: Flask) -> list[tuple[str, str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule.rule))
    return sorted(found)


def path_of(rule: str, world: dict[str, Any], username: str | None) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[-1]
        if name == "operation":
            return "cancel"
        if name == "filter_id":
            return str(world[name].get(username, 999))
        return str(world[name])

    return re.sub(r"<([^>]+)>", value, rule)


def call(client: FlaskClient, method: str, path: str, *, token: str | None, csrf: str | None) -> int:
    if path.startswith("/api/"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return client.open(path, method=method, headers=headers, json={} if method == "POST" else None).status_code
    data = {"csrf_token": csrf} if method == "POST" and csrf else None
    return client.open(path, method=method, data=data).status_code


def test_every_route_has_an_expectation(app: Flask) -> None:
    endpoints = {endpoint for endpoint, _, _ in routes(app)}
    assert endpoints - PUBLIC == set(EXPECTED), "decide who may use the new route(s)"


@pytest.mark.parametrize("role", ["anonymous", "staff", "lead", "designer", "auditor", "admin"])
def test_each_role_gets_exactly_its_routes(app: Flask, world: dict[str, Any], role: str) -> None:
    client = app.test_client()
    username = ROLE_USER.get(role)
    if username:
        sign_in(client, username)
    csrf = csrf_token(client, "/login" if username is None else "/profile")
    token = world["tokens"].get(username) if username else None
    wrong = []
    for endpoint, method, rule in routes(app):
        if endpoint in PUBLIC:
            continue
        path = path_of(rule, world, username)
        status = call(client, method, path, token=token, csrf=csrf)
        if role == "anonymous":
            expected_ok = status == (401 if path.startswith("/api/") else 302)
        elif role in EXPECTED[endpoint]:
            expected_ok = status not in (401, 403) and status < 500
        else:
            expected_ok = status == 403
        if not expected_ok:
            wrong.append(f"{method} {path} ({endpoint}) → {status}")
    assert not wrong, f"{role}: " + "; ".join(wrong)


def test_staff_of_another_group_can_neither_see_nor_work_the_task(app: Flask, world: dict[str, Any]) -> None:
    client = sign_in(app.test_client(), "fin")
    csrf = csrf_token(client)
    task = world["task_id"]
    token = world["tokens"]["fin"]
    for method, path in [
        ("GET", f"/tasks/{task}"),
        ("GET", f"/tasks/{task}/diagram.bpmn"),
        ("POST", f"/tasks/{task}/claim"),
        ("POST", f"/tasks/{task}/complete"),
        ("POST", f"/tasks/{task}/comments"),
        ("GET", f"/api/v1/tasks/{task}"),
        ("GET", f"/api/v1/instances/{world['instance_id']}"),
        ("POST", f"/api/v1/tasks/{task}/claim"),
        ("POST", f"/api/v1/tasks/{task}/complete"),
    ]:
        assert call(client, method, path, token=token, csrf=csrf) == 403, f"{method} {path}"
    inbox = client.get("/inbox/?view=groups").get_data(as_text=True)
    assert f"/tasks/{task}" not in inbox
