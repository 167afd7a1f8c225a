"""Deserialized workflows kept between operations, keyed by instance id and row version.

An operation checks a workflow out (so no other thread can touch the same object) and, only after its
transaction committed, checks it back in under the version it wrote. A failed operation checks nothing in, and a
version written by anyone else (another process, a handler) no longer matches, so the JSON is loaded again."""

from __future__ import annotations

import threading
from collections import OrderedDict

from SpiffWorkflow.bpmn import BpmnWorkflow


class LiveWorkflows:
    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, tuple[int, BpmnWorkflow]] = OrderedDict()
        self._lock = threading.Lock()

    def check_out(self, instance_id: str, version: int) -> BpmnWorkflow | None:
        with self._lock:
            found = self._items.pop(instance_id, None)
        return found[1] if found is not None and found[0] == version else None

    def check_in(self, instance_id: str, version: int, workflow: BpmnWorkflow) -> None:
        with self._lock:
            self._items[instance_id] = (version, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
