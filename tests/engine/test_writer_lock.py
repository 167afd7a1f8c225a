"""The writers' lock of a SQLite file (engine._store.WriterLock): one writer at a time across processes (two lock
objects on one file stand for two processes: flock locks belong to the open file), whether the waiter gets it while
polling (a short hold) or after sleeping in flock (a hold longer than the polling window); re-entrant in a thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from engine._store import SPIN_SECONDS, WriterLock


@pytest.mark.parametrize("hold_seconds", [SPIN_SECONDS / 4, SPIN_SECONDS * 20])
def test_a_second_writer_gets_the_lock_only_once_the_first_released_it(tmp_path: Path, hold_seconds: float) -> None:
    path = str(tmp_path / "db.lock")
    first, second = WriterLock(path), WriterLock(path)
    held, events = threading.Event(), []

    def hold_first() -> None:
        with first.hold():
            events.append(("first in", time.perf_counter()))
            held.set()
            time.sleep(hold_seconds)
            events.append(("first out", time.perf_counter()))

    holder = threading.Thread(target=hold_first)
    holder.start()
    assert held.wait(10)
    with second.hold():
        events.append(("second in", time.perf_counter()))
    holder.join()
    assert [name for name, _ in events] == ["first in", "first out", "second in"]
    assert events[2][1] >= events[1][1]


def test_the_lock_is_re_entrant_within_a_thread_and_free_after(tmp_path: Path) -> None:
    path = str(tmp_path / "db.lock")
    lock, other = WriterLock(path), WriterLock(path)
    with lock.hold(), lock.hold():
        pass
    done = threading.Event()

    def take_other() -> None:
        with other.hold():
            done.set()

    thread = threading.Thread(target=take_other)
    thread.start()
    assert done.wait(10)
    thread.join()
