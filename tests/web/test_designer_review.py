"""What the designer says before and after a deploy: the review of the changed elements that the editor asks the
designer to confirm, the engine's warnings next to its errors (each with its severity), no new draft for an
unchanged model, and a process id refusal that says what an id may contain."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from engine import Runtime
from engine.models import AuditEvent, ProcessDefinition
from tests.web.helpers import SUPPORT, TRIAGE_STUCK, audit_actions, count, drafts, post_xml, versions
from web.models import ProcessDraft

STUCK_6H = '<camunda:property name="sla_stuck" value="PT6H"/>'


@pytest.fixture
def designer(client_for: Callable[[str], FlaskClient], deployed: None) -> FlaskClient:
    return client_for("dan")


def stored(runtime: Runtime) -> tuple[int, int, int]:
    return count(runtime, ProcessDefinition), count(runtime, ProcessDraft), count(runtime, AuditEvent)


def new_process(designer: FlaskClient, process_id: str) -> str:
    """Create ``process_id`` from the template (as the list page's form does) and return its XML."""
    token = designer.get("/designer/").get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"')[0]
    response = designer.post("/designer/new", data={"csrf_token": token, "process_id": process_id, "name": "R"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return designer.get(f"/designer/{process_id}/model.bpmn").get_data(as_text=True)


def test_the_review_lists_the_changed_elements_and_stores_nothing(designer: FlaskClient, runtime: Runtime) -> None:
    edited = SUPPORT.replace(TRIAGE_STUCK, STUCK_6H, 1)
    before = stored(runtime)
    body = post_xml(designer, "/designer/support/deploy/review", edited).get_json()
    assert body["ok"] is True and body["identical"] is False
    assert body["message"] == "Deploy as version 2? 1 element(s) differ from version 1."
    [change] = body["changes"]
    assert (change["element"], change["kind"], change["type"], change["name"]) == (
        "triage_ticket",
        "changed",
        "userTask",
        "Triage ticket",
    )
    assert [(d["key"], d["before"], d["after"]) for d in change["changes"]] == [
        ("camunda:property sla_stuck", "PT4H", "PT6H")
    ]
    assert stored(runtime) == before  # a review is not a deploy

    assert post_xml(designer, "/designer/support/deploy", edited).get_json()["ok"] is True
    again = post_xml(designer, "/designer/support/deploy/review", edited).get_json()
    assert again["identical"] is True and again["changes"] == []
    assert again["message"] == "Nothing to deploy: the model is identical to version 2."


def test_the_review_of_a_model_the_engine_refuses_lists_every_error(designer: FlaskClient, runtime: Runtime) -> None:
    bad = SUPPORT.replace(' camunda:type="external" camunda:topic="survey.send"', "", 1)  # no handler: refused
    bad = bad.replace(TRIAGE_STUCK, '<camunda:property name="sla_stuck" value="four hours"/>', 1)
    before = stored(runtime)
    body = post_xml(designer, "/designer/support/deploy/review", bad).get_json()
    assert body["ok"] is False and body["message"] == "The engine refused to deploy this model."
    assert {(p["element"], p["severity"]) for p in body["problems"]} == {
        ("send_csat_survey", "error"),
        ("triage_ticket", "error"),
    }
    assert "changes" not in body
    assert stored(runtime) == before


def test_a_first_deploy_reviews_every_element_as_added(designer: FlaskClient, runtime: Runtime) -> None:
    xml = new_process(designer, "renewal_review")
    body = post_xml(designer, "/designer/renewal_review/deploy/review", xml).get_json()
    assert body["ok"] is True and body["message"] == "Deploy renewal_review as its first version?"
    added = {c["element"] for c in body["changes"] if c["kind"] == "added"}
    assert {"renewal_review", "start_renewal_review", "first_step", "end_renewal_review"} <= added


def test_warnings_come_with_their_severity_in_the_check_the_review_and_the_deploy(
    designer: FlaskClient, runtime: Runtime
) -> None:
    # a user task without a role (and no lane) runs, offered to the default queue: the engine warns, not refuses
    no_role = new_process(designer, "renewal_review").replace(' camunda:candidateGroups="csm"', "", 1)
    checked = post_xml(designer, "/designer/renewal_review/lint", no_role).get_json()
    warnings = [p for p in checked["problems"] if p["severity"] == "warning"]
    assert warnings, "a user task without a role is a warning, not an error"
    assert checked["problems"] == warnings and warnings[0]["element"] == "first_step"
    review = post_xml(designer, "/designer/renewal_review/deploy/review", no_role).get_json()
    assert review["ok"] is True and review["problems"] == warnings
    deployed = post_xml(designer, "/designer/renewal_review/deploy", no_role).get_json()
    assert deployed["ok"] is True and deployed["redirect"] == "/designer/renewal_review/"
    assert deployed["problems"] == warnings  # the editor pins them on the new version
    assert deployed["message"] == f"The engine has {len(warnings)} warning(s) about it."
    assert versions(runtime, "renewal_review") == [(1, "dan")]


def test_saving_an_unchanged_model_makes_no_new_draft(designer: FlaskClient, runtime: Runtime) -> None:
    same = post_xml(designer, "/designer/support/draft?based_on=1", SUPPORT).get_json()
    assert same == {
        "ok": True,
        "message": "Nothing to save: the model is identical to version 1.",
        "problems": [],
        "unchanged": True,
    }
    assert drafts(runtime) == [] and audit_actions(runtime, "draft_saved") == []
    reformatted = SUPPORT.replace("\n      ", "\n  ")  # what an editor's serializer may do to the same model
    assert reformatted != SUPPORT
    assert post_xml(designer, "/designer/support/draft", reformatted).get_json()["unchanged"] is True
    assert drafts(runtime) == []

    edited = SUPPORT.replace(TRIAGE_STUCK, STUCK_6H, 1)
    assert post_xml(designer, "/designer/support/draft", edited).get_json()["message"] == "Draft saved."
    again = post_xml(designer, "/designer/support/draft", edited).get_json()
    assert again["unchanged"] is True and again["message"] == "Nothing to save: the draft is already this model."
    assert len(audit_actions(runtime, "draft_saved")) == 1


@pytest.mark.parametrize("process_id", ["renewal review", "1st_review", "revisão", "a:b", "x" * 101])
def test_a_bad_process_id_is_told_what_an_id_may_contain(
    designer: FlaskClient, runtime: Runtime, process_id: str
) -> None:
    token = designer.get("/designer/").get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"')[0]
    response = designer.post("/designer/new", data={"csrf_token": token, "process_id": process_id, "name": "R"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "A process id may contain only letters (A-Z, a-z, without accents), digits, _, - and ., with no" in html
    assert "it starts with a letter or _ and has at most 100 characters, e.g. renewal_review." in html
    assert drafts(runtime) == []


def test_a_process_id_may_hold_dots_and_dashes(designer: FlaskClient, runtime: Runtime) -> None:
    xml = new_process(designer, "renewal-review.v2")
    assert post_xml(designer, "/designer/renewal-review.v2/deploy", xml).get_json()["ok"] is True
