"""Fixtures for the inventory tests: the demo inventory loaded, and a second empty database
on the same backend (the round trip imports into it)."""

from __future__ import annotations

import pytest

from tests.conftest import init_database, make_env
from tests.databases import TEMPLATES

NOW_2024 = "2024-05-01T09:00:00"


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
def demo_ctx(env):
    """The engine's context with the demo inventory loaded, the clock at 1 May 2024."""
    from engine.bootstrap import bootstrap
    from engine.cli.inventory_cmds import DEMO_FILE
    from engine.inventory.importing import import_file

    e = dict(env, TKKSD_NOW=NOW_2024)
    c = bootstrap(e)
    import_file(c, DEMO_FILE, "admin", source="config/demo/inventory.csv", note_extra="demo inventory (sample data)")
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
def doc_env(tmp_path, sqlite_url):
    """A SQLite database with the demo inventory, the clock at 1 May 2024 (documents do not depend on the backend)."""
    from engine.bootstrap import bootstrap
    from engine.cli.inventory_cmds import DEMO_FILE
    from engine.inventory.importing import import_file
    from tests.conftest import init_database, make_env

    env = make_env(tmp_path, sqlite_url, TKKSD_NOW=NOW_2024)
    init_database(env)
    ctx = bootstrap(env)
    import_file(ctx, DEMO_FILE, "admin", source="config/demo/inventory.csv", note_extra="demo inventory (sample data)")
    ctx.engine.dispose()
    return env


@pytest.fixture
def doc_ctx(doc_env):
    from engine.bootstrap import bootstrap

    ctx = bootstrap(doc_env)
    yield ctx
    ctx.engine.dispose()
