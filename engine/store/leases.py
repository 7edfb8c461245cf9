"""What keeps several daemons from stepping on each other, per backend.

PostgreSQL: any number of daemons. The sweep locks the *agreements* it acts on
(``FOR UPDATE SKIP LOCKED``) for one batch transaction, the drain leases outbox rows
(``claimed_by``/``claimed_until``). A daemon that dies loses its connection and PostgreSQL
rolls its batch back at once, releasing the locks; a daemon that hangs inside a transaction
(a frozen VM, a network partition) is cut off by the server after ``daemon.lease_seconds``
(``idle_in_transaction_session_timeout`` on the daemon's sessions), so its rows go back to
the others after the lease, like the drain's leased rows.

SQLite: one daemon per database file. The write lock serialises every write anyway, so a
second daemon would only queue behind the first; it is refused with a clear message instead
(an ``fcntl`` lock on a file beside the database, released by the kernel when the holder
exits, however it exits).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine

from engine.errors import ConfigurationError
from engine.i18n import _


def sqlite_file(engine: Engine) -> Path | None:
    if engine.dialect.name != "sqlite":
        return None
    name = engine.url.database
    if not name or name == ":memory:":
        return None
    return Path(name).resolve()


@contextlib.contextmanager
def single_daemon(engine: Engine) -> Iterator[None]:
    """Hold the one-daemon lock of a SQLite database while the block runs; no-op on PostgreSQL."""
    path = sqlite_file(engine)
    if path is None:
        yield
        return
    lock_path = path.with_name(path.name + ".daemon.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise ConfigurationError(
                _("Another tkksd daemon (pid {pid}) is already running on the SQLite database {path}; "
                  "SQLite takes one daemon at a time, so stop that one first, or move to PostgreSQL to run several "
                  "(docs/postgresql.md).").format(pid=holder, path=path)
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def bound_transactions(engine: Engine, lease_seconds: float) -> None:
    """On PostgreSQL, make the server end a daemon session that sits idle inside a transaction
    longer than the lease, so a hung daemon cannot hold its claimed rows for ever."""
    if engine.dialect.name != "postgresql":
        return
    ms = max(1000, int(float(lease_seconds) * 1000))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cur:
            cur.execute(f"SET idle_in_transaction_session_timeout = {ms}")
        dbapi_connection.autocommit = autocommit

    engine.dispose()  # connections opened before the listener get the setting too
