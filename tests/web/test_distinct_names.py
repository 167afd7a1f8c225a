"""The group lists (the inbox's group filter for leads, the admin's user form, the alerts' group filter) come from
a loose index scan: the same names as SELECT DISTINCT, read one index probe per name."""

from __future__ import annotations

import uuid

from sqlalchemy import insert

from engine import Runtime
from engine.models import HumanTask, HumanTaskGroup
from tests.web.helpers import ticket
from web.accounts import users
from web.inbox.names import distinct_names
from web.kpis import task_groups


def test_distinct_names_lists_each_group_once_in_order_even_when_none_is_left_open(
    deployed: None, people: dict, runtime: Runtime
) -> None:
    with runtime.store.session() as s:
        assert distinct_names(s, HumanTaskGroup.group_name) == []  # an empty table: no name, no NULL
    task_pk = ticket(runtime)
    runtime.complete(task_pk, actor="sam", data={"severity": "low", "category": "how_to"})
    instance = task_row_instance(runtime, task_pk)
    with runtime.unit() as u:  # closed tasks of groups no user is in
        for group in ("zeta", "alpha", "zeta", "legal", "alpha"):
            row = {
                "instance_id": instance,
                "task_id": str(uuid.uuid4()),
                "element_id": "e",
                "name": "Old step",
                "process_id": "support",
                "candidate_groups": group,
                "priority": 50,
                "state": "completed",
                "created_at": u.now,
            }
            pk = u.conn.execute(insert(HumanTask).returning(HumanTask.id), row).scalar_one()
            u.conn.execute(insert(HumanTaskGroup), {"human_task_id": pk, "group_name": group})
    with runtime.store.session() as s:
        assert distinct_names(s, HumanTaskGroup.group_name) == ["alpha", "legal", "support", "zeta"]
        assert task_groups(s) == ["alpha", "legal", "support", "zeta"]
        # members' groups (web/conftest PEOPLE) and every task's groups
        assert users.all_groups(s) == ["alpha", "cs_lead", "csm", "finance", "legal", "support", "zeta"]


def task_row_instance(runtime: Runtime, task_pk: int) -> str:
    with runtime.store.session() as s:
        row = s.get(HumanTask, task_pk)
        assert row is not None
        return row.instance_id
