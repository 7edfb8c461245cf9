"""`tkksd doctor`: the consistency checks that keep "no agreement left hanging" true.

Problems (the command exits non-zero, naming each agreement):
* a non-final agreement without a pending deadline (hanging);
* an agreement whose workflow version is not installed, or whose state is not in it;
* pending deadlines on a final agreement;
* pending deadlines that belong to another state than the agreement's;
* outbox messages pending for longer than ``mail.max_age_hours`` plus a day (the drain is not
  running or cannot deliver).
Warnings (reported, exit 0): overdue deadlines while no daemon has made a pass recently,
failed outbox messages, open incidents. The history chain is `tkksd audit verify`'s job.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.store import db
from engine.lifecycle.deadlines import PENDING_SQL
from engine.store.tables import agreements, deadlines, heartbeats, incidents, outbox


def _final_states(ctx) -> dict[tuple[str, int], set[str]]:
    return {(d.name, d.version): set(d.final_states()) for d in ctx.registry.all()}


def hanging(conn: Connection, ctx) -> list[dict[str, Any]]:
    """Non-final agreements with no pending deadline."""
    finals = _final_states(ctx)
    has_pending = sa.exists().where(deadlines.c.agreement_id == agreements.c.id, PENDING_SQL)
    out = []
    q = sa.select(agreements.c.number, agreements.c.title, agreements.c.workflow, agreements.c.workflow_version,
                  agreements.c.lifecycle_state).where(~has_pending).order_by(agreements.c.id)
    for r in conn.execute(q):
        final = finals.get((r.workflow, r.workflow_version))
        if final is not None and r.lifecycle_state in final:
            continue
        out.append({"agreement": r.number, "title": r.title, "state": r.lifecycle_state})
    return out


def check(ctx, now: datetime | None = None) -> dict[str, Any]:
    now = now or ctx.clock.now()
    problems: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []

    def problem(kind: str, agreement: str | None, message: str) -> None:
        problems.append({"kind": kind, "agreement": agreement, "message": message})

    defs = {(d.name, d.version): d for d in ctx.registry.all()}
    with db.read(ctx.engine) as conn:
        for h in hanging(conn, ctx):
            problem("hanging", h["agreement"],
                    f"{h['agreement']} is in state '{h['state']}' with no pending deadline (left hanging); "
                    "`tkksd doctor --fix` plans its deadlines again")
        for r in conn.execute(sa.select(agreements.c.number, agreements.c.workflow, agreements.c.workflow_version,
                                        agreements.c.lifecycle_state).order_by(agreements.c.id)):
            d = defs.get((r.workflow, r.workflow_version))
            if d is None:
                problem("workflow", r.number, f"{r.number} runs workflow {r.workflow} v{r.workflow_version}, which is not installed")
            elif not d.has_state(r.lifecycle_state):
                problem("state", r.number, f"{r.number} is in state '{r.lifecycle_state}', which {d.key} does not have")
        pend = conn.execute(
            sa.select(agreements.c.number, agreements.c.workflow, agreements.c.workflow_version,
                      agreements.c.lifecycle_state, deadlines.c.state, sa.func.count().label("n"))
            .select_from(deadlines.join(agreements, agreements.c.id == deadlines.c.agreement_id))
            .where(PENDING_SQL)
            .group_by(agreements.c.number, agreements.c.workflow, agreements.c.workflow_version,
                      agreements.c.lifecycle_state, deadlines.c.state)
        )
        finals = _final_states(ctx)
        for r in pend:
            if r.lifecycle_state in finals.get((r.workflow, r.workflow_version), set()):
                problem("final_pending", r.number, f"{r.number} is final ('{r.lifecycle_state}') but has {r.n} pending deadline(s)")
            elif r.state != r.lifecycle_state:
                problem("stale_state", r.number,
                        f"{r.number} is in '{r.lifecycle_state}' but has {r.n} pending deadline(s) of state '{r.state}'")
        max_age = timedelta(hours=float(ctx.settings.get("mail", "max_age_hours", 72)) + 24)
        stuck = conn.execute(
            sa.select(outbox.c.id, outbox.c.kind, outbox.c.created_at, agreements.c.number)
            .select_from(outbox.join(agreements, agreements.c.id == outbox.c.agreement_id, isouter=True))
            .where(outbox.c.status == "pending", outbox.c.created_at < now - max_age).order_by(outbox.c.id).limit(50)
        ).all()
        for r in stuck:
            problem("outbox_stuck", r.number,
                    f"outbox message {r.id} ({r.kind}{', ' + r.number if r.number else ''}) is pending since "
                    f"{r.created_at:%Y-%m-%d %H:%M} UTC; is the daemon draining the outbox?")
        overdue = conn.execute(
            sa.select(sa.func.count()).select_from(deadlines).where(PENDING_SQL, deadlines.c.due_at <= now)
        ).scalar_one()
        last_pass = conn.execute(sa.select(sa.func.max(heartbeats.c.last_pass_at))).scalar()
        sweep_every = timedelta(seconds=int(ctx.settings.get("daemon", "sweep_seconds", 60)) * 5)
        if overdue and (last_pass is None or last_pass < now - sweep_every):
            warnings.append({"kind": "daemon", "agreement": None,
                             "message": f"{overdue} deadline(s) are due but no daemon pass since "
                                        f"{last_pass:%Y-%m-%d %H:%M} UTC" if last_pass else
                                        f"{overdue} deadline(s) are due and no daemon has run yet (`tkksd daemon`)"})
        failed = conn.execute(sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status == "failed")).scalar_one()
        if failed:
            warnings.append({"kind": "outbox_failed", "agreement": None,
                             "message": f"{failed} outbox message(s) failed; `tkksd outbox list --status failed`"})
        open_incidents = conn.execute(
            sa.select(sa.func.count()).select_from(incidents).where(incidents.c.resolved_at.is_(None))
        ).scalar_one()
        if open_incidents:
            warnings.append({"kind": "incidents", "agreement": None, "message": f"{open_incidents} open incident(s)"})
        n_agreements = conn.execute(sa.select(sa.func.count()).select_from(agreements)).scalar_one()
        n_pending = conn.execute(sa.select(sa.func.count()).select_from(deadlines).where(PENDING_SQL)).scalar_one()
    return {"ok": not problems, "agreements": n_agreements, "pending_deadlines": n_pending,
            "problems": problems, "warnings": warnings}


def fix(ctx) -> list[str]:
    """Plan the deadlines of hanging agreements and cancel those of final ones again."""
    from engine.lifecycle.deadlines import replan

    fixed = []
    with db.write(ctx.engine) as conn:
        numbers = [h["agreement"] for h in hanging(conn, ctx)]
        rows = conn.execute(sa.select(agreements.c.id, agreements.c.number).where(agreements.c.number.in_(numbers))).all()
        finals = _final_states(ctx)
        stale = conn.execute(
            sa.select(agreements.c.id, agreements.c.number, agreements.c.workflow, agreements.c.workflow_version,
                      agreements.c.lifecycle_state, deadlines.c.state)
            .select_from(deadlines.join(agreements, agreements.c.id == deadlines.c.agreement_id)).where(PENDING_SQL)
        ).all()
        targets = {r.id: r.number for r in rows}
        for r in stale:
            if r.lifecycle_state in finals.get((r.workflow, r.workflow_version), set()) or r.state != r.lifecycle_state:
                targets[r.id] = r.number
        for agreement_id, number in sorted(targets.items()):
            try:
                replan(conn, ctx, agreement_id, reason="tkksd doctor --fix")
            except LookupError:
                continue
            fixed.append(number)
    return fixed
