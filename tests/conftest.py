"""Shared fixtures: a real database per test (a SQLite file, and PostgreSQL on 127.0.0.1 when
reachable), the engine's context in-process, and the `tkksd` CLI run as a real subprocess.

Integration tests that take ``database_url`` (or anything built on it: ``env``, ``ctx``,
``cli``) run once per backend. PostgreSQL tests skip with a reason when no server answers,
and fail instead under CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("TKKSD_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ADMIN = "admin"


def tkksd_executable() -> list[str]:
    exe = Path(sys.executable).with_name("tkksd")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "engine.cli"]


@lru_cache(maxsize=1)
def pg_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(_psycopg_dsn(PG_ADMIN_URL), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({str(exc).strip().splitlines()[0]})"
    return None


def _psycopg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def require_postgres() -> None:
    problem = pg_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"{problem}; CI must run the PostgreSQL tests")
        pytest.skip(problem)


@pytest.fixture
def pg_database():
    """A fresh, empty PostgreSQL database; dropped afterwards. Yields its SQLAlchemy URL."""
    require_postgres()
    import psycopg

    name = f"tkksd_test_{uuid.uuid4().hex[:12]}"
    admin = _psycopg_dsn(PG_ADMIN_URL)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'tkksd.db'}"
    return request.getfixturevalue("pg_database")


@pytest.fixture
def sqlite_url(tmp_path):
    """For tests that are about SQLite itself (a file to edit with sqlite3, WAL behaviour)."""
    return f"sqlite:///{tmp_path / 'var' / 'tkksd.db'}"


def make_env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TKKSD_")}
    env.update(
        {
            "TKKSD_DATABASE_URL": database_url,
            "TKKSD_HOME": str(tmp_path / "var"),
            "TKKSD_USER": ADMIN,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(extra)
    return env


def init_database(env: dict[str, str]) -> None:
    """What `tkksd init` does, in-process (faster than a subprocess for every test)."""
    from engine.store import db
    from engine.bootstrap import bootstrap
    from engine.store.directory import sync_directory
    from engine.store.wilayah import sync_wilayah
    from engine.lifecycle.services import ensure_first_admin

    ctx = bootstrap(env, check_schema=False, with_hooks=False)
    db.upgrade(ctx.engine)
    with db.write(ctx.engine) as conn:
        sync_directory(conn, ctx.settings.opd_file)
        sync_wilayah(conn, ctx.settings.wilayah_file, ctx.settings.delineation_file)
        ensure_first_admin(conn, env["TKKSD_USER"], ctx.clock.now())
    ctx.engine.dispose()


@pytest.fixture
def env(tmp_path, database_url, monkeypatch):
    """Environment for a database that `tkksd init` has prepared, with the user `admin`."""
    monkeypatch.chdir(tmp_path)
    e = make_env(tmp_path, database_url)
    init_database(e)
    return e


@pytest.fixture
def ctx(env):
    """The engine's context in-process, bound to ``env``'s database."""
    from engine.bootstrap import bootstrap

    c = bootstrap(env)
    yield c
    c.engine.dispose()


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


class Cli:
    """Runs `tkksd` as a real subprocess against one test database."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.env = env
        self.cwd = cwd

    def __call__(self, *args: str, user: str | None = None, now: str | None = None, check: bool = True,
                 extra_env: dict[str, str] | None = None, timeout: float = 120) -> CliResult:
        env = dict(self.env)
        if user:
            env["TKKSD_USER"] = user
        if now:
            env["TKKSD_NOW"] = now
        env.update(extra_env or {})
        proc = subprocess.run(
            [*tkksd_executable(), *args], env=env, cwd=self.cwd, capture_output=True, text=True, timeout=timeout,
        )
        result = CliResult(proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise AssertionError(f"tkksd {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
        return result


@pytest.fixture
def cli(env, tmp_path):
    return Cli(env, tmp_path)


@pytest.fixture
def chromium():
    """Path to a headless Chromium (Debian's package); skips locally when absent, fails in CI."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        if IN_CI:
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path
