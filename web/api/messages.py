"""Messages from outside (product events, CSAT answers): delivered to the waiting instances of a customer or
business key, or starting the process whose message start event names them."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from web.api.base import InvalidInput, Reader, bp, json_body
from web.context import me, runtime
from web.permissions import WORK_TASKS, requires


@bp.post("/messages")
@requires(*WORK_TASKS)
def send_message() -> ResponseReturnValue:
    body = Reader(json_body(), ("name", "customer_id", "business_key", "payload"))
    name = body.text("name", required=True)
    customer_id = body.text("customer_id", max_length=64)
    business_key = body.text("business_key")
    payload = body.mapping("payload")
    body.done()
    if not customer_id and not business_key:
        raise InvalidInput({"customer_id": "give customer_id or business_key to correlate the message"})
    delivered = runtime().send_message(
        str(name), payload, actor=me().username, customer_id=customer_id, business_key=business_key
    )
    return jsonify({"delivered": delivered})
