"""Deadlines of agreements created just now, planned for a whole batch at once.

What ``engine.lifecycle.deadlines.after_transition`` does for one agreement reduces, for an
agreement that has no deadline rows yet, to planning what its state wants and inserting it:
so an import or the demo writes every planned row of a batch with one executemany.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from engine.lifecycle import deadlines as dl


def plan_created(conn: Connection, ts: list, ctx) -> None:
    rows = []
    for t in ts:
        for p in dl.plan(t.definition, t.to_state, t.values, t.state_entered_at, ctx.clock, ctx.settings, t.at):
            rows.append(dict(agreement_id=t.agreement_id, rule=p.rule.name, action=p.rule.action, state=t.to_state,
                             due_at=p.due_at, occurrence=0, offset_days=p.offset_days, status=dl.PENDING, created_at=t.at))
    if rows:
        conn.execute(dl.deadlines.insert(), rows)
