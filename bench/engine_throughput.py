"""P1: engine-facade task completions per second ÷ bare SpiffWorkflow completions per second.

Same 10-user-task model, same run. The facade path per task: load the instance from SQLite (WAL), validate the
form, complete, run engine steps, save the workflow (spec not embedded), update the inbox rows, write the audit
event and the KPI row, commit. The bare path per task: deserialize_json (spec embedded), complete, do_engine_steps,
serialize_json. Goal: P1 >= 1.0. Usage: python bench/engine_throughput.py [--instances 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bare_spiff(model: bytes, instances: int) -> float:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.util.task import TaskState

    from engine._dialects import JornadaParser, serializer_config
    from engine._specs import parse_xml

    parser = JornadaParser()
    parser.add_bpmn_xml(parse_xml(model), "linear10.bpmn")
    spec = parser.get_spec("linear10")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(serializer_config()))
    states = []
    for _ in range(instances):
        wf = BpmnWorkflow(spec)
        wf.do_engine_steps()
        states.append(serializer.serialize_json(wf))
    tasks = 0
    started = time.perf_counter()
    for i, state in enumerate(states):
        while True:
            wf = serializer.deserialize_json(state)
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                break
            ready[0].data.update({"note": "done"})
            ready[0].run()
            wf.do_engine_steps()
            state = serializer.serialize_json(wf)
            tasks += 1
        states[i] = state
    return tasks / (time.perf_counter() - started)


def facade(model: bytes, instances: int, folder: Path) -> tuple[float, int]:
    from engine import FrozenClock, Runtime, Store, load_config
    from engine.models import AuditEvent, HumanTask, TaskKpi
    from processes import build_registry
    from processes.customers import create_customer

    url = f"sqlite:///{folder / 'bench.db'}"
    store = Store(url)
    store.migrate()
    clock = FrozenClock()
    config = load_config({"database_url": url, "data_dir": str(folder)}, environ={})
    runtime = Runtime(store, build_registry(), clock=clock, config=config)
    runtime.deploy({"linear10.bpmn": model}, actor="bench")
    with runtime.unit() as u:  # instances are started for customers that exist (the domain's start guard)
        for n in range(instances):
            create_customer(u.session, f"C-{n}", f"Customer {n}", now=u.now)
    for n in range(instances):
        runtime.start("linear10", actor="bench", customer_id=f"C-{n}")
    with store.session() as s:
        pending = list(s.execute(select(HumanTask.id).where(HumanTask.state == "ready")).scalars())
    tasks = 0
    started = time.perf_counter()
    while pending:
        following = []
        for task_id in pending:
            runtime.complete(task_id, actor="bench", data={"note": "done"})
            tasks += 1
            clock.advance(seconds=1)
        with store.session() as s:
            following = list(s.execute(select(HumanTask.id).where(HumanTask.state == "ready")).scalars())
        pending = following
    elapsed = time.perf_counter() - started
    with store.session() as s:
        audited = s.query(AuditEvent).filter(AuditEvent.action == "task_completed").count()
        kpis = s.query(TaskKpi).count()
    runtime.close()
    assert audited == kpis == tasks == instances * 10, (audited, kpis, tasks)
    return tasks / elapsed, tasks


def main() -> None:
    from tests.bpmn_builder import linear

    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--instances", type=int, default=60)
    ns = args.parse_args()
    model = linear("linear10", 10)
    with tempfile.TemporaryDirectory() as tmp:
        bare_spiff(model, 5)  # warm-up: imports, parser, caches
        facade_rate, tasks = facade(model, ns.instances, Path(tmp))
        bare_rate = bare_spiff(model, ns.instances)
    print(f"model: 10 user tasks in a row; instances: {ns.instances}; tasks completed per path: {tasks}")
    print(f"bare SpiffWorkflow (deserialize -> complete -> serialize, spec embedded): {bare_rate:8.1f} tasks/s")
    print(f"engine facade (load, complete, save, audit, KPI, commit; SQLite WAL):      {facade_rate:8.1f} tasks/s")
    print(f"P1 = facade / bare = {facade_rate / bare_rate:.2f}  (goal >= 1.0)")


if __name__ == "__main__":
    main()
