"""The sweep: act on every pending deadline that has fallen due, exactly once, in due order.

A sweep works in batches. Each batch is one write transaction that *claims* up to
``batch_size`` due rows (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so several daemons share
the work and never take the same row; SQLite: the ``BEGIN IMMEDIATE`` write lock serialises
sweeps), acts on each and marks it in that same transaction. The action and the mark commit
together: a daemon killed mid-batch loses the whole uncommitted batch, whose rows are still
pending and are taken again by the next sweep; nothing is fired twice, nothing is lost.

Each row is acted on inside a savepoint: a row whose action fails (a template error, a lost
race with a coordinator) is rolled back alone and put aside for ``lease_seconds``
(``claimed_until``) so the sweep neither crashes nor loops on it.

Actions:

* ``fire``: the rule's event, fired by the actor ``system`` through the same write path as a
  human ``tkksd fire`` (transitions guard, conditional UPDATE, hash-chained history row, the
  hooks that plan the next state's deadlines and write the transition notice). A refused
  event marks the row ``skipped`` with the reason and plans a retry after
  ``daemon.retry_refused_days`` so the agreement is never left without a deadline.
* ``notify``: one notice rendered into the outbox (``engine.lifecycle.notices.enqueue``), its dedupe key
  derived from the deadline id and occurrence. A repeating rule (escalation) plans its next
  occurrence in the same transaction.

Catch-up and folding: a notice whose due time is more than ``daemon.fold_after_days`` old is
*stale* (the daemon was down). All stale and due notices of one agreement and one rule
(earlier warnings, missed repetitions of an escalation) fold into a single notice to their
recipients, carrying ``folded`` = how many notices it replaces; the repetitions restart at the
first occurrence after now. ``fire`` deadlines never fold: each fires once, in due order.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.i18n import _, moment
from engine.lifecycle.agreement import SYSTEM
from engine.store import db
from engine.scheduler import catchup
from engine.scheduler.identity import daemon_signature
from engine.lifecycle.deadlines import PENDING, PENDING_SQL, local_day_start, rule_of
from engine.store.tables import UTCDateTime, agreements, deadlines

log = logging.getLogger("tkksd.sweep")



@dataclass
class SweepResult:
    fired: int = 0  # events fired
    notified: int = 0  # notices written (one per folded group)
    folded: int = 0  # notices folded into another one
    skipped: int = 0
    errors: int = 0
    batches: int = 0
    actions: list[dict[str, Any]] = field(default_factory=list)  # kept only when asked (simulate)

    @property
    def acted(self) -> int:
        return self.fired + self.notified + self.folded + self.skipped

    def as_dict(self) -> dict[str, int]:
        return {"fired": self.fired, "notified": self.notified, "folded": self.folded, "skipped": self.skipped,
                "errors": self.errors}


def _settings_int(ctx, key: str, default: int) -> int:
    try:
        return int(ctx.settings.get("daemon", key, default))
    except (TypeError, ValueError):
        return default


def at_time(ctx, instant: datetime):
    """A copy of ``ctx`` whose clock reads ``instant`` (what hooks and notices see)."""
    from engine.clock import Clock

    return dataclasses.replace(ctx, clock=Clock(ctx.clock.zone, instant))


# --------------------------------------------------------------------------- claiming


def _due_rows(now: datetime):
    return (
        sa.select(deadlines.c.id)
        .where(PENDING_SQL, deadlines.c.due_at <= now,
               sa.or_(deadlines.c.claimed_until.is_(None), deadlines.c.claimed_until <= now))
        # At the same instant, notices go before timed events: a KB's follow-up reminder and
        # its evaluation both fall due 12 months after integration, and the evaluation would
        # otherwise cancel the reminder.
        .order_by(deadlines.c.due_at, sa.case((deadlines.c.action == "fire", 1), else_=0), deadlines.c.id)
    )


def claim(conn: Connection, now: datetime, limit: int) -> list[int]:
    """Ids of up to ``limit`` due rows, oldest first, locked for this transaction.

    SQLite: the write lock of ``BEGIN IMMEDIATE`` already keeps every other writer out.

    PostgreSQL: several daemons sweep at once, so a batch locks whole *agreements*
    (``FOR UPDATE SKIP LOCKED``), then takes the due rows of those agreements. Acting on a
    deadline moves its agreement and re-plans that agreement's other deadlines; if two daemons
    held different due rows of one agreement they would wait on each other's locks (and
    deadlock). Agreement first, then its deadlines, is also the order every human transition
    takes its locks in. The candidates are the agreements of the oldest due rows, a few
    batches wide, so daemons that skip each other's locked agreements still find work.
    """
    if conn.dialect.name != "postgresql":
        return list(conn.execute(_due_rows(now).limit(limit)).scalars())
    candidates = (
        sa.select(deadlines.c.agreement_id)
        .where(PENDING_SQL, deadlines.c.due_at <= now,
               sa.or_(deadlines.c.claimed_until.is_(None), deadlines.c.claimed_until <= now))
        .order_by(deadlines.c.due_at)
        .limit(limit * 4)
    )
    locked = (
        sa.select(agreements.c.id)
        .where(agreements.c.id.in_(candidates.scalar_subquery()))
        .order_by(agreements.c.id)
        .limit(max(1, limit // 2))
        .with_for_update(skip_locked=True)
    )
    ids = list(conn.execute(locked).scalars())
    if not ids:
        return []
    rows = _due_rows(now).where(deadlines.c.agreement_id.in_(ids)).limit(limit).with_for_update()
    return list(conn.execute(rows).scalars())


def _mark(conn: Connection, ids, *, status: str, now: datetime, daemon_id: str, result: str) -> None:
    conn.execute(
        deadlines.update().where(deadlines.c.id.in_(list(ids)), PENDING_SQL)
        .values(status=status, fired_at=now, claimed_by=daemon_id, claimed_until=None, result=result[:500])
    )


def _add_row(conn: Connection, row, *, due_at: datetime, occurrence: int, now: datetime, state: str | None = None) -> None:
    conn.execute(deadlines.insert().values(
        agreement_id=row.agreement_id, rule=row.rule, action=row.action, state=state or row.state, due_at=due_at,
        occurrence=occurrence, offset_days=row.offset_days, status=PENDING, created_at=now,
    ))


def _shift(ctx, due: datetime, days: int) -> datetime:
    return local_day_start(ctx.clock, ctx.clock.local(due).date() + timedelta(days=days))


# --------------------------------------------------------------------------- acting


class _Outcome(Exception):
    """Raised inside an action to end it with a status and a reason."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def _fire(conn: Connection, ctx, row, agr, defn, rule, now: datetime, daemon_id: str) -> dict[str, Any]:
    from engine import errors
    from engine.lifecycle import kernel

    event = rule.event
    stored = agr.typed_values(defn)
    try:
        dest = kernel.decide_in_write(conn, ctx, agr, defn, event, {}, stored)
    except errors.RequirementsMissing as exc:
        raise _Outcome("refused", "; ".join([*exc.missing, *exc.problems]) or f"'{event}' was refused") from None
    except (errors.EventNotAllowed, errors.AlreadyDone):
        raise _Outcome("skipped", f"'{event}' is not allowed in state '{agr.lifecycle_state}'") from None
    # Marked first: the handlers reconcile pending rows, and this one is done.
    _mark(conn, [row.id], status="fired", now=now, daemon_id=daemon_id, result=f"fired {event}")
    t = kernel.fire_in(conn, ctx, agr, defn, event=event, actor=SYSTEM, note=_history_note(ctx, defn, rule, row, agr, daemon_id),
                       stored=stored, to_state=dest, decided_in_write=True, at=now)
    return {"event": event, "to_state": t.to_state}


def _history_note(ctx, defn, rule, row, agr, daemon_id: str) -> str:
    """The note of a timed event's history row: the deadline's label (not the rule's name), in
    the language the deployment speaks, and which daemon fired it."""
    from engine.i18n import in_language
    from engine.lifecycle.labels import deadline_what

    what = deadline_what(defn, rule.name, agr.lifecycle_state, row.offset_days or 0, ctx.lang)
    return in_language("deadline: {what} ({daemon})", ctx.lang).format(what=what, daemon=daemon_signature(daemon_id))


def _notify(conn: Connection, ctx, row, agr, defn, rule, now: datetime, daemon_id: str) -> dict[str, Any]:
    from engine.lifecycle.notices import enqueue
    from engine.lifecycle.services import typed_values

    if rule.skip_if_children and conn.execute(
        sa.select(agreements.c.id).where(agreements.c.parent_id == agr.id).limit(1)
    ).first():
        raise _Outcome("skipped", "the agreement already has a follow-up agreement")
    fold_after = timedelta(days=_settings_int(ctx, "fold_after_days", 7))
    stale = row.due_at < now - fold_after
    siblings = []
    if stale:
        siblings = conn.execute(
            sa.select(deadlines.c.id, deadlines.c.due_at, deadlines.c.occurrence)
            .where(deadlines.c.agreement_id == row.agreement_id, deadlines.c.rule == row.rule, PENDING_SQL,
                   deadlines.c.due_at <= now, deadlines.c.id != row.id)
            .order_by(deadlines.c.due_at, deadlines.c.id)
        ).all()
    # The notice speaks for the newest due occurrence; the others fold into it.
    occurrence, due_at, folded = row.occurrence, row.due_at, len(siblings)
    if siblings:
        due_at, occurrence = siblings[-1].due_at, siblings[-1].occurrence
    if rule.repeat_days and stale:
        while _shift(ctx, due_at, rule.repeat_days) <= now:
            due_at = _shift(ctx, due_at, rule.repeat_days)
            occurrence += 1
            folded += 1
    said = catchup.notice(conn, ctx, row, agr, defn, rule, typed_values(defn, agr), due_at=due_at,
                          level=occurrence + 1, folded=folded)
    outbox_id = enqueue(
        conn, ctx, kind=said.kind, agreement_id=agr.id, to=said.to, cc=said.cc,
        dedupe_key=f"deadline:{row.id}:{occurrence}", context=said.context, lead_opd=agr.lead_opd,
    )
    note = f"notified {said.kind} to {', '.join(said.to)}" + (f" (folded {folded})" if folded else "")
    _mark(conn, [row.id], status="fired", now=now, daemon_id=daemon_id, result=note)
    if siblings:
        _mark(conn, [s.id for s in siblings], status="fired", now=now, daemon_id=daemon_id,
              result=f"folded into the notice of deadline {row.id}")
    if rule.repeat_days:
        _add_row(conn, row, due_at=_shift(ctx, due_at, rule.repeat_days), occurrence=occurrence + 1, now=now)
    return {"template": said.kind, "to": said.to, "cc": said.cc, "folded": folded,
            "outbox_id": outbox_id, "level": occurrence + 1, "due_at": due_at}


def _typed(defn, agr):
    from engine.lifecycle.services import typed_values

    return typed_values(defn, agr)


def act(conn: Connection, ctx, row, now: datetime, daemon_id: str) -> dict[str, Any]:
    """Act on one claimed deadline inside ``conn``'s transaction; returns what was done."""
    from engine.lifecycle import kernel

    agr = kernel.read_by_id(conn, row.agreement_id)
    base = {"deadline": row.id, "agreement": agr.number, "rule": row.rule, "action": row.action,
            "due_at": row.due_at, "at": now, "lead_opd": agr.lead_opd, "state": row.state,
            "offset_days": row.offset_days or 0, "workflow": (agr.workflow, agr.workflow_version)}
    try:
        try:
            defn = ctx.registry.get(agr.workflow, agr.workflow_version)
        except LookupError:
            raise _Outcome("skipped", f"workflow {agr.workflow} v{agr.workflow_version} is not installed") from None
        if not defn.has_state(agr.lifecycle_state) or defn.state(agr.lifecycle_state).final:
            raise _Outcome("skipped", f"the agreement is in state '{agr.lifecycle_state}'")
        rule = rule_of(defn, row.rule)
        if rule is None:
            raise _Outcome("skipped", f"rule '{row.rule}' is no longer in {defn.key}")
        values = _typed(defn, agr)
        moot = catchup.premise(ctx, row, agr, defn, rule, values, now)
        if moot is not None:
            raise _Outcome(moot.status, moot.reason)
        if row.action == "fire":
            with conn.begin_nested():  # the folds stand only if the ending event fires
                folded = catchup.fold_before_ending(conn, row, agr, defn, rule, values, now, daemon_id)
                done = _fire(conn, ctx, row, agr, defn, rule, now, daemon_id)
            return {**base, "outcome": "fired", "folded": folded, **done}
        done = _notify(conn, ctx, row, agr, defn, rule, now, daemon_id)
        return {**base, "outcome": "notified", **done}
    except _Outcome as out:
        status = "skipped"
        reason = out.reason
        if out.status == catchup.FOLDED:  # recorded, not mailed
            _mark(conn, [row.id], status="fired", now=now, daemon_id=daemon_id, result=f"{catchup.FOLDED}: {reason}")
            return {**base, "outcome": "folded", "reason": reason}
        if out.status == "refused":
            # The guard said no: keep the agreement under a deadline and look again later.
            days = _settings_int(ctx, "retry_refused_days", 7)
            _add_row(conn, row, due_at=_shift(ctx, now, days), occurrence=row.occurrence + 1, now=now,
                     state=agr.lifecycle_state)
            reason = f"refused: {reason}; retry in {days} days"
        _mark(conn, [row.id], status=status, now=now, daemon_id=daemon_id, result=reason)
        return {**base, "outcome": "skipped", "reason": reason}


# --------------------------------------------------------------------------- the sweep


def log_action(a: dict[str, Any]) -> None:
    """One line per deadline, for debugging only: a catch-up acts on hundreds at once, and the
    pass's summary says what they came to."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    where = {"deadline": a["deadline"], "agreement": a["agreement"], "rule": a["rule"]}
    if a["outcome"] == "fired":
        text = _("deadline {deadline} {agreement} {rule}: fired {event}, now {state}").format(
            **where, event=a["event"], state=a["to_state"])
    elif a["outcome"] == "notified":
        text = _("deadline {deadline} {agreement} {rule}: notice {template} to {to} (folded {folded})").format(
            **where, template=a["template"], to=", ".join(a["to"]), folded=a["folded"])
    elif a["outcome"] == "folded":
        text = _("deadline {deadline} {agreement} {rule}: folded ({reason})").format(**where, reason=a["reason"])
    else:
        text = _("deadline {deadline} {agreement} {rule}: skipped ({reason})").format(**where, reason=a["reason"])
    log.debug("%s", text)


def sweep_batch(conn: Connection, ctx, *, now: datetime, daemon_id: str, limit: int, result: SweepResult,
                stop: threading.Event | None = None, keep_actions: bool = False,
                on_action: Callable[[dict[str, Any]], None] | None = log_action) -> int:
    """Claim and act on one batch inside ``conn``'s transaction; returns how many rows were claimed."""
    ids = catchup.order(conn, ctx, claim(conn, now, limit), now)
    lease = timedelta(seconds=_settings_int(ctx, "lease_seconds", 300))
    for deadline_id in ids:
        if stop is not None and stop.is_set():
            break  # the rest stays pending; what is done so far commits
        row = conn.execute(sa.select(deadlines).where(deadlines.c.id == deadline_id, PENDING_SQL)).first()
        if row is None:  # cancelled by an earlier transition in this batch
            continue
        try:
            with conn.begin_nested():
                action = act(conn, ctx, row, now, daemon_id)
        except Exception as exc:  # noqa: BLE001 - one bad row must not stop the sweep
            if db.connection_lost(exc):
                raise  # the batch is gone with the connection; the daemon retries at its next tick
            result.errors += 1
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.warning("%s", _("deadline {deadline} ({rule}) failed: {kind}: {text}; put aside until {until}").format(
                deadline=row.id, rule=row.rule, kind=type(exc).__name__, text=text, until=moment(now + lease, ctx.clock.zone)))
            conn.execute(deadlines.update().where(deadlines.c.id == row.id).values(
                claimed_by=daemon_id, claimed_until=now + lease, result=f"error: {text}"[:500]))
            continue
        outcome = action["outcome"]
        result.folded += action.get("folded") or 0
        if outcome == "fired":
            result.fired += 1
        elif outcome == "notified":
            result.notified += 1
        elif outcome == "folded":
            result.folded += 1
        else:
            result.skipped += 1
        if keep_actions:
            result.actions.append(action)
        if on_action:
            on_action(action)
    return len(ids)


def sweep(ctx, *, daemon_id: str, batch_size: int | None = None, stop: threading.Event | None = None,
          max_batches: int = 100_000, now: datetime | None = None,
          on_action: Callable[[dict[str, Any]], None] | None = log_action) -> SweepResult:
    """Act on everything due now, batch after batch, until nothing due is left (or ``stop``).
    ``on_action`` sees each action as it is done (the daemon counts its progress with it)."""
    batch_size = batch_size or _settings_int(ctx, "batch_size", 100)
    result = SweepResult()
    for _ in range(max_batches):
        if stop is not None and stop.is_set():
            break
        instant = now or ctx.clock.now()
        with db.write(ctx.engine) as conn:
            n = sweep_batch(conn, at_time(ctx, instant), now=instant, daemon_id=daemon_id, limit=batch_size,
                            result=result, stop=stop, on_action=on_action)
        result.batches += 1
        if n == 0:  # a batch may plan rows that are already due (repetitions): go on until none
            break
    return result


def due_count(ctx, now: datetime | None = None) -> int:
    """How many deadlines are due now: what a sweep is about to act on (its progress's total)."""
    with db.read(ctx.engine) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(deadlines).where(
            PENDING_SQL, deadlines.c.due_at <= (now or ctx.clock.now()))).scalar_one()


def oldest_due(ctx, now: datetime | None = None) -> datetime | None:
    """The due time of the oldest deadline due now: how far back a catch-up reaches."""
    with db.read(ctx.engine) as conn:
        return conn.execute(sa.select(sa.type_coerce(sa.func.min(deadlines.c.due_at), UTCDateTime)).where(
            PENDING_SQL, deadlines.c.due_at <= (now or ctx.clock.now()))).scalar()
