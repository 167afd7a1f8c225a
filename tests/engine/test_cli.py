"""The ``jornada`` command, driven as a user would, on its own SQLite database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.bpmn_builder import linear


def test_a_task_goes_from_deploy_to_kpis_through_the_command_line(cli, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "lin.bpmn"
    model.write_bytes(linear("lin", 1, group="support"))
    assert cli("init-db") == 0
    assert cli("deploy", str(model)) == 0
    assert "lin v1 (deployed)" in capsys.readouterr().out
    assert cli("customers", "add", "--id", "C-9", "--name", "Nine") == 0
    assert cli("start", "lin", "--customer", "C-9", "--data", '{"x": 1}') == 0
    capsys.readouterr()
    assert cli("tasks", "--role", "support") == 0
    listing = capsys.readouterr().out
    assert "Step 1" in listing and "C-9" in listing
    task_id = listing.splitlines()[1].split()[0]
    assert cli("--as", "carla", "claim", task_id) == 0
    assert cli("--as", "carla", "complete", task_id, "--data", '{"note": "fixed"}') == 0
    assert "instance is completed" in capsys.readouterr().out
    assert cli("kpi", "steps") == 0
    assert "Step 1" in capsys.readouterr().out
    assert cli("audit", "verify") == 0
    assert "audit chain OK" in capsys.readouterr().out
    out = tmp_path / "audit.csv"
    assert cli("audit", "export", "--out", str(out)) == 0
    assert out.read_text().splitlines()[0].startswith("seq,at,actor,action")


def test_audit_verify_exits_nonzero_and_names_the_tampered_row(cli, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "lin.bpmn"
    model.write_bytes(linear("lin", 1))
    cli("init-db")
    cli("deploy", str(model))
    cli("customers", "add", "--id", "C-9", "--name", "Nine")
    cli("start", "lin", "--customer", "C-9")
    engine = create_engine(f"sqlite:///{cli.db}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 2"))
    engine.dispose()
    capsys.readouterr()
    assert cli("audit", "verify") == 1
    assert "BROKEN at seq 2" in capsys.readouterr().out


def test_bad_input_gets_a_clear_error_and_a_nonzero_exit(cli, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    cli("init-db")
    bad = tmp_path / "bad.bpmn"
    bad.write_text("<definitions")
    assert cli("deploy", str(bad)) == 2
    err = capsys.readouterr().err
    assert "bad.bpmn:1" in err and "malformed XML" in err
    assert cli("start", "nope", "--customer", "C-1") == 2
    assert "process 'nope' is not deployed" in capsys.readouterr().err


def test_the_demo_runs_customers_through_the_journey_and_prints_kpis_and_alerts(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    cli("init-db")
    assert cli("demo", "--customers", "3", "--days", "20", "--quiet") == 0
    out = capsys.readouterr().out
    assert "Per step (wait = claimed − created" in out
    assert "sign_up" in out and "alerts raised: behind=" in out
    instances = re.search(r"^instances: (.+)$", out, re.M)
    assert instances is not None and sum(int(part.split("=")[1]) for part in instances.group(1).split(", ")) >= 3


def deployed_with_a_task(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "lin.bpmn"
    model.write_bytes(linear("lin", 1))
    cli("init-db")
    cli("deploy", str(model))
    cli("customers", "add", "--id", "C-9", "--name", "Nine")
    cli("start", "lin", "--customer", "C-9")


@pytest.mark.parametrize(("deleted", "named"), [("seq > 2", "row 3 was"), ("seq > 1", "rows 2..3 were"), ("1 = 1", "")])
def test_audit_verify_names_the_newest_rows_deleted_after_an_anchor(
    cli, tmp_path: Path, capsys, deleted, named
) -> None:  # type: ignore[no-untyped-def]
    deployed_with_a_task(cli, tmp_path)
    assert cli("audit", "anchor") == 0
    assert "anchored the audit head: seq 3" in capsys.readouterr().out
    assert (tmp_path / "var" / "audit_anchors.jsonl").read_text().count("\n") == 1
    engine = create_engine(f"sqlite:///{cli.db}")
    with engine.begin() as conn:  # the rows go, and the head is moved back to the newest row left
        conn.execute(text(f"DELETE FROM audit_event WHERE {deleted}"))
        left = conn.execute(text("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")).first()
        seq, digest = left if left is not None else (0, "0" * 64)
        conn.execute(text("UPDATE audit_head SET last_seq = :s, last_hash = :h"), {"s": seq, "h": digest})
    engine.dispose()
    assert cli("audit", "verify") == 1
    out = capsys.readouterr().out
    assert "audit chain OK" in out and "checkpoints: TAMPERING FOUND" in out
    if named:
        assert f"TAMPERED: {named} deleted after the checkpoint at seq 3" in out
    else:
        assert "TAMPERED: the whole trail was truncated: no rows are left, but the checkpoint at seq 3" in out


def test_audit_verify_without_the_anchor_key_is_a_clear_error(cli, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    deployed_with_a_task(cli, tmp_path)
    assert cli("audit", "verify") == 0
    assert "note: no checkpoint in" in capsys.readouterr().out
    assert cli("audit", "anchor") == 0
    (tmp_path / "var" / "audit_anchor_key").unlink()
    assert cli("audit", "verify") == 2
    assert "error: the audit anchor key is missing" in capsys.readouterr().err


def test_users_add_takes_the_password_from_jornada_new_password(cli, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from werkzeug.security import check_password_hash

    from engine._store import Store

    store = Store(f"sqlite:///{cli.db}")
    store.create_schema()  # the models' schema (init-db runs the migrations)
    store.dispose()
    monkeypatch.setenv("JORNADA_NEW_PASSWORD", "correct horse battery staple")
    assert cli("users", "add", "maria", "--role", "staff", "--group", "csm") == 0
    assert "user maria added with roles staff" in capsys.readouterr().out
    engine = create_engine(f"sqlite:///{cli.db}")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM app_user WHERE username = 'maria'")).scalar_one()
    engine.dispose()
    assert check_password_hash(stored, "correct horse battery staple")


class Inbox:
    """An aiosmtpd handler keeping what it was sent."""

    def __init__(self) -> None:
        self.received: list[str] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        self.received.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port  # type: ignore[attr-defined]
    yield inbox
    controller.stop()


def test_scheduler_once_reports_every_mail_it_delivered(cli, tmp_path: Path, monkeypatch, capsys, smtp_server) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from sqlalchemy import update

    from engine._store import Store
    from engine.models import HumanTask

    deployed_with_a_task(cli, tmp_path)
    store = Store(f"sqlite:///{cli.db}")
    with store.unit() as unit:  # the task has waited past its warn and stuck thresholds
        s = unit.session
        past = datetime(2020, 1, 1, tzinfo=UTC)
        s.execute(update(HumanTask).values(warn_at=past, stuck_at=past))
    store.dispose()
    monkeypatch.setenv("JORNADA_MAIL_TRANSPORT", "smtp")
    monkeypatch.setenv("JORNADA_MAIL_SMTP_PORT", str(smtp_server.port))
    capsys.readouterr()
    assert cli("scheduler", "--once") == 0
    printed = capsys.readouterr().out
    assert len(smtp_server.received) >= 2  # a behind and a stuck alert, each mailed
    assert f"'mails_sent': {len(smtp_server.received)}" in printed
