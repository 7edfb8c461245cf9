"""The test databases keep their contract: ``env`` is a database `tkksd init` prepared (schema
at head, the OPD directory, the admin) and a test's own; ``database_url`` alone is empty."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa


def _count(url: str, sql: str) -> int:
    from engine.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar_one()
    finally:
        engine.dispose()


def test_env_is_initialised_and_writable(env):
    from engine.store.db import SCHEMA_REVISION

    url = env["TKKSD_DATABASE_URL"]
    assert _count(url, "SELECT count(*) FROM alembic_version WHERE version_num = '%s'" % SCHEMA_REVISION) == 1
    assert _count(url, "SELECT count(*) FROM opds") > 0
    assert _count(url, "SELECT count(*) FROM users WHERE login = 'admin'") == 1
    assert _count(url, "SELECT count(*) FROM agreements") == 0


def test_each_test_has_its_own_copy(ctx):
    from tests.helpers import add_service

    add_service(ctx)  # a copy shared with another test would show up there as a second agreement
    assert _count(ctx.settings.database_url, "SELECT count(*) FROM agreements") == 1


def test_database_url_alone_is_empty(database_url):
    from engine.store.db import make_engine

    if database_url.startswith("sqlite:///"):
        # Only `tkksd init` creates the database's folder (engine.store.home); a bare URL names
        # a file in a folder nobody made yet.
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
