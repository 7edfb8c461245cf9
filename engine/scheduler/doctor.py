"""`tkksd doctor`: the consistency checks that keep "no agreement left hanging" true.

Problems (the command exits non-zero, naming each agreement):
* a hanging agreement (``engine.lifecycle.hanging``): no pending deadline (``--fix`` plans
  them again), or a step or a KB/MoU follow-up overdue beyond its grace (a person must act;
  ``--fix`` says it cannot);
* a non-final agreement lacking a deadline its definition plans (``--fix`` plans it);
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

from engine.i18n import _, moment, number
from engine.lifecycle.deadlines import PENDING_SQL
from engine.lifecycle.labels import deadline_what
from engine.store import db
from engine.store.tables import agreements, deadlines, heartbeats, incidents, outbox


def _final_states(ctx) -> dict[tuple[str, int], set[str]]:
    return {(d.name, d.version): set(d.final_states()) for d in ctx.registry.all()}


def hanging(conn: Connection, ctx, now: datetime | None = None) -> list[dict[str, Any]]:
    """Hanging agreements (``engine.lifecycle.hanging``: the one definition), as plain dicts."""
    from engine.lifecycle import hanging as hanging_

    return [{"agreement": h.number, "title": h.title, "state": h.state, "since": h.since,
             "due_on": min((r.due_on for r in h.reasons if r.due_on is not None), default=None),
             "repairable": any(r.kind == hanging_.NO_DEADLINE for r in h.reasons), "description": h.describe(),
             "state_label": _state_label(ctx, h.state), "why": "; ".join(_reason_text(ctx, h, r) for r in h.reasons)}
            for h in hanging_.find(conn, ctx, now)]


def _state_label(ctx, state: str) -> str:
    return next((d.state(state).label.get(ctx.lang) for d in ctx.registry.all() if d.has_state(state)), state)


def _reason_text(ctx, h, r) -> str:
    """Why an agreement hangs, in words: the deadline's label and its date, not the rule's name."""
    from engine.i18n import day, number
    from engine.lifecycle import hanging as hanging_
    from engine.lifecycle.labels import deadline_what

    if r.kind == hanging_.NO_DEADLINE:
        return _("in the step {state} with no pending deadline").format(state=_state_label(ctx, r.state))
    if r.kind == hanging_.EVALUATION_ROUND:
        return _("evaluation round {round}: its due date {day} has passed").format(round=r.ref, day=day(r.due_on))
    try:
        defn = ctx.registry.get(h.workflow, h.workflow_version)
    except LookupError:
        defn = None
    return _("{what}: due on {day}, more than {grace} day(s) ago").format(
        what=deadline_what(defn, r.kind, r.state, 0, ctx.lang), day=day(r.due_on), grace=number(r.grace_days))


def _hanging_message(h: dict[str, Any]) -> str:
    if h["repairable"]:
        return _("{agreement} is in the step {state} with no pending deadline (left hanging); "
                 "`tkksd doctor --fix` plans its deadlines again").format(agreement=h["agreement"], state=h["state_label"])
    return _("{agreement} is hanging: {why}; a person must decide (`tkksd events {agreement}`), "
             "`tkksd doctor --fix` cannot").format(agreement=h["agreement"], why=h["why"])


def missing(conn: Connection, ctx, now: datetime) -> list[dict[str, Any]]:
    """Non-final agreements that lack deadlines their definition plans (a row deleted by hand,
    a timed event whose effect an import undid); `--fix` plans them again."""
    from engine.lifecycle.deadlines import diff
    from engine.lifecycle.services import typed_values

    out = []
    for r in conn.execute(sa.select(agreements).order_by(agreements.c.id)):
        try:
            defn = ctx.registry.get(r.workflow, r.workflow_version)
        except LookupError:
            continue
        if not defn.has_state(r.lifecycle_state) or defn.state(r.lifecycle_state).final:
            continue
        d = diff(conn, ctx, agreement_id=r.id, defn=defn, state=r.lifecycle_state, values=typed_values(defn, r),
                 entered_at=r.state_entered_at, now=now, revive_fired=True)
        if d.new:
            out.append({"id": r.id, "agreement": r.number, "rules": sorted({p.rule.name for p in d.new})})
    return out


def check(ctx, now: datetime | None = None) -> dict[str, Any]:
    now = now or ctx.clock.now()
    problems: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []

    def problem(kind: str, agreement: str | None, message: str) -> None:
        problems.append({"kind": kind, "agreement": agreement, "message": message})

    defs = {(d.name, d.version): d for d in ctx.registry.all()}
    with db.read(ctx.engine) as conn:
        hangs = hanging(conn, ctx, now)
        for h in hangs:
            # "hanging": nothing will move it (repairable); "hanging_overdue": people must act.
            problem("hanging" if h["repairable"] else "hanging_overdue", h["agreement"], _hanging_message(h))
        no_deadline = {h["agreement"] for h in hangs if h["repairable"]}
        for m in missing(conn, ctx, now):
            if m["agreement"] not in no_deadline:  # already said: it has none at all
                problem("missing_deadline", m["agreement"],
                        _("{agreement} lacks its deadline(s) {rules}; `tkksd doctor --fix` plans them again").format(
                            agreement=m["agreement"], rules=", ".join(deadline_what(None, r, "", 0, ctx.lang) for r in m["rules"])))
        for r in conn.execute(sa.select(agreements.c.number, agreements.c.workflow, agreements.c.workflow_version,
                                        agreements.c.lifecycle_state).order_by(agreements.c.id)):
            d = defs.get((r.workflow, r.workflow_version))
            if d is None:
                problem("workflow", r.number, _("{agreement} runs workflow {workflow} v{version}, which is not installed").format(
                    agreement=r.number, workflow=r.workflow, version=r.workflow_version))
            elif not d.has_state(r.lifecycle_state):
                problem("state", r.number, _("{agreement} is in state '{state}', which {workflow} does not have").format(
                    agreement=r.number, state=r.lifecycle_state, workflow=d.key))
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
                problem("final_pending", r.number, _("{agreement} is final ({state}) but has {n} pending deadline(s)").format(
                    agreement=r.number, state=_state_label(ctx, r.lifecycle_state), n=r.n))
            elif r.state != r.lifecycle_state:
                problem("stale_state", r.number,
                        _("{agreement} is in the step {state} but has {n} pending deadline(s) of the step {other}").format(
                            agreement=r.number, state=_state_label(ctx, r.lifecycle_state), n=r.n,
                            other=_state_label(ctx, r.state)))
        max_age = timedelta(hours=float(ctx.settings.get("mail", "max_age_hours", 72)) + 24)
        stuck = conn.execute(
            sa.select(outbox.c.id, outbox.c.kind, outbox.c.created_at, agreements.c.number)
            .select_from(outbox.join(agreements, agreements.c.id == outbox.c.agreement_id, isouter=True))
            .where(outbox.c.status == "pending", outbox.c.created_at < now - max_age).order_by(outbox.c.id).limit(50)
        ).all()
        for r in stuck:
            problem("outbox_stuck", r.number,
                    _("outbox message {id} ({what}) is pending since {when}; is the daemon draining the outbox?").format(
                        id=r.id, what=f"{r.kind}, {r.number}" if r.number else r.kind, when=moment(r.created_at, ctx.clock.zone)))
        overdue = conn.execute(
            sa.select(sa.func.count()).select_from(deadlines).where(PENDING_SQL, deadlines.c.due_at <= now)
        ).scalar_one()
        last_pass = conn.execute(sa.select(sa.func.max(heartbeats.c.last_pass_at))).scalar()
        sweep_every = timedelta(seconds=int(ctx.settings.get("daemon", "sweep_seconds", 60)) * 5)
        if overdue and (last_pass is None or last_pass < now - sweep_every):
            warnings.append({"kind": "daemon", "agreement": None,
                             "message": _("{n} deadline(s) are due but no daemon pass since {when}").format(
                                 n=number(overdue), when=moment(last_pass, ctx.clock.zone)) if last_pass else
                             _("{n} deadline(s) are due and no daemon has run yet (`tkksd daemon`)").format(n=number(overdue))})
        failed = conn.execute(sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status == "failed")).scalar_one()
        if failed:
            warnings.append({"kind": "outbox_failed", "agreement": None,
                             "message": _("{n} outbox message(s) failed; `tkksd outbox list --status failed` lists them, "
                                          "`tkksd outbox retry --all` sends them again").format(n=number(failed))})
        open_incidents = conn.execute(
            sa.select(sa.func.count()).select_from(incidents).where(incidents.c.resolved_at.is_(None))
        ).scalar_one()
        if open_incidents:
            warnings.append({"kind": "incidents", "agreement": None,
                             "message": _("{n} open incident(s)").format(n=number(open_incidents))})
        n_agreements = conn.execute(sa.select(sa.func.count()).select_from(agreements)).scalar_one()
        n_pending = conn.execute(sa.select(sa.func.count()).select_from(deadlines).where(PENDING_SQL)).scalar_one()
    return {"ok": not problems, "agreements": n_agreements, "pending_deadlines": n_pending,
            "problems": problems, "warnings": warnings}


def fix(ctx) -> list[str]:
    """Plan again, from the definition, the deadlines of agreements without one or lacking
    some (including an expiry or evaluation already fired whose effect was undone), and cancel
    those of final ones. What only a person can repair (an overdue step) is left to `check`."""
    from engine.lifecycle.deadlines import replan

    fixed = []
    now = ctx.clock.now()
    with db.write(ctx.engine) as conn:
        numbers = [h["agreement"] for h in hanging(conn, ctx, now) if h["repairable"]]
        numbers += [m["agreement"] for m in missing(conn, ctx, now)]
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
                replan(conn, ctx, agreement_id, reason="tkksd doctor --fix", revive_fired=True)
            except LookupError:
                continue
            fixed.append(number)
    return fixed
