"""Test databases made once per session and copied for every test.

Running Alembic and loading the OPD directory for each of several hundred tests (twice: SQLite
and PostgreSQL) was a large share of the suite's time. Instead, each test session (each xdist
worker) prepares one template per backend the first time a test needs it, exactly as
``tkksd init`` does, and every test gets a copy:

- SQLite: the template file is checkpointed (no ``-wal`` beside it) and copied with
  ``shutil.copyfile``.
- PostgreSQL: ``CREATE DATABASE … TEMPLATE``. A copy costs the server a fraction of a second of
  mostly I/O, so the next copies are made in a background thread while the current test runs.
  Drops run in a second thread: on PostgreSQL 15 each ``DROP DATABASE`` waits for a checkpoint,
  which must not hold up the next copy. A test waits for neither unless the threads are behind.

Only an environment that ``tkksd init`` would fill exactly like the template (the user ``admin``,
the shipped settings, the real clock) gets a copy; any other is initialised for real by
``init_database``.

Shared setups: a few long setups (the demo inventory loaded, then a daemon pass that catches up
on two and a half years) are the start of several tests. Such a setup is a function of a ``Cli``
(tests/setups.py); it runs once per session and backend on a copy of the template, in a folder
of its own, and what it leaves (the database and the home folder: the Maildir) becomes a
template in turn, copied for each test that names the setup (``@shared_setup(setup)``).
"""

from __future__ import annotations

import atexit
import os
import queue
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

ADMIN = "admin"
PG_ADMIN_URL = os.environ.get("TKKSD_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# TKKSD_ variables a test environment may carry and still be served from the template.
TEMPLATE_SAFE_KEYS = {"TKKSD_DATABASE_URL", "TKKSD_HOME", "TKKSD_USER"}


def psycopg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def pg_url(name: str) -> str:
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def pg_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def sqlite_file(url: str) -> Path:
    return Path(url.split("///", 1)[1])


def migrate(env: dict[str, str]) -> None:
    """What `tkksd init` does, in-process: the schema, the OPD directory and its urusan, the
    wilayah units, the first admin."""
    from engine.bootstrap import bootstrap
    from engine.lifecycle.services import ensure_first_admin
    from engine.store import db
    from engine.store.directory import sync_directory
    from engine.store.urusan import load_urusan
    from engine.store.wilayah import sync_wilayah

    ctx = bootstrap(env, check_schema=False, with_hooks=False)
    try:
        db.upgrade(ctx.engine)
        with db.write(ctx.engine) as conn:
            sync_directory(conn, ctx.settings.opd_file)
            load_urusan(conn, ctx)
            sync_wilayah(conn, ctx.settings.wilayah_file, ctx.settings.delineation_file)
            ensure_first_admin(conn, env["TKKSD_USER"], ctx.clock.now())
    finally:
        ctx.engine.dispose()


def template_fits(env: dict[str, str]) -> bool:
    """Whether `tkksd init` with ``env`` would make exactly the template's content."""
    keys = {k for k in env if k.startswith("TKKSD_")}
    return keys <= TEMPLATE_SAFE_KEYS and env.get("TKKSD_USER") == ADMIN


def template_env(folder: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TKKSD_")}
    env.update({"TKKSD_DATABASE_URL": url, "TKKSD_HOME": str(folder / "var"), "TKKSD_USER": ADMIN})
    return env


class PgDatabases:
    """Template copies on PostgreSQL, made ahead in a background thread; drops in another."""

    AHEAD = 1  # copies kept ready

    def __init__(self, folder: Path):
        import psycopg

        self._psycopg = psycopg
        self._copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tkksd-test-pg-copy")
        # Several at once: drops that wait together share one checkpoint.
        self._dropper = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tkksd-test-pg-drop")
        self._ahead: queue.SimpleQueue[Future] = queue.SimpleQueue()
        self._folder = folder
        self.template: str | None = None  # made at the first prepared(): empty() needs none
        self._derived: list[str] = []  # shared setups' databases (templates of their own)

    def _make_template(self) -> None:
        self.template = f"tkksd_tmpl_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{self.template}"')
        migrate(template_env(self._folder, pg_url(self.template)))
        for _ in range(self.AHEAD):
            self._make_ahead()

    def _execute(self, sql: str) -> None:
        with self._psycopg.connect(psycopg_dsn(PG_ADMIN_URL), autocommit=True) as conn:
            conn.execute(sql)

    def _copy(self) -> str:
        name = f"tkksd_test_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    def _make_ahead(self) -> None:
        self._ahead.put(self._copier.submit(self._copy))

    def prepared(self) -> str:
        """The URL of a fresh copy of the template (the next one starts at once)."""
        if self.template is None:
            self._make_template()
        future = self._ahead.get()
        self._make_ahead()
        try:
            return pg_url(future.result())
        except self._psycopg.Error:
            # Made ahead while the server was away (a test restarts PostgreSQL): once more, now.
            return pg_url(self._retry(self._copy))

    def _retry(self, make, seconds: float = 60.0) -> str:
        deadline = time.monotonic() + seconds
        while True:
            try:
                return make()
            except self._psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def copy_of(self, template: str) -> str:
        """The URL of a fresh copy of ``template`` (a shared setup's database), made now."""
        name = f"tkksd_test_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return pg_url(name)

    def derive(self) -> str:
        """The name of a new database copied from the template, for a shared setup to build on;
        it is dropped with the template at the end."""
        if self.template is None:
            self._make_template()
        name = f"tkksd_tmpl_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self._derived.append(name)
        return name

    def empty(self) -> str:
        """The URL of a fresh, empty database (created now)."""
        name = f"tkksd_test_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}"')
        return pg_url(name)

    def drop(self, url: str) -> None:
        """Drop in the background (WITH FORCE: a test's leftover connection does not block it)."""
        self._dropper.submit(self._execute, f'DROP DATABASE IF EXISTS "{pg_name(url)}" WITH (FORCE)')

    def close(self) -> None:
        while not self._ahead.empty():
            future = self._ahead.get()
            try:
                self.drop(pg_url(future.result()))
            except Exception:  # noqa: BLE001 - a copy that failed leaves nothing to drop
                pass
        self._copier.shutdown(wait=True)
        for name in [*self._derived, *([self.template] if self.template else [])]:
            self._dropper.submit(self._execute, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._dropper.shutdown(wait=True)


def fold_wal(path: Path) -> None:
    """Fold a SQLite database's WAL into its file, so that one file is the whole database."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


@dataclass(frozen=True)
class SharedSetup:
    """What a shared setup left on one backend: its database (the SQLite file, or the name of a
    PostgreSQL database used as a template), its home folder, and what the setup returned."""

    database: str
    home: Path
    result: Any


# The files of a home folder that are the SQLite database itself (copied apart, WAL folded).
DATABASE_FILES = shutil.ignore_patterns("tkksd.db", "tkksd.db-*")


class Templates:
    """The session's templates, made on first use. One per process (xdist workers each have one)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._folder: Path | None = None
        self._sqlite: Path | None = None
        self._pg: PgDatabases | None = None
        self._shared: dict[tuple[str, str], SharedSetup] = {}

    def _dir(self) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="tkksd-templates-"))
        return self._folder

    def sqlite_template(self) -> Path:
        with self._lock:
            if self._sqlite is None:
                folder = self._dir() / "sqlite"
                path = folder / "var" / "tkksd.db"
                migrate(template_env(folder, f"sqlite:///{path}"))
                fold_wal(path)
                self._sqlite = path
            return self._sqlite

    def copy_sqlite(self, url: str) -> None:
        target = sqlite_file(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.sqlite_template(), target)

    def pg(self) -> PgDatabases:
        with self._lock:
            if self._pg is None:
                self._pg = PgDatabases(self._dir() / "postgresql")
            return self._pg

    def shared(self, setup: Callable[[Any], Any], backend: str, folder: Callable[[], Path],
               make_cli: Callable[[dict[str, str], Path], Any]) -> SharedSetup:
        """``setup`` run once on ``backend`` ("sqlite" or "postgresql"): ``setup(make_cli(env, where))``
        on a copy of the template, in a new folder ``where = folder()`` (the test session's, which
        is in memory when the machine has room: the setup's commits cost no fsync there)."""
        key = (f"{setup.__module__}.{setup.__qualname__}", backend)
        if key not in self._shared:
            self._shared[key] = self._build(setup, backend, folder(), make_cli)
        return self._shared[key]

    def _build(self, setup, backend: str, folder: Path, make_cli) -> SharedSetup:
        if backend == "sqlite":
            path = folder / "var" / "tkksd.db"
            url = f"sqlite:///{path}"
            self.copy_sqlite(url)
        else:
            database = self.pg().derive()
            url = pg_url(database)
        result = setup(make_cli(template_env(folder, url), folder))
        if backend == "sqlite":
            fold_wal(path)
            database = str(path)
        return SharedSetup(database, folder / "var", result)

    def copy_shared(self, shared: SharedSetup, url: str, home: Path) -> None:
        """A test's start from ``shared``: its home folder copied into ``home`` and, on SQLite, its
        database to ``url`` (on PostgreSQL ``url`` is already a copy: ``PgDatabases.copy_of``)."""
        if shared.home.exists():  # a setup that wrote nothing there (in-process, on PostgreSQL) left none
            shutil.copytree(shared.home, home, ignore=DATABASE_FILES, dirs_exist_ok=True)
        if url.startswith("sqlite:///"):
            target = sqlite_file(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shared.database, target)

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()
            self._pg = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
        self._sqlite = None
        self._shared.clear()


TEMPLATES = Templates()
atexit.register(TEMPLATES.close)  # conftest closes it at session end; this covers an interrupted run
