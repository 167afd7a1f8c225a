"""A Jornada installation of several nodes for the system tests: one config file, the ``jornada`` command run as
an operator runs it, ``jornada serve`` and ``jornada scheduler`` processes each with its own data folder (nothing
on local disk is shared between nodes, as on separate machines), an SMTP server that keeps what it receives, and
small HTTP helpers. Every process writes its output to a log file, shown when a test fails."""

from __future__ import annotations

import contextlib
import email
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from pathlib import Path
from typing import Any, TypeVar

import requests

from tests.helpers import ROOT

T = TypeVar("T")
STOP_SECONDS = 30.0  # a node gets this long to stop after SIGTERM before it is killed (gunicorn's graceful_timeout)
START_SECONDS = 90.0  # deadlines, not waits: generous for a busy machine

JORNADA = Path(sys.executable).with_name("jornada")
COMMAND = [str(JORNADA)] if JORNADA.exists() else [sys.executable, "-m", "engine._cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0, every: float = 0.1) -> T:
    """Poll ``probe`` until it returns something truthy (returned); fail naming ``what`` and its last value."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}; last seen: {found!r}")
        time.sleep(every)


def write_config(folder: Path, database_url: str, smtp_port: int) -> Path:
    """The one config file every node reads. The keys a node must share with the others are set here (the session
    secret, the audit anchor key); each node's data folder comes from its own environment."""
    path = folder / "config.toml"
    path.write_text(
        f"""
database_url = {json.dumps(database_url)}
data_dir = {json.dumps(str(folder / "var"))}

[scheduler]
timer_interval_seconds = 1
sweep_interval_seconds = 1
run_in_web = false

[mail]
transport = "smtp"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}

[web]
workers = 2
secret_key = "many-nodes-shared-secret"
cookie_secure = false

[audit]
anchor_key = "many-nodes-anchor-key"
anchor_interval_seconds = 2
""",
        encoding="utf-8",
    )
    return path


@dataclass
class Node:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    folder: Path
    config: Path
    nodes: list[Node] = field(default_factory=list)

    def env(self, node: str) -> dict[str, str]:
        (self.folder / node).mkdir(exist_ok=True)
        clean = {k: v for k, v in os.environ.items() if not k.startswith("JORNADA_")}
        return {
            **clean,
            "PYTHONPATH": str(ROOT),
            "JORNADA_CONFIG": str(self.config),
            "JORNADA_DATA_DIR": str(self.folder / node),  # each node's own disk
            "JORNADA_SCHEDULER_NODE_NAME": node,  # the name a scheduler's heartbeat carries
            # gunicorn's control socket goes to $XDG_RUNTIME_DIR/gunicorn.ctl, else one path in $HOME for every
            # server on the machine: each node gets its own
            "XDG_RUNTIME_DIR": str(self.folder / node),
        }

    def cli(self, *args: str, node: str = "admin", password: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``jornada ARGS`` as an operator on ``node`` (the new user's password for ``users add``); fails the
        test on a nonzero exit."""
        env = self.env(node)
        if password is not None:
            env["JORNADA_NEW_PASSWORD"] = password
        done = subprocess.run(
            [*COMMAND, *args], cwd=self.folder, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"jornada {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def _start(self, name: str, *args: str, url: str = "") -> Node:
        log = self.folder / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(  # its own process group: a kill takes its workers too
                [*COMMAND, *args],
                cwd=self.folder,
                env=self.env(name),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        node = Node(name, process, log, url)
        self.nodes.append(node)
        return node

    def serve(self, name: str) -> Node:
        port = free_port()
        return self._start(
            name, "serve", "--port", str(port), "--workers", "2", "--no-scheduler", url=f"http://127.0.0.1:{port}"
        )

    def scheduler(self, name: str) -> Node:
        return self._start(name, "scheduler")

    def wait_until_serving(self, node: Node) -> None:
        """Until the server's /healthz answers, healthy or not (the schedulers may not have beaten yet)."""

        def answers() -> bool:
            if not node.alive():
                raise AssertionError(f"{node.name} exited with {node.process.returncode}:\n{node.output()}")
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{node.url}/healthz", timeout=5).status_code in (200, 503)
            return False

        wait_for(f"{node.name} to answer on {node.url}", answers, timeout=START_SECONDS)

    def check_running(self, nodes: list[Node]) -> bool:
        """True; fails naming the first of ``nodes`` that exited, with its log."""
        for node in nodes:
            if not node.alive():
                raise AssertionError(f"{node.name} exited with {node.process.returncode}:\n{node.output()}")
        return True

    def stop(self) -> dict[str, int]:
        """SIGTERM every node, wait for each, kill (with its process group) what is still running; returns each
        node's exit code."""
        for node in self.nodes:
            if node.alive():
                node.process.send_signal(signal.SIGTERM)
        codes = {}
        for node in self.nodes:
            try:
                codes[node.name] = node.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(node.process.pid, signal.SIGKILL)
                codes[node.name] = node.process.wait()
        return codes

    def logs(self) -> str:
        return "\n".join(f"===== {node.name} ({node.log}) =====\n{node.output()[-20_000:]}" for node in self.nodes)


class Api:
    """The REST API of one server with a bearer token; one HTTP session per thread (requests' are not shared)."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self._local = threading.local()
        self._sessions: list[requests.Session] = []

    @property
    def http(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self.token}"
            self._local.session = session
            self._sessions.append(session)
        found: requests.Session = self._local.session
        return found

    def close(self) -> None:
        for session in self._sessions:
            session.close()

    def get(self, path: str) -> Any:
        answer = self.http.get(f"{self.url}/api/v1{path}", timeout=60)
        assert answer.status_code == 200, f"GET {self.url}{path}: {answer.status_code} {answer.text}"
        return answer.json()

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.http.post(f"{self.url}/api/v1{path}", json=body, timeout=60)


def sign_in(url: str, username: str, password: str) -> requests.Session:
    """A browser-like session signed in on the server at ``url`` (the session cookie is good on every server)."""
    browser = requests.Session()
    page = browser.get(f"{url}/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, f"no CSRF token on {url}/login"
    answer = browser.post(
        f"{url}/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, f"sign-in as {username} on {url}: {answer.status_code}"
    return browser


# What differs between two renderings of the same page by design: the per-request CSRF tokens, and the ages
# (inbox, alerts) and "overdue by N minutes" badges, written from each request's own clock.
_PER_REQUEST = [
    (re.compile(r'(name="csrf_token" value=")[^"]*'), r"\1…"),
    (re.compile(r'(<meta name="csrf-token" content=")[^"]*'), r"\1…"),
    (re.compile(r'(<td class="[^"]*\bage\b[^"]*"[^>]*>)[^<]*'), r"\1…"),
    (re.compile(r'(<span class="badge badge-[a-z]+" title="[^"]*">)[^<]*'), r"\1…"),
]


def page(browser: requests.Session, url: str) -> str:
    answer = browser.get(url, timeout=60)
    assert answer.status_code == 200, f"GET {url}: {answer.status_code}"
    text = answer.text
    for pattern, replacement in _PER_REQUEST:
        text = pattern.sub(replacement, text)
    return text


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping the subject of every mail it receives."""

    subjects: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.subjects.append(str(message["Subject"]))
        return "250 OK"

    def received(self) -> list[str]:
        with self.lock:
            return list(self.subjects)


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    from aiosmtpd.controller import Controller

    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
