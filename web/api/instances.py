"""Process instances: start one, read one (status, process, customer, open tasks)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue
from pydantic import Field
from sqlalchemy import select

from engine import OPEN_TASK_STATES, InstanceStatus, NotFound
from engine.models import HumanTask, ProcessDefinition, ProcessInstance
from processes.customers import Customer
from web.accounts.permissions import READ_INSTANCES, WORK_TASKS, check_instance_read
from web.api import shapes
from web.api.base import iso
from web.api.declare import Body, Response, Shape, When, operation, text
from web.context import me, read_session, runtime


class StartRequest(Body):
    process_id: str = text(200, "id of a deployed process (its latest version runs)", required=True)
    customer_id: str | None = text(64)
    business_key: str | None = text(200)
    data: dict[str, Any] = Field(default_factory=dict, description="initial process data")


class InstanceCreated(Shape):
    id: str
    status: str


class ProcessRef(Shape):
    id: str
    name: str
    version: int


class CustomerRef(Shape):
    id: str
    name: str
    stage: str
    plan: str


class Instance(Shape):
    id: str
    process: ProcessRef
    status: InstanceStatus
    incident: str | None
    customer_id: str | None
    customer: CustomerRef | None
    business_key: str | None
    started_by: str
    started_at: When
    ended_at: When | None
    open_tasks: list[shapes.Task]


@operation(
    "post",
    "/instances",
    summary="Start a process instance",
    roles=WORK_TASKS,
    body=StartRequest,
    ok=Response(201, InstanceCreated, "Started; Location names the instance", headers=("Location",)),
    errors=(404, 409),
)
def start_instance(body: StartRequest) -> ResponseReturnValue:
    started = runtime().launch(
        body.process_id,
        actor=me().username,
        customer_id=body.customer_id,
        business_key=body.business_key,
        data=body.data,
    )
    location = url_for("api.get_instance", instance_id=started.id)
    return jsonify({"id": started.id, "status": started.status}), 201, {"Location": location}


@operation(
    "get",
    "/instances/<instance_id>",
    summary="An instance: status, process, customer and open tasks",
    roles=(*READ_INSTANCES, *WORK_TASKS),  # staff: only as its starter or a worker of its open tasks
    ok=Response(200, Instance, "The instance"),
)
def get_instance(instance_id: str) -> ResponseReturnValue:
    with read_session() as session:
        found = session.execute(
            select(ProcessInstance, ProcessDefinition.name, ProcessDefinition.version)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .where(ProcessInstance.id == instance_id)
        ).one_or_none()
        if found is None:
            raise NotFound(f"process instance {instance_id} does not exist")
        instance, process_name, version = found
        check_instance_read(session, me(), instance.id, instance.started_by)
        customer = session.get(Customer, instance.customer_id) if instance.customer_id else None
        tasks = session.execute(
            select(HumanTask)
            .where(HumanTask.instance_id == instance_id, HumanTask.state.in_(OPEN_TASK_STATES))
            .order_by(HumanTask.created_at, HumanTask.id)
        ).scalars()
        open_tasks = [shapes.task(row) for row in tasks]
    return jsonify(
        {
            "id": instance.id,
            "process": {"id": instance.process_id, "name": process_name, "version": version},
            "status": instance.status,
            "incident": instance.incident,
            "customer_id": instance.customer_id,
            "customer": None
            if customer is None
            else {"id": customer.id, "name": customer.name, "stage": customer.stage, "plan": customer.plan},
            "business_key": instance.business_key,
            "started_by": instance.started_by,
            "started_at": iso(instance.started_at),
            "ended_at": iso(instance.ended_at),
            "open_tasks": open_tasks,
        }
    )
