"""The one meaning of "hanging", derived from the workflow definitions' data.

An agreement that is not in a final state hangs when

* nothing will move it: it has no pending deadline (``no_deadline``); or
* a deadline rule that carries ``grace_days`` applies to it as it stands and is more than
  ``grace_days`` past: a step far over its deadline (``step_sla``, 30 days: escalated to the
  chair for two weeks by then), a KB/MoU past its follow-up deadline without a decision
  (``kb_followup``, 0 days; not once it has a follow-up agreement, ``skip_if_children``).

The deadlines are computed from the definition and the agreement (its state, the day it
entered it, its values), not from deadline rows, so a missing or folded row changes nothing.
`tkksd doctor`, `tkksd report`, the chair's digest and `tkksd status` all count with
``find``; a test holds them together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.lifecycle import timing
from engine.lifecycle.deadlines import PENDING_SQL
from engine.store.tables import agreements, deadlines

NO_DEADLINE = "no_deadline"
EVALUATION_ROUND = "evaluation_round"  # an evaluation of an open round, past the round's due date


@dataclass(frozen=True)
class Reason:
    kind: str  # NO_DEADLINE or the name of the deadline rule that is overdue
    state: str
    due_on: date | None = None  # the rule's deadline (None for NO_DEADLINE)
    grace_days: int = 0
    ref: str | None = None  # what the reason is about, where a rule does not say it (the round's number)

    def describe(self) -> str:
        if self.kind == NO_DEADLINE:
            return f"in state '{self.state}' with no pending deadline"
        if self.kind == EVALUATION_ROUND:
            return f"evaluation round {self.ref}: its due date {self.due_on.isoformat()} passed"
        return f"'{self.kind}' deadline {self.due_on.isoformat()} passed by more than {self.grace_days} day(s)"


@dataclass
class Hanging:
    agreement_id: int
    number: str
    title: str
    partner: str
    lead_opd: str
    workflow: str
    workflow_version: int
    state: str
    state_since: date
    reasons: list[Reason] = field(default_factory=list)

    @property
    def since(self) -> date:
        """Since when it hangs: the earliest deadline overdue, else the day it entered its state."""
        days = [r.due_on + timedelta(days=r.grace_days) for r in self.reasons if r.due_on is not None]
        return min(days) if days else self.state_since

    def describe(self) -> str:
        return "; ".join(r.describe() for r in self.reasons)


def _reasons(ctx, defn, row, has_pending: bool, has_children: bool, today: date,
             round_due: tuple[str, date] | None = None) -> list[Reason]:
    from engine.lifecycle.services import typed_values

    state = row.lifecycle_state
    out = [] if has_pending else [Reason(NO_DEADLINE, state)]
    if round_due is not None and state == "under_evaluation":
        # An evaluation the Sekda's round asked for is due by the round's date, not the step's
        # own time limit: it hangs once that date has passed.
        if today > round_due[1]:
            out.append(Reason(EVALUATION_ROUND, state, round_due[1], 0, round_due[0]))
        return out
    values = None
    entered_day = ctx.clock.local(row.state_entered_at).date()
    for rule in defn.deadlines:
        if rule.grace_days is None or state not in rule.states:
            continue
        if values is None:
            values = typed_values(defn, row)
        if not timing.applies(rule, state, values) or (rule.skip_if_children and has_children):
            continue
        due = timing.rule_due_day(defn, rule, state, values, entered_day, ctx.settings)
        if due is not None and today > due + timedelta(days=rule.grace_days):
            out.append(Reason(rule.name, state, due, rule.grace_days))
    return out


def find(conn: Connection, ctx, now: datetime | None = None) -> list[Hanging]:
    """Every hanging agreement at ``now`` (default: the clock), oldest id first. Agreements
    whose workflow version or state is not installed are `tkksd doctor`'s other problems."""
    today = ctx.clock.local(now or ctx.clock.now()).date()
    pending = set(conn.execute(sa.select(deadlines.c.agreement_id).where(PENDING_SQL).distinct()).scalars())
    parents = set(conn.execute(
        sa.select(agreements.c.parent_id).where(agreements.c.parent_id.is_not(None)).distinct()).scalars())
    in_rounds = _open_round_due_dates(conn)
    out = []
    for row in conn.execute(sa.select(agreements).order_by(agreements.c.id)):
        try:
            defn = ctx.registry.get(row.workflow, row.workflow_version)
        except LookupError:
            continue
        if not defn.has_state(row.lifecycle_state) or defn.state(row.lifecycle_state).final:
            continue
        reasons = _reasons(ctx, defn, row, row.id in pending, row.id in parents, today, in_rounds.get(row.id))
        if reasons:
            out.append(Hanging(row.id, row.number, row.title, row.partner, row.lead_opd, row.workflow,
                               row.workflow_version, row.lifecycle_state,
                               ctx.clock.local(row.state_entered_at).date(), reasons))
    return out


def _open_round_due_dates(conn: Connection) -> dict[int, tuple[str, date]]:
    """Agreement id -> (number, due date) of the open evaluation round it is in."""
    from engine.store.evaluation_tables import evaluation_round_items as items, evaluation_rounds as rounds

    rows = conn.execute(sa.select(items.c.agreement_id, rounds.c.number, rounds.c.due_on)
                        .join(rounds, rounds.c.id == items.c.round_id).where(rounds.c.status == "open"))
    return {r.agreement_id: (r.number, r.due_on) for r in rows}


def count(conn: Connection, ctx, now: datetime | None = None) -> int:
    return len(find(conn, ctx, now))


def as_dict(h: Hanging) -> dict[str, Any]:
    return {"agreement": h.number, "title": h.title, "state": h.state, "since": h.since.isoformat(),
            "reasons": [r.describe() for r in h.reasons], "kinds": [r.kind for r in h.reasons]}
