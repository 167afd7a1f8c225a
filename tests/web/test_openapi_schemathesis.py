"""The OpenAPI document and the server agree: schemathesis generates requests from /api/v1/openapi.json (valid ones
and deliberately invalid ones) for every operation and runs every check on the answers — never a server error,
every status, content type, header and body as documented, invalid input refused, valid input accepted.

Bounded: a fixed number of examples per operation and mode, derandomized (the same requests every run), no
shrinking; in-process through WSGI with an admin's bearer token on a seeded database."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import positive_data_acceptance

from engine import Runtime
from processes.customers import create_customer
from web.accounts import users

EXAMPLES = 25  # per operation and generation mode
BUDGET_SECONDS = 300.0  # the whole run (~30 s on a 2-core machine); a slower run fails rather than hanging make test
BOUNDED = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
# Text with a NUL character is refused (400, documented) by every route: no NUL in valid data.
CONFIG = SchemathesisConfig.from_dict({"generation": {"allow-x00": False}})
# What a schema cannot say decides these answers: whether a user is a member of the task's groups, whether a task's
# form accepts the data, whether an instance waits for a message, whether a CSV file's rows are right. For these
# operations a 422 naming the field is a fine answer to schema-valid data; every other check still applies.
BEYOND_THE_SCHEMA = {
    "POST /tasks/{task_id}/assign",
    "POST /tasks/{task_id}/complete",
    "POST /messages",
    "POST /imports/{kind}",
}
SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (0, 5)}


def _plausible(case: Case) -> Case:
    """Valid data made to follow the rules across fields and records that a schema cannot state: the customer
    exists (C-1), a period ends after it starts, a renewal follows the contract start, a score is on its kind's
    scale, a new customer's id is new, an event is not in the future."""
    label, body, query = case.operation.label, case.body, case.query
    if isinstance(query, dict) and label == "GET /kpis/cs" and query.get("to", "") < query.get("from", ""):
        query["from"], query["to"] = query["to"], query["from"]
    if not isinstance(body, dict):
        return case
    if label in ("POST /customers", "PATCH /customers/{customer_id}"):
        start, renewal = body.get("contract_start"), body.get("renewal_date")
        if start and renewal and renewal < start:
            body["contract_start"], body["renewal_date"] = renewal, start
        if body.get("id"):
            body["id"] = f"S-{next(NEW_IDS)}"
    if label == "POST /events":
        for event in body.get("events", [body]):
            event["customer_id"] = "C-1"
            event.pop("at", None)
    if label in ("POST /surveys", "POST /instances", "POST /messages") and "customer_id" in body:
        body["customer_id"] = "C-1"
    if label == "POST /surveys":
        low, high = SCALES[body["kind"]]
        body["score"] = low + body["score"] % (high - low + 1)
        body.pop("contact_id", None)
    return case


NEW_IDS = itertools.count(1)


def _sent_as_generated(case: Case) -> bool:
    """Whether the request carries every query parameter generated: one whose value is null or an empty list is
    left out of the URL, so a case made invalid by an unknown parameter of that kind arrives valid."""
    query = case.query if isinstance(case.query, dict) else {}
    return all(value is not None and value != [] for value in query.values())


@pytest.fixture
def admin_token(runtime: Runtime, deployed: None) -> str:
    user_id = users.add_user(runtime, "root", "correct-horse-1", roles=["admin"], groups=["csm", "support"], actor="t")
    with runtime.unit() as u:
        create_customer(u.session, "C-1", "Acme", now=u.now, email="cs@acme.example")
    runtime.start("support", actor="root", customer_id="C-1", data={"subject": "Export fails", "severity": "normal"})
    return users.create_token(runtime, user_id, "schemathesis", actor="root")


def _failures(schema: Any, label: str, mode: GenerationMode, headers: dict[str, str]) -> list[str]:
    operation = next(op.ok() for op in schema.get_all_operations() if op.ok().label == label)
    excluded = [positive_data_acceptance] if label in BEYOND_THE_SCHEMA else []
    strategy = operation.as_strategy(generation_mode=mode)
    strategy = strategy.map(_plausible) if mode is GenerationMode.POSITIVE else strategy.filter(_sent_as_generated)

    @BOUNDED
    @given(case=strategy)
    def run(case: Case) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    try:
        run()
    except (Failure, BaseExceptionGroup) as exc:  # collected: one run reports every operation's failures
        return [f"{label} ({mode.value}): {exc}"]
    return []


def test_every_operation_conforms_to_the_openapi_document(app: Flask, admin_token: str) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)
    headers = {"Authorization": f"Bearer {admin_token}"}
    labels = [op.ok().label for op in schema.get_all_operations()]
    assert len(labels) > 20
    started, failures = time.monotonic(), []
    for label in labels:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _failures(schema, label, mode, headers)
            elapsed = time.monotonic() - started
            assert elapsed < BUDGET_SECONDS, f"over the time budget after {label} ({mode.value}): {elapsed:.0f} s"
    assert failures == [], "\n\n".join(failures)


def test_a_method_a_path_does_not_have_is_a_json_405_naming_the_allowed_methods(app: Flask, admin_token: str) -> None:
    headers = {"Authorization": f"Bearer {admin_token}"}
    response = app.test_client().put("/api/v1/customers", headers=headers, json={})
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert response.get_json()["error"] == "Method Not Allowed"
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    documented = doc["paths"]["/customers"]["post"]["responses"]
    assert {"400", "401", "403", "405", "413", "422"} <= set(documented)
    assert documented["405"]["headers"]["Allow"]["required"] is True


def test_the_document_is_generated_from_the_declared_shapes(app: Flask) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    request = doc["components"]["schemas"]["SurveyRequest"]
    assert request["additionalProperties"] is False
    assert request["properties"]["instance_id"]["anyOf"][0]["maxLength"] == 36  # the limit the server applies
    assert request["properties"]["customer_id"]["minLength"] == 1
    view = next(p for p in doc["paths"]["/tasks"]["get"]["parameters"] if p["name"] == "view")
    assert view["schema"]["enum"] == ["mine", "groups", "group", "all"]  # "group": the deprecated name of groups
