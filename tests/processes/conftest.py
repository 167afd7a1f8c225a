from __future__ import annotations

import pytest

from engine import FrozenClock, Runtime
from engine._outbox import LogTransport
from tests.processes.helpers import Driver


@pytest.fixture
def driver(runtime: Runtime, clock: FrozenClock, mail: LogTransport) -> Driver:
    """Every shipped model deployed and customer C-1 (Acme, cs@acme.example) created."""
    d = Driver(runtime, clock, mail)
    d.deploy_all()
    d.create_customer()
    return d
