"""Fuzzing the CS layer's API: whatever JSON (or text) a client sends, the answer is a 2xx or a 4xx with a JSON
error naming what is wrong, never a 500, and a refused request changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from engine import Runtime
from processes.customers import Customer, create_customer
from processes.events import ProductEvent
from processes.surveys import SurveyAnswer
from web.accounts import users

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=30)
# values of the right shape mixed with wrong ones: ids that exist or not, odd dates, nested objects
plausible = st.sampled_from(["C-1", "NOPE", "", "2026-01-01", "2026-13-40", "nps", "csat", "ces", "first_use"])
values = st.recursive(
    scalars | plausible,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
field_names = st.sampled_from(
    [
        "customer_id",
        "name",
        "at",
        "properties",
        "events",
        "kind",
        "score",
        "comment",
        "email",
        "segment",
        "mrr",
        "csm_owner",
        "contract_start",
        "renewal_date",
        "stage",
        "id",
        "contact_id",
        "instance_id",
        "plan",
        "currency",
    ]
)
bodies = st.dictionaries(field_names | st.text(max_size=10), values, max_size=6) | values


@pytest.fixture
def client(app: Flask, runtime: Runtime, people: dict[str, int]) -> Callable[..., Any]:
    token = users.create_token(runtime, people["lea"], "fuzz", actor="test")
    with runtime.unit() as u:
        create_customer(u.session, "C-1", "Acme", now=u.now, email="cs@acme.example")
    test_client: FlaskClient = app.test_client()

    def call(method: str, path: str, body: Any = None, *, raw: bytes | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body)
        response = test_client.open(
            path,
            method=method,
            data=data,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code < 500, (method, path, body, response.get_data(as_text=True))
        if response.status_code >= 400:
            answer = response.get_json()
            assert answer and answer.get("message"), (path, response.get_data(as_text=True))
        return response

    return call


def counts(runtime: Runtime) -> tuple[int, int, int]:
    with runtime.store.session() as s:
        return tuple(  # type: ignore[return-value]
            s.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (ProductEvent, SurveyAnswer, Customer)
        )


def refused_whole(client: Any, runtime: Runtime, path: str, body: Any = None, raw: bytes | None = None) -> None:
    """POST ``body`` (or ``raw``) to ``path``: a refusal (4xx) must leave every table as it was."""
    before = counts(runtime)
    response = client("POST", path, body, raw=raw)
    if response.status_code >= 400:
        assert counts(runtime) == before


@FUZZ
@given(body=bodies)
def test_any_events_body_is_stored_whole_or_refused_whole(client: Any, runtime: Runtime, body: Any) -> None:
    refused_whole(client, runtime, "/api/v1/events", body)


@FUZZ
@given(body=bodies)
def test_any_survey_body_is_answered_or_refused(client: Any, runtime: Runtime, body: Any) -> None:
    refused_whole(client, runtime, "/api/v1/surveys", body)


@FUZZ
@given(body=bodies)
def test_any_customer_body_creates_or_is_refused(client: Any, runtime: Runtime, body: Any) -> None:
    refused_whole(client, runtime, "/api/v1/customers", body)
    client("PATCH", "/api/v1/customers/C-1", body)


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["from", "to", "segment", "owner", "limit", "offset", "q"]), st.text(max_size=25)
    )
)
def test_any_kpi_or_customer_list_query_answers_or_is_refused(client: Any, query: dict[str, str]) -> None:
    from urllib.parse import urlencode

    client("GET", "/api/v1/kpis/cs?" + urlencode(query))
    client("GET", "/api/v1/customers?" + urlencode(query))


@FUZZ
@given(text=st.text(max_size=300), kind=st.sampled_from(["customers", "mrr", "surveys", "events", "nope"]))
def test_any_csv_upload_imports_or_is_refused(client: Any, runtime: Runtime, text: str, kind: str) -> None:
    refused_whole(client, runtime, f"/api/v1/imports/{kind}", raw=text.encode("utf-8", "surrogatepass"))
