"""Process instances: start one, read one (status, process, customer, open tasks)."""

from __future__ import annotations

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from engine.errors import NotFound
from engine.models import HumanTask, ProcessDefinition, ProcessInstance
from processes.customers import Customer
from web import task_access
from web.api import shapes
from web.api.base import Reader, bp, iso, json_body
from web.context import me, read_session, runtime
from web.permissions import READ_INSTANCES, WORK_TASKS, requires


@bp.post("/instances")
@requires(*WORK_TASKS)
def start_instance() -> ResponseReturnValue:
    body = Reader(json_body(), ("process_id", "customer_id", "business_key", "data"))
    process_id = body.text("process_id", required=True)
    customer_id = body.text("customer_id", max_length=64)
    business_key = body.text("business_key")
    data = body.mapping("data")
    body.done()
    instance_id = runtime().start(
        str(process_id), actor=me().username, customer_id=customer_id, business_key=business_key, data=data
    )
    with read_session() as session:
        status = session.execute(select(ProcessInstance.status).where(ProcessInstance.id == instance_id)).scalar()
    location = url_for("api.get_instance", instance_id=instance_id)
    return jsonify({"id": instance_id, "status": status}), 201, {"Location": location}


@bp.get("/instances/<instance_id>")
@requires(*READ_INSTANCES)
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
        customer = session.get(Customer, instance.customer_id) if instance.customer_id else None
        tasks = session.execute(
            select(HumanTask)
            .where(HumanTask.instance_id == instance_id, HumanTask.state.in_(task_access.OPEN))
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
