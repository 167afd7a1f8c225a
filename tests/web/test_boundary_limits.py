"""Hostile input at the web boundary: ids and page numbers past 64 bits, JSON nested a thousand levels deep, bodies
over the size limit, NUL characters and lone surrogates. Each is refused with a 4xx naming what is wrong (never a
500), before anything is read from or written to the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine import Runtime
from processes.customers import Customer, create_customer
from processes.events import ProductEvent
from tests.web.helpers import csrf_token
from web.accounts import users

Client = Callable[[str], FlaskClient]
HUGE = ["18446744073709551616", "99999999999999999999", str(2**63), str(2**31), "9" * 5000]


@pytest.fixture
def api(app: Flask, runtime: Runtime, people: dict[str, int]) -> Callable[..., Any]:
    """An API call with a lead's bearer token; the app answers errors as it does in production (no propagation)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    token = users.create_token(runtime, people["lea"], "boundary", actor="test")
    with runtime.unit() as u:
        create_customer(u.session, "C-1", "Acme", now=u.now, email="cs@acme.example")
    client = app.test_client()

    def call(method: str, path: str, data: Any = None, content_type: str = "application/json") -> Any:
        return client.open(
            path, method=method, data=data, content_type=content_type, headers={"Authorization": f"Bearer {token}"}
        )

    return call


def rows(runtime: Runtime) -> tuple[int, int]:
    with runtime.store.session() as s:
        return (
            s.execute(select(func.count()).select_from(ProductEvent)).scalar_one(),
            s.execute(select(func.count()).select_from(Customer)).scalar_one(),
        )


def nested(levels: int, leaf: str = "1") -> str:
    return "[" * levels + leaf + "]" * levels


# -- ids and page numbers ------------------------------------------------------------------------------------
@pytest.mark.parametrize("number", [*HUGE, "0"])
def test_an_id_past_what_an_id_column_holds_matches_no_route(api: Any, client_for: Client, number: str) -> None:
    for method, path in [
        ("GET", f"/api/v1/tasks/{number}"),
        ("POST", f"/api/v1/tasks/{number}/claim"),
        ("DELETE", f"/api/v1/customers/C-1/contacts/{number}"),
    ]:
        response = api(method, path)
        assert response.status_code == 404, (path, response.get_data(as_text=True))
        assert response.get_json()["message"]
    lea = client_for("lea")
    token = csrf_token(lea, "/inbox/")
    assert lea.get(f"/tasks/{number}").status_code == 404
    for path in [f"/tasks/{number}/claim", f"/kpis/alerts/{number}/acknowledge", f"/inbox/filters/{number}/delete"]:
        assert lea.post(path, data={"csrf_token": token}).status_code == 404, path


def test_the_largest_id_an_integer_column_holds_reaches_the_database_and_is_not_found(
    api: Any, client_for: Client
) -> None:
    largest = 2**31 - 1  # PostgreSQL INTEGER
    response = api("GET", f"/api/v1/tasks/{largest}")
    assert response.status_code == 404 and str(largest) in response.get_json()["message"]
    assert client_for("lea").get(f"/tasks/{largest}").status_code == 404


@pytest.mark.parametrize("page", [*HUGE[:3], "²", "-1", "1.5"])
def test_a_page_number_that_is_not_a_page_is_named_on_the_instances_list(client_for: Client, page: str) -> None:
    response = client_for("lea").get(f"/instances/?page={page}")
    assert response.status_code == 422
    assert f"Page: “{page}” is not a page number." in response.get_data(as_text=True)


@pytest.mark.parametrize("page", [*HUGE[:3], "²"])
def test_the_inbox_shows_a_page_for_any_page_number(client_for: Client, page: str) -> None:
    assert client_for("sam").get(f"/inbox/?page={page}").status_code == 200


@pytest.mark.parametrize("number", [HUGE[0], str(2**31), "²", "x"])
def test_bulk_actions_refuse_a_value_that_is_not_an_id(client_for: Client, number: str) -> None:
    lea = client_for("lea")
    token = csrf_token(lea, "/inbox/")
    response = lea.post("/inbox/bulk", data={"action": "claim", "task": ["1", number], "csrf_token": token})
    assert response.status_code == 400
    assert f"task: “{number}” is not an id." in response.get_data(as_text=True)
    response = lea.post("/kpis/alerts/acknowledge", data={"alert": number, "csrf_token": token})
    assert response.status_code == 400
    assert f"alert: “{number}” is not an id." in response.get_data(as_text=True)


# -- JSON bodies ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("levels", [1000, 5000, 500, 33])
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_json_nested_too_deeply_is_refused_whole(api: Any, runtime: Runtime, levels: int, content_type: str) -> None:
    before = rows(runtime)
    body = '{"customer_id": "C-1", "name": "used", "properties": {"x": ' + nested(levels) + "}}"
    response = api("POST", "/api/v1/events", body, content_type)
    assert response.status_code == 400, response.get_data(as_text=True)
    [(field, message)] = response.get_json()["fields"].items()
    assert field.startswith("body") and message == "is nested deeper than 32 levels"
    assert rows(runtime) == before


def test_json_nested_within_the_limit_is_read(api: Any, runtime: Runtime) -> None:
    body = '{"customer_id": "C-1", "name": "used", "properties": {"x": ' + nested(20) + "}}"
    assert api("POST", "/api/v1/events", body).status_code == 201
    assert rows(runtime)[0] == 1


def test_a_huge_string_in_json_is_refused(api: Any, runtime: Runtime) -> None:
    body = '{"customer_id": "C-1", "name": "used", "properties": {"x": "' + "x" * 1_000_001 + '"}}'
    response = api("POST", "/api/v1/events", body)
    assert response.status_code == 400
    assert response.get_json()["fields"] == {"body.properties.x": "is longer than 1000000 characters"}
    assert rows(runtime) == (0, 1)


def test_a_body_over_the_size_limit_is_refused_with_the_limit(api: Any, client_for: Client) -> None:
    response = api("POST", "/api/v1/events", b"[" + b" " * (5 * 1024 * 1024) + b"]")
    assert response.status_code == 413
    assert response.get_json()["message"] == "The request is larger than the limit of 5 MB."
    lea = client_for("lea")
    response = lea.post("/inbox/filters", data={"name": "x" * (5 * 1024 * 1024), "csrf_token": "t"})
    assert response.status_code == 413
    assert "The request is larger than the limit of 5 MB." in response.get_data(as_text=True)


# -- NUL characters and lone surrogates ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("C-\\ud800", "contains a lone surrogate (\\ud800) at position 3, which is not valid Unicode text"),
        ("C-\\udfff", "contains a lone surrogate (\\udfff) at position 3, which is not valid Unicode text"),
        ("C-\\u0000", "contains a NUL character (\\u0000) at position 3, which text may not hold"),
    ],
)
def test_json_text_the_database_cannot_keep_is_refused_naming_the_field(
    api: Any, runtime: Runtime, text: str, message: str
) -> None:
    before = rows(runtime)
    for body, field in [
        ('{"customer_id": "' + text + '", "name": "used"}', "body.customer_id"),
        ('{"customer_id": "C-1", "name": "used", "properties": {"' + text + '": 1}}', "body.properties.C-\\"),
        ('{"events": [{"customer_id": "C-1", "name": "' + text + '"}]}', "body.events[0].name"),
    ]:
        response = api("POST", "/api/v1/events", body)
        assert response.status_code == 400, body
        [(named, said)] = response.get_json()["fields"].items()
        assert named.startswith(field) and said == message
    response = api("POST", "/api/v1/customers", '{"id": "' + text + '", "name": "Evil"}')
    assert response.status_code == 400
    assert response.get_json()["fields"] == {"body.id": message}
    assert rows(runtime) == before


def test_a_nul_in_a_path_query_or_form_is_refused_naming_where(api: Any, client_for: Client) -> None:
    response = api("GET", "/api/v1/customers/C-%00")
    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == ["path"]
    response = api("GET", "/api/v1/customers?q=a%00b")
    assert response.status_code == 400
    assert response.get_json()["fields"] == {
        "q": "contains a NUL character (\\u0000) at position 2, which text may not hold"
    }
    lea = client_for("lea")
    assert lea.get("/customers/C-%00").status_code == 400
    page = lea.get("/inbox/?customer=%00")
    assert page.status_code == 400 and "customer: contains a NUL character" in page.get_data(as_text=True)
    token = csrf_token(lea, "/inbox/")
    page = lea.post("/inbox/filters", data={"name": "mine\x00", "csrf_token": token})
    assert page.status_code == 400 and "name: contains a NUL character" in page.get_data(as_text=True)


def test_a_form_posted_to_the_api_still_reaches_the_view(api: Any, runtime: Runtime) -> None:
    """The boundary check reads form bodies; the API must still see the raw body it reads itself."""
    body = '{"customer_id": "C-1", "name": "used"}'
    assert api("POST", "/api/v1/events", body, "application/x-www-form-urlencoded").status_code == 201
    assert rows(runtime)[0] == 1


def test_a_query_number_is_read_within_bounds_or_refused_naming_it(app: Flask) -> None:
    """``int_param`` is the reader for any page number or id of a query string or form (web.params)."""
    from web.params import MAX_PAGE, InvalidParameter, int_param

    with app.test_request_context():
        assert int_param({"page": " 7 "}, "page", default=1, high=MAX_PAGE) == 7
        assert int_param({"page": ""}, "page", default=1) == 1
        for bad in ["99999999999999999999", str(MAX_PAGE + 1), "0", "²", "-1", "1e3"]:
            with pytest.raises(InvalidParameter) as caught:
                int_param({"page": bad}, "page", default=1, high=MAX_PAGE)
            assert caught.value.code == 400
            assert caught.value.fields == {"page": f"“{bad}” is not a whole number from 1 to {MAX_PAGE}."}


def test_the_last_page_number_allowed_is_an_empty_page(client_for: Client) -> None:
    from web.params import MAX_PAGE

    lea = client_for("lea")
    assert lea.get(f"/instances/?page={MAX_PAGE}").status_code == 200
    assert lea.get(f"/customers/?view=all&page={min(MAX_PAGE, 1_000_000)}").status_code == 200
