"""``jornada import KIND FILE``, run as a user would, on its own SQLite database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from engine._cli import main
from processes.customers import Customer

CUSTOMERS = "id,name,email,segment,plan,mrr,csm_owner,contract_start,renewal_date,stage\n"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., int]:
    monkeypatch.setenv("JORNADA_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("JORNADA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    assert main(["init-db"]) == 0
    return lambda *argv: main(list(argv))


def customer_count(tmp_path: Path) -> int:
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as conn:
        found = conn.execute(select(func.count()).select_from(Customer)).scalar_one()
    engine.dispose()
    return int(found)


def test_a_good_file_is_imported_and_counted(cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMERS + "C-1,Acme,,smb,,100,ana,2025-01-01,,active\nC-2,Globex,,enterprise,,0,,,,prospect\n")
    capsys.readouterr()
    assert cli("--as", "lea", "import", "customers", str(path)) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"imported 2 customers from {path} (2 created)"
    assert customer_count(tmp_path) == 2
    events = tmp_path / "events.csv"
    events.write_text('customer_id,name,at,properties\nC-1,login,2025-02-01T10:00:00,"{""seats"": 3}"\n')
    assert cli("import", "events", str(events)) == 0
    assert capsys.readouterr().out.strip() == f"imported 1 events from {events}"
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as conn:
        actor = conn.execute(
            text("SELECT actor FROM audit_event WHERE action = 'import_completed' ORDER BY seq")
        ).scalars()
        assert list(actor) == ["lea", "cli"]
    engine.dispose()


def test_a_bad_file_prints_every_bad_row_and_column_exits_2_and_imports_nothing(cli, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "customers.csv"
    path.write_text(
        CUSTOMERS + "C-1,Acme,,smb,,100,,,,active\nC-2,,,huge,,x,,,,active\nC-3,Stark,,smb,,1,,2025-02-30,,active\n"
    )
    capsys.readouterr()
    assert cli("import", "customers", str(path)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"{path}: nothing was imported: 4 error(s) on 2 row(s)",
        "  row 3, column name: a value is required",
        "  row 3, column segment: 'huge' is not one of smb, mid_market, enterprise",
        "  row 3, column mrr: 'x' is not a number (digits with a decimal point, e.g. 1250.50)",
        "  row 4, column contract_start: '2025-02-30' is not a date (YYYY-MM-DD)",
    ]
    assert customer_count(tmp_path) == 0


def test_header_encoding_and_missing_files_get_clear_errors_never_a_traceback(cli, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    extra = tmp_path / "mrr.csv"
    extra.write_text("customer_id,at,new_mrr,currency\n")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("customer_id,name,at,properties\nC-1,relatório,2025-01-01,\n".encode("latin-1"))
    capsys.readouterr()
    assert cli("import", "mrr", str(extra)) == 2
    assert (
        "row 1, column currency: the column currency is not one of customer_id, at, new_mrr" in capsys.readouterr().err
    )
    assert cli("import", "events", str(latin)) == 2
    assert "row 2: the file is not UTF-8 text: byte 0xf3 at byte offset 40" in capsys.readouterr().err
    assert cli("import", "events", str(tmp_path / "nope.csv")) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot read {tmp_path / 'nope.csv'}: No such file")
    with pytest.raises(SystemExit):
        cli("import", "contacts", str(extra))
