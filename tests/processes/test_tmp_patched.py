from datetime import datetime

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

import engine.execution as ex
from tests.processes import test_onboarding as t


def patched(workflow):
    found = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        d = getattr(task.task_spec, "event_definition", None)
        if isinstance(d, (TimerEventDefinition, MultipleEventDefinition)):
            if isinstance(d, MultipleEventDefinition) and not any(
                isinstance(x, TimerEventDefinition) for x in d.event_definitions
            ):
                continue
            value = task.internal_data.get("event_value")
            if value is None:
                continue
            text = value["next"] if isinstance(value, dict) else value
            found.append((task, datetime.fromisoformat(text)))
    return found


@pytest.fixture(autouse=True)
def fix(monkeypatch):
    monkeypatch.setattr(ex, "due_timers", patched)


def test_nudge(driver):
    t.test_welcome_asks_the_csm_to_nudge_a_customer_who_has_not_used_the_product_within_14_days.__wrapped__(
        driver
    ) if hasattr(
        t.test_welcome_asks_the_csm_to_nudge_a_customer_who_has_not_used_the_product_within_14_days, "__wrapped__"
    ) else t.test_welcome_asks_the_csm_to_nudge_a_customer_who_has_not_used_the_product_within_14_days(driver)
