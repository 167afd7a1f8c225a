"""Read-only views the pages build on: a task as the person working it sees it, an instance as its page shows it.

Each reads in a read-only session (never blocking a writer on SQLite) and rebuilds the workflow from its stored
JSON: a view never checks out a kept workflow (engine._live), which belongs to the operations that write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from engine import _forms as forms
from engine import _interventions as interventions
from engine import _specs as specs
from engine._errors import NotFound
from engine._spec_lookup import SpecLookup
from engine._store import Store
from engine.models import HumanTask, ProcessInstance


@dataclass(frozen=True)
class TaskView:
    row: HumanTask
    fields: list[forms.Field]
    data: dict[str, Any]
    documentation: str


def task_view(store: Store, lookup: SpecLookup, task_pk: int) -> TaskView:
    """What a person needs to work a task: its row, form fields, current data and instructions."""
    with store.session() as session:
        row = session.get(HumanTask, task_pk)
        if row is None:
            raise NotFound(f"task {task_pk} does not exist")
        instance = session.get(ProcessInstance, row.instance_id)
        assert instance is not None
        workflow = specs.load(instance.state_json, lookup.pair(session, instance))
    task = workflow.get_task_from_id(uuid.UUID(row.task_id))
    if task is None:
        return TaskView(row, [], {}, "")
    return TaskView(row, forms.fields_of(task.task_spec), dict(task.data), task.task_spec.documentation or "")


def instance_view(store: Store, lookup: SpecLookup, instance_id: str) -> interventions.InstanceView:
    """An instance as its page shows it: the row, its definition's XML, the state of each element, its current
    data and the steps a lead can skip or repeat."""
    with store.session() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound(f"process instance {instance_id} does not exist")
        workflow = specs.load(instance.state_json, lookup.pair(session, instance))
        xml = lookup.definition(session, instance.definition_id)[1]
    return interventions.view(instance, xml, workflow)
