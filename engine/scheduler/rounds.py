"""The Sekda's evaluation round: every running agreement (or a filtered set) evaluated by a due
date, one letter per OPD head, progress per OPD, reminders and escalation at the round's level,
and a report when the chair closes it.

Opening a round is one transaction: the round and its items, ``open_evaluation`` on each
integrated agreement (history row, deadlines), and one letter per OPD in the outbox. The
per-agreement step reminders of the evaluation are cancelled for the round's agreements: the
round reminds per OPD instead (``remind_due``, run by the daemon's pass).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.i18n import _, day
from engine.lifecycle.agreement import Agreement
from engine.errors import InvalidInput, NotFound, PermissionDenied, RoundConflict
from engine.store import db
from engine.store.evaluation_tables import evaluation_round_items as items_t
from engine.store.evaluation_tables import evaluation_rounds as rounds_t
from engine.store.tables import agreements, history, opds

RUNNING = ("integrated", "under_evaluation")
OUTCOMES = ("continue", "upgrade", "extend", "revise", "terminate", "declare_not_followed_up", "expire", "revoke")
ROUND_REMINDERS = ("step_sla", "escalation")  # the per-agreement reminders the round replaces


@dataclass(frozen=True)
class Filters:
    opd: str | None = None
    category: str | None = None
    signed_before: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"opd": self.opd, "category": self.category,
                "signed_before": self.signed_before.isoformat() if self.signed_before else None}


def _require_chair(conn: Connection, login: str) -> None:
    from engine.lifecycle.services import resolve_actor

    if not resolve_actor(conn, login).holds("chair"):
        raise PermissionDenied(_("Only the TKKSD chair may open or close an evaluation round; '{login}' is not the chair.").format(
            login=login))


def _selected(conn: Connection, filters: Filters) -> list:
    q = sa.select(agreements).where(agreements.c.lifecycle_state.in_(RUNNING)).order_by(agreements.c.lead_opd, agreements.c.id)
    if filters.opd:
        q = q.where(agreements.c.lead_opd == filters.opd.upper())
    rows = conn.execute(q).all()
    out = []
    for r in rows:
        data = r.data or {}
        if filters.category and data.get("category") != filters.category:
            continue
        if filters.signed_before and not (data.get("signed_on") and data["signed_on"] < filters.signed_before.isoformat()):
            continue
        out.append(Agreement.from_row(r))
    return out


def _next_number(conn: Connection, year: int) -> str:
    prefix = f"EV-{year}-"
    n = conn.execute(sa.select(sa.func.count()).select_from(rounds_t).where(rounds_t.c.number.like(f"{prefix}%"))).scalar_one()
    return f"{prefix}{n + 1:02d}"


def find_round(conn: Connection, number: str | None):
    q = sa.select(rounds_t)
    q = q.where(rounds_t.c.number == number.upper()) if number else q.order_by(rounds_t.c.id.desc()).limit(1)
    row = conn.execute(q).first()
    if row is None:
        raise NotFound(_("No evaluation round '{number}'; `tkksd evaluasi status` shows the latest.").format(number=number)
                       if number else _("No evaluation round has been opened yet; the chair opens one with `tkksd evaluasi buka`."))
    return row


def open_round(ctx, login: str, *, due_on: date, filters: Filters, title: str | None = None) -> dict[str, Any]:
    today = ctx.clock.today()
    if due_on <= today:
        raise InvalidInput(_("The due date {due} must be after today ({today}).").format(due=day(due_on), today=day(today)))
    with db.write(ctx.engine) as conn:
        _require_chair(conn, login)
        already = conn.execute(sa.select(rounds_t.c.number).where(rounds_t.c.status == "open")).scalar()
        if already:
            raise RoundConflict(_("Evaluation round {round} is still open; close it with `tkksd evaluasi tutup {round}` first.").format(
                round=already))
        rows = _selected(conn, filters)
        if not rows:
            raise InvalidInput(_("No running agreement matches these filters; nothing was opened."))
        now = ctx.clock.now()
        number = _next_number(conn, today.year)
        title = title or f"Evaluasi efektivitas dan keberlanjutan kerja sama daerah {number}"
        round_id = conn.execute(rounds_t.insert().values(
            number=number, title=title, filters=filters.as_dict(), due_on=due_on, status="open", opened_by=login,
            opened_at=now)).inserted_primary_key[0]
        for row in rows:
            _enter(conn, ctx, row, round_id=round_id, number=number, due_on=due_on, login=login)
        letters = _send_letters(conn, ctx, round_id, stage="letter")
    return {"round": number, "title": title, "due_on": due_on.isoformat(), "agreements": len(rows), "letters": letters}


def _enter(conn: Connection, ctx, row, *, round_id: int, number: str, due_on: date, login: str) -> None:
    """One agreement joins the round: its evaluation opens (if not open yet) in this transaction."""
    from engine.lifecycle import deadlines
    from engine.lifecycle.services import apply_transition

    seq, opened = row.history_seq, False
    if row.lifecycle_state == "integrated":
        defn = ctx.registry.get(row.workflow, row.workflow_version)
        t = apply_transition(conn, ctx, row, defn, event="open_evaluation", to_state="under_evaluation", actor=login,
                             note=f"evaluasi {number}, batas {due_on.isoformat()}", supplied={}, kind="human")
        # Deadlines as every transition plans them; no letter per agreement (one per OPD follows).
        deadlines.after_transition(conn, t, ctx)
        seq, opened = t.history_seq, True
    _cancel_step_reminders(conn, ctx, row.id, number)
    conn.execute(items_t.insert().values(round_id=round_id, agreement_id=row.id, lead_opd=row.lead_opd,
                                         history_seq_at_open=seq, opened_evaluation=opened))


def _cancel_step_reminders(conn: Connection, ctx, agreement_id: int, number: str) -> None:
    from engine.lifecycle.deadlines import PENDING_SQL, cancel_pending
    from engine.store.tables import deadlines as deadlines_t

    ids = conn.execute(sa.select(deadlines_t.c.id).where(
        deadlines_t.c.agreement_id == agreement_id, deadlines_t.c.rule.in_(ROUND_REMINDERS),
        deadlines_t.c.state == "under_evaluation", PENDING_SQL)).scalars().all()
    cancel_pending(conn, agreement_id, ids, ctx.clock.now(), f"reminded at the level of evaluation round {number}")


# ---------------------------------------------------------------------------------- progress


def _outcomes(conn: Connection, round_id: int) -> dict[int, Any]:
    """The newest outcome history row of each item recorded after the round opened it."""
    q = (sa.select(history.c.agreement_id, history.c.event, history.c.at, history.c.actor, history.c.data, history.c.seq)
         .join(items_t, sa.and_(items_t.c.agreement_id == history.c.agreement_id, items_t.c.round_id == round_id))
         .where(history.c.seq > items_t.c.history_seq_at_open, history.c.event.in_(OUTCOMES))
         .order_by(history.c.agreement_id, history.c.seq))
    return {r.agreement_id: r for r in conn.execute(q)}


def _score(ctx, defn, data: dict[str, Any]) -> float | None:
    from workflows.evaluation_rules import score

    configured = ctx.settings.section("limits").get("scorecard")
    card = configured if configured is not None else defn.settings.get("scorecard")
    result = score(card, data or {}) if card else None
    return result.weighted if result else None


def progress(ctx, number: str | None = None) -> dict[str, Any]:
    """The round's progress per OPD: evaluated, pending, late, outcomes, scores."""
    today = ctx.clock.today()
    with db.read(ctx.engine) as conn:
        rnd = find_round(conn, number)
        rows = conn.execute(
            sa.select(agreements, items_t.c.lead_opd.label("item_opd"))
            .join(items_t, items_t.c.agreement_id == agreements.c.id).where(items_t.c.round_id == rnd.id)
            .order_by(items_t.c.lead_opd, agreements.c.id)).all()
        done = _outcomes(conn, rnd.id)
        names = {o.code: o for o in conn.execute(sa.select(opds.c.code, opds.c.name, opds.c.head_title))}
    late_days = max(0, (today - rnd.due_on).days)
    opened_on = ctx.clock.local(rnd.opened_at).date()
    by_opd: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_opd[r.item_opd].append(_item(ctx, r, done.get(r.id), late_days, opened_on))
    per_opd = [_opd_entry(code, names.get(code), entries, late_days) for code, entries in by_opd.items()]
    total = sum(o["total"] for o in per_opd)
    evaluated = sum(o["evaluated"] for o in per_opd)
    return {
        "round": rnd.number, "title": rnd.title, "status": rnd.status, "due_on": rnd.due_on.isoformat(),
        "opened_at": rnd.opened_at.isoformat(), "closed_at": rnd.closed_at.isoformat() if rnd.closed_at else None,
        "as_of": today.isoformat(), "days_late": late_days, "filters": rnd.filters,
        "totals": {"agreements": total, "evaluated": evaluated, "pending": total - evaluated, "opds": len(per_opd),
                   "late_opds": sum(1 for o in per_opd if o["late"]),
                   "ikn_reassessed": sum(o["ikn_reassessed"] for o in per_opd)},
        "opds": per_opd,
    }


def _ikn_assessment(ctx, data: dict[str, Any], opened_on: date) -> dict[str, Any]:
    """The agreement's IKN relevance and the date it was last assessed (``ikn_assessed_on``, set
    whenever it is recorded); re-assessed in this round when that is on or after its opening."""
    from engine.lifecycle.labels import choice_label

    assessed = data.get("ikn_assessed_on")
    return {"ikn_relevance": data.get("ikn_relevance"),
            "ikn_relevance_label": choice_label("ikn_relevance", data.get("ikn_relevance"), ctx.lang),
            "ikn_assessed_on": assessed, "ikn_reassessed": bool(assessed and assessed >= opened_on.isoformat())}


def _item(ctx, r, outcome, late_days: int, opened_on: date) -> dict[str, Any]:
    defn = ctx.registry.get(r.workflow, r.workflow_version)
    label = defn.state(r.lifecycle_state).label.get(ctx.lang) if defn.has_state(r.lifecycle_state) else r.lifecycle_state
    item = {"id": r.number, "title": r.title, "partner": r.partner, "state": r.lifecycle_state, "state_label": label,
            "outcome": None, "score": None, "reason": None, "evaluated_at": None, "hanging": None,
            **_ikn_assessment(ctx, r.data or {}, opened_on)}
    if outcome is not None:
        data = outcome.data or {}
        item.update(outcome=outcome.event, score=_score(ctx, defn, data), reason=data.get("departure_reason"),
                    evaluated_at=outcome.at.isoformat(), findings=data.get("evaluation_findings"))
    else:
        why = "OPD belum menyampaikan evaluasi"
        item["hanging"] = why + (f" (terlambat {late_days} hari)" if late_days else "")
    return item


def _opd_entry(code: str, o, entries: list[dict[str, Any]], late_days: int) -> dict[str, Any]:
    evaluated = [e for e in entries if e["outcome"]]
    outcomes: dict[str, int] = defaultdict(int)
    for e in evaluated:
        outcomes[e["outcome"]] += 1
    scores = [e["score"] for e in evaluated if e["score"] is not None]
    pending = len(entries) - len(evaluated)
    return {"opd": code, "name": o.name if o else code, "head": o.head_title if o else "", "total": len(entries),
            "evaluated": len(evaluated), "pending": pending, "late": bool(pending and late_days),
            "ikn_reassessed": sum(1 for e in entries if e["ikn_reassessed"]),
            "outcomes": dict(outcomes), "mean_score": round(sum(scores) / len(scores), 2) if scores else None,
            "items": entries}


# ---------------------------------------------------------------------------------- letters


def _groups(conn: Connection, ctx, rnd, *, pending_only: bool) -> dict[str, list[dict[str, Any]]]:
    rows = conn.execute(
        sa.select(agreements.c.id, agreements.c.number, agreements.c.title, agreements.c.partner, agreements.c.workflow,
                  agreements.c.workflow_version, agreements.c.lifecycle_state, items_t.c.lead_opd)
        .join(items_t, items_t.c.agreement_id == agreements.c.id).where(items_t.c.round_id == rnd.id)
        .order_by(items_t.c.lead_opd, agreements.c.id)).all()
    done = _outcomes(conn, rnd.id) if pending_only else {}
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r.id in done:
            continue
        defn = ctx.registry.get(r.workflow, r.workflow_version)
        label = defn.state(r.lifecycle_state).label.get(ctx.lang) if defn.has_state(r.lifecycle_state) else r.lifecycle_state
        out[r.lead_opd].append({"id": r.number, "title": r.title, "partner": r.partner, "state_label": label})
    return out


def _round_context(ctx, rnd) -> dict[str, Any]:
    return {"number": rnd.number, "title": rnd.title, "due_at": ctx.clock.start_of_day(rnd.due_on)}


def _opd_ref(conn: Connection, code: str) -> dict[str, str]:
    row = conn.execute(sa.select(opds.c.code, opds.c.name).where(opds.c.code == code)).first()
    return {"code": code, "name": row.name if row else code}


def _send_letters(conn: Connection, ctx, round_id: int, *, stage: str, key: str | None = None) -> int:
    """One letter per OPD head: every item (stage ``letter``) or the pending ones (``reminder``)."""
    from engine.lifecycle.notices import enqueue

    rnd = conn.execute(sa.select(rounds_t).where(rounds_t.c.id == round_id)).one()
    sent = 0
    for code, entries in _groups(conn, ctx, rnd, pending_only=stage != "letter").items():
        context = {"round": _round_context(ctx, rnd), "stage": stage, "items": entries, "opd": _opd_ref(conn, code)}
        if enqueue(conn, ctx, kind="evaluation_round", agreement_id=None, to=[f"opd:{code}"], cc=["secretariat"],
                   dedupe_key=f"round:{rnd.number}:{key or stage}:{code}", context=context, lead_opd=code):
            sent += 1
    return sent


def _escalate(conn: Connection, ctx, rnd, key: str) -> int:
    from engine.lifecycle.notices import enqueue

    late = [{"opd": _opd_ref(conn, code), "pending": entries}
            for code, entries in _groups(conn, ctx, rnd, pending_only=True).items()]
    if not late:
        return 0
    context = {"round": _round_context(ctx, rnd), "late": late}
    return 1 if enqueue(conn, ctx, kind="evaluation_round_escalation", agreement_id=None, to=["chair"], cc=["secretariat"],
                        dedupe_key=f"round:{rnd.number}:{key}", context=context) else 0


def _setting(ctx, key: str, default: int) -> int:
    try:
        return int(ctx.settings.get("evaluation_round", key, default))
    except (TypeError, ValueError):
        return default


def remind_due(ctx, now: datetime | None = None) -> dict[str, int]:
    """The daemon's pass: before the due date a reminder to each OPD with agreements still to
    evaluate; after it, every ``escalation_repeat_days`` a letter to the chair naming the late
    OPDs and another reminder to each of them. Each letter once (outbox dedupe keys)."""
    today = ctx.clock.local(now).date() if now else ctx.clock.today()
    before, repeat = _setting(ctx, "reminder_days_before", 7), max(1, _setting(ctx, "escalation_repeat_days", 7))
    counts = {"round_reminders": 0, "round_escalations": 0}
    with db.write(ctx.engine) as conn:
        for rnd in conn.execute(sa.select(rounds_t).where(rounds_t.c.status == "open")).all():
            days_left = (rnd.due_on - today).days
            if 0 <= days_left <= before:
                counts["round_reminders"] += _send_letters(conn, ctx, rnd.id, stage="reminder")
            elif days_left < 0:
                k = (-days_left - 1) // repeat
                counts["round_escalations"] += _escalate(conn, ctx, rnd, f"escalation:{k}")
                counts["round_reminders"] += _send_letters(conn, ctx, rnd.id, stage="reminder", key=f"late:{k}")
    return counts


def close_round(ctx, login: str, number: str | None) -> dict[str, Any]:
    with db.write(ctx.engine) as conn:
        _require_chair(conn, login)
        rnd = find_round(conn, number)
        if rnd.status != "open":
            raise RoundConflict(_("Evaluation round {round} was already closed on {day}.").format(
                round=rnd.number, day=day(ctx.clock.local(rnd.closed_at).date())))
        conn.execute(rounds_t.update().where(rounds_t.c.id == rnd.id, rounds_t.c.status == "open")
                     .values(status="closed", closed_by=login, closed_at=ctx.clock.now()))
    return progress(ctx, rnd.number)
