"""Acceptance check: deploy and run the models designers bring, as drawn.

Every BPMN file of ../shared/conformance/miwg/ (the OMG MIWG reference models) and of each folder given on the command
line is deployed on a fresh temporary SQLite database, together with the sibling files of its folder that define the
processes its call activities call and the DMN decisions its business rule tasks name. Each executable process the
file defines is started for a customer on file and driven: every ready human task is completed with form-valid data
(each field gets a value of its type), and when nothing is ready the injected clock moves to the earliest timer and
the timer pass runs. Nothing else is delivered (no messages, no signals). A process stops when it completes, stops in
an incident, waits with nothing the bench may do, or after ``--rounds`` rounds.

Prints a table (files, deployed, processes, completed, waiting, incident, refused, errors) and the refusal, incident
and waiting reasons, grouped by a normalised message (quoted names and numbers blanked), most frequent first.
``errors`` counts files on which the bench itself hit an unexpected exception (recorded, the run goes on).
Usage: python bench/conformance.py [FOLDER ...] [--no-miwg] [--rounds 50] [--json] [-v]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import select  # noqa: E402

from engine import (  # noqa: E402
    DeployError,
    EngineError,
    FormValidationError,
    FrozenClock,
    Runtime,
    Store,
    load_config,
)
from engine._forms import Field  # noqa: E402
from engine._outbox import LogTransport  # noqa: E402
from engine._sandbox import Sandbox  # noqa: E402
from engine.models import HumanTask, ProcessDefinition, ProcessInstance, Timer  # noqa: E402
from processes import build_registry  # noqa: E402
from processes.customers import create_customer  # noqa: E402

MIWG = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "miwg"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
SAFE = etree.XMLParser(resolve_entities=False, no_network=True)
MODEL_SUFFIXES = (".bpmn", ".bpmn20.xml")
DMN_SUFFIX = ".dmn"
DEFAULT_ROUNDS = 50
COLUMNS = ("files", "deployed", "processes", "completed", "waiting", "incident", "refused", "errors")


# ---- results ---------------------------------------------------------------------------------------------------
@dataclass
class ProcessRun:
    process_id: str
    status: str  # completed | waiting | incident
    reason: str = ""  # incident: why; waiting: what it waits on
    group: str = ""  # the reason normalised, for grouping
    tasks_completed: int = 0
    timers_fired: int = 0


@dataclass
class FileResult:
    folder: str
    file: str
    status: str  # deployed | refused | error
    siblings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # refusal problems (file:line (element): message), or the error
    groups: list[str] = field(default_factory=list)  # each problem's message normalised, for grouping
    runs: list[ProcessRun] = field(default_factory=list)


@dataclass
class Report:
    files: list[FileResult]
    seconds: float = 0.0

    def totals(self) -> dict[str, int]:
        runs = [run for f in self.files for run in f.runs]
        return {
            "files": len(self.files),
            "deployed": sum(f.status == "deployed" for f in self.files),
            "processes": len(runs),
            "completed": sum(r.status == "completed" for r in runs),
            "waiting": sum(r.status == "waiting" for r in runs),
            "incident": sum(r.status == "incident" for r in runs),
            "refused": sum(f.status == "refused" for f in self.files),
            "errors": sum(f.status == "error" for f in self.files),
        }

    def refusal_reasons(self) -> list[tuple[str, int, int]]:
        return grouped((g, f.file) for f in self.files if f.status == "refused" for g in f.groups)

    def error_reasons(self) -> list[tuple[str, int, int]]:
        return grouped((g, f.file) for f in self.files if f.status == "error" for g in f.groups)

    def run_reasons(self, status: str) -> list[tuple[str, int, int]]:
        return grouped((r.group, f.file) for f in self.files for r in f.runs if r.status == status)


def normalise(message: str, ids: Iterable[str] = ()) -> str:
    """A message with what varies between models blanked: the model's element and process ids (and the element
    name in brackets after one), quoted text, ${...}/#{...} expressions, lists of names, numbers."""
    text = message
    for name in sorted(set(ids), key=len, reverse=True):
        text = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])( \([^()]*\))?", "…", text)
    text = re.sub(r"[$#]\{[^}]*\}", "…", text)
    text = re.sub(r"(?<=: )[\w.-]+(?:, [\w.-]+){2,}", "…", text)
    text = re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`", "'…'", text)
    text = re.sub(r"\b\d+(\.\d+)?\b", "N", text)
    text = re.sub(r"\((?:'…'(?:, )?)+\)", "('…')", text)
    return re.sub(r"\s+", " ", text).strip()


def grouped(items: Iterable[tuple[str, str]]) -> list[tuple[str, int, int]]:
    """(normalised message, occurrences, files), most frequent first."""
    count: Counter[str] = Counter()
    files: dict[str, set[str]] = {}
    for message, file in items:
        key = message
        count[key] += 1
        files.setdefault(key, set()).add(file)
    return sorted(((k, n, len(files[k])) for k, n in count.items()), key=lambda row: (-row[1], row[0]))


def ids_of(root: etree._Element | None) -> set[str]:
    """The element ids of a model (bpmn ids, process ids, flow ids) that cannot be mistaken for a word of a message:
    an id in plain lowercase letters (``call``, ``start``) is left out."""
    return set() if root is None else {i for i in root.xpath("//@id") if not re.fullmatch(r"[a-z]+", i)}


# ---- which siblings a file needs -------------------------------------------------------------------------------
def parse(path: Path) -> etree._Element | None:
    try:
        return etree.parse(str(path), SAFE).getroot()
    except (etree.XMLSyntaxError, OSError):
        return None


def defined_processes(root: etree._Element) -> set[str]:
    return {p.get("id", "") for p in root.iter(f"{{{BPMN}}}process")} - {""}


def called_processes(root: etree._Element) -> set[str]:
    called = {c.get("calledElement", "") for c in root.iter(f"{{{BPMN}}}callActivity")}
    called |= {c.get("processId", "") for c in root.iter(f"{{{ZEEBE}}}calledElement")}
    return called - {""}


def referenced_decisions(root: etree._Element) -> set[str]:
    found = set()
    for task in root.iter(f"{{{BPMN}}}businessRuleTask"):
        for name, value in task.attrib.items():
            if etree.QName(name).localname in ("decisionRef", "decisionId"):
                found.add(value)
        for child in task.iter(f"{{{ZEEBE}}}calledDecision"):
            found.add(child.get("decisionId", ""))
    return found - {""}


def defined_decisions(root: etree._Element) -> set[str]:
    return {el.get("id", "") for el in root.iter() if etree.QName(el).localname == "decision"} - {""}


def siblings_needed(model: Path, candidates: Sequence[Path]) -> list[Path]:
    """The files of ``candidates`` that define the processes ``model`` calls (transitively) and the DMN decisions
    its business rule tasks (and those of the processes it calls) name."""
    roots = {path: parse(path) for path in (model, *candidates)}
    wanted: list[Path] = []
    pending = [model]
    while pending:
        root = roots[pending.pop()]
        if root is None:
            continue
        calls, decisions = called_processes(root) - defined_processes(root), referenced_decisions(root)
        for path, other in roots.items():
            if other is None or path == model or path in wanted:
                continue
            dmn = path.suffix.lower() == DMN_SUFFIX
            if defined_processes(other) & calls or (dmn and defined_decisions(other) & decisions):
                wanted.append(path)
                pending.append(path)
    return wanted


# ---- running one file --------------------------------------------------------------------------------------------
def field_value(f: Field, today: date) -> Any:
    """A value the form accepts for ``f``."""
    if f.default and f.type != "enum":
        return f.default
    if f.type == "boolean":
        return True
    if f.type == "long":
        low = f.constraints.get("min")
        try:
            return max(1, int(float(low))) if low not in (None, "") else 1
        except ValueError:
            return 1
    if f.type == "date":
        return today.isoformat()
    if f.type == "enum":
        return f.options[0][0] if f.options else ""
    shortest = f.constraints.get("minlength")
    try:
        length = max(1, int(float(shortest))) if shortest not in (None, "") else 1
    except ValueError:
        length = 1
    return "x" * length


def complete_task(runtime: Runtime, task_id: int) -> None:
    """Complete a human task with a value for every field of its form; a field the form still misses (a data
    output the task writes) gets "x" on a second try."""
    view = runtime.task_view(task_id)
    today = runtime.clock.now().date()
    data = {f.id: field_value(f, today) for f in view.fields if not f.readonly}
    try:
        runtime.complete(task_id, actor="bench", data=data)
    except FormValidationError as exc:
        data.update({e.field: "x" for e in exc.errors if e.field not in data})
        runtime.complete(task_id, actor="bench", data=data)


def waiting_on(state_json: str, xml: str) -> str:
    """What a waiting instance waits on, by BPMN element kind (e.g. 'intermediateCatchEvent (message)')."""
    root = etree.fromstring(xml.encode("utf-8"), SAFE)
    kinds: set[str] = set()

    def walk(workflow: dict[str, Any]) -> None:
        for task in workflow.get("tasks", {}).values():
            if task.get("state") != TaskState.WAITING:
                continue
            found = root.xpath("//*[@id=$i]", i=task.get("task_spec", ""))
            if not found:
                continue
            element = found[0]
            definitions = [
                etree.QName(child).localname.removesuffix("EventDefinition")
                for child in element
                if etree.QName(child).localname.endswith("EventDefinition")
            ]
            kind = etree.QName(element).localname
            kinds.add(f"{kind} ({', '.join(definitions)})" if definitions else kind)
        for sub in workflow.get("subprocesses", {}).values():
            walk(sub)

    walk(json.loads(state_json or "{}"))
    return "waits on " + ", ".join(sorted(kinds)) if kinds else "waits with nothing ready"


def drive(runtime: Runtime, clock: FrozenClock, process_id: str, number: int, rounds: int) -> ProcessRun:
    customer = f"BENCH-{number}"
    with runtime.unit() as u:  # the domain's start guard wants a customer on file
        create_customer(u.session, customer, f"Bench customer {number}", now=u.now)
    run = ProcessRun(process_id, "incident")
    try:
        instance_id = runtime.start(process_id, actor="bench", customer_id=customer)
    except EngineError as exc:
        run.reason = f"not started: {exc}"
        return run
    exhausted = False
    while True:  # each round completes one human task or fires the earliest timer
        with runtime.store.session() as s:
            instance = s.get(ProcessInstance, instance_id)
            assert instance is not None
            if instance.status not in ("running", "waiting"):
                break
            ready = s.execute(
                select(HumanTask.id)
                .where(HumanTask.instance_id == instance_id, HumanTask.state.in_(("ready", "claimed")))
                .order_by(HumanTask.id)
                .limit(1)
            ).scalar()
            due_at = s.execute(
                select(Timer.due_at).where(Timer.instance_id == instance_id).order_by(Timer.due_at).limit(1)
            ).scalar()
        if ready is None and due_at is None:
            break
        if run.tasks_completed + run.timers_fired >= rounds:
            exhausted = True
            break
        if ready is not None:  # one task a round: completing it may cancel or create others
            try:
                complete_task(runtime, ready)
            except EngineError as exc:
                run.reason = f"task not completed: {exc}"
                return run
            run.tasks_completed += 1
        else:
            assert due_at is not None
            clock.set(max(clock.now(), due_at))  # a timer fires at its due moment
            runtime.fire_due_timers()
            run.timers_fired += 1
    with runtime.store.session() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None
        definition = s.get(ProcessDefinition, instance.definition_id)
        status, incident, state_json = instance.status, instance.incident, instance.state_json
        xml = definition.bpmn_xml if definition is not None else ""
    if status == "completed":
        run.status = "completed"
    elif status == "incident":
        run.reason = incident or "incident without a reason"
    elif status == "cancelled":
        run.reason = "cancelled"
    elif exhausted:
        run.status, run.reason = "waiting", f"still running after {rounds} rounds"
    else:
        run.status, run.reason = "waiting", waiting_on(state_json, xml)
    return run


def run_file(model: Path, siblings: list[Path], sandbox: Sandbox, rounds: int) -> FileResult:
    """Deploy ``model`` with ``siblings`` on a fresh database and drive each executable process ``model`` defines;
    an unexpected exception is recorded as the file's bench error."""
    result = FileResult(model.parent.name, model.name, "error", [p.name for p in siblings])
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmp:
        try:
            deploy_and_drive(result, [model, *siblings], Path(tmp), sandbox, rounds)
        except Exception as exc:  # one model must not stop the bench
            last = traceback.extract_tb(exc.__traceback__)[-1]
            result.status, result.runs, result.groups = "error", [], []
            result.problems = [f"{type(exc).__name__}: {exc} (at {Path(last.filename).name}:{last.lineno})"]
    ids = set().union(*(ids_of(parse(p)) for p in (model, *siblings)))
    result.groups = [normalise(g, ids) for g in (result.groups or result.problems)]
    for run in result.runs:
        run.group = normalise(run.reason, ids)
    return result


def deploy_and_drive(result: FileResult, paths: list[Path], folder: Path, sandbox: Sandbox, rounds: int) -> None:
    """Deploy ``paths`` (the model first) on a new SQLite database in ``folder``; record the refusal, or run each
    executable process the model defines."""
    url = f"sqlite:///{folder / 'bench.db'}"
    store = Store(url)
    store.create_schema()
    config = load_config({"database_url": url, "data_dir": str(folder)}, environ={})
    clock = FrozenClock()
    runtime = Runtime(store, build_registry(), clock=clock, config=config, transport=LogTransport(), sandbox=sandbox)
    try:
        try:
            deployed = runtime.deploy({p.name: p.read_bytes() for p in paths}, actor="bench")
        except DeployError as exc:
            result.status = "refused"
            own = [p for p in exc.problems if p.file == result.file] or exc.problems  # or the siblings' ones
            result.problems = [str(p) for p in own]
            result.groups = [p.message if p.file == result.file else f"in a called file: {p.message}" for p in own]
            return
        result.status = "deployed"
        with store.session() as s:
            defined_here = [
                d.process_id
                for d in deployed
                if (row := s.get(ProcessDefinition, d.definition_id)) is not None and row.file_name == result.file
            ]
        for number, process_id in enumerate(defined_here):
            result.runs.append(drive(runtime, clock, process_id, number, rounds))
    finally:
        runtime.close()


def models_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(MODEL_SUFFIXES))


def run_folders(folders: Sequence[Path], rounds: int = DEFAULT_ROUNDS, progress: TextIO | None = None) -> Report:
    started = time.perf_counter()
    report = Report([])
    sandbox = Sandbox(1.0, 512)
    try:
        for folder in folders:
            candidates = sorted(
                p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith((*MODEL_SUFFIXES, DMN_SUFFIX))
            )
            for model in models_of(folder):
                if progress is not None:
                    print(f"  {folder.name}/{model.name} ...", file=progress, flush=True)
                report.files.append(run_file(model, siblings_needed(model, candidates), sandbox, rounds))
    finally:
        sandbox.close()
    report.seconds = time.perf_counter() - started
    return report


# ---- output ------------------------------------------------------------------------------------------------------
def print_table(report: Report, out: TextIO, verbose: bool = False) -> None:
    totals = report.totals()
    widths = [max(len(c), 5) for c in COLUMNS]
    print("  ".join(c.rjust(w) for c, w in zip(COLUMNS, widths, strict=True)), file=out)
    print("  ".join(str(totals[c]).rjust(w) for c, w in zip(COLUMNS, widths, strict=True)), file=out)
    sections = [
        ("refusal reasons", report.refusal_reasons()),
        ("incident reasons", report.run_reasons("incident")),
        ("waiting reasons", report.run_reasons("waiting")),
        ("bench errors", report.error_reasons()),
    ]
    for title, rows in sections:
        if not rows:
            continue
        print(f"\n{title} (count, files, reason):", file=out)
        for message, count, files in rows:
            print(f"  {count:5d}  {files:3d}  {message}", file=out)
    print("\nper file:", file=out)
    for f in report.files:
        runs = ", ".join(f"{r.process_id}: {r.status}" for r in f.runs)
        with_siblings = f" (with {', '.join(f.siblings)})" if f.siblings else ""
        detail = runs if f.status == "deployed" else f"{len(f.problems)} problem(s)"
        print(f"  {f.folder}/{f.file}{with_siblings}: {f.status}; {detail}", file=out)
        for line in (f.problems + [f"{r.process_id}: {r.reason}" for r in f.runs if r.reason]) if verbose else []:
            print(f"      {line}", file=out)
    print(f"\n{len(report.files)} files in {report.seconds:.1f} s", file=out)


def as_json(report: Report) -> dict[str, Any]:
    def rows(items: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
        return [{"reason": m, "count": n, "files": k} for m, n, k in items]

    return {
        "totals": report.totals(),
        "refusal_reasons": rows(report.refusal_reasons()),
        "incident_reasons": rows(report.run_reasons("incident")),
        "waiting_reasons": rows(report.run_reasons("waiting")),
        "bench_errors": rows(report.error_reasons()),
        "files": [asdict(f) for f in report.files],
        "seconds": round(report.seconds, 2),
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path, help="more folders of BPMN (and DMN) files")
    parser.add_argument("--no-miwg", action="store_true", help=f"do not run the MIWG models ({MIWG})")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="rounds per process (default 50)")
    parser.add_argument("--json", action="store_true", help="print machine-readable output")
    parser.add_argument("-v", "--verbose", action="store_true", help="list each file's problems and reasons")
    args = parser.parse_args(argv)
    folders: list[Path] = []
    if not args.no_miwg:
        if not MIWG.is_dir():
            print(f"the MIWG reference models are missing: {MIWG} (expected at ../shared/conformance/miwg)", file=out)
            return 2
        folders.append(MIWG)
    for folder in args.folders:
        if not folder.is_dir():
            print(f"not a folder: {folder}", file=out)
            return 2
        folders.append(folder)
    if not folders:
        print("nothing to run: give a folder or drop --no-miwg", file=out)
        return 2
    report = run_folders(folders, args.rounds, progress=None if args.json else sys.stderr)
    if args.json:
        print(json.dumps(as_json(report), indent=2), file=out)
    else:
        print_table(report, out, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
