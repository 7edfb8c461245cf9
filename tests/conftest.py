"""Shared fixtures: a real database per test (a SQLite file, and PostgreSQL on 127.0.0.1 when
reachable), the engine's context in-process, and the `tkksd` CLI run as a real subprocess.

Integration tests that take ``database_url`` (or anything built on it: ``env``, ``ctx``,
``cli``) run once per backend. PostgreSQL tests skip with a reason when no server answers,
and fail instead under CI=true.

A test that uses ``env`` (or ``ctx``, ``cli``) gets a copy of a database that `tkksd init` prepared
once per session (tests/databases.py); a test that takes only ``database_url`` or
``pg_database`` gets an empty one, to initialise itself. A test marked
``@shared_setup(setup)`` (tests/setups.py) gets a copy of what ``setup`` made once per session and
backend, and ``shared_setup_result`` is what it returned. Tests must not depend on each other or on
their order: the suite runs in random order (pytest-randomly prints its seed; ``--randomly-seed=N``
repeats an order, ``-p no:randomly`` turns it off).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

from tests.cli_server import ForkServer
from tests.databases import ADMIN, PG_ADMIN_URL, TEMPLATES, SharedSetup, migrate, psycopg_dsn, sqlite_file, template_fits

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# URLs of the databases that are already copies of the session's template.
_PREPARED: set[str] = set()
# `tkksd` runs are forked from a warm server (tests/cli_server.py) unless TKKSD_TEST_CLI=spawn.
_FORK_SERVER: ForkServer | None = None


# Tests' folders (SQLite files, Maildirs) go to memory when the machine has room there: every
# SQLite commit fsyncs (synchronous=FULL), which costs milliseconds on disk and nothing on tmpfs,
# and nothing the tests check depends on surviving a power cut. `--basetemp` chooses otherwise.
RAM_FOLDER = Path("/dev/shm")
RAM_NEEDED = 2 * 1024**3
_RAM_BASETEMP = pytest.StashKey[str]()


def pytest_configure(config):
    if config.option.basetemp or hasattr(config, "workerinput") or os.environ.get("TKKSD_TEST_TMP") == "disk":
        return
    try:
        if shutil.disk_usage(RAM_FOLDER).free < RAM_NEEDED or not os.access(RAM_FOLDER, os.W_OK):
            return
    except OSError:
        return
    config.option.basetemp = tempfile.mkdtemp(prefix="tkksd-pytest-", dir=RAM_FOLDER)
    config.stash[_RAM_BASETEMP] = config.option.basetemp


def pytest_unconfigure(config):
    folder = config.stash.get(_RAM_BASETEMP, None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """The tests marked ``slow`` first (``slow(first=True)``, the longest, before them), each part in
    its random order (a stable sort after pytest-randomly's shuffle). In parallel (``-n 2``) tests
    are handed to the workers in this order as they free up: a long test handed out last would
    keep one worker busy alone at the end, while started first it runs beside the short ones."""
    items.sort(key=_start_rank)


def _start_rank(item) -> int:
    slow = item.get_closest_marker("slow")
    if slow is None:
        return 2
    return 0 if slow.kwargs.get("first") else 1


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


_psycopg_dsn = psycopg_dsn  # the name other conftests import


def require_postgres() -> None:
    problem = pg_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"{problem}; CI must run the PostgreSQL tests")
        pytest.skip(problem)


@pytest.fixture(scope="session", autouse=True)
def _session_templates():
    """Drops the session's template databases (and the copies made ahead) at the end, and stops
    the CLI's fork server."""
    global _FORK_SERVER
    yield TEMPLATES
    try:
        TEMPLATES.close()
    finally:
        if _FORK_SERVER is not None:
            _FORK_SERVER.close()
            shutil.rmtree(Path(_FORK_SERVER.path).parent, ignore_errors=True)
            _FORK_SERVER = None


def run_tkksd(args: list[str], env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    """`tkksd ARGS` as a process of its own, output captured as text (like ``subprocess.run``)."""
    global _FORK_SERVER
    if os.environ.get("TKKSD_TEST_CLI") == "spawn":
        return subprocess.run([*tkksd_executable(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if _FORK_SERVER is None:
        _FORK_SERVER = ForkServer(Path(tempfile.mkdtemp(prefix="tkksd-cli-")))
    return _FORK_SERVER.run(list(args), env, cwd, timeout)


@pytest.fixture
def pg_database():
    """A fresh, empty PostgreSQL database; dropped afterwards. Yields its SQLAlchemy URL."""
    require_postgres()
    databases = TEMPLATES.pg()
    url = databases.empty()
    yield url
    databases.drop(url)


def _wants_prepared(request) -> bool:
    # A test that uses ``env`` (directly or through ``ctx``, ``cli``, ...) gets a copy of the
    # template at once instead of an empty database that ``env`` would then initialise.
    return "env" in request.fixturenames


def _shared_setup(request, backend: str) -> SharedSetup | None:
    """What the test's ``shared_setup`` marker names, built on ``backend`` (once per session)."""
    marker = request.node.get_closest_marker("shared_setup")
    if marker is None:
        return None
    factory = request.getfixturevalue("tmp_path_factory")
    return TEMPLATES.shared(marker.args[0], backend, lambda: factory.mktemp(f"setup-{marker.args[0].__name__}"),
                            lambda env, cwd: Cli(env, cwd))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'var' / 'tkksd.db'}"
        shared = _shared_setup(request, "sqlite")
        if shared is not None:
            TEMPLATES.copy_shared(shared, url, tmp_path / "var")
            _PREPARED.add(url)
        elif _wants_prepared(request):
            TEMPLATES.copy_sqlite(url)
            _PREPARED.add(url)
        yield url
        _PREPARED.discard(url)
        return
    if not _wants_prepared(request) and request.node.get_closest_marker("shared_setup") is None:
        yield request.getfixturevalue("pg_database")
        return
    require_postgres()
    databases = TEMPLATES.pg()
    shared = _shared_setup(request, "postgresql")
    if shared is not None:
        url = databases.copy_of(shared.database)
        TEMPLATES.copy_shared(shared, url, tmp_path / "var")
    else:
        url = databases.prepared()
    _PREPARED.add(url)
    yield url
    _PREPARED.discard(url)
    databases.drop(url)


@pytest.fixture
def shared_setup_result(request, database_url):
    """What the test's shared setup returned on the test's backend."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    shared = _shared_setup(request, backend)
    assert shared is not None, "shared_setup_result needs a test marked @shared_setup(setup)"
    return shared.result


@pytest.fixture(autouse=True)
def _language_as_a_fresh_process(monkeypatch):
    """Each test starts with the language state of a fresh process and leaves it so: a test that
    switches the language (i18n.use binds gettext's global domain and sets LANGUAGE) must not
    change what a later in-process test reads, whatever the order."""
    import gettext

    from engine import i18n

    domain, language = gettext.textdomain(), i18n.language()
    monkeypatch.setenv("LANGUAGE", os.environ.get("LANGUAGE", ""))  # restored by monkeypatch
    yield
    i18n.use(language)
    gettext.textdomain(domain)


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
    """What `tkksd init` does, in-process (faster than a subprocess for every test).

    A new SQLite file that `tkksd init` would fill like the session's template is a copy of it;
    anything else (PostgreSQL, other settings, a set clock, an existing file) is migrated for real.
    """
    url = env["TKKSD_DATABASE_URL"]
    if url in _PREPARED:
        return
    if url.startswith("sqlite:///") and template_fits(env) and not sqlite_file(url).exists():
        TEMPLATES.copy_sqlite(url)
        return
    migrate(env)


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
        proc = run_tkksd(list(args), env, self.cwd, timeout)
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
    return program(("chromium", "chromium-browser"), "chromium")


def program(names: tuple[str, ...], package: str):
    """Path of a Debian program the document tests open files with; skips locally when absent, fails in CI."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    if IN_CI:
        pytest.fail(f"{names[0]} is not installed; .ci/run installs Debian's {package}")
    pytest.skip(f"{names[0]} is not installed (apt-get install {package})")


@pytest.fixture
def libreoffice():
    """Path to LibreOffice's soffice (Debian's libreoffice-calc), used headless."""
    return program(("soffice", "libreoffice"), "libreoffice-calc")


@pytest.fixture
def pdftoppm():
    """Path to poppler's pdftoppm (Debian's poppler-utils): PDF pages as PNG pictures."""
    return program(("pdftoppm",), "poppler-utils")


@pytest.fixture
def graphviz_dot():
    """Path to Graphviz's dot (Debian's graphviz)."""
    return program(("dot",), "graphviz")
