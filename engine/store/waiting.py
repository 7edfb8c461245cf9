"""Waiting for the database with words: how long a command waits for a lock, and who holds it.

SQLite serialises writers with one lock; PostgreSQL locks rows. A command that meets a lock
waits at most ``[database] lock_wait_seconds`` (SQLite's busy timeout; PostgreSQL's
``lock_timeout``) and then gives up with one sentence (exit 10) naming what holds the lock as
far as tkksd can tell: its daemon, an import, or another process. For that, long writers
announce themselves (``announce``): on SQLite in a small lock file beside the database, held
with ``flock`` (the kernel drops it when the process ends, however it ends); on PostgreSQL in
the session's ``application_name``, which ``pg_stat_activity`` shows.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sys
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from engine.i18n import _, number

DEFAULT_WAIT_SECONDS = 30.0
# The engine of this process and its wait, for the sentence when a lock wait gives up.
_STATE: dict[str, object] = {}


def role_of_process() -> str:
    """What this process is, for other processes' sentences: 'tkksd import', 'tkksd daemon'…"""
    args = [a for a in sys.argv[1:3] if not a.startswith("-")]
    return "tkksd " + " ".join(args[:1]) if args else "tkksd"


def configure(engine: Engine, seconds: float) -> None:
    """Bound lock waits on ``engine`` to ``seconds`` and name this process to the others."""
    _STATE["engine"] = engine
    _STATE["seconds"] = seconds
    if engine.dialect.name != "postgresql":
        return
    ms = max(1, int(seconds * 1000))
    name = f"{role_of_process()} pid {os.getpid()} on {socket.gethostname()}"[:63]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cur:
            cur.execute(f"SET lock_timeout = {ms}")
            cur.execute("SELECT set_config('application_name', %s, false)", (name,))
        dbapi_connection.autocommit = autocommit


def _note_path(db_file: Path, kind: str) -> Path:
    return db_file.with_name(f"{db_file.name}.{kind}.lock")


@contextlib.contextmanager
def announce(engine: Engine, kind: str, what: str) -> Iterator[None]:
    """While the block runs, other processes that wait for the database learn that ``what``
    (e.g. "an import of daftar.xlsx") holds it. SQLite only; PostgreSQL uses application_name."""
    from engine.store.db import sqlite_path

    path = sqlite_path(engine)
    if path is None or not path.parent.is_dir():
        yield
        return
    note = _note_path(path, kind)
    try:
        fd = os.open(note, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:  # a read-only folder: nothing to announce, and nothing will be written
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield  # another of the same kind announces already
            return
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{what} (pid {os.getpid()})".encode("utf-8", "replace"), 0)
        yield
    finally:
        os.close(fd)


def _held_note(note: Path) -> str | None:
    """The text of a lock note whose writer is alive (it still holds the flock)."""
    try:
        fd = os.open(note, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.pread(fd, 300, 0).decode("utf-8", "replace").strip() or "a tkksd process"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None  # a note left by a process that has ended
    finally:
        os.close(fd)


def sqlite_holders(db_file: Path) -> list[str]:
    out = []
    daemon = _held_note(db_file.with_name(db_file.name + ".daemon.lock"))
    if daemon:
        out.append(_("the tkksd daemon (pid {pid})").format(pid=daemon) if daemon.isdigit()
                   else _("the tkksd daemon ({note})").format(note=daemon))
    for kind in ("import",):
        held = _held_note(_note_path(db_file, kind))
        if held:
            out.append(held)
    return out


def postgres_holders(engine: Engine) -> list[str]:
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT application_name, usename, state FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)') "
                "AND xact_start IS NOT NULL ORDER BY xact_start LIMIT 3")).all()
    except sa.exc.SQLAlchemyError:
        return []
    return [_("{session} (login {login}, {state})").format(session=r.application_name or _("a session"), login=r.usename,
                                                          state=r.state) for r in rows]


def is_lock_timeout(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    if orig is None:
        return False
    if getattr(orig, "sqlstate", None) == "55P03":  # lock_not_available
        return True
    text = str(orig).lower()
    return "database is locked" in text or "database table is locked" in text


def explain(exc: BaseException) -> str | None:
    """The sentence for a lock wait that gave up, or None when ``exc`` is something else."""
    if not is_lock_timeout(exc):
        return None
    engine = _STATE.get("engine")
    seconds = float(_STATE.get("seconds") or DEFAULT_WAIT_SECONDS)
    holders: list[str] = []
    if isinstance(engine, Engine):
        from engine.store.db import sqlite_path

        path = sqlite_path(engine)
        holders = sqlite_holders(path) if path is not None else postgres_holders(engine)
    who = "; ".join(holders) if holders else _("another process (a tkksd command, or a tool such as sqlite3 or psql)")
    return _("The database is locked by {who}; tkksd waited {seconds} s ([database] lock_wait_seconds) and gave up. "
             "Nothing was changed; try again when it has finished.").format(who=who, seconds=number(seconds))


def is_read_only(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", None) or exc).lower()
    return "readonly database" in text or "read-only" in text or "read only" in text


def check_writable(engine: Engine) -> None:
    """Refuse (exit 10) a SQLite database this process cannot write: the daemon must write."""
    from engine.errors import DatabaseUnavailable
    from engine.store.db import sqlite_path

    path = sqlite_path(engine)
    if path is None:
        return
    for p in (path, path.parent):
        if not os.access(p, os.W_OK):
            if p == path.parent:
                raise DatabaseUnavailable(_("The database {path} cannot be written (its folder is read-only for this account); "
                                            "the daemon needs to write, so it stops. Reading commands still work.").format(path=path))
            raise DatabaseUnavailable(_("The database {path} cannot be written (the file is read-only for this account); "
                                        "the daemon needs to write, so it stops. Reading commands still work.").format(path=path))
