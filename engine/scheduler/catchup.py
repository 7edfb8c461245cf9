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


def order(conn: Connection, ctx, ids: Sequence[int], now: datetime) -> list[int]:
    """``ids`` (due order) with each agreement's due ending event taken first, where that
    agreement first appears, even when its row was not among the batch (it falls due later
    than the warnings before it); every other order is kept. The added rows belong to
    agreements the batch already holds (locked on PostgreSQL, under the write lock on SQLite)."""
    if not ids:
        return []
    batch = conn.execute(
        sa.select(deadlines.c.id, deadlines.c.agreement_id).where(deadlines.c.id.in_(list(ids)))).all()
    agreement_of = {r.id: r.agreement_id for r in batch}
    endings = _due_endings(conn, ctx, set(agreement_of.values()), now)
    out: list[int] = []
    seen_agreements: set[int] = set()
    taken: set[int] = set()
    for deadline_id in ids:
        agreement_id = agreement_of.get(deadline_id)
        if agreement_id is not None and agreement_id not in seen_agreements:
            seen_agreements.add(agreement_id)
            for ending_id in endings.get(agreement_id, ()):
                out.append(ending_id)
                taken.add(ending_id)
        if deadline_id not in taken:
            out.append(deadline_id)
            taken.add(deadline_id)
    return out


def _due_endings(conn: Connection, ctx, agreement_ids: set[int], now: datetime) -> dict[int, list[int]]:
    """The pending, due ending-event rows of these agreements, by agreement."""
    if not agreement_ids:
        return {}
    rows = conn.execute(
        sa.select(deadlines.c.id, deadlines.c.agreement_id, deadlines.c.rule, agreements.c.workflow,
                  agreements.c.workflow_version)
        .select_from(deadlines.join(agreements, agreements.c.id == deadlines.c.agreement_id))
        .where(deadlines.c.agreement_id.in_(sorted(agreement_ids)), PENDING_SQL, deadlines.c.due_at <= now,
               deadlines.c.action == "fire",
               # not one put aside after a failure (claim() skips those too)
               sa.or_(deadlines.c.claimed_until.is_(None), deadlines.c.claimed_until <= now))
        .order_by(deadlines.c.due_at, deadlines.c.id)
    ).all()
    out: dict[int, list[int]] = {}
    for r in rows:
        try:
            ending = timing.ending_rules(ctx.registry.get(r.workflow, r.workflow_version))
        except LookupError:
            continue
        if r.rule in ending:
            out.setdefault(r.agreement_id, []).append(r.id)
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
