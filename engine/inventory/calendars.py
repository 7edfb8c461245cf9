"""Pending deadlines as an iCalendar file (RFC 5545) an OPD head can subscribe to in any calendar program.

One VEVENT per pending deadline, at ``[calendar] event_time`` local time (WITA) on the day it
falls due, with a VTIMEZONE for the regency's zone. The UID is derived from the deadline row
and its occurrence, so a re-exported file updates the same events instead of duplicating them.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa

from engine.store import db
from engine.context import Context
from engine.errors import InvalidInput
from engine.i18n import N_, _, in_language, number
from notifiers.formatting import tanggal

from engine.lifecycle.labels import deadline_what
from engine.store.tables import agreements, deadlines, opds


# The calendar is written in the context's language (an OPD head subscribes to it), so its
# texts are marked here and translated with that language when an event is built.
TEXT = {
    "overdue": N_("OVERDUE {days} days: "),
    "reminder": N_("Due tomorrow: {what} ({number})"),
    "what": N_("What falls due: {what}"),
    "agreement": N_("Agreement: {number} - {title}"),
    "partner": N_("Partner: {partner}"),
    "opd": N_("Lead OPD: {code} ({name})"),
    "due": N_("Deadline: {day} ({zone})"),
    "late": N_(", {days} days late"),
    "calendar": N_("TKKSD agreement deadlines"),
}


def _t(key: str, lang: str) -> str:
    return in_language(TEXT[key], lang)



def _alarm(what: str, number: str, lang: str):
    """A reminder the day before (VALARM, RFC 5545 3.6.6), at the same time of day."""
    from icalendar import Alarm

    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", timedelta(days=-1))
    alarm.add("description", _t("reminder", lang).format(what=what, number=number))
    return alarm


def _rows(ctx: Context, *, opd: str | None, days: int | None, deadline_id: int | None) -> list:
    q = (
        sa.select(deadlines.c.id, deadlines.c.rule, deadlines.c.state, deadlines.c.due_at, deadlines.c.offset_days,
                  deadlines.c.occurrence, agreements.c.number, agreements.c.title, agreements.c.partner, agreements.c.workflow,
                  agreements.c.workflow_version, agreements.c.lead_opd, opds.c.name.label("opd_name"))
        .select_from(deadlines.join(agreements, agreements.c.id == deadlines.c.agreement_id)
                     .join(opds, opds.c.code == agreements.c.lead_opd, isouter=True))
        # One deadline: the invitation sent with its notice, whatever its status by then.
        .where(deadlines.c.id == deadline_id if deadline_id is not None else deadlines.c.status == "pending")
        .order_by(deadlines.c.due_at, deadlines.c.id)
    )
    if opd:
        q = q.where(agreements.c.lead_opd == opd.upper())
    if days is not None:
        q = q.where(deadlines.c.due_at <= ctx.clock.now() + timedelta(days=days))
    with db.read(ctx.engine) as conn:
        if opd and conn.execute(sa.select(opds.c.code).where(opds.c.code == opd.upper())).first() is None:
            raise InvalidInput(_("Unknown OPD code '{code}'; `tkksd opd list` shows the directory.").format(code=opd))
        return conn.execute(q).all()


def _event(ctx: Context, r, what: str):
    """One deadline as a VEVENT: at ``[calendar] event_time`` on its due day, flagged when overdue."""
    from icalendar import Event

    settings, now, lang = ctx.settings, ctx.clock.now(), ctx.lang
    hh, mm = (int(x) for x in str(settings.get("calendar", "event_time", "08:00")).split(":"))
    day = ctx.clock.local(r.due_at).date()
    start = datetime.combine(day, time(hh, mm), tzinfo=ctx.clock.zone)
    ev = Event()
    ev.add("uid", f"deadline-{r.id}-{r.occurrence}@{settings.get('mail', 'domain', 'tkksd.local')}")
    ev.add("dtstamp", now)
    ev.add("dtstart", start)
    ev.add("dtend", start + timedelta(minutes=int(settings.get("calendar", "duration_minutes", 30))))
    overdue_days = (ctx.clock.today() - day).days if r.due_at <= now else 0
    days = number(overdue_days, lang)
    flag = _t("overdue", lang).format(days=days) if overdue_days > 0 else ""
    ev.add("summary", f"[{r.number}] {flag}{what}")
    ev.add("description", "\n".join([
        _t("what", lang).format(what=what),
        _t("agreement", lang).format(number=r.number, title=r.title),
        _t("partner", lang).format(partner=r.partner),
        _t("opd", lang).format(code=r.lead_opd, name=r.opd_name or r.lead_opd),
        _t("due", lang).format(day=tanggal(day, lang), zone=settings.get("general", "timezone_abbr", "WITA"))
        + (_t("late", lang).format(days=days) if overdue_days > 0 else ""),
    ]))
    if r.due_at > now:  # an alarm in the past would only pop up at once
        ev.add_component(_alarm(what, r.number, lang))
    ev.add("categories", [r.rule])
    ev.add("status", "CONFIRMED")
    ev.add("transp", "TRANSPARENT")
    return ev


def build(ctx: Context, *, opd: str | None = None, days: int | None = None, deadline_id: int | None = None):
    from icalendar import Calendar

    rows = _rows(ctx, opd=opd, days=days, deadline_id=deadline_id)
    cal = Calendar()
    cal.add("prodid", "-//TKKSD Kabupaten Kutai Kartanegara//tkksd//ID")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _t("calendar", ctx.lang) + (f" - {opd.upper()}" if opd else ""))
    cal.add("x-wr-timezone", str(ctx.clock.zone.key))
    defns: dict = {}
    for r in rows:
        key = (r.workflow, r.workflow_version)
        if key not in defns:
            try:
                defns[key] = ctx.registry.get(*key)
            except LookupError:
                defns[key] = None
        cal.add_component(_event(ctx, r, deadline_what(defns[key], r.rule, r.state, r.offset_days, ctx.lang)))
    cal.add_missing_timezones()
    return cal, len(rows)


def per_opd(ctx: Context, *, days: int | None = None) -> dict[str, tuple[bytes, int]]:
    """One calendar per lead OPD with pending deadlines: code -> (the .ics bytes, how many
    deadlines), for each OPD to subscribe to its own (the CLI writes them, one file each)."""
    with db.read(ctx.engine) as conn:
        codes = list(conn.execute(
            sa.select(agreements.c.lead_opd).distinct()
            .select_from(deadlines.join(agreements, agreements.c.id == deadlines.c.agreement_id))
            .where(deadlines.c.status == "pending").order_by(agreements.c.lead_opd)
        ).scalars())
    out = {}
    for code in codes:
        cal, n = build(ctx, opd=code, days=days)
        if n:
            out[code] = (cal.to_ical(), n)
    return out


def write(ctx: Context, output: str | Path, *, opd: str | None = None, days: int | None = None) -> int:
    output = Path(output)
    if output.suffix.lower() != ".ics":
        raise InvalidInput(_("'{name}' must end in .ics.").format(name=output.name))
    cal, n = build(ctx, opd=opd, days=days)
    output.write_bytes(cal.to_ical())
    return n
