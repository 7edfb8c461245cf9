"""Commands about time: daemon, status, doctor, due, simulate."""

from __future__ import annotations

import re

import click

from .common import context, emit_json, opd_filter, table


def parse_within(text: str):
    """'30d', '2w', '12h', '90' (days) -> timedelta."""
    from datetime import timedelta

    from engine.errors import InvalidInput

    m = re.fullmatch(r"\s*(\d+)\s*([dwh]?)\s*", text or "")
    if not m:
        raise InvalidInput(f"--within needs a duration such as 30d, 2w or 12h, not '{text}'.")
    n, unit = int(m.group(1)), m.group(2) or "d"
    return {"d": timedelta(days=n), "w": timedelta(weeks=n), "h": timedelta(hours=n)}[unit]


def _configure_daemon_logging(level: str) -> None:
    import logging
    import sys

    # journald adds the time and the unit; one plain line per action is what it wants.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("tkksd")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(getattr(logging, level.upper(), logging.INFO))


@click.command()
@click.option("--once", is_flag=True, help="Run one complete pass (sweep, digests, outbox) and exit with a summary line.")
@click.option("--id", "daemon_id", default=None, help="This daemon's name in heartbeats (default: daemon.id or the host name).")
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"]))
@click.option("--json", "as_json", is_flag=True, help="With --once: print the summary as JSON.")
def daemon(once, daemon_id, log_level, as_json):
    """Run the scheduler: sweep due deadlines, drain the outbox, send the digests.

    Deadlines are rows in the database; every sweep acts on each due row exactly once, so a
    daemon that was down catches up on start. SIGTERM or SIGINT finishes the item in hand and
    exits 0. With --once: one pass, a one-line summary, exit 1 if any deadline failed.

    \b
    Example:
      tkksd daemon
      tkksd daemon --once
      TKKSD_NOW=2027-06-01 tkksd daemon --once --json
    """
    from engine.scheduler.daemon import Daemon, summary_line

    import logging

    from engine.store.home import where

    _configure_daemon_logging(log_level)
    ctx = context(access="operate", what="run the daemon")
    from engine.store.waiting import check_writable

    check_writable(ctx.engine)  # a daemon that cannot write stops now, saying why
    logging.getLogger("tkksd.daemon").info("%s", where(ctx.settings))  # the first line: where it all goes
    from engine.mail.maildir_tmp import clean_stale_tmp
    from engine.store.home import private_umask

    private_umask(ctx.settings.get("access", "group") or None)
    if ctx.settings.get("mail", "transport", "maildir") == "maildir":
        clean_stale_tmp(ctx.settings.maildir)
    else:
        from engine.mail.preflight import check_mail_login

        check_mail_login(ctx)  # a refused login: exit 9 now, not a failed login every tick
    d = Daemon(ctx, daemon_id)
    if once:
        out = d.run_once()
        if as_json:
            emit_json(out)
        else:
            click.echo(summary_line(out))
        return 1 if out["errors"] else 0
    d.run_forever()
    if d.fatal:
        from engine.errors import DatabaseUnavailable

        raise DatabaseUnavailable(d.fatal)
    return 0


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(as_json):
    """The daemons' heartbeats (last pass, counts, errors) and what is due now.

    \b
    Example:
      tkksd status
      tkksd status --json
    """
    import sqlalchemy as sa

    from engine.store import db
    from engine.scheduler.daemon import status as beats
    from engine.lifecycle.deadlines import PENDING_SQL
    from engine.lifecycle.hanging import count as count_hanging
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

    click.echo(where(ctx.settings))
    if not out["daemons"]:
        click.echo("No daemon has run yet (`tkksd daemon`).")
    for b in out["daemons"]:
        state = "running" if b["running"] else f"stopped {b['stopped_at']}"
        counts = " ".join(f"{k}={v}" for k, v in sorted(b["counts"].items())) or "-"
        click.echo(f"daemon {b['daemon_id']} on {b['host']} pid {b['pid']}: {state}; last pass {b['last_pass_at']}; "
                   f"counts {counts}; errors {b['errors']}" + (f" (last: {b['last_error']})" if b["last_error"] else ""))
    click.echo(f"deadlines: {pending} pending, {due} due now, next {out['deadlines']['next_due_at'] or '-'}")
    click.echo("outbox: " + (", ".join(f"{k} {v}" for k, v in sorted(mail.items())) or "empty"))
    click.echo(f"hanging: {hanging} agreement(s)" + (" (`tkksd doctor` names them)" if hanging else ""))


@click.command()
@click.option("--fix", is_flag=True, help="Plan again, from the definition, the deadlines an agreement lacks (and cancel those of "
                                          "final ones); says what only a person can repair.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def doctor(fix, as_json):
    """Check that no agreement is left hanging, and other inconsistencies; non-zero exit on a problem.

    Problems: a hanging agreement (no pending deadline, or a step or KB/MoU follow-up overdue
    beyond its grace), a deadline the definition plans that is missing, a state or workflow version
    the definitions do not have, pending deadlines on a final agreement or of another state,
    outbox messages stuck. Warnings (exit 0): overdue deadlines with no daemon running,
    failed messages, open incidents. The history chain is `tkksd audit verify`'s job.

    \b
    Example:
      tkksd doctor
      tkksd doctor --fix
    """
    from engine.scheduler.doctor import check, fix as repair

    ctx = context(access="operate" if fix else "read", what="run `tkksd doctor --fix`")
    fixed = repair(ctx) if fix else []
    report = check(ctx)
    report["fixed"] = fixed
    if as_json:
        emit_json(report)
    else:
        for number in fixed:
            click.echo(f"fixed: {number}: deadlines planned again")
        for p in report["problems"]:
            click.echo(f"problem: {p['message']}")
        for w in report["warnings"]:
            click.echo(f"warning: {w['message']}")
        if report["ok"]:
            click.echo(f"OK: {report['agreements']} agreements, {report['pending_deadlines']} pending deadlines, none hanging.")
    if not report["ok"]:
        first = report["problems"][0]["message"]
        more = f" ({len(report['problems']) - 1} more)" if len(report["problems"]) > 1 else ""
        click.echo(f"Error: doctor found {len(report['problems'])} problem(s): {first}{more}.", err=True)
        return 1
    return 0


@click.command()
@click.option("--within", default="30d", show_default=True, help="Horizon: 30d, 2w, 12h.")
@click.option("--opd", "opd_code", default=None, help="Only agreements led by this OPD.")
@click.option("--overdue", is_flag=True, help="Only what is overdue.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def due(within, opd_code, overdue, as_json):
    """What falls due within the horizon and what is overdue, with who is responsible.

    Overdue: a deadline past its time that the daemon has not handled yet, or a step whose
    reminder went out while the agreement has not moved since.

    \b
    Example:
      tkksd due
      tkksd due --within 2w --opd DKP
      tkksd due --overdue --json
    """
    from engine.store import db
    from engine.scheduler.agenda import items

    span = parse_within(within)
    ctx = context()
    now = ctx.clock.now()
    with db.read(ctx.engine) as conn:
        rows = items(conn, ctx, now=now, until=now + span, opd=opd_filter(ctx, opd_code), overdue_only=overdue)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        r["when"] = r["due_on"] + (f" (+{r['overdue_days']}d)" if r["overdue"] else "")
        r["who"] = f"{r['responsible']['opd']}"
        r["to"] = ",".join(r["notify"])
    table(rows, [("when", "DUE (WITA)"), ("agreement", "AGREEMENT"), ("state", "STATE"), ("what", "WHAT"),
                 ("action", "ACTION"), ("who", "OPD"), ("to", "NOTIFIES"), ("title", "TITLE")])


@click.command()
@click.option("--until", "until_text", required=True, help="Simulate up to this date or time (WITA), e.g. 2027-03-31.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def simulate(until_text, as_json):
    """A dry run of the scheduler from now to DATE: what would fire, when, and who would hear of it.

    Runs the real sweep in a transaction that is rolled back: nothing is written. Follow-on
    effects are included (an evaluation opened by the scheduler plans its own reminder).
    TKKSD_NOW sets "now".

    \b
    Example:
      tkksd simulate --until 2027-03-31
      TKKSD_NOW=2027-01-01 tkksd simulate --until 2027-12-31 --json
    """
    from datetime import datetime, time

    from engine.clock import parse_instant
    from engine.errors import InvalidInput
    from engine.scheduler.simulate import simulate as run

    ctx = context()
    until = parse_instant(until_text, ctx.clock.zone)
    if len(until_text.strip()) == 10:  # a date means to the end of that day
        day = until.astimezone(ctx.clock.zone).date()
        until = datetime.combine(day, time(23, 59, 59), tzinfo=ctx.clock.zone).astimezone(until.tzinfo)
    if until < ctx.clock.now():
        raise InvalidInput(f"--until {until_text} is in the past; give a later date.")
    report = run(ctx, until)
    if as_json:
        emit_json(report)
        return
    rows = []
    for a in report["actions"]:
        who = a.get("to") or sorted({t for n in a.get("notices", []) for t in n["to"]})
        rows.append({"at": ctx.clock.local(datetime.fromisoformat(a["at"])).strftime("%Y-%m-%d %H:%M"),
                     "agreement": a["agreement"], "rule": a["rule"], "does": a["does"], "to": ", ".join(who)})
    table(rows, [("at", "AT (WITA)"), ("agreement", "AGREEMENT"), ("rule", "DEADLINE"), ("does", "WOULD"), ("to", "NOTIFIES")])
    c = report["counts"]
    click.echo(f"{len(rows)} action(s) until {until_text}: {c['fired']} fired, {c['notified']} notices "
               f"({c['folded']} folded), {c['skipped']} skipped; {report['notices']} e-mail(s); nothing was written.")
