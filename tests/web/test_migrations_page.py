"""The page that moves running instances to another version (web/migrations_page.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from engine import Runtime
from tests.bpmn_builder import linear
from tests.engine.helpers import complete, open_task
from tests.web.helpers import audit_count, csrf_token, on_version

Client = Callable[[str], FlaskClient]


def test_a_lead_sees_which_instances_can_move_and_why_not(client_for: Client, versions: dict[str, str]) -> None:
    page = client_for("lea").get("/migrations/p?from=1&to=3")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'name="instance" value="{versions["at_t1"]}"' in html
    assert f'name="instance" value="{versions["at_t2"]}"' not in html  # no checkbox: it cannot move
    assert "it is ready at &#39;Step 2&#39; (t2), which version 3 does not have" in html


def test_moving_the_selected_instances_flashes_the_result_and_they_run_the_new_version(
    client_for: Client, versions: dict[str, str], runtime: Runtime
) -> None:
    client = client_for("dan")  # a designer
    token = csrf_token(client, "/migrations/p?from=1&to=2")
    answer = client.post(
        "/migrations/p",
        data={"csrf_token": token, "from": "1", "to": "2", "instance": [versions["at_t2"]]},
    )
    assert answer.status_code == 303
    assert "/migrations/p?from=1&to=2" in answer.headers["Location"]
    assert "1 instance moved to version 2." in client.get(answer.headers["Location"]).get_data(as_text=True)
    assert (on_version(runtime, versions["at_t2"]), on_version(runtime, versions["at_t1"])) == (2, 1)
    complete(runtime, versions["at_t2"], "t2")
    assert open_task(runtime, versions["at_t2"], "t3").name == "Step 3"
    assert "Moved to another version" in client_for("lea").get(f"/instances/{versions['at_t2']}").get_data(as_text=True)


def test_an_instance_that_cannot_move_is_reported_and_stays(
    client_for: Client, versions: dict[str, str], runtime: Runtime
) -> None:
    client = client_for("lea")
    token = csrf_token(client, "/migrations/p")
    answer = client.post(
        "/migrations/p",
        data={"csrf_token": token, "from": "1", "to": "3", "instance": [versions["at_t2"]]},
        follow_redirects=True,
    )
    assert "was not moved: it is ready at" in answer.get_data(as_text=True)
    assert on_version(runtime, versions["at_t2"]) == 1


@pytest.mark.parametrize("user", ["sam", "ada"])
def test_staff_and_auditors_may_not_open_or_use_the_page(
    client_for: Client, versions: dict[str, str], runtime: Runtime, user: str
) -> None:
    client = client_for(user)
    assert client.get("/migrations/p?from=1&to=2").status_code == 403
    token = csrf_token(client)
    data = {"csrf_token": token, "from": "1", "to": "2", "instance": [versions["at_t1"]]}
    assert client.post("/migrations/p", data=data).status_code == 403
    assert on_version(runtime, versions["at_t1"]) == 1


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        ({"from": "1", "to": "1"}, 400, "from and to are the same version (1)"),
        ({"from": "1", "to": "9"}, 404, "process &#39;p&#39; has no version 9"),
        ({"from": "x", "to": "2"}, 400, "From: “x” is not a version number."),
        ({"from": "1", "to": "2", "instance": []}, 422, "Tick at least one instance that can move."),
    ],
)
def test_a_wrong_request_is_refused_on_the_page_and_changes_nothing(
    client_for: Client, versions: dict[str, str], runtime: Runtime, data: dict, code: int, message: str
) -> None:
    client = client_for("lea")
    token = csrf_token(client, "/migrations/p")
    before = audit_count(runtime)
    body = {"csrf_token": token, "instance": [versions["at_t1"]], **data}
    answer = client.post("/migrations/p", data=body)
    assert answer.status_code == code
    assert message in answer.get_data(as_text=True)
    assert audit_count(runtime) == before and on_version(runtime, versions["at_t1"]) == 1


def test_an_instance_of_another_process_is_refused(
    client_for: Client, versions: dict[str, str], runtime: Runtime
) -> None:
    runtime.deploy({"q.bpmn": linear("q", 1)}, actor="designer")
    other = runtime.start("q", actor="sam", customer_id="C-1")
    client = client_for("lea")
    token = csrf_token(client, "/migrations/p")
    answer = client.post("/migrations/p", data={"csrf_token": token, "from": "1", "to": "2", "instance": [other]})
    assert answer.status_code == 400
    assert "are not instances of process &#39;p&#39;" in answer.get_data(as_text=True)


def test_an_unknown_process_is_not_found(client_for: Client, versions: dict[str, str]) -> None:
    assert client_for("lea").get("/migrations/nope").status_code == 404


def test_the_designer_list_and_the_instance_page_link_to_the_page(client_for: Client, versions: dict[str, str]) -> None:
    assert 'href="/migrations/p"' in client_for("dan").get("/designer/").get_data(as_text=True)
    show = client_for("lea").get(f"/instances/{versions['at_t1']}").get_data(as_text=True)
    assert 'href="/migrations/p?from=1"' in show
