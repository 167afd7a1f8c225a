"""SQLite WAL checkpoints, run after a write transaction once the writers' lock is released.

Left to itself, SQLite checkpoints from inside the COMMIT that takes the WAL past ``wal_autocheckpoint`` pages: that
commit copies every page changed since the last checkpoint into the database file and fsyncs both files (about
26 ms at the default 10,000 pages on the 2-core machine of bench/http_throughput.py, once every ~250 task
completions, 14 % of all the time spent completing tasks). Our writers' lock (engine._store.WriterLock) is held
until that COMMIT returns, so every other writer of every process waits for the checkpoint too. Instead SQLite's
own automatic checkpoint is set to four times the threshold (a safety net for writes made outside ``Store.unit``),
and after each unit, with the writers' lock released, the thread that wrote looks at how many WAL frames are not
yet checkpointed and, at the threshold, runs a PASSIVE checkpoint: writers go on meanwhile (a checkpoint takes no
write lock), and a second checkpointer, in this process or another, simply finds the work done or in progress.

How many frames wait is read from the WAL-index in ``<db>-shm``: ``mxFrame`` (the last valid frame, a native-endian
u32 at byte 16 of the header) and ``nBackfill`` (frames already copied, at byte 96), a format SQLite documents
(https://sqlite.org/walformat.html, section 2). Python's sqlite3 offers no WAL hook, and asking SQLite for the
count means running a checkpoint.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import threading

from sqlalchemy import Engine

SAFETY_NET = 4  # SQLite's own automatic checkpoint, in multiples of the threshold
_COUNTERS = struct.Struct("=I")  # native byte order, as SQLite writes the WAL-index
_MX_FRAME, _N_BACKFILL = 16, 96


def autocheckpoint_pages(threshold: int) -> int:
    """The ``PRAGMA wal_autocheckpoint`` a connection gets for our ``threshold`` (0: never, as in SQLite)."""
    return threshold * SAFETY_NET


class Checkpointer:
    """Checkpoints the WAL of one SQLite file once ``threshold`` pages wait (0: never)."""

    def __init__(self, database: str, threshold: int, engine: Engine) -> None:
        self.shm = f"{database}-shm"
        self.threshold = threshold
        self.engine = engine
        self._running = threading.Lock()

    def waiting_frames(self) -> int | None:
        """Frames written to the WAL and not yet copied into the database; None if the WAL-index is not there."""
        try:
            fd = os.open(self.shm, os.O_RDONLY)
        except OSError:
            return None
        try:
            header = os.pread(fd, _N_BACKFILL + 4, 0)
        finally:
            os.close(fd)
        if len(header) < _N_BACKFILL + 4:
            return None
        (last,) = _COUNTERS.unpack_from(header, _MX_FRAME)
        (copied,) = _COUNTERS.unpack_from(header, _N_BACKFILL)
        return max(0, int(last) - int(copied))

    def after_write(self) -> None:
        """Checkpoint if the threshold is reached (call with the writers' lock released)."""
        if not self.threshold:
            return
        waiting = self.waiting_frames()
        if waiting is None or waiting < self.threshold:
            return
        if not self._running.acquire(blocking=False):
            return  # another thread of this process is at it
        try:
            self.checkpoint()
        finally:
            self._running.release()

    def checkpoint(self) -> None:
        raw = self.engine.raw_connection()
        try:
            dbapi = raw.driver_connection
            assert isinstance(dbapi, sqlite3.Connection)
            with contextlib.suppress(sqlite3.OperationalError):  # another process is checkpointing: its work
                dbapi.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            raw.close()
