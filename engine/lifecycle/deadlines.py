"""Deadlines as rows: planned from the definition's ``[[deadlines]]`` rules inside each transition.

The hook ``after_transition`` runs in the transition's transaction and *reconciles* the
agreement's pending rows with what its new state wants:

* a row the new state still wants is kept (a self-loop such as ``extend`` or ``upgrade``
  keeps the ``entered``-anchored rows and their repetitions; ``signed -> integrated`` keeps
  the expiry warnings, which are anchored on the end date);
* a field-anchored row whose date moved (``extend`` sets a new ``ends_on``) is cancelled and
  planned again at the new date;
* everything else pending is cancelled; entering a final state cancels all.

Dates are reckoned in the regency's zone: a deadline falls due at 00:00 local time (WITA) on
its due date, stored in UTC. ``entered`` + 14 days means the 14th local day after the day the
state was entered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from workflows.guards import holds
from workflows.spec import DeadlineRule, WorkflowDefinition

from engine.lifecycle.per_definition import per_definition
from engine.store.tables import agreements, deadlines

log = logging.getLogger("tkksd.deadlines")

PENDING = "pending"
# The partial index ix_deadlines_pending_due is only usable when the query says this literally
# (a bound parameter would not match the index's WHERE on SQLite).
PENDING_SQL = sa.text("deadlines.status = 'pending'")


@dataclass(frozen=True)
class Planned:
    """One deadline the state wants: ``rule`` falls due at ``due_at`` (occurrence 0)."""

    rule: DeadlineRule
    offset_days: int
    due_at: datetime

    @property
    def key(self) -> tuple[str, int]:
        return (self.rule.name, self.offset_days)


# --------------------------------------------------------------------------- durations


def rule_days(rule: DeadlineRule, state: str, settings) -> list[int]:
    """The day offsets of ``rule`` in ``state``: the definition's, overridden by configuration
    (``[deadlines] <setting>``: a number, a list, or a table by state), plus ``extra_days``."""
    configured = settings.deadline_days(rule.setting) if rule.setting else None
    days: Any = rule.days
    if isinstance(days, Mapping):
        days = days.get(state, 0)
        if isinstance(configured, Mapping) and configured.get(state) is not None:
            days = configured[state]
    elif configured is not None and not isinstance(configured, Mapping):
        days = configured
    values = list(days) if isinstance(days, (list, tuple)) else [days]
    return sorted(int(d) + int(rule.extra_days or 0) for d in values)


def local_day_start(clock, day: date) -> datetime:
    return clock.start_of_day(day)


def as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class StatePlan:
    """What a state's deadline rules are, for one definition and configuration: each rule with
    its day offsets, and whether every one counts from the moment the state was entered."""

    rules: tuple[tuple[DeadlineRule, tuple[int, ...]], ...]
    only_entered: bool
    final: bool


@per_definition
def state_plan(defn: WorkflowDefinition, settings, state: str) -> StatePlan:
    """The rules of ``state`` with their offsets, worked out once per (definition, settings, state)."""
    final = not defn.has_state(state) or defn.state(state).final
    rules = () if final else tuple((rule, tuple(rule_days(rule, state, settings))) for rule in defn.deadlines_in(state))
    return StatePlan(rules, all(rule.anchor == "entered" for rule, _ in rules), final)


def plan(defn: WorkflowDefinition, state: str, values: Mapping[str, Any], entered_at: datetime, clock,
         settings, now: datetime | None = None) -> list[Planned]:
    """The deadlines ``state`` wants for an agreement with ``values`` that entered it at ``entered_at``.

    Of a rule with several offsets (expiry warnings at -180, -90, -30), offsets already past
    at ``now`` are dropped except the latest one: an agreement signed 20 days before its end
    gets one warning, not three.
    """
    out: list[Planned] = []
    entered_day = clock.local(entered_at).date()
    for rule, offsets in state_plan(defn, settings, state).rules:
        if rule.when is not None and not holds(rule.when, values):
            continue
        anchor = entered_day if rule.anchor == "entered" else anchor_day(rule, values, settings)
        if anchor is None:
            continue
        planned = [Planned(rule, d, local_day_start(clock, anchor + timedelta(days=d))) for d in offsets]
        if now is not None and len(planned) > 1:
            past = [p for p in planned if p.due_at <= now]
            planned = past[-1:] + [p for p in planned if p.due_at > now]
        out.extend(planned)
    return out


def anchor_day(rule: DeadlineRule, values: Mapping[str, Any], settings) -> date | None:
    """The day a rule not anchored on entering the state counts from (None: not known yet)."""
    if rule.anchor.startswith("plan_period:"):  # the end of the plan period the field cites
        from engine.lifecycle.plan_periods import period_end

        return period_end(settings, values.get(rule.anchor.split(":", 1)[1]))
    if rule.anchor.startswith("yearly:"):  # a day of the year, in the years after the field's
        from engine.lifecycle.plan_periods import next_yearly

        return next_yearly(rule.anchor, as_date(values.get(rule.anchor.split(":", 2)[2])))
    return as_date(values.get(rule.anchor.split(":", 1)[1]))


# --------------------------------------------------------------------------- reconcile


@lru_cache(maxsize=1)
def _statements() -> dict[str, Any]:
    """The statements of every reconcile, built once: building a Core construct costs more
    than SQLite takes to run it, and a prebuilt one keeps its cache key."""
    cancel = (
        deadlines.update()
        .where(deadlines.c.agreement_id == sa.bindparam("of_agreement"), PENDING_SQL)
        .values(status="cancelled", fired_at=sa.bindparam("now"), result=sa.bindparam("reason"))
    )
    return {
        "insert": deadlines.insert(),
        "live": sa.select(
            deadlines.c.id, deadlines.c.rule, deadlines.c.state, deadlines.c.due_at, deadlines.c.occurrence,
            deadlines.c.offset_days, deadlines.c.status, deadlines.c.created_at,
        ).where(deadlines.c.agreement_id == sa.bindparam("agreement_id"), deadlines.c.status != "cancelled"),
        "cancel_all": cancel,
        "cancel_one": cancel.where(deadlines.c.id == sa.bindparam("deadline_id")),
        # After the cancel, the agreement's pending rows are the ones kept: those that belong
        # to another state move to the new one.
        "restate": deadlines.update()
        .where(deadlines.c.agreement_id == sa.bindparam("of_agreement"), PENDING_SQL,
               deadlines.c.state != sa.bindparam("new_state"))
        .values(state=sa.bindparam("new_state")),
    }


def _insert(conn: Connection, agreement_id: int, state: str, items: Sequence[Planned], now: datetime) -> None:
    if not items:
        return
    # One statement for all of them (executemany).
    conn.execute(
        _statements()["insert"],
        [
            dict(agreement_id=agreement_id, rule=p.rule.name, action=p.rule.action, state=state, due_at=p.due_at,
                 occurrence=0, offset_days=p.offset_days, status=PENDING, created_at=now)
            for p in items
        ],
    )


def cancel_pending(conn: Connection, agreement_id: int, ids: Iterable[int] | None, now: datetime, reason: str) -> int:
    params = {"of_agreement": agreement_id, "now": now, "reason": reason[:500]}
    if ids is None:
        return conn.execute(_statements()["cancel_all"], params).rowcount
    ids = list(ids)
    if not ids:
        return 0
    # One row each rather than an IN list: an expanding IN is rendered again for every call.
    return conn.execute(_statements()["cancel_one"], [{**params, "deadline_id": i} for i in ids]).rowcount


@dataclass
class Diff:
    """What an agreement's deadline rows lack and hold against what its state wants."""

    keep: set[int]
    restate: list[int]
    new: list[Planned]
    cancel: list[int]  # pending rows not wanted


def _spent(row, defn: WorkflowDefinition, state: str) -> bool:
    """A fired timed event whose effect is gone: it moved the agreement on, yet the agreement
    is back in a state where the rule runs (an import or the demo rewound it)."""
    if row.status != "fired":
        return False
    rule = rule_of(defn, row.rule)
    if rule is None or rule.action != "fire" or not defn.has_event(rule.event or ""):
        return False
    return defn.event(rule.event).dest != state


def diff(conn: Connection, ctx, *, agreement_id: int, defn: WorkflowDefinition, state: str,
         values: Mapping[str, Any], entered_at: datetime, now: datetime, revive_fired: bool = False) -> Diff:
    """Compare the agreement's rows with ``plan``. ``revive_fired`` (`tkksd doctor --fix`)
    counts a fired timed event whose effect is gone as not there, so it is planned again."""
    wanted = plan(defn, state, values, entered_at, ctx.clock, ctx.settings, now)
    rows = conn.execute(_statements()["live"], {"agreement_id": agreement_id}).all()
    if revive_fired:
        rows = [r for r in rows if not _spent(r, defn, state)]
    keep: set[int] = set()
    restate: list[int] = []
    new: list[Planned] = []
    for p in wanted:
        if p.rule.anchor == "entered":
            # This stint in the state: rows of the same rule and offset written since it was entered.
            match = [r for r in rows if r.rule == p.rule.name and r.offset_days == p.offset_days and r.state == state
                     and r.created_at >= entered_at]
        else:
            # Anchored on a date value: the same date means the same deadline, whatever the state.
            # Its later occurrences (repetitions, retries) belong to it too.
            same = [r for r in rows if r.rule == p.rule.name and r.offset_days == p.offset_days]
            base = [r.created_at for r in same if r.occurrence == 0 and r.due_at == p.due_at]
            match = [r for r in same if base and r.created_at >= min(base)
                     and (r.occurrence > 0 or r.due_at == p.due_at)]
        if not match:
            new.append(p)
            continue
        for r in match:
            if r.status == PENDING:
                keep.add(r.id)
                if r.state != state:
                    restate.append(r.id)
    cancel = [r.id for r in rows if r.status == PENDING and r.id not in keep]
    return Diff(keep, restate, new, cancel)


def reconcile(conn: Connection, ctx, *, agreement_id: int, defn: WorkflowDefinition, state: str,
              values: Mapping[str, Any], entered_at: datetime, now: datetime, reason: str,
              revive_fired: bool = False) -> dict[str, int]:
    """Bring the agreement's pending deadlines to what ``state`` wants; returns counts."""
    rules = state_plan(defn, ctx.settings, state)
    if rules.final:
        n = cancel_pending(conn, agreement_id, None, now, reason)
        return {"planned": 0, "kept": 0, "cancelled": n}
    if entered_at == now and rules.only_entered:
        # The state was entered just now and wants only deadlines counted from that: no row
        # written before can be one of them, so nothing is kept and the rows need no reading.
        wanted = plan(defn, state, values, entered_at, ctx.clock, ctx.settings, now)
        n = cancel_pending(conn, agreement_id, None, now, reason)
        _insert(conn, agreement_id, state, wanted, now)
        return {"planned": len(wanted), "kept": 0, "cancelled": n}
    d = diff(conn, ctx, agreement_id=agreement_id, defn=defn, state=state, values=values, entered_at=entered_at,
             now=now, revive_fired=revive_fired)
    # Nothing kept: every pending row goes, which one statement without an id list says.
    cancelled = cancel_pending(conn, agreement_id, None if (d.cancel and not d.keep) else d.cancel, now, reason)
    if d.restate:
        conn.execute(_statements()["restate"], {"of_agreement": agreement_id, "new_state": state})
    _insert(conn, agreement_id, state, d.new, now)
    return {"planned": len(d.new), "kept": len(d.keep), "cancelled": cancelled}


def after_transition(conn: Connection, t, ctx) -> None:
    """Hook run inside every transition's transaction (human, system, import, migrate, create)."""
    reason = f"left {t.from_state} by {t.event}" if t.from_state != t.to_state else f"replanned by {t.event}"
    reconcile(
        conn, ctx, agreement_id=t.agreement_id, defn=t.definition, state=t.to_state, values=t.values,
        entered_at=t.state_entered_at, now=t.at, reason=reason,
    )


def replan(conn: Connection, ctx, agreement_id: int, *, reason: str = "replanned",
           revive_fired: bool = False) -> dict[str, int]:
    """Reconcile one agreement from its stored row (after an import changed ``state_entered_at``,
    or to repair what `tkksd doctor` reports)."""
    from engine.lifecycle.services import typed_values

    row = conn.execute(sa.select(agreements).where(agreements.c.id == agreement_id)).one()
    defn = ctx.registry.get(row.workflow, row.workflow_version)
    return reconcile(
        conn, ctx, agreement_id=row.id, defn=defn, state=row.lifecycle_state, values=typed_values(defn, row),
        entered_at=row.state_entered_at, now=ctx.clock.now(), reason=reason, revive_fired=revive_fired,
    )


def rule_of(defn: WorkflowDefinition, name: str) -> DeadlineRule | None:
    for rule in defn.deadlines:
        if rule.name == name:
            return rule
    return None
