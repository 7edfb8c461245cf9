"""`tkksd simulate --until DATE`: what the daemon would do from now to DATE, writing nothing.

It runs the real sweep (``engine.scheduler.sweep.sweep_batch``: the same guards, transitions, hooks,
deadline planning and notice rendering) inside ONE database transaction that is rolled back
at the end, moving a private clock from one due time to the next as a daemon running without
interruption would. Follow-on effects are therefore included: an evaluation opened by the
scheduler plans its own SLA reminder, which shows up if it falls before DATE; an expiry
cancels what was pending. Deadlines already overdue are taken at "now", with the catch-up
folding a real daemon would apply. Digests are not simulated.

On SQLite the transaction holds the write lock while it runs (other writers wait, up to the
busy timeout); on PostgreSQL it holds row locks on what it touches. Both end at the rollback.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

import sqlalchemy as sa

from engine.lifecycle.deadlines import PENDING_SQL
from engine.scheduler.sweep import SweepResult, at_time, sweep_batch
from engine.store.tables import UTCDateTime, agreements, deadlines, outbox

DAEMON_ID = "simulate"


def _next_due(conn, until: datetime) -> datetime | None:
    ready = sa.case((deadlines.c.claimed_until > deadlines.c.due_at, deadlines.c.claimed_until), else_=deadlines.c.due_at)
    q = sa.select(sa.type_coerce(sa.func.min(ready), UTCDateTime)).where(PENDING_SQL, deadlines.c.due_at <= until)
    return conn.execute(q).scalar()


def _what(ctx, a: dict[str, Any]) -> str:
    """The deadline of a simulated action as people call it (its label, not the rule's name)."""
    from engine.lifecycle.labels import deadline_what

    try:
        defn = ctx.registry.get(*a["workflow"])
    except LookupError:
        defn = None
    return deadline_what(defn, a["rule"], a["state"], a["offset_days"], ctx.lang)


def simulate(ctx, until: datetime, *, max_actions: int = 20_000,
             on_progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """What the daemon would do until ``until``. The report's ``shown`` (one label per action,
    for the table people read) is not part of the JSON: the caller takes it out.
    ``on_progress(done, total)`` follows the simulated clock, in hours from now to ``until``."""
    start = ctx.clock.now()
    hours = max(1, int((until - start).total_seconds() // 3600))
    result = SweepResult()
    notices: list[dict[str, Any]] = []
    with ctx.engine.connect() as conn:
        conn = conn.execution_options(tkksd_write=True)
        trans = conn.begin()
        try:
            first_outbox = conn.execute(sa.select(sa.func.coalesce(sa.func.max(outbox.c.id), 0))).scalar_one()
            for _ in range(max_actions):
                due = _next_due(conn, until)
                if due is None:
                    break
                t = max(start, due)
                if t > until:
                    break
                if on_progress is not None:
                    on_progress(int((t - start).total_seconds() // 3600), hours)
                before = len(result.actions)
                claimed = sweep_batch(conn, at_time(ctx, t), now=t, daemon_id=DAEMON_ID, limit=500, result=result,
                                      keep_actions=True, on_action=None)
                if not claimed and len(result.actions) == before:
                    break  # defensive: nothing could be taken at t
                if len(result.actions) >= max_actions:
                    break
            rows = conn.execute(
                sa.select(outbox.c.id, outbox.c.kind, outbox.c.to_addrs, outbox.c.cc_addrs, outbox.c.subject,
                          outbox.c.snapshot, outbox.c.created_at, agreements.c.number)
                .select_from(outbox.join(agreements, agreements.c.id == outbox.c.agreement_id, isouter=True))
                .where(outbox.c.id > first_outbox).order_by(outbox.c.id)
            ).all()
            from engine.mail.rendering import render

            for r in rows:
                notices.append({"at": r.created_at.isoformat(), "kind": r.kind, "agreement": r.number,
                                "to": list(r.to_addrs or []), "cc": list(r.cc_addrs or []),
                                "subject": r.subject or render(ctx, r.kind, r.snapshot).subject})
        finally:
            trans.rollback()
    by_outbox = {}
    for n, r in zip(notices, rows):
        by_outbox[r.id] = n
    actions, shown = [], []
    for a in result.actions:
        shown.append(_what(ctx, a))
        entry = {
            "at": a["at"].isoformat(),
            "due_at": a["due_at"].isoformat(),
            "agreement": a["agreement"],
            "lead_opd": a["lead_opd"],
            "rule": a["rule"],
            "outcome": a["outcome"],
        }
        if a["outcome"] == "fired":
            entry["does"] = f"fire {a['event']} -> {a['to_state']}"
            entry["notices"] = [n for n in notices if n["agreement"] == a["agreement"] and n["at"] == entry["at"]
                                and n["kind"] not in ("reminder", "escalation", "expiry_warning", "kb_followup",
                                                       "contract_due", "contribution_due")]
        elif a["outcome"] == "notified":
            entry["does"] = f"notify {a['template']}" + (f" (folding {a['folded']} missed)" if a["folded"] else "")
            n = by_outbox.get(a.get("outbox_id"))
            entry["to"] = n["to"] if n else []
            entry["cc"] = n["cc"] if n else []
        else:
            entry["does"] = f"skip: {a['reason']}"
        actions.append(entry)
    if on_progress is not None:
        on_progress(hours, hours)
    return {"from": start.isoformat(), "until": until.isoformat(), "actions": actions, "notices": len(notices),
            "counts": result.as_dict(), "truncated": len(result.actions) >= max_actions, "shown": shown}
