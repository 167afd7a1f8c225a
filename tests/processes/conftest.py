"""Process fixtures: the runtime without its live-workflow cache and a driver with every shipped model deployed."""

from __future__ import annotations

import pytest

from engine import FrozenClock, Runtime
from engine._outbox import LogTransport
from tests.processes.helpers import Driver


@pytest.fixture
def live_cache() -> bool:
    """No live-workflow cache: every step rebuilds the workflow from the JSON the previous step saved, so the
    save/load round trip is tested at every step of every shipped process, not only by the restart tests."""
    return False


@pytest.fixture
def driver(runtime: Runtime, clock: FrozenClock, mail: LogTransport) -> Driver:
    """Every shipped model deployed and customer C-1 (Acme, cs@acme.example) created."""
    d = Driver(runtime, clock, mail)
    d.deploy_all()
    d.create_customer()
    return d
