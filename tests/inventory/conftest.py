"""Fixtures for the inventory tests: the demo inventory loaded, and a second empty database
on the same backend (the round trip imports into it)."""

from __future__ import annotations

import pytest

from tests.conftest import Cli, init_database, make_env
from tests.databases import TEMPLATES
from tests.setups import DEMO_DAY, demo_imported

NOW_2024 = f"{DEMO_DAY}:00"


@pytest.fixture
def second_env(tmp_path, database_url):
    """Environment of another database on the same backend as ``env``: a SQLite file that
    ``init_database`` makes, or a copy of the session's initialised PostgreSQL template."""
    folder = tmp_path / "second"
    folder.mkdir()
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{folder / 'var' / 'tkksd.db'}"
        yield make_env(folder, url)
        return
    databases = TEMPLATES.pg()
    url = databases.prepared()
    try:
        yield make_env(folder, url)
    finally:
        databases.drop(url)


@pytest.fixture
def second_ctx(second_env):
    from engine.bootstrap import bootstrap

    if second_env["TKKSD_DATABASE_URL"].startswith("sqlite"):
        init_database(second_env)  # a copy of the template; the PostgreSQL copy is one already
    c = bootstrap(second_env)
    yield c
    c.engine.dispose()


@pytest.fixture
def demo_ctx(request, env):
    """The engine's context with the demo inventory loaded, the clock at 1 May 2024. The import is
    a shared setup (tests/setups.py): the test is marked ``@shared_setup(demo_imported)``."""
    from engine.bootstrap import bootstrap

    marker = request.node.get_closest_marker("shared_setup")
    assert marker is not None and marker.args[0] is demo_imported, "demo_ctx needs @shared_setup(demo_imported)"
    c = bootstrap(dict(env, TKKSD_NOW=NOW_2024))
    yield c
    c.engine.dispose()


def snapshot(ctx) -> dict[str, dict]:
    """Every agreement as comparable plain data, by number."""
    import sqlalchemy as sa

    from engine.store import db
    from engine.store.tables import agreements

    with db.read(ctx.engine) as conn:
        rows = conn.execute(sa.select(agreements)).all()
    numbers = {r.id: r.number for r in rows}
    return {
        r.number: {
            "workflow": r.workflow, "version": r.workflow_version, "state": r.lifecycle_state,
            "since": ctx.clock.local(r.state_entered_at).date().isoformat(), "title": r.title, "partner": r.partner,
            "lead_opd": r.lead_opd, "parent": numbers.get(r.parent_id), "data": {k: v for k, v in (r.data or {}).items() if v is not None},
        }
        for r in rows
    }


@pytest.fixture
def doc_env(tmp_path, tmp_path_factory, sqlite_url):
    """A SQLite database with the demo inventory, the clock at 1 May 2024 (documents do not depend
    on the backend): a copy of the shared setup ``demo_imported``."""
    shared = TEMPLATES.shared(demo_imported, "sqlite", lambda: tmp_path_factory.mktemp("setup-demo_imported"), Cli)
    TEMPLATES.copy_shared(shared, sqlite_url, tmp_path / "var")
    return make_env(tmp_path, sqlite_url, TKKSD_NOW=NOW_2024)


@pytest.fixture
def doc_ctx(doc_env):
    from engine.bootstrap import bootstrap

    ctx = bootstrap(doc_env)
    yield ctx
    ctx.engine.dispose()
