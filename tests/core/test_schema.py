"""The migrations and engine/tables.py describe one schema, and reading commands stay cheap."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.bootstrap import bootstrap
from engine.store.tables import schema_metadata


def test_the_migrated_database_is_what_the_tables_declare(env):
    ctx = bootstrap(env)
    try:
        with ctx.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), schema_metadata())
            conn.rollback()
        assert diff == []
        index_names = {ix.name for t in schema_metadata().tables.values() for ix in t.indexes}
        assert {"ix_deadlines_pending_due", "ix_outbox_pending"} <= index_names
    finally:
        ctx.engine.dispose()


def test_the_tables_load_no_postgresql_dialect():
    # Declaring the partial indexes' PostgreSQL option imports SQLAlchemy's PostgreSQL dialect
    # (20 ms); the tables module leaves that to schema_metadata().
    code = "import sys, engine.store.tables; print('sqlalchemy.dialects.postgresql' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
