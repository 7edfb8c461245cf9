"""Database engine, transactions and schema upgrades.

SQLite runs in WAL mode with a busy timeout; write transactions open with BEGIN IMMEDIATE so
that two writers queue instead of failing half-way. PostgreSQL runs at READ COMMITTED; the
version column on agreements makes concurrent transitions safe on both.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from engine.errors import DatabaseNotReady
from engine.i18n import _

# The newest migration; `tkksd init` brings a database to it, every other command checks it.
# (tests/test_migrations.py keeps it equal to Alembic's head.)
SCHEMA_REVISION = "0004_evaluation"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _sqlite_setup(engine: Engine, busy_ms: int = 30000, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, decide when transactions begin (SQLAlchemy docs,
        # "Serializable isolation / Savepoints / Transactional DDL" for pysqlite).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        if not read_only:  # setting the journal mode is a write
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = "BEGIN IMMEDIATE" if conn.get_execution_options().get("tkksd_write") else "BEGIN"
        # On the driver's connection: a statement through Core costs several times the BEGIN
        # itself, and every transition begins one. Errors become SQLAlchemy's, as Core's would.
        dbapi_connection = conn.connection.dbapi_connection
        try:
            dbapi_connection.execute(mode)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DBAPIError.instance(mode, (), exc, engine.dialect.loaded_dbapi.Error,
                                             dialect=engine.dialect) from exc


def make_engine(url: str, *, lock_wait_seconds: float | None = None, **kwargs) -> Engine:
    from engine.store import waiting
    from engine.store.database_url import backend_of

    backend_of(url)  # a URL tkksd cannot use is a configuration error, before any driver loads
    seconds = waiting.DEFAULT_WAIT_SECONDS if lock_wait_seconds is None else float(lock_wait_seconds)
    if url.startswith("sqlite"):
        # No folder and no file is made here: only `tkksd init` (upgrade) creates the database.
        read_only = _read_only_file(url)
        if read_only:
            # A read-only copy (or folder) can still be read and reported on.
            url = f"sqlite:///file:{read_only}?mode=ro&uri=true"
        engine = sa.create_engine(url, **kwargs)
        _sqlite_setup(engine, int(seconds * 1000), read_only=bool(read_only))
        waiting.configure(engine, seconds)
        return engine
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    kwargs.setdefault("pool_pre_ping", True)
    engine = sa.create_engine(url, **kwargs)
    waiting.configure(engine, seconds)
    return engine


def _read_only_file(url: str) -> str | None:
    """The path of a SQLite database this process cannot write (file or folder), else None."""
    import os

    name = sa.engine.make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    path = Path(name)
    if not path.exists():
        return None
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        return None
    return str(path.resolve())


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` means the database went away for a while (a PostgreSQL restart or
    failover, a dropped network link, a server refusing connections while it starts), so that
    the work is retried at the next tick rather than treated as a bug.

    SQLAlchemy marks an error that invalidated the pooled connection (``connection_invalidated``);
    the pool then replaces its connections (``pool_pre_ping`` checks them at checkout). A
    server that refuses new connections raises ``OperationalError`` without that mark.
    """
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if isinstance(exc, sa.exc.OperationalError):
        # On SQLite an OperationalError is about the file (locked, read-only, corrupt), not a
        # connection; it is reported as a failure.
        module = type(getattr(exc, "orig", None)).__module__ or ""
        return module.startswith("psycopg")
    return False


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# Execution options of a connection that writes (the begin listener reads them).
WRITE_OPTIONS = {"tkksd_write": True}


@contextlib.contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed on success, rolled back on any error."""
    with engine.connect() as conn:
        conn = conn.execution_options(**WRITE_OPTIONS)
        with conn.begin():
            yield conn


@contextlib.contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        with conn.begin():
            yield conn


def current_revision(conn: Connection) -> str | None:
    try:
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.OperationalError:
        return None
    except sa.exc.ProgrammingError:
        return None


def sqlite_path(engine: Engine) -> Path | None:
    """The database file of a SQLite engine (None: another backend, or in memory)."""
    if engine.dialect.name != "sqlite":
        return None
    name = engine.url.database
    if name and name.startswith("file:"):  # opened read-only: file:PATH?mode=ro
        name = name[5:].split("?", 1)[0]
    return Path(name) if name and name != ":memory:" else None


def check_schema(engine: Engine) -> None:
    path = sqlite_path(engine)
    if path is not None and not path.exists():
        # Connecting would create an empty file: a read must leave nothing behind.
        raise DatabaseNotReady(_("There is no file {path} yet, so the database at {url} has no tkksd schema yet; run `tkksd init` first.")
                               .format(path=path, url=engine.url.render_as_string(hide_password=True)))
    with engine.connect() as conn:
        revision = current_revision(conn)
        conn.rollback()
    if revision is None:
        raise DatabaseNotReady(_("The database at {url} has no tkksd schema yet; run `tkksd init` first.")
                               .format(url=engine.url.render_as_string(hide_password=True)))
    if revision != SCHEMA_REVISION:
        raise DatabaseNotReady(_("The database schema is at revision {revision} but this tkksd needs {needed}; run `tkksd init` to "
                                 "upgrade it.").format(revision=revision, needed=SCHEMA_REVISION))


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Create or upgrade the schema to the newest revision; safe to run again."""
    from alembic import command
    from alembic.config import Config

    path = sqlite_path(engine)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)  # `tkksd init` checks the folder before
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as conn:
        before = current_revision(conn)
        conn.rollback()
    with engine.connect() as conn:
        conn = conn.execution_options(tkksd_write=True)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()
    return before, SCHEMA_REVISION
