"""Commands about time: daemon, status, doctor, due, simulate."""

from __future__ import annotations

import re

import click

from engine.i18n import N_, _

from .common import context, emit_json, opd_filter, table

# What a heartbeat counts, for people (the codes stay in --json).
COUNT_LABELS = {"fired": N_("fired"), "notified": N_("notified"), "folded": N_("folded"), "skipped": N_("skipped"),
                "sent": N_("sent"), "retried": N_("retried"), "failed": N_("failed"),
                "digest_opd": N_("weekly digests"), "digest_chair": N_("monthly digests"),
                "reconnects": N_("reconnections"), "round_reminders": N_("evaluation round reminders"),
                "round_escalations": N_("evaluation round escalations")}
MAIL_STATUS_LABELS = {"pending": N_("pending"), "sent": N_("sent"), "failed": N_("failed"), "held": N_("held")}


def parse_within(text: str):
    """'30d', '2w', '12h', '90' (days) -> timedelta."""
    from datetime import timedelta

    from engine.errors import InvalidInput

    m = re.fullmatch(r"\s*(\d+)\s*([dwh]?)\s*", text or "")
    if not m:
        raise InvalidInput(_("--within needs a duration such as 30d, 2w or 12h, not '{text}'.").format(text=text))
    n, unit = int(m.group(1)), m.group(2) or "d"
    return {"d": timedelta(days=n), "w": timedelta(weeks=n), "h": timedelta(hours=n)}[unit]


@click.command(help=N_(
    "Run the scheduler: sweep due deadlines, drain the outbox, send the digests.\n\n"
    "Deadlines are rows in the database; every sweep acts on each due row exactly once, so a "
    "daemon that was down catches up on start: it says where the database and the mail are, "
    "shows its progress and ends its first pass with one summary line. The first SIGTERM or "
    "SIGINT (Ctrl-C) finishes the item in hand and exits 0. With --once: one pass, the summary "
    "line, exit 1 if any deadline failed.\n\n"
    "\b\nExample:\n"
    "  tkksd daemon\n"
    "  tkksd daemon --once\n"
    "  TKKSD_NOW=2027-06-01 tkksd daemon --once --json"))
@click.option("--once", is_flag=True, help=N_("Run one complete pass (sweep, digests, outbox) and exit with a summary line."))
@click.option("--id", "daemon_id", default=None, help=N_("This daemon's name in heartbeats (default: daemon.id or the host name)."))
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"]),
              help=N_("debug shows one line per deadline."))
@click.option("--json", "as_json", is_flag=True, help=N_("With --once: print the summary as JSON."))
def daemon(once, daemon_id, log_level, as_json):
    from engine.mail.maildir_tmp import clean_stale_tmp
    from engine.scheduler.daemon import Daemon
    from engine.store.home import private_umask
    from engine.store.waiting import check_writable

    from .screen import Progress, configure_logging, show_start

    ctx = context(access="operate", what=N_("run the daemon"))
    configure_logging(log_level, ctx.clock.zone)
    check_writable(ctx.engine)  # a daemon that cannot write stops now, saying why
    private_umask(ctx.settings.get("access", "group") or None)
    if ctx.settings.get("mail", "transport", "maildir") == "maildir":
        clean_stale_tmp(ctx.settings.maildir)
    else:
        from engine.mail.preflight import check_mail_login

        check_mail_login(ctx)  # a refused login: exit 9 now, not a failed login every tick
    with Progress() as progress:
        d = Daemon(ctx, daemon_id, progress=None if as_json else progress)
        if once:
            if not as_json:
                show_start(ctx, d.daemon_id, once=True)
            out = d.run_once()
            progress.close()
            if as_json:
                emit_json(out)
            else:
                click.echo(d.summary(out))
            return 1 if out["errors"] else 0
        d.run_forever(announce=lambda: show_start(ctx, d.daemon_id, once=False))
    if d.fatal:
        from engine.errors import DatabaseUnavailable

        raise DatabaseUnavailable(d.fatal)
    return 0


def _when(value, zone) -> str:
    """An ISO time from a heartbeat as people read it (WITA), or '-'."""
    from datetime import datetime

    from engine.i18n import moment

    if not value:
        return "-"
    return moment(datetime.fromisoformat(value) if isinstance(value, str) else value, zone)


def _counts_text(counts: dict[str, int]) -> str:
    from engine.i18n import number

    return ", ".join(f"{_(COUNT_LABELS[k]) if k in COUNT_LABELS else k} {number(v)}" for k, v in sorted(counts.items())) or "-"


def _heartbeat_line(b: dict, zone) -> str:
    from engine.i18n import number

    state = _("running") if b["running"] else _("stopped on {when}").format(when=_when(b["stopped_at"], zone))
    line = _("daemon {id} on {host}, pid {pid}: {state}; last pass {when}; counts: {counts}; errors {errors}").format(
        id=b["daemon_id"], host=b["host"], pid=b["pid"], state=state, when=_when(b["last_pass_at"], zone),
        counts=_counts_text(b["counts"]), errors=number(b["errors"]))
    if b["last_error"]:
        line += " " + _("(last: {error})").format(error=b["last_error"])
    return line


@click.command(help=N_(
    "The daemons' heartbeats (last pass, counts, errors) and what is due now.\n\n"
    "\b\nExample:\n"
    "  tkksd status\n"
    "  tkksd status --json"))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def status(as_json):
    import sqlalchemy as sa

    from engine.i18n import number
    from engine.lifecycle.deadlines import PENDING_SQL
    from engine.lifecycle.hanging import count as count_hanging
    from engine.scheduler.daemon import status as beats
    from engine.store import db
    from engine.store.tables import deadlines, outbox

    ctx = context()
    now = ctx.clock.now()
    with db.read(ctx.engine) as conn:
        pending = conn.execute(sa.select(sa.func.count()).select_from(deadlines).where(PENDING_SQL)).scalar_one()
        due = conn.execute(sa.select(sa.func.count()).select_from(deadlines).where(PENDING_SQL, deadlines.c.due_at <= now)).scalar_one()
        nxt = conn.execute(sa.select(sa.func.min(deadlines.c.due_at)).where(PENDING_SQL, deadlines.c.due_at > now)).scalar()
        mail = dict(conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)).all())
        hanging = count_hanging(conn, ctx, now)
    out = {"now": now.isoformat(), "daemons": beats(ctx), "deadlines": {"pending": pending, "due_now": due,
           "next_due_at": nxt.isoformat() if hasattr(nxt, "isoformat") else nxt}, "outbox": mail,
           "hanging": hanging}
    if as_json:
        emit_json(out)
        return
    from engine.store.home import where

    zone = ctx.clock.zone
    click.echo(where(ctx.settings))
    if not out["daemons"]:
        click.echo(_("No daemon has run yet (`tkksd daemon`)."))
    for b in out["daemons"]:
        click.echo(_heartbeat_line(b, zone))
    click.echo(_("deadlines: {pending} pending, {due} due now, next on {next}").format(
        pending=number(pending), due=number(due), next=_when(out["deadlines"]["next_due_at"], zone)))
    mail_text = ", ".join(f"{_(MAIL_STATUS_LABELS.get(k, k))} {number(v)}" for k, v in sorted(mail.items())) or _("empty")
    click.echo(_("outbox: {counts}").format(counts=mail_text))
    if hanging:
        click.echo(_("hanging: {n} agreement(s) (`tkksd doctor` names them)").format(n=number(hanging)))
    else:
        click.echo(_("hanging: none"))


@click.command(help=N_(
    "Check that no agreement is left hanging, and other inconsistencies; non-zero exit on a problem.\n\n"
    "Problems: a hanging agreement (no pending deadline, or a step or KB/MoU follow-up overdue "
    "beyond its grace), a deadline the definition plans that is missing, a state or workflow version "
    "the definitions do not have, pending deadlines on a final agreement or of another state, "
    "outbox messages stuck. Warnings (exit 0): overdue deadlines with no daemon running, "
    "failed messages, open incidents. The history chain is `tkksd audit verify`'s job.\n\n"
    "\b\nExample:\n"
    "  tkksd doctor\n"
    "  tkksd doctor --fix"))
@click.option("--fix", is_flag=True, help=N_("Plan again, from the definition, the deadlines an agreement lacks (and cancel those of final ones); says what only a person can repair."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def doctor(fix, as_json):
    from engine.i18n import number
    from engine.scheduler.doctor import check, fix as repair

    ctx = context(access="operate" if fix else "read", what=N_("run `tkksd doctor --fix`"))
    fixed = repair(ctx) if fix else []
    report = check(ctx)
    report["fixed"] = fixed
    if as_json:
        emit_json(report)
    else:
        for ref in fixed:
            click.echo(_("fixed: {agreement}: deadlines planned again").format(agreement=ref))
        for p in report["problems"]:
            click.echo(_("problem: {message}").format(message=p["message"]))
        for w in report["warnings"]:
            click.echo(_("warning: {message}").format(message=w["message"]))
        if report["ok"]:
            click.echo(_("OK: {agreements} agreements, {pending} pending deadlines, none hanging.").format(
                agreements=number(report["agreements"]), pending=number(report["pending_deadlines"])))
    if not report["ok"]:
        problems = report["problems"]
        first = problems[0]["message"]
        if len(problems) > 1:
            text = _("doctor found {n} problems: {first} ({more} more).").format(
                n=number(len(problems)), first=first, more=number(len(problems) - 1))
        else:
            text = _("doctor found 1 problem: {first}.").format(first=first)
        click.echo(_("Error: {message}").format(message=text), err=True)
        return 1
    return 0


@click.command(help=N_(
    "What falls due within the horizon and what is overdue, with who is responsible.\n\n"
    "Overdue: a deadline past its time that the daemon has not handled yet, or a step whose "
    "reminder went out while the agreement has not moved since.\n\n"
    "\b\nExample:\n"
    "  tkksd due\n"
    "  tkksd due --within 2w --opd DKP\n"
    "  tkksd due --overdue --json"))
@click.option("--within", default="30d", show_default=True, help=N_("Horizon: 30d, 2w, 12h."))
@click.option("--opd", "opd_code", default=None, help=N_("Only agreements led by this OPD."))
@click.option("--overdue", is_flag=True, help=N_("Only what is overdue."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def due(within, opd_code, overdue, as_json):
    from datetime import date

    from engine.i18n import days_from_today, short_day
    from engine.scheduler.agenda import items
    from engine.store import db

    from .screen import narrow_terminal
    from .tables import Column

    span = parse_within(within)
    ctx = context()
    now = ctx.clock.now()
    with db.read(ctx.engine) as conn:
        rows = items(conn, ctx, now=now, until=now + span, opd=opd_filter(ctx, opd_code), overdue_only=overdue)
    if as_json:
        emit_json(rows)
        return
    today = ctx.clock.today()
    for r in rows:
        day = date.fromisoformat(r["due_on"])
        r["day"] = short_day(day)
        r["when"] = days_from_today((day - today).days)
        r["opd"] = r["responsible"]["opd"]
    if narrow_terminal():
        # Stacked in three columns, so the title keeps most of an 80-column line.
        for r in rows:
            r["due"], r["who"], r["about"] = f"{r['day']}\n{r['when']}", f"{r['agreement']}\n{r['opd']}", f"{r['what']}\n{r['title']}"
        table(rows, [Column("due", _("DUE (WITA)"), keep=True), Column("who", _("AGREEMENT / OPD"), keep=True),
                     Column("about", _("WHAT / TITLE"), wide=True)])
        return
    table(rows, [Column("day", _("DUE (WITA)"), keep=True), Column("when", _("WHEN")),
                 Column("agreement", _("AGREEMENT"), keep=True), Column("opd", _("OPD"), keep=True),
                 Column("what", _("WHAT")), Column("title", _("TITLE"), wide=True)])


def _would(ctx, a: dict, labels: dict) -> str:
    """What a simulated action would do, in words (the codes are in --json)."""
    if a["outcome"] == "fired":
        event, _arrow, state = a["does"].removeprefix("fire ").partition(" -> ")
        return _("{event}, then {state}").format(event=labels.get(("event", event), event),
                                                  state=labels.get(("state", state), state))
    if a["outcome"] == "notified":
        return _("notice") if " (folding" not in a["does"] else _("notice (folding missed ones)")
    if a["outcome"] == "folded":
        return _("folded: it no longer applies")
    return _("skipped")


def _simulation_labels(ctx) -> dict:
    out = {}
    for d in ctx.registry.all():
        for s in d.states:
            out.setdefault(("state", s.name), s.label.get(ctx.lang))
        for e in d.events:
            out.setdefault(("event", e.name), e.label.get(ctx.lang))
    return out


@click.command(help=N_(
    "A dry run of the scheduler from now to DATE: what would fire, when, and who would hear of it.\n\n"
    "Runs the real sweep in a transaction that is rolled back: nothing is written. Follow-on "
    "effects are included (an evaluation opened by the scheduler plans its own reminder). "
    "TKKSD_NOW sets \"now\". On a terminal a progress bar shows how far it has come.\n\n"
    "\b\nExample:\n"
    "  tkksd simulate --until 2027-03-31\n"
    "  TKKSD_NOW=2027-01-01 tkksd simulate --until 2027-12-31 --json"))
@click.option("--until", "until_text", required=True, help=N_("Simulate up to this date or time (WITA), e.g. 2027-03-31."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def simulate(until_text, as_json):
    from datetime import datetime, time

    from engine.clock import parse_instant
    from engine.errors import InvalidInput
    from engine.i18n import day as long_day, moment, number
    from engine.scheduler.simulate import simulate as run

    from .screen import Progress
    from .tables import Column

    ctx = context()
    until = parse_instant(until_text, ctx.clock.zone)
    if len(until_text.strip()) == 10:  # a date means to the end of that day
        day = until.astimezone(ctx.clock.zone).date()
        until = datetime.combine(day, time(23, 59, 59), tzinfo=ctx.clock.zone).astimezone(until.tzinfo)
    if until < ctx.clock.now():
        raise InvalidInput(_("--until {until} is in the past; give a later date.").format(until=until_text))
    with Progress("tkksd.simulate", percent=True) as progress:
        report = run(ctx, until, on_progress=None if as_json else (lambda done, total: progress("simulate", done, total)))
    shown = report.pop("shown")  # for the table, not the JSON
    if as_json:
        emit_json(report)
        return
    labels = _simulation_labels(ctx)
    rows = []
    for a, what in zip(report["actions"], shown):
        who = a.get("to") or sorted({t for n in a.get("notices", []) for t in n["to"]})
        rows.append({"at": moment(datetime.fromisoformat(a["at"]), ctx.clock.zone), "agreement": a["agreement"],
                     "rule": what, "does": _would(ctx, a, labels),
                     "to": ", ".join(who)})
    table(rows, [Column("at", _("AT (WITA)"), keep=True), Column("agreement", _("AGREEMENT"), keep=True),
                 Column("rule", _("DEADLINE"), wide=True), Column("does", _("WOULD")), Column("to", _("NOTIFIES"))])
    c = report["counts"]
    click.echo(_("{actions} action(s) until {until}: {fired} fired, {notified} notices ({folded} folded), {skipped} skipped; "
                 "{mails} e-mail(s); nothing was written.").format(
        actions=number(len(rows)), until=long_day(until.astimezone(ctx.clock.zone).date()), fired=number(c["fired"]),
        notified=number(c["notified"]), folded=number(c["folded"]), skipped=number(c["skipped"]),
        mails=number(report["notices"])))
