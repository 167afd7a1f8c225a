"""The process tests run on a runtime that keeps no live workflow (tests/processes/conftest.py), so each step of a
shipped process rebuilds its workflow from the JSON the step before saved."""

from __future__ import annotations

from engine import Runtime
from engine.models import ProcessInstance
from tests.processes.helpers import Driver


def test_the_process_runtime_keeps_no_workflow_between_operations(runtime: Runtime, driver: Driver) -> None:
    assert runtime.live.capacity == 0
    iid = driver.start("sign_up")
    with runtime.store.session() as session:
        instance = session.get(ProcessInstance, iid)
        assert instance is not None
        version = instance.version
    assert runtime.live.check_out(iid, version) is None
