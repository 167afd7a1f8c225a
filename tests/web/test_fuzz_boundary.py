"""Hostile bodies at every endpoint that changes something: JSON nested hundreds of levels deep, texts of a megabyte,
lone surrogates and NUL characters, bytes that are not UTF-8, page numbers and ids past 64 bits, as JSON and as
form data, through the API (bearer token) and the pages (signed in, with the CSRF token). The answer is never a
500, and a refusal (4xx) leaves every table as it was."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.routing import AnyConverter, IntegerConverter, Rule

from engine import Runtime
from engine.models import Base, HumanTask
from processes.customers import create_customer
from tests.web.helpers import PASSWORD, csrf_token, sign_in
from web.accounts import users

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
SKIPPED = {"auth.logout"}  # would end the session the other examples need
# refusals that change the database on purpose: a failed sign-in is counted (lockout) and audited
RECORDED_REFUSALS = {"auth.login"}
PER_ENDPOINT = settings(
    max_examples=3, deadline=None, database=None, suppress_health_check=list(HealthCheck), derandomize=True
)

NAMES = ["id", "name", "customer_id", "assignee", "reason", "element", "note", "body", "task", "alert", "page"]
NAMES += ["comment", "score", "kind", "action", "next", "data", "properties", "events", "query", "email", "mode"]
BAD_TEXT = ["\x00", "C-\x00", "\ud800", "C-\udfff", "99999999999999999999", "2147483648", "²", "-1", ""]


def nested(levels: int, opener: str = "[", closer: str = "]") -> str:
    return opener * levels + "1" + closer * levels


HUGE_TEXT = '"' + "x" * 1_100_000 + '"'
# Every endpoint gets these first: each one a 500 somewhere before the boundary checks.
EXAMPLES: list[bytes | dict[str, bytes]] = [
    b'{"customer_id": "C-\\ud800", "name": "used"}',
    b'{"id": "C-\\ud800", "name": "Evil"}',
    b'{"customer_id": "C-\\u0000", "name": "used", "id": "C-\\u0000"}',
    ('{"customer_id": "C-1", "name": "used", "properties": {"x": ' + nested(1000) + "}}").encode(),
    ('{"data": {"notes": ' + nested(600, '{"a":', "}") + '}, "name": ' + nested(600) + "}").encode(),
    ('{"name": ' + HUGE_TEXT + ', "data": {"notes": ' + HUGE_TEXT + "}}").encode(),
    b'{"name": "\xff\xfe", "customer_id": "C-1"}',
    dict.fromkeys(NAMES, b"\x00"),
    dict.fromkeys(NAMES, b"99999999999999999999"),
    dict.fromkeys(NAMES, b"2147483648"),  # one past PostgreSQL's INTEGER
    dict.fromkeys(NAMES, b"\xff\xfe\xed\xa0\x80"),
]


# -- random JSON bodies, as raw text: nesting is built as text, never by recursion --------------------------------
deep_json = st.builds(
    lambda n, kind: nested(n, *kind), st.integers(20, 1500), st.sampled_from([("[", "]"), ('{"a":', "}")])
)
escapes = st.sampled_from(['"\\ud800"', '"C-\\udfff"', '"C-\\u0000"', '"\\u0000"', '"ok\\ud83d"'])
scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=20) | st.sampled_from(BAD_TEXT)
plain_json = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(NAMES), inner, max_size=3)
).map(lambda v: json.dumps(v, ensure_ascii=False))
json_value = deep_json | escapes | plain_json | st.just(HUGE_TEXT)


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    fields = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    text = "{" + ", ".join(f'"{name}": {draw(json_value)}' for name in fields) + "}"
    if draw(st.booleans()):
        text = draw(json_value)  # not an object at all
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 4)) == 0:  # bytes that are not UTF-8
        raw = raw[:-1] + draw(st.binary(min_size=1, max_size=8)) + raw[-1:]
    return raw


# -- random form bodies, as raw urlencoded bytes ------------------------------------------------------------------
form_value = st.sampled_from(BAD_TEXT) | st.text(max_size=20) | st.just("x" * 1_100_000) | deep_json
form_bytes = form_value.map(lambda v: v.encode("utf-8", "surrogatepass")) | st.binary(max_size=12)


@st.composite
def form_bodies(draw: st.DrawFn) -> dict[str, bytes]:
    return draw(st.dictionaries(st.sampled_from(NAMES), form_bytes, min_size=1, max_size=4))


def urlencoded(fields: dict[str, bytes], token: str | None) -> bytes:
    pairs = [f"{quote_from_bytes(k.encode())}={quote_from_bytes(v)}" for k, v in fields.items()]
    if token is not None:
        pairs.append(f"csrf_token={token}")
    return "&".join(pairs).encode()


# -- the endpoints ------------------------------------------------------------------------------------------------
def mutating_rules(app: Flask) -> list[tuple[Rule, str]]:
    return [
        (rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in SKIPPED
        for method in sorted((rule.methods or set()) & MUTATING)
    ]


def url_of(app: Flask, rule: Rule, known: dict[str, Any]) -> str:
    """The rule's URL with its arguments filled from ``known`` (real ids), 1 for numbers, the first choice."""
    values: dict[str, Any] = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        elif isinstance(converter, IntegerConverter):
            values[name] = known.get(name, 1)
        else:
            values[name] = known.get(name, "C-1")
    with app.test_request_context():
        adapter = app.url_map.bind("localhost")
        return adapter.build(rule.endpoint, values, force_external=False)


def snapshot(runtime: Runtime) -> dict[str, list[str]]:
    with runtime.store.session() as s:
        return {t.name: sorted(map(repr, s.execute(select(t)).all())) for t in Base.metadata.sorted_tables}


@pytest.fixture
def world(app: Flask, runtime: Runtime, deployed: None) -> Iterator[dict[str, Any]]:
    """A customer, a support ticket with an open task, a user holding every role, its token and its session."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a bug answers 500, as in production, and the test names it
    user_id = users.add_user(
        runtime, "fuzz", PASSWORD, roles=["admin", "lead", "staff", "designer"], groups=["csm", "support"], actor="t"
    )
    with runtime.unit() as u:
        create_customer(u.session, "C-1", "Acme", now=u.now, email="cs@acme.example")
    instance_id = runtime.start("support", actor="t", customer_id="C-1", data={"subject": "x", "severity": "high"})
    with runtime.store.session() as s:
        task_id = s.execute(select(HumanTask.id).where(HumanTask.instance_id == instance_id)).scalars().first()
    yield {
        "token": users.create_token(runtime, user_id, "fuzz", actor="t"),
        "session": sign_in(app.test_client(), "fuzz"),
        "known": {"instance_id": instance_id, "task_id": task_id, "user_id": user_id, "customer_id": "C-1"},
    }


def refused_whole(runtime: Runtime, send: Callable[[], Any], what: str, recorded: bool = False) -> None:
    before = snapshot(runtime)
    response = send()
    assert response.status_code < 500, (what, response.status_code, response.get_data(as_text=True)[:2000])
    if response.status_code >= 400 and not recorded:
        after = snapshot(runtime)
        changed = [name for name in before if before[name] != after[name]]
        assert not changed, (what, response.status_code, changed)


def test_every_mutating_endpoint_is_enumerated(app: Flask) -> None:
    rules = mutating_rules(app)
    assert any(r.rule.startswith("/api/") for r, _ in rules) and any(r.rule.startswith("/tasks/") for r, _ in rules)
    assert len(rules) > 30


def fuzz(
    runtime: Runtime, client: FlaskClient, rule: Rule, method: str, path: str, headers: dict, token: str | None
) -> None:
    """A few hostile bodies, as JSON and as form data, with a hostile query string, at one endpoint."""

    @PER_ENDPOINT
    @given(body=json_bodies() | form_bodies(), query=st.sampled_from(["", "?page=99999999999999999999", "?q=%00"]))
    def check(body: bytes | dict[str, bytes], query: str) -> None:
        if isinstance(body, bytes):
            kind, data = "application/json", body
            extra = {} if token is None else {"X-CSRFToken": token}
        else:
            kind, data, extra = "application/x-www-form-urlencoded", urlencoded(body, token), {}

        def send() -> Any:
            return client.open(path + query, method=method, data=data, content_type=kind, headers=headers | extra)

        recorded = rule.endpoint in RECORDED_REFUSALS
        refused_whole(runtime, send, f"{method} {path}{query} {body!r:.300}", recorded)

    for body in EXAMPLES:
        check = example(body=body, query="")(check)
    check()


def test_hostile_bodies_at_every_mutating_endpoint_are_answered_or_refused_whole(
    app: Flask, runtime: Runtime, world: dict[str, Any]
) -> None:
    session: FlaskClient = world["session"]
    bearer = {"Authorization": f"Bearer {world['token']}"}
    for rule, method in mutating_rules(app):
        path = url_of(app, rule, world["known"])
        if rule.rule.startswith("/api/"):
            fuzz(runtime, app.test_client(), rule, method, path, bearer, None)
        else:
            fuzz(runtime, session, rule, method, path, {}, csrf_token(session, "/profile"))
