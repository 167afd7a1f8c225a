"""Deserialized workflows kept between operations, keyed by instance id and row version.

An operation checks a workflow out (so no other thread can touch the same object) and, only after its
transaction committed, checks it back in under the version it wrote. A failed operation checks nothing in, and a
version written by anyone else (another process, a handler) no longer matches, so the JSON is loaded again.

With the workflow go the instance row as that operation wrote it and, when it saved, what the inbox and timer
tables hold for it: an operation that knows the row's version (read with the task row) needs neither read again.

A capacity of 0 keeps nothing (``Runtime(..., live_cache=False)``): every operation then rebuilds its workflow from
the JSON it stored, which is how tests prove that the stored state alone is enough to go on.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from SpiffWorkflow.bpmn import BpmnWorkflow

if TYPE_CHECKING:
    from engine._execution import InstanceRecord, Projection


@dataclass(frozen=True)
class Kept:
    version: int
    workflow: BpmnWorkflow
    instance: InstanceRecord
    projected: Projection | None = None


class LiveWorkflows:
    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, Kept] = OrderedDict()
        self._lock = threading.Lock()

    def check_out(self, instance_id: str, version: int) -> Kept | None:
        with self._lock:
            found = self._items.pop(instance_id, None)
        return found if found is not None and found.version == version else None

    def check_in(self, instance_id: str, kept: Kept) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._items[instance_id] = kept
            self._items.move_to_end(instance_id)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
