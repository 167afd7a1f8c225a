"""The installation's secret key file: made once, whole, even when many processes start together."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest

from engine._keys import secret_key


def _read_key(data_dir: str, start: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    start.wait()
    out.put(secret_key({"data_dir": data_dir, "web": {}}))


def test_processes_starting_together_all_get_the_one_key_that_stays_in_the_file(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    start, out = context.Barrier(8), context.Queue()
    workers = [context.Process(target=_read_key, args=(str(tmp_path), start, out)) for _ in range(8)]
    for worker in workers:
        worker.start()
    keys = [out.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)

    kept = (tmp_path / "secret_key").read_text().strip()
    assert set(keys) == {kept}, "a process signed with a key the file no longer holds"
    assert len(kept) == 64
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"], "no temporary file is left behind"


def test_a_key_file_another_process_made_after_our_check_is_kept_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = "f" * 64
    (tmp_path / "secret_key").write_text(theirs)  # made by another process after this one saw no file
    monkeypatch.setattr(Path, "exists", lambda self: False)

    assert secret_key({"data_dir": str(tmp_path), "web": {}}) == theirs
    assert (tmp_path / "secret_key").read_text() == theirs
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_a_configured_key_wins_and_no_file_is_made(tmp_path: Path) -> None:
    assert secret_key({"data_dir": str(tmp_path), "web": {"secret_key": "from-config"}}) == "from-config"
    assert not (tmp_path / "secret_key").exists()
