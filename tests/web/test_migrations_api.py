"""POST /api/v1/processes/<id>/migrations: a dry run previews the move; without it the instances move."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from engine import Runtime
from tests.web.helpers import Api, audit_count, on_version

# the fixtures of those modules, used here too


@pytest.fixture
def api(app: Flask, tokens: dict[str, str], doc: dict[str, Any]) -> Any:
    return lambda name: Api(app.test_client(), tokens[name], doc)


def test_a_dry_run_lists_who_can_move_and_why_not_and_changes_nothing(
    api: Any, versions: dict[str, str], runtime: Runtime
) -> None:
    before = audit_count(runtime)
    answer = api("lea").post("/processes/p/migrations", {"from_version": 1, "to_version": 3, "dry_run": True})
    found = {c["id"]: c for c in answer["instances"]}
    assert (answer["total"], found[versions["at_t1"]]["movable"]) == (2, True)
    assert found[versions["at_t2"]]["reasons"] == ["it is ready at 'Step 2' (t2), which version 3 does not have"]
    assert audit_count(runtime) == before


def test_the_chosen_instances_move_and_the_refused_ones_say_why(
    api: Any, versions: dict[str, str], runtime: Runtime
) -> None:
    body = {"from_version": 1, "to_version": 3, "instance_ids": [versions["at_t1"], versions["at_t2"]]}
    answer = api("dan").post("/processes/p/migrations", body)
    assert answer["moved"] == [versions["at_t1"]]
    assert [r["id"] for r in answer["refused"]] == [versions["at_t2"]]
    assert (on_version(runtime, versions["at_t1"]), on_version(runtime, versions["at_t2"])) == (3, 1)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"from_version": 2, "to_version": 2, "instance_ids": ["x"]}, 400, "from and to are the same version (2)"),
        ({"from_version": 1, "to_version": 7, "dry_run": True}, 404, "process 'p' has no version 7"),
        ({"from_version": 1, "to_version": 2}, 422, "instance_ids: is required"),
        ({"from_version": "1", "to_version": 2}, 422, "from_version"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    api: Any, versions: dict[str, str], runtime: Runtime, body: dict, status: int, message: str
) -> None:
    before = audit_count(runtime)
    answer = api("lea").post("/processes/p/migrations", body, status)
    assert message in answer["message"]
    assert audit_count(runtime) == before


def test_staff_may_not_move_instances(api: Any, versions: dict[str, str], runtime: Runtime) -> None:
    body = {"from_version": 1, "to_version": 2, "instance_ids": [versions["at_t1"]]}
    api("sam").post("/processes/p/migrations", body, 403)
    assert on_version(runtime, versions["at_t1"]) == 1
