"""The REST API under /api/v1: bearer tokens, the same permission rules as the pages, the start → claim →
complete flow, clear errors that change nothing, messages, the audit trail, and an OpenAPI document that every
route and every answer checked here conforms to."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from engine import FrozenClock, Runtime
from engine.models import AuditEvent, HumanTask, ProcessInstance
from processes.customers import create_customer
from tests.web.helpers import PREFIX, Api
from web.accounts import users
from web.models import ApiToken

TRIAGE = {"severity": "high", "category": "bug"}
TICKET = {"subject": "Export fails", "severity": "normal", "channel": "api"}


@pytest.fixture
def api(app: Flask, tokens: dict[str, str], doc: dict[str, Any], deployed: None, runtime: Runtime):
    """api("sam") → an Api client holding sam's token (shipped models deployed, customer C-1 on file)."""
    with runtime.unit() as u:
        create_customer(u.session, "C-1", "Acme", now=u.now, email="cs@acme.example")

    def make(name: str | None) -> Api:
        return Api(app.test_client(), tokens[name] if name else None, doc)

    return make


def start_ticket(api: Any) -> tuple[str, int]:
    """A support ticket for C-1 started by sam; returns (instance id, the triage task's id)."""
    created = api("sam").post("/instances", {"process_id": "support", "customer_id": "C-1", "data": TICKET}, 201)
    tasks = api("sam").get(f"/tasks?view=groups&instance={created['id']}")["tasks"]
    assert [t["element_id"] for t in tasks] == ["triage_ticket"]
    return created["id"], tasks[0]["id"]


def snapshot(runtime: Runtime) -> tuple[Any, ...]:
    """What a refused request must leave untouched: the open tasks, the instances and the audit trail's length."""
    with runtime.store.session() as s:
        tasks = s.execute(select(HumanTask.id, HumanTask.state, HumanTask.assignee).order_by(HumanTask.id)).all()
        instances = s.execute(select(ProcessInstance.id, ProcessInstance.version)).all()
        events = s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return tuple(tasks), tuple(sorted(instances)), events


# -- the document ----------------------------------------------------------------------------------------------
def test_the_openapi_document_describes_every_api_route_and_nothing_else(app: Flask, doc: dict[str, Any]) -> None:
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(PREFIX)), method.lower()): rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(PREFIX + "/")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    documented = {
        (path, method): f"api.{operation['operationId']}"
        for path, operations in doc["paths"].items()
        for method, operation in operations.items()
    }
    assert served == documented  # the same routes, each documented under its view's name
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "an API token",
    }
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            named = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert named == set(re.findall(r"\{(\w+)\}", path)), (method, path)
            if method == "post" and path != "/openapi.json":
                assert "400" in operation["responses"], (method, path)
            if path != "/openapi.json":
                assert {"200", "201"} & set(operation["responses"]) and "401" in operation["responses"]


def test_every_schema_reference_in_the_document_resolves(doc: dict[str, Any]) -> None:
    text = str(doc)
    refs = set(re.findall(r"#/components/schemas/(\w+)", text))
    assert refs <= set(doc["components"]["schemas"])


# -- authentication --------------------------------------------------------------------------------------------
def test_a_request_without_a_token_or_with_a_bad_one_gets_401(api: Any, doc: dict[str, Any]) -> None:
    assert api(None).get("/tasks", 401)["error"] == "Unauthorized"
    assert api(None).post("/tasks/1/complete", {"data": {}}, 401)["error"] == "Unauthorized"
    assert Api(api(None).client, "jt_not-a-real-token", doc).get("/tasks", 401)["error"] == "Unauthorized"


def test_a_browser_session_may_read_through_the_api_but_changes_need_a_token(api: Any, client_for: Any) -> None:
    _, task_id = start_ticket(api)
    browser = client_for("sam")
    assert browser.get(PREFIX + "/tasks").get_json() == {"view": "mine", "tasks": []}
    refused = browser.post(PREFIX + f"/tasks/{task_id}/claim")
    assert refused.status_code == 401
    assert "Bearer" in refused.get_json()["message"]
    assert api("sam").get("/tasks?view=mine")["tasks"] == []


def test_a_revoked_token_gets_401(api: Any, runtime: Runtime, clock: FrozenClock) -> None:
    sam = api("sam")
    sam.get("/tasks")
    with runtime.store.unit() as unit:
        s = unit.session
        s.execute(update(ApiToken).values(revoked_at=clock.now()))
    sam.get("/tasks", 401)


def test_the_openapi_document_needs_no_token(app: Flask) -> None:
    response = app.test_client().get(PREFIX + "/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["paths"]["/tasks/{task_id}/complete"]["post"]["summary"]


def test_an_unknown_api_path_answers_json_404(api: Any, app: Flask, tokens: dict[str, str]) -> None:
    response = app.test_client().get(PREFIX + "/nothing", headers={"Authorization": f"Bearer {tokens['sam']}"})
    assert response.status_code == 404
    assert response.get_json()["error"] == "Not Found"


# -- the task flow ---------------------------------------------------------------------------------------------
def test_start_list_claim_and_complete_a_task(api: Any, runtime: Runtime) -> None:
    sam = api("sam")
    instance_id, task_id = start_ticket(api)

    detail = sam.get(f"/tasks/{task_id}")
    assert detail["name"] == "Triage ticket"
    assert detail["candidate_groups"] == ["support"]
    assert detail["data"]["subject"] == "Export fails"
    fields = {f["id"]: f for f in detail["fields"]}
    assert list(fields) == ["severity", "category", "triage_notes"]
    assert fields["severity"]["required"] is True and fields["severity"]["type"] == "enum"
    assert {"id": "urgent", "name": "Urgent"} in fields["severity"]["options"]
    assert fields["triage_notes"]["constraints"] == {"maxlength": "1000"}

    assert sam.post(f"/tasks/{task_id}/claim") == {"id": task_id, "status": "claimed", "assignee": "sam"}
    assert [t["id"] for t in sam.get("/tasks?view=mine")["tasks"]] == [task_id]
    assert sam.post(f"/tasks/{task_id}/complete", {"data": TRIAGE}) == {
        "id": task_id,
        "status": "completed",
        "instance_status": "running",
    }
    assert sam.get("/tasks?view=mine")["tasks"] == []
    after = sam.get(f"/tasks?view=groups&instance={instance_id}")["tasks"]
    assert [t["element_id"] for t in after] == ["first_response"]

    with runtime.store.session() as s:
        row = s.get(HumanTask, task_id)
        assert row is not None and (row.state, row.completed_by) == ("completed", "sam")
        done = s.execute(select(AuditEvent).where(AuditEvent.action == "task_completed")).scalar_one()
    assert (done.actor, done.instance_id) == ("sam", instance_id)
    assert '"after":{"category":"bug","severity":"high"}' in done.payload


def test_a_lead_reads_an_instance_with_its_customer_and_open_tasks(api: Any) -> None:
    instance_id, task_id = start_ticket(api)
    found = api("lea").get(f"/instances/{instance_id}")
    assert found["status"] in ("running", "waiting")
    assert found["process"]["id"] == "support" and found["process"]["version"] == 1
    assert found["customer"] == {"id": "C-1", "name": "Acme", "stage": "prospect", "plan": "standard"}
    assert found["started_by"] == "sam"
    assert [t["id"] for t in found["open_tasks"]] == [task_id]
    assert api("ada").get(f"/instances/{instance_id}")["id"] == instance_id
    assert api("lea").get("/instances/no-such-instance", 404)["error"] == "NotFound"


def test_staff_cannot_read_an_instance_like_on_the_pages(api: Any) -> None:
    instance_id, _ = start_ticket(api)
    api("fin").get(f"/instances/{instance_id}", 403)  # staff who neither started it nor work on its tasks


def test_a_lead_assigns_a_task_to_a_member_of_its_groups_and_the_assignee_releases_it(api: Any) -> None:
    _, task_id = start_ticket(api)
    lea = api("lea")
    refused = lea.post(f"/tasks/{task_id}/assign", {"assignee": "fin"}, 422)
    assert refused["fields"] == {"assignee": "fin is not an active member of the task's group(s) support."}
    assert lea.post(f"/tasks/{task_id}/assign", {"assignee": "sam"})["assignee"] == "sam"
    assert [t["id"] for t in api("sam").get("/tasks?view=mine")["tasks"]] == [task_id]
    assert api("sam").post(f"/tasks/{task_id}/unclaim") == {"id": task_id, "status": "ready", "assignee": None}
    assert api("sam").get("/tasks?view=mine")["tasks"] == []


def test_staff_hand_over_only_a_task_they_hold(api: Any, runtime: Runtime, people: dict[str, int]) -> None:
    users.add_user(runtime, "sue", "correct-horse-2", roles=["staff"], groups=["support"], actor="test")
    _, task_id = start_ticket(api)
    sam = api("sam")
    refused = sam.post(f"/tasks/{task_id}/assign", {"assignee": "sue"}, 422)
    assert refused["fields"] == {"assignee": f"Task {task_id} (Triage ticket): you can reassign only a task you hold."}
    sam.post(f"/tasks/{task_id}/claim")
    assert sam.post(f"/tasks/{task_id}/assign", {"assignee": "sue"})["assignee"] == "sue"


# -- refusals change nothing -----------------------------------------------------------------------------------
def test_staff_outside_the_tasks_groups_get_403_and_nothing_changes(api: Any, runtime: Runtime) -> None:
    _, task_id = start_ticket(api)
    fin = api("fin")
    before = snapshot(runtime)
    for action, body in (("claim", None), ("complete", {"data": TRIAGE})):
        refused = fin.post(f"/tasks/{task_id}/{action}", body, 403)
        assert refused["error"] == "PermissionDenied"
        assert "not to a group of fin" in refused["message"]
    for refused in (fin.post(f"/tasks/{task_id}/assign", {"assignee": "fin"}, 403), fin.get(f"/tasks/{task_id}", 403)):
        assert refused["message"] == (
            f"Task {task_id} (Triage ticket) belongs to the group(s) support; you are not a member of any of them."
        )
    assert fin.get("/tasks?view=groups")["tasks"] == []
    assert fin.get("/tasks?view=group")["tasks"] == []  # the deprecated name of groups
    assert fin.get("/tasks?view=all", 403)["message"].startswith("view=all is for leads and admins")
    assert snapshot(runtime) == before
    assert [t["id"] for t in api("lea").get("/tasks?view=all")["tasks"]] == [task_id]


def test_the_groups_view_keeps_its_deprecated_name_group(api: Any, doc: dict[str, Any]) -> None:
    """ "groups" is the view's name, as on the inbox page; clients written for "group" get the same tasks."""
    instance_id, task_id = start_ticket(api)
    sam = api("sam")
    groups = sam.get(f"/tasks?view=groups&instance={instance_id}")
    group = sam.get(f"/tasks?view=group&instance={instance_id}")
    assert [t["id"] for t in groups["tasks"]] == [t["id"] for t in group["tasks"]] == [task_id]
    assert (groups["view"], group["view"]) == ("groups", "group")
    described = str(next(p for p in doc["paths"]["/tasks"]["get"]["parameters"] if p["name"] == "view"))
    assert "groups: open in my groups" in described
    assert "group: deprecated name of groups" in described


def test_roles_without_task_work_get_403(api: Any) -> None:
    for name in ("dan", "ada"):
        api(name).get("/tasks", 403)
        api(name).post("/instances", {"process_id": "support"}, 403)
        api(name).post("/messages", {"name": "first_use", "customer_id": "C-1"}, 403)


def test_an_invalid_form_gets_422_naming_each_field_and_nothing_changes(api: Any, runtime: Runtime) -> None:
    _, task_id = start_ticket(api)
    before = snapshot(runtime)
    refused = api("sam").post(f"/tasks/{task_id}/complete", {"data": {"severity": "catastrophic", "x": 1}}, 422)
    assert refused["error"] == "FormValidationError"
    assert refused["fields"] == {
        "x": "is not a field of this form",
        "severity": "must be one of low, normal, high, urgent",
        "category": "is required",
    }
    assert snapshot(runtime) == before


def test_completing_a_task_twice_is_a_409_conflict(api: Any, runtime: Runtime) -> None:
    _, task_id = start_ticket(api)
    sam = api("sam")
    sam.post(f"/tasks/{task_id}/complete", {"data": TRIAGE})
    before = snapshot(runtime)
    refused = sam.post(f"/tasks/{task_id}/complete", {"data": TRIAGE}, 409)
    assert refused["error"] == "ConflictError"
    assert "already completed by sam" in refused["message"]
    assert sam.post(f"/tasks/{task_id}/claim", status=409)["error"] == "ConflictError"
    assert snapshot(runtime) == before


def test_claiming_a_task_someone_holds_is_a_409_conflict(api: Any) -> None:
    _, task_id = start_ticket(api)
    api("sam").post(f"/tasks/{task_id}/claim")
    assert "already claimed by sam" in api("lea").post(f"/tasks/{task_id}/claim", status=409)["message"]


def test_malformed_json_and_wrong_types_are_refused_naming_the_field(api: Any, runtime: Runtime) -> None:
    _, task_id = start_ticket(api)
    sam = api("sam")
    before = snapshot(runtime)
    broken = sam.post("/instances", status=400, data="{not json", content_type="application/json")
    assert broken["fields"]["body"].startswith("is not valid JSON")
    assert sam.post("/instances", [1, 2], 400)["fields"] == {"body": "must be a JSON object, not an array"}
    wrong = sam.post("/instances", {"process_id": 5, "data": [], "colour": "red"}, 422)
    assert wrong["fields"] == {
        "colour": "is not a known field",
        "process_id": "must be a string, not a number",
        "data": "must be a JSON object, not an array",
    }
    assert sam.post("/instances", {}, 422)["fields"] == {"process_id": "is required"}
    assert sam.post(f"/tasks/{task_id}/complete", {"data": "high"}, 422)["fields"] == {
        "data": "must be a JSON object, not a string"
    }
    assert sam.post(f"/tasks/{task_id}/claim", {"assignee": "x"}, 422)["fields"] == {"assignee": "is not a known field"}
    assert sam.get("/tasks?view=everything&limit=0", 422)["fields"] == {
        "view": "must be one of mine, groups, group, all",
        "limit": "must be at least 1",
    }
    assert sam.post("/instances", {"process_id": "no_such_process"}, 404)["error"] == "NotFound"
    assert snapshot(runtime) == before


# -- messages --------------------------------------------------------------------------------------------------
def test_a_message_reaches_the_instance_waiting_for_it(api: Any, runtime: Runtime) -> None:
    sam = api("sam")
    welcome = sam.post("/instances", {"process_id": "welcome", "customer_id": "C-1"}, 201)["id"]
    kickoff = sam.get(f"/tasks?view=groups&instance={welcome}")["tasks"][0]["id"]
    kickoff_form = {"kickoff_date": "2026-01-05", "attendees": 4, "goals_summary": "Weekly churn report"}
    sam.post(f"/tasks/{kickoff}/complete", {"data": kickoff_form})

    delivered = sam.post("/messages", {"name": "first_use", "customer_id": "C-1", "payload": {"feature": "reports"}})
    assert delivered == {"delivered": [welcome]}
    with runtime.store.session() as s:
        received = s.execute(
            select(AuditEvent).where(AuditEvent.instance_id == welcome, AuditEvent.action == "message_received")
        ).scalar_one()
    assert (received.actor, '"feature":"reports"' in received.payload) == ("sam", True)


def test_a_message_nobody_waits_for_is_a_422_and_one_without_correlation_names_the_field(api: Any) -> None:
    sam = api("sam")
    refused = sam.post("/messages", {"name": "first_use", "customer_id": "C-404"}, 422)
    assert refused["error"] == "MessageNotDelivered"
    assert sam.post("/messages", {"name": "first_use"}, 422)["fields"] == {
        "customer_id": "give customer_id or business_key to correlate the message"
    }


# -- audit -----------------------------------------------------------------------------------------------------
def test_an_auditor_reads_the_trail_filtered_and_paged(api: Any, clock: FrozenClock) -> None:
    _, task_id = start_ticket(api)
    clock.advance(hours=2)
    api("sam").post(f"/tasks/{task_id}/claim")
    ada = api("ada")

    claimed = ada.get("/audit?action=task_claimed&actor=sam")["events"]
    assert [(e["actor"], e["payload"]["task"]) for e in claimed] == [("sam", task_id)]
    assert claimed[0]["customer_id"] == "C-1" and claimed[0]["process_id"] == "support"

    since = clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    assert [e["action"] for e in ada.get(f"/audit?from={since}")["events"]] == ["task_claimed"]
    assert ada.get(f"/audit?to={since}&action=task_claimed")["events"] == []

    everything = ada.get("/audit?limit=1000")["events"]
    assert [e["seq"] for e in everything] == sorted(e["seq"] for e in everything)
    first = ada.get("/audit?limit=2")
    assert [e["seq"] for e in first["events"]] == [everything[0]["seq"], everything[1]["seq"]]
    second = ada.get(f"/audit?limit=2&after_seq={first['next_after_seq']}")
    assert second["events"][0]["seq"] == everything[2]["seq"]
    assert ada.get(f"/audit?after_seq={everything[-1]['seq']}") == {"events": [], "next_after_seq": None}
    assert api("root").get("/audit?customer=C-1")["events"]


def test_a_bare_to_date_includes_that_whole_day(api: Any, clock: FrozenClock) -> None:
    start_ticket(api)
    today = clock.now().astimezone(UTC).date().isoformat()
    events = api("ada").get(f"/audit?from={today}&to={today}&action=instance_started")["events"]
    assert len(events) == 1
    assert datetime.fromisoformat(events[0]["at"]).date().isoformat() == today


def test_staff_cannot_read_the_audit_trail_and_bad_filters_name_the_field(api: Any) -> None:
    assert api("sam").get("/audit", 403)["error"] == "Forbidden"
    assert api("ada").get("/audit?from=yesterday&limit=x", 422)["fields"] == {
        "from": "must be an ISO 8601 date (YYYY-MM-DD) or date-time",
        "limit": "must be a whole number",
    }
