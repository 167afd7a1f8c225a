"""``jornada instances migrate``: preview and move running instances from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bpmn_builder import linear


def test_instances_migrate_previews_then_moves_the_movable_ones(
    cli: Callable[..., int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "lin.bpmn"
    model.write_bytes(linear("lin", 1))
    assert cli("init-db") == 0
    assert cli("deploy", str(model)) == 0
    assert cli("customers", "add", "--id", "C-9", "--name", "Nine") == 0
    assert cli("start", "lin", "--customer", "C-9") == 0
    model.write_bytes(linear("lin", 2))
    assert cli("deploy", str(model)) == 0
    capsys.readouterr()
    assert cli("instances", "migrate", "lin", "--from", "1", "--to", "2", "--dry-run") == 0
    preview = capsys.readouterr().out
    assert "t1\tcan move" in preview and "1 of 1 listed can move (1 open)" in preview
    assert cli("--as", "lea", "instances", "migrate", "lin", "--from", "1", "--to", "2") == 0
    assert "moved to version 2" in capsys.readouterr().out
    assert cli("instances", "migrate", "lin", "--from", "1", "--to", "2") == 1
    assert "no instance can move" in capsys.readouterr().out
    assert cli("instances", "migrate", "lin", "--from", "2", "--to", "2") == 2
    assert "error: from and to are the same version (2)" in capsys.readouterr().err
