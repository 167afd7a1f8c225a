"""``jornada customers``: add, edit, archive, list, show and contact-add from the command line, audited like the
pages; a wrong value or an unknown customer prints a clear message and exits with 2, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine._cli import main

Cli = Callable[..., int]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("JORNADA_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("JORNADA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    assert main(["init-db"]) == 0

    def run(*argv: str) -> int:
        return main(list(argv))

    run.db = db  # type: ignore[attr-defined]
    return run


def rows(cli: Cli, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(f"sqlite:///{cli.db}")  # type: ignore[attr-defined]
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


ACME = ["--id", "C-1", "--name", "Acme", "--email", "cs@acme.example", "--segment", "enterprise", "--plan", "growth"]
ACME += ["--mrr", "1200", "--currency", "EUR", "--owner", "ana", "--contract-start", "2026-01-01"]
ACME += ["--renewal-date", "2027-01-01", "--stage", "active", "--external-id", "crm-1"]


def test_add_edit_show_and_list_a_customer(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("--as", "ana", "customers", "add", *ACME) == 0
    assert "customer C-1 added" in capsys.readouterr().out
    assert cli("customers", "add", "--name", "Globex", "--owner", "bruno") == 0
    assert "customer C-0002 added" in capsys.readouterr().out
    assert cli("--as", "lea", "customers", "edit", "C-1", "--plan", "enterprise", "--mrr", "1500") == 0
    [(actor, payload)] = rows(cli, "SELECT actor, payload FROM audit_event WHERE action = 'customer_updated'")
    assert actor == "lea"
    assert json.loads(str(payload)) == {
        "before": {"mrr": 1200.0, "plan": "growth"},
        "after": {"mrr": 1500.0, "plan": "enterprise"},
    }
    assert cli("customers", "contact-add", "C-1", "--name", "Rita", "--email", "rita@acme.example") == 0
    capsys.readouterr()
    assert cli("customers", "show", "C-1") == 0
    shown = capsys.readouterr().out
    assert "enterprise" in shown and "1500.0" in shown and "Rita <rita@acme.example>" in shown
    assert cli("customers", "list", "--owner", "ana") == 0
    listing = capsys.readouterr().out
    assert "Acme" in listing and "Globex" not in listing and "1 of 1 customers" in listing
    assert cli("customers", "list", "--segment", "smb") == 0
    assert "Globex" in capsys.readouterr().out


def test_archive_hides_a_customer_and_refuses_its_processes(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    cli("customers", "add", *ACME)
    assert cli("customers", "archive", "C-1") == 0
    capsys.readouterr()
    cli("customers", "list")
    assert "0 of 0 customers" in capsys.readouterr().out
    cli("customers", "list", "--archived")
    assert "Acme" in capsys.readouterr().out
    assert rows(cli, "SELECT count(*) FROM audit_event WHERE action = 'customer_archived'") == [(1,)]
    assert cli("customers", "list", "--at-risk") == 0


def test_wrong_values_name_the_option_and_exit_2_without_a_traceback(
    cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("customers", "add", "--name", "X", "--segment", "huge", "--mrr", "-1", "--renewal-date", "soon") == 2
    err = capsys.readouterr().err
    assert "--segment (segment): must be one of smb, mid_market, enterprise" in err
    assert "--mrr (mrr): must not be negative" in err and "--renewal-date (renewal_date): must be a date" in err
    assert "Traceback" not in err
    assert cli("customers", "add", "--segment", "smb") == 2
    assert "--name (name): is required" in capsys.readouterr().err
    assert rows(cli, "SELECT count(*) FROM customer") == [(0,)]
    assert cli("customers", "edit", "NOPE-1", "--plan", "x") == 2
    assert "customer 'NOPE-1' does not exist" in capsys.readouterr().err
    cli("customers", "add", *ACME)
    assert cli("customers", "add", *ACME) == 2
    assert "exists already" in capsys.readouterr().err
    assert cli("customers", "edit", "C-1") == 2
    assert "give at least one field" in capsys.readouterr().err
    assert cli("customers", "show", "NOPE-1") == 2
    assert cli("customers", "archive", "NOPE-1") == 2
    assert cli("customers", "contact-add", "C-1", "--name", "R", "--email", "bad", "--language", "fr") == 2
    err = capsys.readouterr().err
    assert "--email (email): must be an e-mail address" in err and "--language (language)" in err


def test_starting_a_process_for_an_unknown_customer_is_refused(
    cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.bpmn_builder import linear

    model = tmp_path / "lin.bpmn"
    model.write_bytes(linear("lin", 1))
    cli("deploy", str(model))
    assert cli("start", "lin", "--customer", "NOPE-1") == 2
    assert "customer 'NOPE-1' does not exist" in capsys.readouterr().err
    assert rows(cli, "SELECT count(*) FROM process_instance") == [(0,)]
