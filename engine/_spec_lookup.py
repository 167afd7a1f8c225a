"""From a definition id to the parsed spec an instance runs on.

Definitions never change once deployed, so their (process id, BPMN text) is memoised by id; the parsed specs are
cached by content in engine._specs.SpecCache. An instance names its own definition and, in ``called_definitions``,
the definitions of the processes it calls, fixed when it started.
"""

from __future__ import annotations

import json
from typing import Protocol

from sqlalchemy.orm import Session

from engine import _deploy as deploying
from engine import _specs as specs
from engine._errors import NotFound
from engine.models import ProcessDefinition

CALLED = f"{specs.BPMN_NS}callActivity"


class NamesDefinitions(Protocol):
    """An instance record or row: what it runs on."""

    @property
    def definition_id(self) -> int: ...
    @property
    def called_definitions(self) -> str | None: ...


class SpecLookup:
    def __init__(self, cache: specs.SpecCache) -> None:
        self.cache = cache
        self._definitions: dict[int, tuple[str, str]] = {}

    def definition(self, session: Session, definition_id: int) -> tuple[str, str]:
        """(process id, BPMN text) of a deployed definition."""
        found = self._definitions.get(definition_id)
        if found is None:
            row = session.get(ProcessDefinition, definition_id)
            if row is None:
                raise NotFound(f"process definition {definition_id} does not exist")
            found = self._definitions[definition_id] = (row.process_id, row.bpmn_xml)
        return found

    def called(self, session: Session, process_id: str, xml: str) -> list[int]:
        """Latest definitions of every process called (transitively) from ``process_id``: an instance starting
        now runs on these."""
        found: list[int] = []
        pending = [(process_id, xml)]
        seen = {process_id}
        while pending:
            pid_now, xml_now = pending.pop()
            root = specs.single_process(xml_now, pid_now)
            for node in root.iter(CALLED):
                pid = node.get("calledElement")
                if not pid or pid in seen:
                    continue
                seen.add(pid)
                row = deploying.latest(session, pid)
                if row is not None:
                    found.append(row.id)
                    pending.append((pid, row.bpmn_xml))
        return found

    def pair(self, session: Session, instance: NamesDefinitions) -> specs.SpecPair:
        """The spec and called-process specs ``instance`` runs on."""
        ids = [instance.definition_id, *json.loads(instance.called_definitions or "[]")]
        processes = [self.definition(session, i) for i in ids]
        return self.cache.get(processes, self.cache.decisions(session, ids, processes))
