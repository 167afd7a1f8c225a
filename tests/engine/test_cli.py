"""The ``jornada`` command, driven as a user would, on its own SQLite database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.cli import main
from tests.bpmn_builder import linear


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    db = tmp_path / "cli.db"
    monkeypatch.setenv("JORNADA_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("JORNADA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> int:
        return main(list(argv))

    run.db = db  # type: ignore[attr-defined]
    return run


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
