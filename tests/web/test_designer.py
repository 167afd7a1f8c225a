"""The designer screen through the Flask test client: the process list, the engine lint, drafts, deploys,
uploads, downloads, the template, the version comparison, and who may open it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from engine import Runtime
from engine.models import AuditEvent, HumanTask, ProcessDefinition
from tests.helpers import BPMN_DIR
from tests.web.helpers import (
    SUPPORT,
    TRIAGE_STUCK,
    audit_actions,
    count,
    csrf_token,
    drafts,
    post_xml,
    upload,
    versions,
)
from tests.web.on_file import customers_on_file
from web.models import ProcessDraft

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">&secret;</bpmn:definitions>
"""


def test_the_list_shows_every_process_with_its_versions_and_who_deployed_them(
    designer: FlaskClient, runtime: Runtime
) -> None:
    runtime.deploy({"support.bpmn": SUPPORT.replace("PT4H", "PT5H", 1).encode()}, actor="dan")
    html = designer.get("/designer/").get_data(as_text=True)
    for path in BPMN_DIR.glob("*.bpmn"):
        assert f'id="process-{path.stem}"' in html
    support = html.split('id="process-support"', 1)[1].split("</tr>", 1)[0]
    assert "Support ticket" in support
    assert "v2" in support and "v1" in support
    assert "by dan on" in support and "by test on" in support
    assert "no draft" in support


def test_the_engine_lint_pins_problems_to_elements_and_stores_nothing(designer: FlaskClient, runtime: Runtime) -> None:
    bad = SUPPORT.replace(TRIAGE_STUCK, '<camunda:property name="sla_stuck" value="four hours"/>', 1)
    before = (count(runtime, ProcessDefinition), count(runtime, ProcessDraft), count(runtime, AuditEvent))
    response = post_xml(designer, "/designer/support/lint", bad)
    assert response.status_code == 200
    problems = response.get_json()["problems"]
    by_element = {p["element"]: p for p in problems}
    assert "triage_ticket" in by_element
    assert "SLA property sla_stuck: 'four hours' is not an ISO-8601 duration" in by_element["triage_ticket"]["message"]
    assert all(p["file"] == "support.bpmn" and p["line"] for p in problems)
    assert (count(runtime, ProcessDefinition), count(runtime, ProcessDraft), count(runtime, AuditEvent)) == before

    clean = post_xml(designer, "/designer/support/lint", SUPPORT).get_json()
    assert clean == {"ok": True, "message": "The engine found no problems.", "problems": []}


def test_deploy_stores_the_next_version_audited_with_the_deployer(designer: FlaskClient, runtime: Runtime) -> None:
    changed = SUPPORT.replace(TRIAGE_STUCK, '<camunda:property name="sla_stuck" value="PT6H"/>', 1)
    response = post_xml(designer, "/designer/support/deploy", changed)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["redirect"] == "/designer/support/"
    assert versions(runtime, "support") == [(1, "test"), (2, "dan")]
    deployed = [e for e in audit_actions(runtime, "definition_deployed") if e[1] == "support"]
    assert deployed[-1][0] == "dan" and deployed[-1][2]["version"] == 2 and deployed[-1][2]["previous_version"] == 1
    assert "support version 2 deployed." in designer.get("/designer/support/").get_data(as_text=True)

    again = post_xml(designer, "/designer/support/deploy", changed).get_json()
    assert "identical to version 2" in again["message"]
    assert versions(runtime, "support") == [(1, "test"), (2, "dan")]


def test_an_invalid_model_is_refused_with_its_problems_and_nothing_is_stored(
    designer: FlaskClient, runtime: Runtime
) -> None:
    bad = SUPPORT.replace(' camunda:type="external" camunda:topic="survey.send"', "", 1)  # no handler: refused
    audit_before = count(runtime, AuditEvent)
    response = post_xml(designer, "/designer/support/deploy", bad)
    body = response.get_json()
    assert response.status_code == 200 and body["ok"] is False  # an answer to act on, not a failed request
    assert body["message"] == "The engine refused to deploy this model."
    [problem] = body["problems"]
    assert problem["element"] == "send_csat_survey" and problem["file"] == "support.bpmn" and problem["line"]
    assert "set Implementation 'External' and a topic" in problem["message"]
    assert versions(runtime, "support") == [(1, "test")]
    assert count(runtime, AuditEvent) == audit_before


def test_an_upload_that_is_not_readable_bpmn_is_refused_naming_the_file_and_line(
    designer: FlaskClient, runtime: Runtime
) -> None:
    response = upload(designer, "evil.bpmn", XXE, json=True).get_json()
    assert response["ok"] is False and response["message"] == "evil.bpmn was refused."
    [problem] = response["problems"]
    assert problem["file"] == "evil.bpmn" and problem["line"] == 2 and "DOCTYPE" in problem["message"]

    broken = SUPPORT.replace("</bpmn:userTask>", "</bpmn:usertask>", 1).encode()
    page = upload(designer, "support-broken.bpmn", broken)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "support-broken.bpmn was refused." in html
    line = SUPPORT[: SUPPORT.index("</bpmn:userTask>")].count("\n") + 1
    assert f"support-broken.bpmn, line {line}" in html and "malformed XML" in html
    assert drafts(runtime) == [] and audit_actions(runtime, "draft_saved") == []


def test_an_upload_without_diagram_layout_is_refused(designer: FlaskClient, runtime: Runtime) -> None:
    start = SUPPORT.index("<bpmndi:BPMNDiagram")
    end = SUPPORT.index("</bpmndi:BPMNDiagram>") + len("</bpmndi:BPMNDiagram>")
    response = upload(designer, "flat.bpmn", (SUPPORT[:start] + SUPPORT[end:]).encode(), json=True).get_json()
    assert response["ok"] is False
    [problem] = response["problems"]
    assert problem["file"] == "flat.bpmn" and "no diagram layout" in problem["message"]
    assert drafts(runtime) == []


def test_an_upload_becomes_the_draft_of_its_process_or_opens_in_the_editor(
    designer: FlaskClient, runtime: Runtime
) -> None:
    edited = SUPPORT.replace(TRIAGE_STUCK, '<camunda:property name="sla_stuck" value="PT9H"/>', 1).encode()
    into_editor = upload(designer, "support.bpmn", edited, json=True, into="support").get_json()
    assert "PT9H" in into_editor["xml"] and into_editor["problems"] == []
    assert drafts(runtime) == []  # the editor holds it until the designer saves or deploys

    response = upload(designer, "support.bpmn", edited)
    assert response.status_code == 303 and response.headers["Location"] == "/designer/support/"
    assert drafts(runtime) == [("support", "dan")]
    assert "PT9H" in designer.get("/designer/support/model.bpmn").get_data(as_text=True)
    [(actor, process_id, payload)] = audit_actions(runtime, "draft_saved")
    assert (actor, process_id, payload["after"]["source"]) == ("dan", "support", "upload:support.bpmn")


def test_a_draft_is_saved_audited_listed_and_loaded_into_the_editor(designer: FlaskClient, runtime: Runtime) -> None:
    edited = SUPPORT.replace(TRIAGE_STUCK, '<camunda:property name="sla_stuck" value="PT7H"/>', 1)
    response = post_xml(designer, "/designer/support/draft?based_on=1", edited)
    assert response.get_json() == {"ok": True, "message": "Draft saved.", "problems": []}
    assert versions(runtime, "support") == [(1, "test")]  # a draft is not a version
    assert designer.get("/designer/support/model.bpmn").get_data(as_text=True) == edited
    assert TRIAGE_STUCK in designer.get("/designer/support/model.bpmn?version=1").get_data(as_text=True)
    [(actor, process_id, payload)] = audit_actions(runtime, "draft_saved")
    assert (actor, process_id, payload["before"], payload["after"]["based_on_version"]) == ("dan", "support", None, 1)

    listed = designer.get("/designer/").get_data(as_text=True).split('id="process-support"', 1)[1].split("</tr>")[0]
    assert "saved by dan" in listed and "based on v1" in listed
    editor = designer.get("/designer/support/").get_data(as_text=True)
    assert 'data-xml-url="/designer/support/model.bpmn"' in editor and "Discard draft" in editor

    post_xml(designer, "/designer/support/draft", edited.replace("PT7H", "PT8H"))
    second = audit_actions(runtime, "draft_saved")[-1][2]
    assert second["before"]["saved_by"] == "dan" and second["before"]["based_on_version"] == 1

    refused = post_xml(designer, "/designer/support/draft", "<bpmn:definitions").get_json()
    assert refused["ok"] is False and "malformed XML" in refused["problems"][0]["message"]

    token = csrf_token(designer, "/designer/support/")
    assert designer.post("/designer/support/draft/discard", data={"csrf_token": token}).status_code == 303
    assert drafts(runtime) == [] and audit_actions(runtime, "draft_discarded")[0][:2] == ("dan", "support")


def test_deploying_clears_the_draft(designer: FlaskClient, runtime: Runtime) -> None:
    edited = SUPPORT.replace(TRIAGE_STUCK, '<camunda:property name="sla_stuck" value="PT7H"/>', 1)
    post_xml(designer, "/designer/support/draft", edited)
    assert post_xml(designer, "/designer/support/deploy", edited).get_json()["ok"] is True
    assert drafts(runtime) == []
    assert audit_actions(runtime, "draft_discarded")[0][2]["reason"] == "deployed"


def test_a_new_process_from_the_template_deploys_as_it_is(designer: FlaskClient, runtime: Runtime) -> None:
    token = csrf_token(designer, "/designer/")
    form = {"csrf_token": token, "process_id": "renewal_review", "name": "Renewal <review>"}
    response = designer.post("/designer/new", data=form)
    assert response.status_code == 303 and response.headers["Location"] == "/designer/renewal_review/"
    xml = designer.get("/designer/renewal_review/model.bpmn").get_data(as_text=True)
    assert "bpmndi:BPMNDiagram" in xml and 'name="Renewal &lt;review&gt;"' in xml
    assert post_xml(designer, "/designer/renewal_review/lint", xml).get_json()["problems"] == []
    assert post_xml(designer, "/designer/renewal_review/deploy", xml).get_json()["ok"] is True
    assert versions(runtime, "renewal_review") == [(1, "dan")]

    customers_on_file(runtime, "C-1")
    iid = runtime.start("renewal_review", actor="dan", customer_id="C-1")
    with runtime.store.session() as s:
        task = s.execute(select(HumanTask).where(HumanTask.instance_id == iid)).scalar_one()
    assert (task.element_id, task.candidate_groups) == ("first_step", "csm")
    assert task.stuck_at is not None and task.stuck_at - task.created_at == timedelta(days=3)

    again = designer.post("/designer/new", data=form)
    assert again.status_code == 422 and "already exists" in again.get_data(as_text=True)
    bad = designer.post("/designer/new", data={**form, "process_id": "1 bad id"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)


def test_compare_lists_the_changed_elements(designer: FlaskClient, runtime: Runtime) -> None:
    note = '<bpmn:textAnnotation id="note_sla"><bpmn:text>Triage SLA raised</bpmn:text></bpmn:textAnnotation>'
    changed = (
        SUPPORT.replace(TRIAGE_STUCK, '<camunda:property name="sla_stuck" value="PT6H"/>', 1)
        .replace('camunda:candidateGroups="support"', 'camunda:candidateGroups="csm"', 1)
        .replace("</bpmn:process>", note + "</bpmn:process>", 1)
    )
    runtime.deploy({"support.bpmn": changed.encode()}, actor="dan")
    html = designer.get("/designer/support/compare?before=1&after=2").get_data(as_text=True)
    assert "2 elements differ." in html
    triage = html.split("<code>triage_ticket</code>", 1)[1].split("</tr>", 1)[0]
    assert "camunda:candidateGroups" in triage and "<del>support</del>" in triage and "<ins>csm</ins>" in triage
    assert "camunda:property sla_stuck" in triage and "<del>PT4H</del>" in triage and "<ins>PT6H</ins>" in triage
    assert "added" in html.split("<code>note_sla</code>", 1)[1].split("</tr>", 1)[0]
    backwards = designer.get("/designer/support/compare?before=2&after=1").get_data(as_text=True)
    assert "removed" in backwards.split("<code>note_sla</code>", 1)[1].split("</tr>", 1)[0]
    assert "No element changed." in designer.get("/designer/support/compare?before=2&after=2").get_data(as_text=True)
    assert designer.get("/designer/support/compare?before=7&after=2").status_code == 404


def test_downloads_return_the_xml_as_an_attachment(designer: FlaskClient, runtime: Runtime) -> None:
    response = designer.get("/designer/support/versions/1.bpmn")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"] == 'attachment; filename="support-v1.bpmn"'
    assert response.get_data(as_text=True) == SUPPORT
    assert designer.get("/designer/support/versions/9.bpmn").status_code == 404
    assert designer.get("/designer/support/draft.bpmn").status_code == 404


def test_only_designers_and_admins_open_the_designer(client_for: Callable[[str], FlaskClient], deployed: None) -> None:
    for name in ("sam", "lea", "ada"):
        client = client_for(name)
        assert client.get("/designer/").status_code == 403
        assert client.get("/designer/support/").status_code == 403
        assert client.get("/designer/support/versions/1.bpmn").status_code == 403
    staff = client_for("sam")
    token = csrf_token(staff, "/profile")
    headers = {"X-CSRFToken": token, "Content-Type": "application/xml"}
    assert staff.post("/designer/support/deploy", data=SUPPORT, headers=headers).status_code == 403
    assert client_for("root").get("/designer/").status_code == 200
    assert client_for("dan").get("/designer/support/").status_code == 200
