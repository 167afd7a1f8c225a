"""POST /api/v1/events: product usage events, one or a batch, stored in one transaction (all or nothing),
delivered to the instances waiting for them, and handed to the playbook rules (docs/playbooks.md)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from processes import ingest, playbooks
from web.api.base import InvalidInput, Reader, bp, json_body
from web.context import me, runtime
from web.permissions import WORK_TASKS, requires

MAX_BATCH = 1000
MAX_PROPERTIES = 10_000  # characters of the properties' JSON
FIELDS = ("customer_id", "name", "at", "properties")
NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
FUTURE = timedelta(hours=1)  # clock skew allowed for ``at``


def _read(raw: Any, prefix: str, now: datetime, errors: dict[str, str]) -> ingest.Incoming | None:
    if not isinstance(raw, dict):
        errors[prefix.rstrip(".") or "body"] = "must be a JSON object"
        return None
    body = Reader(raw, FIELDS)
    customer_id = body.text("customer_id", required=True, max_length=64)
    name = body.text("name", required=True, max_length=100)
    if name is not None and not NAME.match(name):
        body.errors["name"] = "must be letters, digits and _ . : - only"
    at = body.moment("at") or now
    if at > now + FUTURE:
        body.errors["at"] = "must not be in the future"
    properties = body.mapping("properties")
    if "properties" not in body.errors and len(json.dumps(properties, default=str)) > MAX_PROPERTIES:
        body.errors["properties"] = f"must be at most {MAX_PROPERTIES} characters of JSON"
    errors.update({f"{prefix}{key}": message for key, message in body.errors.items()})
    if body.errors or customer_id is None or name is None:
        return None
    return ingest.Incoming(customer_id=customer_id, name=name, at=at, properties=properties)


def _batch(body: dict[str, Any]) -> tuple[list[Any], str]:
    """The raw events of the body, and how an error names one (``events[3].`` or nothing for a single event)."""
    if "events" not in body:
        return [body], ""
    extra = sorted(set(body) - {"events"})
    if extra:
        raise InvalidInput({key: "is not a known field (give one event, or only events: [...])" for key in extra})
    items = body["events"]
    if not isinstance(items, list) or not items:
        raise InvalidInput({"events": "must be a non-empty array of event objects"})
    if len(items) > MAX_BATCH:
        raise InvalidInput({"events": f"must hold at most {MAX_BATCH} events, not {len(items)}"})
    return items, "events[{}]."


@bp.post("/events")
@requires(*WORK_TASKS)
def ingest_events() -> ResponseReturnValue:
    items, prefix = _batch(json_body())
    rt = runtime()
    errors: dict[str, str] = {}
    with rt.unit() as u:
        read = [_read(raw, prefix.format(i), u.now, errors) for i, raw in enumerate(items)]
        if errors:
            raise InvalidInput(errors)
        events = [e for e in read if e is not None]
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
