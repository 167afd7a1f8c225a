"""The instance page shows how big the instance's engine state is, which compaction keeps bounded."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from lxml import html

from engine import FrozenClock, Runtime
from tests.engine.helpers import LOOP, instance, run_weeks, the_task
from tests.web.on_file import customers_on_file

Client = Callable[[str], FlaskClient]


def shown_size(client: FlaskClient, instance_id: str) -> tuple[str, str]:
    """(the readable size, the exact one in its title) after the "State size" label."""
    response = client.get(f"/instances/{instance_id}")
    assert response.status_code == 200
    doc = html.fromstring(response.get_data(as_text=True))
    [label] = doc.xpath("//dl[contains(@class, 'facts')]/dt[normalize-space() = 'State size']")
    value = label.getnext()
    return value.text_content().strip(), value.get("title")


def test_the_instance_page_shows_the_size_of_its_engine_state(
    client_for: Client, runtime: Runtime, people: dict, clock: FrozenClock
) -> None:
    customers_on_file(runtime, "C-1")
    runtime.deploy({"weekly.bpmn": LOOP}, actor="dan")
    iid = runtime.start("weekly", actor="sam", customer_id="C-1")
    runtime.complete(the_task(runtime, iid).id, actor="sam", data={"goal": "grow"})
    run_weeks(runtime, clock, iid, 3)
    size = len(instance(runtime, iid).state_json.encode())
    assert 1024 < size < 1024 * 1024

    readable, exact = shown_size(client_for("lea"), iid)
    assert readable == f"{round(size / 1024)} KB"
    assert exact == f"{size:,} bytes"
