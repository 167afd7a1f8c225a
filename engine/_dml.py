"""The hot path's one-row INSERT/UPDATE statements, and the one-row lookups every request starts with, run on
SQLite's own cursor.

Every operation writes a handful of single rows (task row, KPI row, audit event and head, instance row, new inbox
rows). For such a statement SQLAlchemy's execution (parameter processing, execution context, result object) costs
more than SQLite's own work. On SQLite a ``Prepared`` statement is compiled once per set of parameter names by
SQLAlchemy's compiler, its parameters converted by the columns' own bind processors, and run on the connection's
sqlite3 cursor inside the same transaction; errors are raised as SQLAlchemy's (an IntegrityError stays one). On
any other database, and for a statement the shortcut does not cover (column defaults computed in Python,
expanding IN lists), it runs through ``Connection.execute`` unchanged.

A ``PreparedRead`` is a SELECT of at most one row (the API token's owner, on every API request): on SQLite it runs
as a single statement on a pooled connection, outside any transaction (one SQLite statement reads one consistent
snapshot), so the explicit BEGIN, SQLAlchemy's execution and its result object are skipped; its columns must need
no result processing. Elsewhere it runs in a read-only transaction through ``Connection.execute``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Select
from sqlalchemy.exc import DBAPIError, MultipleResultsFound
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import ClauseElement

_Getter = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class _Plan:
    sql: str
    getters: tuple[_Getter, ...]  # one per placeholder: the parameter, converted by its column's bind processor

    def values(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(get(params) for get in self.getters)


class Prepared:
    """A Core INSERT/UPDATE/DELETE whose parameters are given at execution (see the module's doc)."""

    def __init__(self, statement: UpdateBase) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan | None] = {}  # (dialect, parameter names) -> plan

    def run(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Execute with one set of parameters; returns the number of rows matched."""
        plan = self._plan(conn, params)
        if plan is None:
            return int(conn.execute(self.statement, dict(params)).rowcount)
        return int(self._raw(conn, plan, params).rowcount)

    def run_returning(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """Execute a statement with a RETURNING clause of one column; returns that column's value."""
        plan = self._plan(conn, params)
        if plan is None:
            return conn.execute(self.statement, dict(params)).scalar_one()
        row = self._raw(conn, plan, params).fetchone()
        assert row is not None, "RETURNING gave no row"
        return row[0]

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per parameter set (all of them with the same names)."""
        if not rows:
            return
        plan = self._plan(conn, rows[0])
        if plan is None:
            conn.execute(self.statement, [dict(r) for r in rows])
            return
        values = [plan.values(r) for r in rows]
        dbapi = _dbapi(conn)
        try:
            dbapi.executemany(plan.sql, values)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(plan.sql, values, exc, sqlite3.Error) from exc

    def _raw(self, conn: Connection, plan: _Plan, params: Mapping[str, Any]) -> sqlite3.Cursor:
        return _execute(_dbapi(conn), plan, params)

    def _plan(self, conn: Connection, params: Mapping[str, Any]) -> _Plan | None:
        return _cached(self._plans, conn.dialect, params, lambda keys: _compile(self.statement, conn.dialect, keys))


class PreparedRead:
    """A Core SELECT of at most one row, its parameters given at execution (see the module's doc)."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan | None] = {}

    def one_or_none(self, engine: Engine, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The row (a tuple of its columns) or None; more than one row is an error, as in Result.one_or_none."""
        plan = _cached(self._plans, engine.dialect, params, lambda keys: self._compile(engine.dialect, keys))
        if plan is None:
            with engine.connect() as conn:
                return conn.execute(self.statement, dict(params)).one_or_none()
        raw = engine.raw_connection()
        try:
            dbapi = raw.driver_connection
            assert isinstance(dbapi, sqlite3.Connection)
            rows = _execute(dbapi, plan, params).fetchmany(2)
        finally:
            raw.close()  # back to the pool
        if len(rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when one or none was required")
        return rows[0] if rows else None

    def _compile(self, dialect: Any, keys: tuple[str, ...]) -> _Plan | None:
        if any(column.type.result_processor(dialect, None) is not None for column in self.statement.selected_columns):
            return None
        # fixed values SQLAlchemy renders only at execution (the separator of aggregate_strings) are rendered now
        compiled: Any = self.statement.params(dict.fromkeys(keys)).compile(
            dialect=dialect, compile_kwargs={"render_postcompile": True}
        )
        if any(bind.key in keys for bind in compiled.literal_execute_params):
            return None
        return _plan(compiled, keys)


def _cached(
    plans: dict[tuple[str, tuple[str, ...]], _Plan | None],
    dialect: Any,
    params: Mapping[str, Any],
    compile_for: Callable[[tuple[str, ...]], _Plan | None],
) -> _Plan | None:
    """The plan for this dialect and these parameter names, compiled on first use; None off SQLite's own cursor."""
    key = (dialect.name, tuple(params))
    try:
        return plans[key]
    except KeyError:
        plan = plans[key] = compile_for(key[1]) if _raw_sqlite(dialect) else None
        return plan


def _execute(dbapi: sqlite3.Connection, plan: _Plan, params: Mapping[str, Any]) -> sqlite3.Cursor:
    """The plan run on SQLite's cursor; its errors raised as SQLAlchemy's."""
    values = plan.values(params)
    try:
        return dbapi.execute(plan.sql, values)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(plan.sql, values, exc, sqlite3.Error) from exc


def _raw_sqlite(dialect: Any) -> bool:
    return bool(dialect.name == "sqlite" and dialect.driver == "pysqlite" and dialect.paramstyle == "qmark")


def _compile(statement: ClauseElement, dialect: Any, keys: tuple[str, ...]) -> _Plan | None:
    """The SQL and parameter getters of ``statement`` given parameters ``keys``; None when SQLAlchemy must run it."""
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys))
    if (
        getattr(compiled, "insert_prefetch", None)  # DML only
        or getattr(compiled, "update_prefetch", None)
        or getattr(compiled, "postfetch", None)
        or compiled.literal_execute_params
    ):
        return None  # defaults computed in Python, expanding lists: leave them to SQLAlchemy
    return _plan(compiled, keys)


def _plan(compiled: Any, keys: tuple[str, ...]) -> _Plan | None:
    if compiled.post_compile_params or compiled.positiontup is None:
        return None
    processors: Mapping[str, Callable[[Any], Any]] = compiled._bind_processors
    getters: list[_Getter] = []
    for name in compiled.positiontup:
        process = processors.get(name)
        if name in keys:
            getters.append(_given(name, process))
            continue
        bind = compiled.binds[name]
        if bind.required or bind.callable is not None:
            return None
        getters.append(_fixed(bind.value if process is None else process(bind.value)))
    return _Plan(compiled.string, tuple(getters))


def _dbapi(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under ``conn``, in a transaction: begun the way Connection.execute would begin it
    (our engine's BEGIN IMMEDIATE) if the caller has not begun one."""
    if not conn.in_transaction():
        conn.begin()
    dbapi = conn.connection.dbapi_connection
    assert isinstance(dbapi, sqlite3.Connection)
    return dbapi


def _given(name: str, process: Callable[[Any], Any] | None) -> _Getter:
    if process is None:
        return lambda params: params[name]
    return lambda params: process(params[name])


def _fixed(value: Any) -> _Getter:
    return lambda _params: value
