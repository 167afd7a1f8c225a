"""`jornada backup`: an online copy of a SQLite database that opens, verifies and holds every committed row."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine import Runtime
from engine._backup import BackupError, backup_sqlite
from engine._cli import main
from tests.bpmn_builder import linear


def test_a_backup_taken_while_the_database_is_in_use_holds_every_committed_row(
    runtime: Runtime, tmp_path: Path
) -> None:
    if runtime.store.is_postgres:
        with pytest.raises(BackupError, match="pg_dump"):
            backup_sqlite(runtime.store, tmp_path / "copy.db")
        return
    runtime.deploy({"two.bpmn": linear("two", 2)}, actor="d")
    iid = runtime.start("two", actor="a", customer_id="C-1")
    target = tmp_path / "copy.db"
    with runtime.store.reading() as reader:  # a reader in the middle of its work does not stop the copy
        reader.exec_driver_sql("SELECT count(*) FROM human_task").all()
        size = backup_sqlite(runtime.store, target)
    assert size == target.stat().st_size > 0
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT status FROM process_instance WHERE id = ?", (iid,)).fetchone()[0] == "running"
        assert copy.execute("SELECT count(*) FROM audit_event").fetchone()[0] > 0
    finally:
        copy.close()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial file left


def test_a_backup_never_overwrites_and_says_why_on_the_command_line(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if runtime.store.is_postgres:
        pytest.skip("about SQLite files")
    target = tmp_path / "existing.db"
    target.write_text("keep me")
    monkeypatch.setenv("JORNADA_DATABASE_URL", runtime.store.url)
    monkeypatch.setenv("JORNADA_DATA_DIR", str(tmp_path / "var"))
    assert main(["backup", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert target.read_text() == "keep me"
    fresh = tmp_path / "fresh.db"
    assert main(["backup", str(fresh)]) == 0
    assert f"backed up to {fresh}" in capsys.readouterr().out
