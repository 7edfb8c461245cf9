"""What falls due and what is overdue, with who is responsible: `tkksd due` and the digests.

*Due*: a pending deadline whose due time lies between now and the horizon.
*Overdue*: a pending deadline whose due time has passed (the daemon has not acted on it yet),
or a step whose reminder already went out while the agreement has not moved since (a fired
``entered``-anchored notice of the agreement's current stay in its state).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.lifecycle.deadlines import PENDING_SQL, rule_of
from engine.store.tables import agreements, deadlines, opds

from engine.i18n import N_

# Who a deadline notifies, for people (the codes stay in --json).
RECIPIENT_LABELS = {"lead_opd_head": N_("lead OPD head"), "secretariat": N_("secretariat"), "chair": N_("TKKSD chair"),
                    "system": N_("system")}


def recipient_label(code: str) -> str:
    """``lead_opd_head`` -> "kepala OPD pengampu"; an OPD role (``opd:DKP``) -> its code."""
    from engine.i18n import _

    if code.startswith("opd:"):
        return code.split(":", 1)[1]
    return _(RECIPIENT_LABELS[code]) if code in RECIPIENT_LABELS else code


def describe(ctx, defn, rule_name: str, state: str, offset_days: int = 0) -> tuple[str, str, list[str]]:
    """(what, action code, recipients) of a deadline row; ``what`` is a label in the configured
    language (never a rule's name), the action and the recipients are codes."""
    from engine.lifecycle.labels import DEADLINE_TEXT, deadline_what

    rule = rule_of(defn, rule_name) if defn is not None else None
    if rule is None:
        return deadline_what(defn, rule_name, state, offset_days, ctx.lang), rule_name, []
    known = rule.name in DEADLINE_TEXT["id"]
    if rule.action == "fire":
        label = defn.event(rule.event).label.get(ctx.lang) if defn.has_event(rule.event) else rule.event
        return (deadline_what(defn, rule.name, state, offset_days, ctx.lang) if known else label), f"fire {rule.event}", ["system"]
    if known:
        what = deadline_what(defn, rule.name, state, offset_days, ctx.lang)
    elif rule.anchor == "entered":
        what = defn.state(state).label.get(ctx.lang) if defn.has_state(state) else state
    else:
        key = rule.anchor.split(":", 1)[1]
        what = defn.field(key).label.get(ctx.lang) if defn.has_field(key) else key
    return what, f"notify {rule.template}", list(rule.notify) + list(rule.cc)


def _definition(ctx, cache: dict, workflow: str, version: int):
    key = (workflow, version)
    if key not in cache:
        try:
            cache[key] = ctx.registry.get(workflow, version)
        except LookupError:
            cache[key] = None
    return cache[key]


def items(conn: Connection, ctx, *, now: datetime, until: datetime | None, opd: str | None = None,
          overdue_only: bool = False, limit: int | None = None) -> list[dict[str, Any]]:
    """Pending deadlines due before ``until`` (all overdue ones included) and overdue steps."""
    cols = (deadlines.c.id, deadlines.c.rule, deadlines.c.action, deadlines.c.state, deadlines.c.due_at,
            deadlines.c.occurrence, deadlines.c.offset_days, agreements.c.number, agreements.c.title, agreements.c.workflow,
            agreements.c.workflow_version, agreements.c.lead_opd, agreements.c.lifecycle_state, opds.c.name.label("opd_name"))
    base = sa.select(*cols).select_from(
        deadlines.join(agreements, agreements.c.id == deadlines.c.agreement_id).join(
            opds, opds.c.code == agreements.c.lead_opd, isouter=True)
    )
    q = base.where(PENDING_SQL)
    bound = now if overdue_only else until
    if bound is not None:
        q = q.where(deadlines.c.due_at <= bound)
    if opd:
        q = q.where(agreements.c.lead_opd == opd.upper())
    rows = list(conn.execute(q.order_by(deadlines.c.due_at, deadlines.c.id)))
    # Steps whose reminder went out and which have not moved since.
    late = base.where(
        deadlines.c.status == "fired", deadlines.c.action == "notify", deadlines.c.occurrence == 0,
        deadlines.c.state == agreements.c.lifecycle_state, deadlines.c.created_at >= agreements.c.state_entered_at,
        deadlines.c.due_at <= now,
    )
    if opd:
        late = late.where(agreements.c.lead_opd == opd.upper())
    cache: dict = {}
    out: list[dict[str, Any]] = []
    seen_late: set[str] = set()
    for r, fired in [(r, False) for r in rows] + [(r, True) for r in conn.execute(late.order_by(deadlines.c.due_at))]:
        defn = _definition(ctx, cache, r.workflow, r.workflow_version)
        rule = rule_of(defn, r.rule) if defn is not None else None
        if fired:
            # Only entered-anchored steps (an expiry warning that went out is not "overdue").
            if rule is None or rule.anchor != "entered" or r.number in seen_late:
                continue
            seen_late.add(r.number)
        what, action, recipients = describe(ctx, defn, r.rule, r.state, r.offset_days or 0)
        overdue = r.due_at <= now
        days = (ctx.clock.today() - ctx.clock.local(r.due_at).date()).days
        out.append({
            "deadline": r.id,
            "agreement": r.number,
            "title": r.title,
            "state": r.lifecycle_state,
            "rule": r.rule,
            "what": what,
            "action": action,
            "due_at": r.due_at.isoformat(),
            "due_on": ctx.clock.local(r.due_at).date().isoformat(),
            "overdue": overdue,
            "overdue_days": max(days, 0) if overdue else 0,
            "status": "reminded" if fired else "pending",
            "responsible": {"opd": r.lead_opd, "name": r.opd_name or r.lead_opd},
            "notify": recipients,
        })
    out.sort(key=lambda i: (i["due_at"], i["agreement"]))
    return out[:limit] if limit else out
