"""The statements every transition runs, executed on the driver's cursor on SQLite.

SQLAlchemy still writes the SQL: each Core statement is compiled once per set of parameter
keys, with its bind and result processors (UTC datetimes, JSON, booleans). What is skipped is
Core's per-execution work, which on SQLite costs several times the statement itself (about
20 µs of Python around a 3 µs INSERT, measured here): a transition's read and five writes
would spend more there than in SQLite. Driver errors are raised as SQLAlchemy's exception
classes, as Core would. tests/core/test_hot.py checks that both ways write the same rows.

Core runs the statement instead whenever that is needed to stay exact: on other databases
(PostgreSQL's driver work dominates there, and Core handles its reconnects), when anything
listens to the engine's statements or logs them (tests, ``echo``), and for statements this
module cannot replay (expanding IN lists, Python-side column defaults).
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class _Plan:
    sql: str
    # One entry per positional parameter: (key in the caller's parameters or None, bind
    # processor or None, fixed value used when the key is None).
    slots: tuple[tuple[str | None, Callable[[Any], Any] | None, Any], ...]
    returns_rows: bool
    # For a SELECT: the row type (attributes by column key, ``_asdict``, ``_mapping``) and one
    # result processor or None per column.
    row_type: type | None = None
    results: tuple[Callable[[Any], Any] | None, ...] = ()


def _direct(conn: Connection) -> bool:
    """Whether this connection may skip Core: SQLite, in a transaction, nobody listening or
    logging."""
    if conn.dialect.name != "sqlite" or conn.engine.echo or not conn.in_transaction():
        # (Outside a transaction Core would begin one; the bare driver would autocommit.)
        return False
    d = conn.dispatch  # the engine's listeners and the connection's own
    return not (d.before_execute or d.after_execute or d.before_cursor_execute or d.after_cursor_execute
                or conn.dialect.dispatch.handle_error)


@lru_cache(maxsize=128)
def _plan(stmt, dialect, keys: tuple[str, ...]) -> _Plan | None:
    compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.positiontup is None:
        return None  # Python-side defaults or a named paramstyle: Core does those
    slots = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        if bind.expanding:
            return None
        processor = bind.type._cached_bind_processor(dialect)  # noqa: SLF001 - Core's own, cached
        if name in keys:
            slots.append((name, processor, None))
        else:
            value = bind.effective_value
            slots.append((None, None, processor(value) if processor else value))
    if not stmt.is_select:
        return _Plan(compiled.string, tuple(slots), bool(compiled.returning))
    columns = list(stmt.selected_columns)
    keys = [c.key for c in columns]
    if len(set(keys)) != len(keys) or any(k.startswith("_") or not k.isidentifier() for k in keys):
        return None
    results = tuple(c.type._cached_result_processor(dialect, None) for c in columns)  # noqa: SLF001
    return _Plan(compiled.string, tuple(slots), True, _row_type(tuple(keys)), results)


@lru_cache(maxsize=32)
def _row_type(keys: tuple[str, ...]) -> type:
    base = namedtuple("Row", keys)
    # What callers use of SQLAlchemy's Row: attributes, ``_asdict()`` and ``_mapping``.
    return type("Row", (base,), {"__slots__": (), "_mapping": property(base._asdict)})


def _row(plan: _Plan, params: Mapping[str, Any]) -> list:
    # (A list comprehension: quicker than a generator, and the driver takes any sequence.)
    return [fixed if key is None else (params[key] if proc is None else proc(params[key]))
            for key, proc, fixed in plan.slots]


def _raise(conn: Connection, sql: str, params: Any, exc: Exception) -> None:
    dbapi = conn.dialect.loaded_dbapi
    raise sa.exc.DBAPIError.instance(sql, params, exc, dbapi.Error, dialect=conn.dialect) from exc


@dataclass(frozen=True)
class Outcome:
    """What a write reports: rows touched, the new row's id, the first returned row."""

    rowcount: int
    lastrowid: int | None = None
    returned: tuple | None = None


def execute(conn: Connection, stmt, params: Mapping[str, Any]) -> Outcome:
    """Run one write statement with ``params`` inside ``conn``'s transaction."""
    plan = _plan(stmt, conn.dialect, tuple(sorted(params))) if _direct(conn) else None
    if plan is None:
        result = conn.execute(stmt, params)
        if stmt.returning_column_descriptions:  # asked for with returning()
            returned = result.first()
            return Outcome(result.rowcount, None, tuple(returned) if returned else None)
        # (PostgreSQL returns a new row's key by an implicit RETURNING: ask for it, not for rows.)
        ids = result.inserted_primary_key if stmt.is_insert else None
        return Outcome(result.rowcount, ids[0] if ids else None)
    row = _row(plan, params)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(plan.sql, row)
        returned = cursor.fetchone() if plan.returns_rows else None
        return Outcome(cursor.rowcount, cursor.lastrowid, tuple(returned) if returned else None)
    except conn.dialect.loaded_dbapi.Error as exc:
        _raise(conn, plan.sql, row, exc)
    finally:
        cursor.close()


def execute_many(conn: Connection, stmt, rows: Sequence[Mapping[str, Any]]) -> int:
    """Run one write statement for each of ``rows`` (all with the same keys); rows touched."""
    if not rows:
        return 0
    plan = _plan(stmt, conn.dialect, tuple(sorted(rows[0]))) if _direct(conn) else None
    if plan is None or plan.returns_rows:
        return conn.execute(stmt, list(rows)).rowcount
    values = [_row(plan, r) for r in rows]
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.executemany(plan.sql, values)
        return cursor.rowcount
    except conn.dialect.loaded_dbapi.Error as exc:
        _raise(conn, plan.sql, values, exc)
    finally:
        cursor.close()


def first(conn: Connection, stmt, params: Mapping[str, Any]):
    """The first row of a SELECT (None when there is none), as ``conn.execute(...).first()``."""
    found = _select(conn, stmt, params, one=True)
    return found[0] if found else None


def all(conn: Connection, stmt, params: Mapping[str, Any]) -> list:  # noqa: A001 - as Result.all()
    """Every row of a SELECT, as ``conn.execute(...).all()``."""
    return _select(conn, stmt, params, one=False)


def _select(conn: Connection, stmt, params: Mapping[str, Any], *, one: bool) -> list:
    plan = _plan(stmt, conn.dialect, tuple(sorted(params))) if _direct(conn) else None
    if plan is None or plan.row_type is None:
        result = conn.execute(stmt, params)
        if one:
            row = result.first()
            return [row] if row is not None else []
        return result.all()
    values = _row(plan, params)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(plan.sql, values)
        found = cursor.fetchmany(1) if one else cursor.fetchall()
    except conn.dialect.loaded_dbapi.Error as exc:
        _raise(conn, plan.sql, values, exc)
    finally:
        cursor.close()
    make, results = plan.row_type._make, plan.results
    return [make([v if proc is None else proc(v) for v, proc in zip(r, results)]) for r in found]
