"""The designer's upload takes several files at once: a model with the DMN files of the decisions its business
rule tasks call (issue 10, item 4). The DMN files' decisions are deployed; the model becomes its draft."""

from __future__ import annotations

import io
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from engine import Runtime
from engine.models import DecisionDefinition
from tests.engine.helpers import dmn
from tests.web.helpers import SUPPORT, csrf_token, drafts


def upload_many(client: FlaskClient, files: list[tuple[str, bytes]], *, json: bool = True) -> Any:
    token = csrf_token(client, "/designer/")
    form = {"csrf_token": token, "file": [(io.BytesIO(data), name) for name, data in files]}
    headers = {"Accept": "application/json"} if json else {}
    return client.post("/designer/upload", data=form, headers=headers, content_type="multipart/form-data")


def decisions(runtime: Runtime) -> list[tuple[str, int, str]]:
    with runtime.store.session() as s:
        rows = s.execute(select(DecisionDefinition).order_by(DecisionDefinition.id)).scalars()
        return [(row.decision_id, row.version, row.deployed_by) for row in rows]


def test_a_model_uploaded_with_its_dmn_file_becomes_a_draft_and_the_decision_is_deployed(
    designer: FlaskClient,
    runtime: Runtime,
) -> None:
    answer = upload_many(designer, [("support.bpmn", SUPPORT.encode()), ("discount.dmn", dmn())]).get_json()
    assert answer["ok"] is True, answer
    assert drafts(runtime) == [("support", "dan")]
    assert decisions(runtime) == [("discount", 1, "dan")]
    assert "Decision discount version 1 deployed." in designer.get("/designer/support/").get_data(as_text=True)


def test_a_dmn_file_alone_is_deployed_as_decisions(designer: FlaskClient, runtime: Runtime) -> None:
    response = upload_many(designer, [("discount.dmn", dmn())], json=False)
    assert response.status_code == 303
    assert decisions(runtime) == [("discount", 1, "dan")]
    page = designer.get(response.headers["Location"]).get_data(as_text=True)
    assert "The decision tables are deployed" in page


def test_a_bad_dmn_file_is_refused_naming_it_and_nothing_is_stored(designer: FlaskClient, runtime: Runtime) -> None:
    bad = dmn(hit_policy="RULE ORDER")
    answer = upload_many(designer, [("support.bpmn", SUPPORT.encode()), ("discount.dmn", bad)]).get_json()
    assert answer["ok"] is False and answer["message"] == "discount.dmn was refused."
    [problem] = answer["problems"]
    assert (problem["file"], problem["element"], problem["line"]) == ("discount.dmn", "discount", 4)
    assert decisions(runtime) == [] and drafts(runtime) == []
    two = upload_many(designer, [("a.bpmn", SUPPORT.encode()), ("b.bpmn", SUPPORT.encode())]).get_json()
    assert two["ok"] is False and "one .bpmn model at a time" in two["message"]
