"""The batched insert writes what services.insert_agreement writes: chained history, and the
deadlines the planner would choose."""

from __future__ import annotations

import sqlalchemy as sa

from engine.store import db

from engine.lifecycle import deadlines
from engine.lifecycle.services import audit_verify
from engine.store.tables import agreements
from tests.setups import demo_imported, shared_setup


@shared_setup(demo_imported)
def test_batched_import_matches_the_planner_and_the_chain(demo_ctx):
    n_agreements, n_rows, problems = audit_verify(demo_ctx)
    assert (n_agreements, n_rows, problems) == (219, 219, [])
    with db.write(demo_ctx.engine) as conn:
        ids = conn.execute(sa.select(agreements.c.id)).scalars().all()
        changed = [deadlines.replan(conn, demo_ctx, i) for i in ids]
        # re-planning from the stored rows keeps everything the import planned and adds nothing
        assert all(c["planned"] == 0 and c["cancelled"] == 0 for c in changed), [c for c in changed if c["planned"] or c["cancelled"]][:3]
        conn.rollback()
