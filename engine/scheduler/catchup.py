"""A sweep that respects time: each due item re-checks its premise before it acts or mails.

After an outage, or for an inventory imported with old dates, many deadlines of one agreement
fall due in the same pass. Taken blindly in due order they contradict each other: a warning
"ends in -365 days" beside "has ended", an evaluation opened (report "due by" a date) and the
agreement expired a line later, a follow-up asked "by" a date two years gone. So, per
agreement:

* its ending event (the ``fire`` rule anchored on ``[timing] ends_field``) goes first; what it
  makes moot (warnings, reminders, an evaluation of a now ended agreement) is *folded*:
  recorded on the deadline row, not mailed;
* a notice about a date that has already passed is folded;
* an event marked ``skip_if_ending`` (opening an evaluation) is not fired when the agreement
  ends before that step's deadline (its report) would fall due;
* a notice whose own deadline has passed before the sending day is sent as the rule's
  ``overdue_template`` (an escalation that says how late it is), never asking for something
  "by" a past date;
* an escalation (``counts_from``) counts its delay from the step's original deadline.

Everything here is derived from the definition's data (``engine.lifecycle.timing``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.lifecycle import timing
from engine.lifecycle.deadlines import PENDING_SQL
from engine.store.tables import agreements, deadlines, opds

FOLDED = "folded"


@dataclass(frozen=True)
class Premise:
    """Why a due item does not act: ``status`` is ``folded`` (a notice recorded, not mailed)
    or ``skipped`` (a timed event not fired)."""

    status: str
    reason: str


# --------------------------------------------------------------------------- ordering


def order(conn: Connection, ctx, ids: Sequence[int]) -> list[int]:
    """``ids`` (due order) with each agreement's ending event moved before its other items;
    the positions each agreement holds in the batch, and every other order, are kept."""
    if len(ids) < 2:
        return list(ids)
    rows = conn.execute(
        sa.select(deadlines.c.id, deadlines.c.agreement_id, deadlines.c.rule, agreements.c.workflow,
                  agreements.c.workflow_version)
        .select_from(deadlines.join(agreements, agreements.c.id == deadlines.c.agreement_id))
        .where(deadlines.c.id.in_(list(ids)))
    ).all()
    info = {r.id: r for r in rows}
    positions: dict[int, list[int]] = {}
    for i, deadline_id in enumerate(ids):
        r = info.get(deadline_id)
        if r is not None:
            positions.setdefault(r.agreement_id, []).append(i)
    out = list(ids)
    for places in positions.values():
        if len(places) < 2:
            continue
        items = [ids[i] for i in places]
        first = info[items[0]]
        try:
            ending = timing.ending_rules(ctx.registry.get(first.workflow, first.workflow_version))
        except LookupError:
            continue
        items.sort(key=lambda d: info[d].rule not in ending)  # stable: due order otherwise
        for i, deadline_id in zip(places, items):
            out[i] = deadline_id
    return out


# --------------------------------------------------------------------------- premises


def premise(ctx, row, agr, defn, rule, values, now: datetime) -> Premise | None:
    """Why the due item ``row`` should not act now (None: act)."""
    today = ctx.clock.local(now).date()
    ends = timing.ends_on(defn, values)
    ending = timing.ending_rules(defn)
    if rule.name in ending:
        return None
    if ends is not None and ends <= today and timing.ends_in_state(defn, agr.lifecycle_state):
        verb = FOLDED if rule.action == "notify" else "skipped"
        return Premise(verb, f"moot: the agreement ended on {ends.isoformat()}; its expiry comes first")
    if rule.action == "fire" and rule.skip_if_ending and ends is not None:
        dest = defn.event(rule.event).dest if defn.has_event(rule.event) else None
        days = timing.step_days(defn, dest, ctx.settings) if dest else None
        if days is not None:
            report_due = date.fromordinal(today.toordinal() + days)
            if ends <= report_due:
                return Premise("skipped", f"not opened: the agreement ends on {ends.isoformat()}, before the "
                                          f"step it opens would be due ({report_due.isoformat()})")
    return None


def fold_before_ending(conn: Connection, row, agr, defn, rule, values, now: datetime, daemon_id: str) -> int:
    """Before an ending event fires: record the agreement's other due items as folded (a
    notice) or skipped (a timed event) instead of letting them be cancelled unseen.
    Returns how many; nothing for any other event."""
    if rule.name not in timing.ending_rules(defn):
        return 0
    ended = timing.ends_on(defn, values)
    reason = f"moot: the agreement ended on {ended.isoformat() if ended else '?'}; its expiry came first"
    base = deadlines.update().where(
        deadlines.c.agreement_id == agr.id, PENDING_SQL, deadlines.c.due_at <= now, deadlines.c.id != row.id)
    folded = conn.execute(base.where(deadlines.c.action == "notify").values(
        status="fired", fired_at=now, claimed_by=daemon_id, claimed_until=None, result=f"{FOLDED}: {reason}"[:500])).rowcount
    skipped = conn.execute(base.where(deadlines.c.action != "notify").values(
        status="skipped", fired_at=now, claimed_by=daemon_id, claimed_until=None, result=reason[:500])).rowcount
    return folded + skipped


# --------------------------------------------------------------------------- what a notice says


@dataclass(frozen=True)
class Notice:
    kind: str
    to: list[str]
    cc: list[str]
    context: dict[str, Any]


def notice(conn: Connection, ctx, row, agr, defn, rule, values, *, due_at: datetime, level: int,
           folded: int) -> Notice:
    """What the notice of ``row`` says when sent now: template, recipients and values."""
    clock = ctx.clock
    today = clock.today()
    entered_day = clock.local(agr.state_entered_at).date()
    deadline = due_at
    base_day = timing.counted_from(defn, rule, row.state, values, entered_day, ctx.settings)
    if base_day is not None:  # an escalation: late since the step's own deadline
        deadline = clock.start_of_day(base_day)
    ends = timing.ends_on(defn, values)
    opd = conn.execute(sa.select(opds.c.code, opds.c.name).where(opds.c.code == agr.lead_opd)).first()
    state = row.state
    label = defn.state(state).label.get(ctx.lang) if defn.has_state(state) else state
    context = {
        "step": {"name": state, "label": label},
        "due_at": deadline,
        "overdue_days": (today - clock.local(deadline).date()).days,
        "level": level,
        "responsible": {"code": agr.lead_opd, "name": opd.name if opd else agr.lead_opd},
        "folded": folded,
        "ends_on": ends,
        "days_left": (ends - today).days if ends is not None else None,
        "integrated_on": entered_day,
    }
    kind, to, cc = rule.template, list(rule.notify), list(rule.cc)
    if rule.overdue_template and clock.local(deadline).date() < today:
        # Its deadline passed before it could be sent: asking for it "by" that date would be
        # absurd; it goes up as an escalation that says how late it is.
        kind = rule.overdue_template
        to = list(rule.overdue_notify or rule.notify)
        cc = list(rule.overdue_cc if rule.overdue_notify else rule.cc)
    return Notice(kind, to, cc, context)
