"""P5: task completions per second through the REST API ÷ through the engine facade, same model, same run.

The facade path: ``Runtime.complete`` in this process, one thread. The HTTP path: POST /api/v1/tasks/<id>/complete
with the bearer token of a service account (staff, group csm: the group check runs on every request), from
keep-alive client threads spread over the workers of a real gunicorn server (gthread workers × 4 threads) on
loopback, on the same SQLite database (WAL); which worker holds a connection is read from /proc (Linux). The
clients speak HTTP/1.1 on plain sockets: the load generator shares the two cores with the server, so it is kept
lean. Each path starts its own fresh instances of the 10-user-task model (``Runtime.start`` / POST
/api/v1/instances, one at a time) and completes every task of them; each step finds the instance's ready task with
the same indexed read. The paths alternate for a few rounds and each path's best round counts, so a burst of load
from elsewhere on the machine skews less.

With 2 workers (the default) it prints P5, goal >= 0.8. With ``--workers 1 --clients 1`` it measures the cost of
the HTTP layer itself (issue 13): one worker, one sequential client, and for completions and for starts the rate of
each path, the median and p90 ms of one operation, and HTTP ÷ facade, goal >= 0.5 for both.
Usage: python bench/http_throughput.py [--instances 60] [--rounds 5] [--workers 2] [--clients 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROCESS = "linear10"
SERVICE = "bench-service"
CUSTOMERS = 200  # the customers instances are started for, each in turn
DATA = {"data": {"note": "done"}}
READY_TASK = "SELECT id FROM human_task WHERE instance_id = ? AND state = 'ready'"
P5_GOAL = 0.8  # two workers, keep-alive clients placed one per worker (issue 13 raised it from 0.5)
SINGLE_GOAL = 0.5  # one worker, one sequential client: HTTP ÷ facade, for completions and for starts (issue 13)


@dataclass
class Round:
    """One path's round of one kind of operation: operations per second over the round, and each operation's own
    time (seconds), from which the median and p90 are read."""

    rate: float
    times: list[float]


def timed(times: list[float], operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``operation(*args, **kwargs)``, its duration appended to ``times`` (list.append is atomic: the client threads
    share one list)."""
    began = time.perf_counter()
    result = operation(*args, **kwargs)
    times.append(time.perf_counter() - began)
    return result


def ready_task(db: sqlite3.Connection, instance_id: str) -> int | None:
    row = db.execute(READY_TASK, (instance_id,)).fetchone()
    return int(row[0]) if row else None


def work_through(
    db_path: Path, instances: list[str], complete: Callable[[int], object], times: list[float] | None = None
) -> int:
    """Complete every task of ``instances``, one instance after the other, each completion's time appended to
    ``times`` when given (bench/cs_kpis.py only counts); returns the tasks completed."""
    db = sqlite3.connect(db_path)
    times = [] if times is None else times
    done = 0
    try:
        for instance_id in instances:
            while (task_id := ready_task(db, instance_id)) is not None:
                timed(times, complete, task_id)
                done += 1
    finally:
        db.close()
    return done


def setup(folder: Path) -> tuple[Any, str, str]:
    """Migrate a fresh database, deploy the model, make the service account; returns (runtime, url, token)."""
    from engine import Runtime, Store, load_config
    from processes import build_registry
    from processes.customers import create_customer
    from tests.bpmn_builder import linear
    from web.accounts import users

    url = f"sqlite:///{folder / 'bench.db'}"
    store = Store(url)
    store.migrate()
    config = load_config({"database_url": url, "data_dir": str(folder)}, environ={})
    runtime = Runtime(store, build_registry(), config=config)
    runtime.deploy({f"{PROCESS}.bpmn": linear(PROCESS, 10)}, actor="bench")
    with runtime.unit() as u:  # instances are started for customers that exist (the domain's start guard)
        for prefix in ("F", "H"):
            for n in range(CUSTOMERS):
                create_customer(u.session, f"{prefix}-{n}", f"Customer {prefix}{n}", now=u.now)
    user_id = users.add_user(runtime, SERVICE, "bench-password", roles=["staff"], groups=["csm"], actor="bench")
    return runtime, url, users.create_token(runtime, user_id, "bench", actor="bench")


def facade(runtime: Any, db_path: Path, instances: int) -> tuple[Round, Round]:
    """(starts, completions): ``instances`` started one after the other, then every task of them completed."""
    start_times: list[float] = []
    began = time.perf_counter()
    started_ids = [
        timed(start_times, runtime.start, PROCESS, actor="bench", customer_id=f"F-{n % CUSTOMERS}")
        for n in range(instances)
    ]
    starts = Round(instances / (time.perf_counter() - began), start_times)

    def complete(task_id: int) -> None:
        runtime.complete(task_id, actor="bench", data={"note": "done"})

    times: list[float] = []
    began = time.perf_counter()
    tasks = work_through(db_path, started_ids, complete, times)
    return starts, Round(tasks / (time.perf_counter() - began), times)


# -- the HTTP path ---------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(folder: Path, url: str, port: int, workers: int = 2) -> subprocess.Popen[bytes]:
    """gunicorn with ``workers`` of the worker class and threads ``jornada serve`` runs (web/server.py: gunicorn's
    gthread worker serving a kept-alive connection's next request in place); bench/cs_kpis.py starts it too, with
    the default 2."""
    from web.server import THREADS, WORKER_CLASS

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JORNADA_")},
        "JORNADA_CONFIG": str(folder / "no-config.toml"),  # defaults + the variables below only
        "JORNADA_DATABASE_URL": url,
        "JORNADA_DATA_DIR": str(folder),
        "JORNADA_WEB_SECRET_KEY": "bench-secret",
    }
    # --keep-alive: the clients' connections (and so their worker's cached workflows) outlive the facade rounds
    options = ["-w", str(workers), "-k", WORKER_CLASS, "--threads", str(THREADS), "--keep-alive", "120"]
    command = [sys.executable, "-m", "gunicorn", *options, "-b", f"127.0.0.1:{port}", "web:create_app()"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until_serving(server: subprocess.Popen[bytes], port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            probe = Client(port, token="")  # the OpenAPI document needs no token
            status, _ = probe.request("GET", "/api/v1/openapi.json")
            probe.close()
            if status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer on port {port} within {timeout} s")


class Client:
    """One keep-alive HTTP/1.1 connection holding the service account's token (lean: see the module's doc)."""

    def __init__(self, port: int, token: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self.head = f"Host: 127.0.0.1:{port}\r\n{auth}"
        self.buffer = b""

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else b""
        kind = "Content-Type: application/json\r\n" if body is not None else ""
        start = f"{method} {path} HTTP/1.1\r\n{self.head}{kind}Content-Length: {len(payload)}\r\n\r\n"
        self.sock.sendall(start.encode() + payload)
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._receive()
        head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4 :]
        lines = head.split("\r\n")
        fields = dict(line.split(":", 1) for line in lines[1:])
        length = int(next(v for k, v in fields.items() if k.lower() == "content-length"))
        while len(self.buffer) < length:
            self._receive()
        answer, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(lines[0].split()[1]), answer

    def _receive(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def post(self, path: str, body: dict[str, Any], expect: int = 200) -> dict[str, Any]:
        status, answer = self.request("POST", path, body)
        if status != expect:
            raise RuntimeError(f"POST {path}: {status} {answer.decode()}")
        return dict(json.loads(answer))

    def close(self) -> None:
        self.sock.close()


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers: the master's child processes."""
    tasks = Path(f"/proc/{master}/task")
    return sorted({int(pid) for task in tasks.iterdir() for pid in (task / "children").read_text().split()})


def serving_worker(sock: socket.socket, master: int) -> int | None:
    """The worker that accepted ``sock``: the one holding the server side of its TCP connection (Linux /proc)."""
    mine, server = sock.getsockname()[1], sock.getpeername()[1]
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{server:04X}") and fields[2].endswith(f":{mine:04X}"):
            socket_link = f"socket:[{fields[9]}]"
            break
    else:
        return None
    for pid in worker_pids(master):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == socket_link:
                    return pid
    return None


def placed_clients(port: int, token: str, clients: int, master: int) -> dict[int, list[Client]]:
    """``clients`` keep-alive connections, as many on each worker (worker pid -> its clients). Which worker accepts a
    connection is a race; left to it, the connections often all land on one worker while the other idles."""
    workers = worker_pids(master)
    share = -(-clients // len(workers))
    placed: dict[int, list[Client]] = {pid: [] for pid in workers}
    for _ in range(50 * clients):
        if sum(map(len, placed.values())) == clients:
            return placed
        client = Client(port, token)
        client.request("GET", "/api/v1/tasks?limit=1")
        pid = serving_worker(client.sock, master)
        if pid in placed and len(placed[pid]) < share:
            placed[pid].append(client)
        else:
            client.close()
    raise SystemExit(f"could not spread {clients} connections over the workers {workers}")


class HttpDriver:
    """Keep-alive clients spread over the workers. They start a round's instances through the API one at a time,
    taking turns (this also warms each client's worker), then all complete their instances' tasks at once."""

    def __init__(self, port: int, token: str, db_path: Path, clients: int, master: int) -> None:
        placed = placed_clients(port, token, clients, master)
        self.pool = [client for found in placed.values() for client in found]
        self.spread = [len(found) for found in placed.values()]
        self.db_path = db_path

    def run(self, instances: int) -> tuple[Round, Round]:
        """(starts, completions) of one round."""
        shares: list[list[str]] = [[] for _ in self.pool]
        start_times: list[float] = []
        began = time.perf_counter()
        for n in range(instances):
            i = n % len(self.pool)
            body = {"process_id": PROCESS, "customer_id": f"H-{n % CUSTOMERS}"}
            shares[i].append(timed(start_times, self.pool[i].post, "/api/v1/instances", body, 201)["id"])
        starts = Round(instances / (time.perf_counter() - began), start_times)
        times: list[float] = []

        def work(i: int) -> int:
            client = self.pool[i]

            def complete(task: int) -> None:
                client.post(f"/api/v1/tasks/{task}/complete", DATA)

            return work_through(self.db_path, shares[i], complete, times)

        return starts, Round(in_parallel(len(self.pool), work)[0], times)


def in_parallel(clients: int, work: Callable[[int], int]) -> tuple[float, int]:
    """Run ``work(i)`` for each client in its own thread, all released at once; returns (items per second, items),
    timed from the release to the last thread's end. A client's failure is raised after the round."""
    counts = [0] * clients
    errors: list[BaseException] = []
    gate = threading.Barrier(clients + 1)

    def run(i: int) -> None:
        gate.wait()
        try:
            counts[i] = work(i)
        except BaseException as exc:  # reported after the round
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return sum(counts) / elapsed, sum(counts)


def check(db_path: Path, expected: int, through_http: int, instances: int, started_over_http: int) -> None:
    """Every task of both paths completed, each with its audit event and KPI row; every instance started once and
    finished."""
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        completed = db.execute("SELECT count(*) FROM human_task WHERE state = 'completed'").fetchone()[0]
        audited = db.execute("SELECT count(*) FROM audit_event WHERE action = 'task_completed'").fetchone()[0]
        kpis = db.execute("SELECT count(*) FROM task_kpi").fetchone()[0]
        by_service = db.execute("SELECT count(*) FROM task_kpi WHERE completed_by = ?", (SERVICE,)).fetchone()[0]
        started = db.execute("SELECT count(*) FROM process_instance").fetchone()[0]
        finished = db.execute("SELECT count(*) FROM process_instance WHERE status = 'completed'").fetchone()[0]
        by_service_started = db.execute(
            "SELECT count(*) FROM process_instance WHERE started_by = ?", (SERVICE,)
        ).fetchone()[0]
    assert completed == audited == kpis == expected, (completed, audited, kpis, expected)
    assert by_service == through_http, (by_service, through_http)
    assert started == finished == instances, (started, finished, instances)
    assert by_service_started == started_over_http, (by_service_started, started_over_http)


def best(rounds: list[Round]) -> Round:
    return max(rounds, key=lambda found: found.rate)


def rates(rounds: list[Round], unit: str) -> str:
    """The best round's rate and every round's, as the default report has always printed them."""
    return f"{best(rounds).rate:8.1f} {unit}/s  (rounds: {', '.join(f'{r.rate:.0f}' for r in rounds)})"


def per_operation(rounds: list[Round]) -> str:
    """The best round's rate, median and p90 ms of one operation, and every round's rate."""
    found = best(rounds)
    p90 = statistics.quantiles(found.times, n=10, method="inclusive")[-1]
    median = statistics.median(found.times)
    every = ", ".join(f"{r.rate:.0f}" for r in rounds)
    return f"{found.rate:8.1f}/s  median {median * 1000:6.2f} ms  p90 {p90 * 1000:6.2f} ms  (rounds: {every})"


def ratio(http: list[Round], facade_rounds: list[Round]) -> float:
    return best(http).rate / best(facade_rounds).rate


def report_p5(ns: argparse.Namespace, facade_tasks: list[Round], http_tasks: list[Round], spread: list[int]) -> None:
    """The default report (the P5 line), unchanged in form since P5 was first measured."""
    print(f"model: 10 user tasks in a row; per path and round: {ns.instances} instances, {ns.instances * 10} tasks")
    print(f"engine facade (Runtime.complete in-process, 1 thread; SQLite WAL): {rates(facade_tasks, 'tasks')}")
    clients = " + ".join(map(str, spread))
    print(
        f"HTTP API (POST /api/v1/tasks/<id>/complete; gunicorn {ns.workers} workers x 4 threads; "
        f"clients per worker {clients}):"
    )
    print(f"                                                                   {rates(http_tasks, 'tasks')}")
    print(f"best of {ns.rounds} alternating rounds each")
    print(f"P5 = http / facade = {ratio(http_tasks, facade_tasks):.2f}  (goal >= {P5_GOAL})")


def report_single(ns: argparse.Namespace, runs: dict[str, list[Round]]) -> None:
    """The single-worker report: what the HTTP layer adds to one completion and to one start."""
    print(f"model: 10 user tasks in a row; per path and round: {ns.instances} instances, {ns.instances * 10} tasks")
    clients = "1 sequential keep-alive client" if ns.clients == 1 else f"{ns.clients} keep-alive clients"
    print(f"gunicorn 1 worker x 4 threads, {clients}; SQLite WAL; best of {ns.rounds} alternating rounds each")
    for kind, facade_path, http_path in (
        ("completions", "Runtime.complete", "POST /api/v1/tasks/<id>/complete"),
        ("starts", "Runtime.start", "POST /api/v1/instances"),
    ):
        print(f"{kind:<11}  facade  {facade_path:<32} {per_operation(runs[f'facade {kind}'])}")
        print(f"{kind:<11}  HTTP    {http_path:<32} {per_operation(runs[f'http {kind}'])}")
        found = ratio(runs[f"http {kind}"], runs[f"facade {kind}"])
        print(f"{kind:<11}  HTTP / facade = {found:.2f}  (goal >= {SINGLE_GOAL})")


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--instances", type=int, default=60, help="instances per path and round (10 tasks each)")
    args.add_argument("--rounds", type=int, default=5, help="alternating rounds; each path's best round counts")
    args.add_argument("--workers", type=int, default=2, help="gunicorn gthread workers; 1: the single-worker report")
    # One in-flight request per worker keeps both busy; on 2 cores more only queue on the GIL and the SQLite lock.
    args.add_argument("--clients", type=int, default=2, help="HTTP client threads, spread over the workers")
    ns = args.parse_args(argv)
    runs: dict[str, list[Round]] = {
        f"{path} {kind}": [] for path in ("facade", "http") for kind in ("starts", "completions")
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db_path = folder / "bench.db"
        runtime, url, token = setup(folder)
        facade(runtime, db_path, 5)  # warm-up: imports, parser, caches
        port = free_port()
        server = start_server(folder, url, port, ns.workers)
        try:
            wait_until_serving(server, port)
            driver = HttpDriver(port, token, db_path, ns.clients, server.pid)
            for _ in range(ns.rounds):
                for path, (starts, completions) in (
                    ("facade", facade(runtime, db_path, ns.instances)),
                    ("http", driver.run(ns.instances)),
                ):
                    runs[f"{path} starts"].append(starts)
                    runs[f"{path} completions"].append(completions)
        finally:
            server.terminate()
            server.wait(30)
            runtime.close()
        tasks = ns.instances * 10
        instances = 5 + 2 * ns.rounds * ns.instances
        check(db_path, 50 + 2 * ns.rounds * tasks, ns.rounds * tasks, instances, ns.rounds * ns.instances)
    if ns.workers == 1:
        report_single(ns, runs)
    else:
        report_p5(ns, runs["facade completions"], runs["http completions"], driver.spread)


if __name__ == "__main__":
    main()
