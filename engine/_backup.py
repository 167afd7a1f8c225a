"""``jornada backup FILE``: an online copy of a SQLite database, taken with SQLite's backup API while the web
server and the scheduler keep working (readers never block; a writer that commits during the copy makes SQLite
restart it from the changed pages). The copy is written beside FILE and renamed into place only when complete, so
FILE is never a half-written database. PostgreSQL is backed up with ``pg_dump`` (docs/deployment.md).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from engine._errors import EngineError
from engine._store import Store


class BackupError(EngineError):
    """The backup cannot be made; the message says why and what to do instead."""


def backup_sqlite(store: Store, target: Path) -> int:
    """Copy the SQLite database of ``store`` to ``target`` (which must not exist); returns its size in bytes."""
    if store.engine.dialect.name != "sqlite":
        raise BackupError("jornada backup copies SQLite databases; back up PostgreSQL with pg_dump -Fc")
    if target.exists():
        raise BackupError(f"{target} already exists; give a new file name (a backup never overwrites)")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    raw = store.engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        destination = sqlite3.connect(partial)
        try:
            source.backup(destination, pages=1024)
            check = destination.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"the copy failed SQLite's integrity check: {check}")
        finally:
            destination.close()
        os.replace(partial, target)
    finally:
        raw.close()
        partial.unlink(missing_ok=True)
    return target.stat().st_size
