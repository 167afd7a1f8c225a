"""Messages from outside (product events, CSAT answers): delivered to the waiting instances of a customer or
business key, or starting the process whose message start event names them."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import Field

from web.accounts.permissions import WORK_TASKS
from web.api.base import InvalidInput
from web.api.declare import Body, Response, Shape, operation, text
from web.context import me, runtime


class MessageRequest(Body):
    """Give customer_id or business_key (or both) to correlate the message."""

    name: str = text(200, "the BPMN message name", required=True)
    customer_id: str | None = text(64)
    business_key: str | None = text(200)
    payload: dict[str, Any] = Field(default_factory=dict)


class MessageResult(Shape):
    delivered: list[str] = Field(description="ids of the instances that received it")


@operation(
    "post",
    "/messages",
    summary="Send a message to the instances waiting for it",
    roles=WORK_TASKS,
    body=MessageRequest,
    ok=Response(200, MessageResult, "Delivered"),
)
def send_message(body: MessageRequest) -> ResponseReturnValue:
    if not body.customer_id and not body.business_key:
        raise InvalidInput({"customer_id": "give customer_id or business_key to correlate the message"})
    delivered = runtime().send_message(
        body.name, body.payload, actor=me().username, customer_id=body.customer_id, business_key=body.business_key
    )
    return jsonify({"delivered": delivered})
