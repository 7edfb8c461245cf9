"""Digests: weekly to each OPD head with something due or overdue, monthly to the chair.

A digest belongs to a period: the week that starts at ``daemon.weekly_digest`` ("mon 08:00",
regency time) and the month that starts on ``daemon.monthly_digest_day`` at 08:00. A pass
sends the digest of the *current* period when its start has passed and it was not sent yet
(dedupe key ``digest_opd:<CODE>:<period start>``), so a daemon that was down on Monday
morning sends it when it comes back, once; older periods are not sent after the fact.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from engine.i18n import _, number
from engine.store import db
from engine.scheduler.agenda import items
from engine.store.tables import agreements, deadlines, incidents, opds, outbox

log = logging.getLogger("tkksd.digests")

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_ITEMS = 100  # an e-mail, not a report: `tkksd due` and `tkksd report` give the rest


def parse_weekly(spec: str) -> tuple[int, time]:
    """'mon 08:00' -> (0, 08:00)."""
    try:
        day, hhmm = spec.strip().lower().split()
        hour, minute = hhmm.split(":")
        return DAYS.index(day[:3]), time(int(hour), int(minute))
    except (ValueError, IndexError):
        from engine.errors import ConfigurationError

        raise ConfigurationError(_("daemon.weekly_digest must look like 'mon 08:00', not '{spec}'.").format(spec=spec)) from None


def weekly_period(clock, spec: str, now: datetime) -> tuple[datetime, date, date]:
    """(start instant, first day, last day) of the current weekly period."""
    weekday, at = parse_weekly(spec)
    local = clock.local(now)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    start = datetime.combine(day, at, tzinfo=clock.zone)
    if start > local:
        day -= timedelta(days=7)
        start = datetime.combine(day, at, tzinfo=clock.zone)
    return start, day, day + timedelta(days=6)


def monthly_period(clock, day_of_month: int, now: datetime) -> tuple[datetime, date, date]:
    local = clock.local(now)
    first = local.date().replace(day=min(day_of_month, 28))
    start = datetime.combine(first, time(8, 0), tzinfo=clock.zone)
    if start > local:
        prev = (first.replace(day=1) - timedelta(days=1)).replace(day=first.day)
        first, start = prev, datetime.combine(prev, time(8, 0), tzinfo=clock.zone)
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=first.day)
    return start, first, nxt - timedelta(days=1)


def action_text(i: dict[str, Any], lang: str, ctx=None) -> str:
    """What must be done, as an action: a step to complete, or what the deadline is about.
    Without ``ctx`` (no workflow labels at hand) a step's deadline is said by its label."""
    from engine.i18n import in_language
    from engine.lifecycle.labels import deadline_what

    if i["rule"] in ("step_sla", "escalation") or i["rule"] is None:
        if ctx is None:
            return i["what"]
        return in_language("Complete the step {step}", lang).format(step=_state_label(ctx, i["state"], lang))
    if i["rule"] == "expiry_warning":  # the items do not carry how many days ahead the warning is
        return in_language("The term ends soon: decide on extension or termination", lang)
    return deadline_what(None, i["rule"], i["state"], 0, lang)


def _item(ctx, i: dict[str, Any], lang: str = "id") -> dict[str, Any]:
    # "opd" lets the chair's digest group its items by the OPD that must act.
    return {"agreement": {"id": i["agreement"], "title": i["title"]}, "what": action_text(i, lang, ctx),
            "due_at": datetime.fromisoformat(i["due_at"]), "opd": dict(i["responsible"])}


def _hanging_item(ctx, h: dict[str, Any], lead: dict[str, Any]) -> dict[str, Any]:
    """A hanging agreement in the chair's digest, with the real due date of what hangs (the
    earliest overdue deadline); one with no deadline at all says since when it waits."""
    from engine.i18n import in_language

    lang = ctx.lang
    step = _state_label(ctx, h["state"], lang)
    if h["due_on"] is not None:
        what = in_language("Stuck in the step {step}", lang).format(step=step)
    else:
        what = in_language("Stuck in the step {step} with no deadline since {day}", lang).format(
            step=step, day=_day(h["since"], lang))
    return {"agreement": {"id": h["agreement"], "title": h["title"]}, "what": what, "due_at": h["due_on"],
            "opd": lead.get(h["agreement"], {"opd": "", "name": "-"})}


def _day(value: date, lang: str) -> str:
    from engine.i18n import day

    return day(value, lang)


def _state_label(ctx, state: str, lang: str | None = None) -> str:
    for defn in ctx.registry.all():
        if defn.has_state(state):
            return defn.state(state).label.get(lang or ctx.lang)
    return state


def _sent(conn, key: str) -> bool:
    return conn.execute(sa.select(outbox.c.id).where(outbox.c.dedupe_key == key)).first() is not None


def weekly(ctx, now: datetime) -> int:
    from engine.lifecycle.notices import enqueue

    start, first, last = weekly_period(ctx.clock, ctx.settings.get("daemon", "weekly_digest", "mon 08:00"), now)
    sent = 0
    with db.write(ctx.engine) as conn:
        found = items(conn, ctx, now=now, until=now + timedelta(days=7))
        by_opd: dict[str, list[dict[str, Any]]] = {}
        for i in found:
            by_opd.setdefault(i["responsible"]["opd"], []).append(i)
        for code, its in sorted(by_opd.items()):
            key = f"digest_opd:{code}:{first.isoformat()}"
            if _sent(conn, key):
                continue
            context = {
                "period": {"start": first, "end": last},
                "due": [_item(ctx, i, ctx.lang) for i in its if not i["overdue"]][:MAX_ITEMS],
                "overdue": [_item(ctx, i, ctx.lang) for i in its if i["overdue"]][:MAX_ITEMS],
            }
            if enqueue(conn, ctx, kind="digest_opd", agreement_id=None, to=[f"opd:{code}"], dedupe_key=key,
                       context=context, lead_opd=code):
                sent += 1
                log.debug(_("weekly digest to {opd} for the week of {day}: {due} due, {overdue} overdue").format(
                    opd=code, day=_day(first, ctx.lang), due=len(context["due"]), overdue=len(context["overdue"])))
    return sent


def monthly(ctx, now: datetime) -> int:
    from engine.scheduler.doctor import hanging
    from engine.lifecycle.notices import enqueue

    start, first, last = monthly_period(ctx.clock, int(ctx.settings.get("daemon", "monthly_digest_day", 1)), now)
    key = f"digest_chair:{first.isoformat()}"
    with db.write(ctx.engine) as conn:
        if _sent(conn, key):
            return 0
        end = ctx.clock.start_of_day(last + timedelta(days=1))
        found = items(conn, ctx, now=now, until=end)
        counts: dict[str, int] = {}
        for state, n in conn.execute(
            sa.select(agreements.c.lifecycle_state, sa.func.count()).group_by(agreements.c.lifecycle_state)
            .order_by(agreements.c.lifecycle_state)
        ):
            counts[state] = n
        labelled = {}
        for defn in ctx.registry.all() if hasattr(ctx.registry, "all") else []:
            for s in defn.states:
                if s.name in counts:
                    labelled[s.label.get(ctx.lang)] = counts.pop(s.name)
        labelled.update(counts)
        found_hanging = hanging(conn, ctx, now)
        # The lead OPD of each, so the chair's digest groups them like the deadlines.
        lead = {r.number: {"opd": r.lead_opd, "name": r.name or r.lead_opd} for r in conn.execute(
            sa.select(agreements.c.number, agreements.c.lead_opd, opds.c.name)
            .select_from(agreements.join(opds, opds.c.code == agreements.c.lead_opd, isouter=True))
            .where(agreements.c.number.in_([h["agreement"] for h in found_hanging] or [""]))
        )}
        stuck = [_hanging_item(ctx, h, lead) for h in found_hanging]
        recent = conn.execute(
            sa.select(incidents.c.message, incidents.c.created_at, outbox.c.message_id, outbox.c.to_addrs)
            .select_from(incidents.join(outbox, outbox.c.id == incidents.c.outbox_id, isouter=True))
            .where(incidents.c.resolved_at.is_(None)).order_by(incidents.c.created_at.desc()).limit(MAX_ITEMS)
        ).all()
        context = {
            "period": {"start": first, "end": last},
            "counts": {label: number(n, ctx.lang) for label, n in labelled.items()},  # 1.044, as people write it
            "due": [_item(ctx, i, ctx.lang) for i in found if not i["overdue"]][:MAX_ITEMS],
            "overdue": [_item(ctx, i, ctx.lang) for i in found if i["overdue"]][:MAX_ITEMS],
            "hanging": stuck[:MAX_ITEMS],
            "hanging_total": number(len(stuck), ctx.lang),  # the same count as `tkksd doctor`, `report` and `status`
            "incidents": [{"message_id": r.message_id or "-", "recipient": ", ".join(r.to_addrs or []) or "-",
                           "error": r.message, "at": r.created_at} for r in recent],
        }
        if enqueue(conn, ctx, kind="digest_chair", agreement_id=None, to=["chair"], dedupe_key=key, context=context):
            log.debug(_("monthly digest to the chair for {day}: {due} due, {overdue} overdue, {hanging} hanging").format(
                day=_day(first, ctx.lang), due=len(context["due"]), overdue=len(context["overdue"]), hanging=len(stuck)))
            return 1
    return 0


def run_due(ctx, now: datetime | None = None) -> dict[str, int]:
    """Send the current period's digests that are not sent yet."""
    now = now or ctx.clock.now()
    return {"digest_opd": weekly(ctx, now), "digest_chair": monthly(ctx, now)}


__all__ = ["run_due", "weekly", "monthly", "weekly_period", "monthly_period", "deadlines"]
