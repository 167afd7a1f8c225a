"""POST /api/v1/events: product usage events, one or a batch, stored in one transaction (all or nothing),
delivered to the instances waiting for them, and handed to the playbook rules (docs/playbooks.md)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator

from processes import ingest, playbooks
from web.accounts.permissions import WORK_TASKS
from web.api.base import InvalidInput
from web.api.declare import Body, Moment, Response, Shape, operation, pattern, text
from web.context import me, runtime

MAX_BATCH = 1000
MAX_PROPERTIES = 10_000  # characters of the properties' JSON
FUTURE = timedelta(hours=1)  # clock skew allowed for ``at``


class ProductEvent(Body):
    customer_id: str = text(64, "an existing customer's id", required=True)
    name: str = Field(
        min_length=1,
        max_length=100,
        pattern=pattern(r"^[A-Za-z0-9_.:-]+$", "must be letters, digits and _ . : - only"),
        description="the event (and BPMN message) name: letters, digits, _ . : -",
    )
    at: Moment | None = Field(None, description="when it happened (default: now)")
    properties: dict[str, Any] = Field(
        default_factory=dict,
        description=f"anything the product wants to say about it (at most {MAX_PROPERTIES} characters of JSON)",
    )

    @field_validator("at")
    @classmethod
    def _not_future(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        now = (info.context or {}).get("now")
        if value is not None and now is not None and value > now + FUTURE:
            raise ValueError("must not be in the future")
        return value

    @field_validator("properties")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, default=str)) > MAX_PROPERTIES:
            raise ValueError(f"must be at most {MAX_PROPERTIES} characters of JSON")
        return value


class EventBatch(Body):
    events: list[ProductEvent] = Field(min_length=1, max_length=MAX_BATCH, description="stored all or nothing")


def _which(value: Any) -> str:
    return "batch" if isinstance(value, dict) and "events" in value else "event"


EventsRequest = Annotated[
    Annotated[ProductEvent, Tag("event")] | Annotated[EventBatch, Tag("batch")], Discriminator(_which)
]


class Delivery(Shape):
    index: int
    instances: list[str]


class EventsResult(Shape):
    stored: int
    delivered: list[Delivery] = Field(description="events (by index in the batch) that waiting instances received")
    playbooks_started: list[str] = Field(description="instances started by rules")


@operation(
    "post",
    "/events",
    summary="Store product usage events (one or up to 1000), deliver them and apply the playbook rules",
    roles=WORK_TASKS,
    body=EventsRequest,
    ok=Response(201, EventsResult, "Stored"),
    errors=(409,),
)
def ingest_events(body: ProductEvent | EventBatch) -> ResponseReturnValue:
    given, prefix = (body.events, "events[{}].") if isinstance(body, EventBatch) else ([body], "")
    rt = runtime()
    errors: dict[str, str] = {}
    with rt.unit() as u:
        events = [
            ingest.Incoming(customer_id=e.customer_id, name=e.name, at=e.at or u.now, properties=e.properties)
            for e in given
        ]
        customers = ingest.known_customers(u.session, {e.customer_id for e in events})
        for i, event in enumerate(events):
            customer = customers.get(event.customer_id)
            if customer is None:
                errors[f"{prefix.format(i)}customer_id"] = f"customer {event.customer_id!r} does not exist"
            elif customer.purged_at is not None:
                errors[f"{prefix.format(i)}customer_id"] = f"customer {event.customer_id!r} was purged"
        if errors:
            raise InvalidInput(errors)
        result = ingest.ingest(rt, u, events, customers, actor=me().username)
    started = playbooks.start_pending(rt, run_ids=[run.id for run in result.requested]) if result.requested else []
    delivered = [{"index": index, "instances": ids} for index, ids in result.delivered]
    return jsonify({"stored": result.stored, "delivered": delivered, "playbooks_started": started}), 201
