"""Mail commands: `tkksd outbox list|show|retry|purge` and `tkksd mail test ADDRESS`."""

from __future__ import annotations

import click

from engine.i18n import N_, _

from .common import actor, context, emit_json, table

DEFAULT_LIMIT = 200
STATUS_LABELS = {"pending": N_("pending"), "sent": N_("sent"), "failed": N_("failed"), "held": N_("held")}
# What each kind of message is, for people (the codes stay in --json).
KIND_LABELS = {"transition": N_("change of state"), "reminder": N_("reminder"), "escalation": N_("escalation"),
               "evaluation_opened": N_("evaluation opened"), "expiry_warning": N_("expiry warning"),
               "expired": N_("expired"), "kb_followup": N_("KB follow-up"), "kb_followup_overdue": N_("KB follow-up overdue"),
               "digest_opd": N_("weekly digest"), "digest_chair": N_("monthly digest"), "incident": N_("incident"),
               "mail_outage": N_("mail outage"), "mail_test": N_("test message")}


INCIDENT_LABELS = {"delivery_failed": N_("not delivered"), "recipient_refused": N_("recipient refused"),
                   "no_address": N_("no address"), "mail_outage": N_("mail outage"),
                   "smtp_login_refused": N_("SMTP login refused")}


def _status(code: str) -> str:
    return _(STATUS_LABELS[code]) if code in STATUS_LABELS else code


def _kind(code: str) -> str:
    return _(KIND_LABELS[code]) if code in KIND_LABELS else code.replace("_", " ")


def _moment(value, zone) -> str:
    from datetime import datetime

    from engine.i18n import moment

    return moment(datetime.fromisoformat(value), zone) if value else ""


@click.group(help=N_(
    "The e-mail outbox: what is waiting, what was sent, what failed.\n\n"
    "Every notice is written here in the same transaction as the change that caused it; the "
    "daemon delivers it (Maildir by default, or SMTP) and retries temporary failures.\n\n"
    "\b\nExample:\n"
    "  tkksd outbox list --status failed\n"
    "  tkksd outbox show 42\n"
    "  tkksd outbox retry 42\n"
    "  tkksd outbox retry --all\n"
    "  tkksd outbox purge --sent-before 2026-01-01"))
def outbox():
    pass


@outbox.command("list", help=N_(
    "List outbox messages, newest first (the newest 200 unless --all or --limit).\n\n"
    "\b\nExample:\n"
    "  tkksd outbox list\n"
    "  tkksd outbox list --status failed --all\n"
    "  tkksd outbox list --status pending --json"))
@click.option("--status", default="all", show_default=True,
              type=click.Choice(["all", "pending", "sent", "failed", "held"]), help=N_("Only messages in this status."))
@click.option("--limit", default=None, type=click.IntRange(1, 100000), help=N_("At most this many, newest first (default 200)."))
@click.option("--all", "show_all", is_flag=True, help=N_("Every message, however many."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def outbox_list(status, limit, show_all, as_json):
    from engine.mail.outbox import count_rows, list_rows

    from .screen import narrow_terminal
    from .tables import Column

    ctx = context()
    limit = None if show_all else (limit or DEFAULT_LIMIT)
    rows = list_rows(ctx, status=status, limit=limit)
    if as_json:
        emit_json(rows)
        return
    total = count_rows(ctx, status=status) if limit is not None and len(rows) == limit else len(rows)
    zone = ctx.clock.zone
    for r in rows:
        r["to"] = ", ".join(r["to"])
        r["when"] = _moment(r["sent_at"] or r["next_attempt_at"], zone)
        r["status"] = _status(r["status"])
        r["kind"] = _kind(r["kind"])
    if narrow_terminal():
        # Stacked in three columns, so that an 80-column terminal shows the subject whole.
        for r in rows:
            r["state"] = f"{r['status']}\n{r['when']}\n" + _("tries: {n}").format(n=r["attempts"])
            about = [f"{r['kind']}" + (f" · {r['agreement']}" if r["agreement"] else ""), r["to"], r["subject"] or ""]
            r["about"] = "\n".join([*about, *([r["last_error"]] if r["last_error"] else [])])
        table(rows, [Column("id", _("ID"), keep=True, right=True), Column("state", _("STATUS / SENT/NEXT (WITA)"), keep=True),
                     Column("about", _("KIND / TO / SUBJECT"), wide=True)], total=total)
        return
    table(rows, [Column("id", _("ID"), keep=True, right=True), Column("status", _("STATUS")), Column("kind", _("KIND")),
                 Column("agreement", _("AGREEMENT"), keep=True), Column("to", _("TO")),
                 Column("attempts", _("TRIES"), right=True), Column("when", _("SENT/NEXT (WITA)")),
                 Column("subject", _("SUBJECT"), wide=True), Column("last_error", _("LAST ERROR"))],
          total=total)


@outbox.command("show", help=N_(
    "Show one outbox message: headers, status, errors, incidents and its text body.\n\n"
    "\b\nExample:\n"
    "  tkksd outbox show 42\n"
    "  tkksd outbox show 42 --json"))
@click.argument("outbox_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def outbox_show(outbox_id, as_json):
    from engine.errors import PermissionDenied
    from engine.lifecycle.access import may_read_mail
    from engine.mail.outbox import show_row
    from engine.store import db

    from .common import identity

    ctx = context()
    row = show_row(ctx, outbox_id)
    with db.read(ctx.engine) as conn:
        allowed = may_read_mail(conn, identity(), list(row.get("to") or []) + list(row.get("cc") or []))
    if not allowed:
        raise PermissionDenied(_("Outbox message {id} is addressed to another OPD; only the secretariat, an admin or the "
                                 "addressee's OPD may read it, and '{login}' is none of them.").format(
            id=outbox_id, login=identity().login))
    if as_json:
        emit_json(row)
        return
    zone = ctx.clock.zone
    shown = dict(row, status=_status(row["status"]), kind=_kind(row["kind"]),
                 created_at=_moment(row["created_at"], zone), next_attempt_at=_moment(row["next_attempt_at"], zone),
                 sent_at=_moment(row["sent_at"], zone))
    fields = (("id", N_("ID")), ("status", N_("Status")), ("kind", N_("Kind")), ("agreement", N_("Agreement")),
              ("message_id", N_("Message-ID")), ("subject", N_("Subject")), ("to", N_("Recipients")), ("cc", N_("Cc")),
              ("attempts", N_("Attempts")), ("created_at", N_("Created")), ("next_attempt_at", N_("Next attempt")),
              ("sent_at", N_("Sent")), ("claimed_by", N_("Claimed by")), ("last_error", N_("Last error")))
    width = max(len(_(label)) for _key, label in fields) + 2
    for key, label in fields:
        value = shown.get(key)
        if isinstance(value, list):
            value = ", ".join(value)
        if value not in (None, ""):
            click.echo(f"{(_(label) + ':').ljust(width)} {value}")
    for r in row["refused"]:
        click.echo(f"{(_('Refused') + ':').ljust(width)} {r['recipient']} ({r['code']} {r['text']})")
    for i in row["incidents"]:
        state = (_("resolved on {when}").format(when=_moment(i["resolved_at"], zone)) if i["resolved_at"] else _("open"))
        kind = _(INCIDENT_LABELS[i["kind"]]) if i["kind"] in INCIDENT_LABELS else i["kind"]
        click.echo(f"{(_('Incident') + ':').ljust(width)} [{kind}, {state}] {i['message']}")
    click.echo("")
    click.echo(row["text_body"].rstrip())


@outbox.command("retry", help=N_(
    "Send a failed (or waiting) message again at the next drain, with a fresh attempt budget.\n\n"
    "Its open incidents are marked resolved. A message that was already sent is refused. "
    "With --all, every message in --status (failed by default) at once: after a mail outage, "
    "one command sends the backlog. Needs the secretariat or admin role.\n\n"
    "\b\nExample:\n"
    "  tkksd outbox retry 42\n"
    "  tkksd outbox retry --all\n"
    "  tkksd outbox retry --all --status pending"))
@click.argument("outbox_id", metavar="ID", type=int, required=False)
@click.option("--all", "retry_all", is_flag=True, help=N_("Every message in --status at once."))
@click.option("--status", default="failed", show_default=True, type=click.Choice(["failed", "pending", "held"]),
              help=N_("With --all: the messages in this status."))
def outbox_retry(outbox_id, retry_all, status):
    from engine.errors import InvalidInput
    from engine.i18n import number

    if retry_all == (outbox_id is not None):
        raise InvalidInput(_("outbox retry takes one message ID or --all, not both and not neither."))
    ctx = context(access="operate", what=N_("retry outbox messages"))
    if retry_all:
        from engine.mail.outbox import retry_all as requeue

        n = requeue(ctx, actor(), status=status)
        click.echo(_("{n} {status} message(s) are pending again; the daemon sends them on its next pass.").format(
            n=number(n), status=_status(status)))
        return
    from engine.mail.outbox import retry

    done = retry(ctx, actor(), outbox_id)
    click.echo(_("Outbox message {id} was {status} and is now pending; the daemon sends it on its next pass.").format(
        id=outbox_id, status=_status(done["previous_status"])))


@outbox.command("purge", help=N_(
    "Delete sent messages older than DATE. Pending and failed messages are never purged.\n\n"
    "Needs the secretariat or admin role.\n\n"
    "\b\nExample:\n"
    "  tkksd outbox purge --sent-before 2026-01-01\n"
    "  tkksd outbox purge --sent-before 2026-01-01 --dry-run"))
@click.option("--sent-before", "sent_before", required=True, metavar="DATE",
              help=N_("Delete messages sent before this date (WITA), e.g. 2026-01-01."))
@click.option("--dry-run", is_flag=True, help=N_("Only count what would be deleted."))
def outbox_purge(sent_before, dry_run):
    from engine.clock import parse_instant
    from engine.i18n import day, number
    from engine.mail.outbox import purge

    ctx = context()
    before = parse_instant(sent_before, ctx.clock.zone)
    n = purge(ctx, actor(), sent_before=before, dry_run=dry_run)
    when = day(before.astimezone(ctx.clock.zone).date())
    if dry_run:
        click.echo(_("{n} sent message(s) from before {day} would be deleted (dry run; nothing changed).").format(
            n=number(n), day=when))
    else:
        click.echo(_("Deleted {n} sent message(s) from before {day}.").format(n=number(n), day=when))


@click.group(help=N_(
    "Check the e-mail set-up.\n\n"
    "\b\nExample:\n"
    "  tkksd mail test kerjasama@kukarkab.go.id"))
def mail():
    pass


@mail.command("test", help=N_(
    "Send one test message to ADDRESS right away through the configured transport.\n\n"
    "It does not go through the outbox and needs no database. With the default Maildir "
    "transport the message lands in <home>/mail; with SMTP it goes to [smtp] host.\n\n"
    "\b\nExample:\n"
    "  tkksd mail test kerjasama@kukarkab.go.id\n"
    "  TKKSD_MAIL_TRANSPORT=smtp TKKSD_SMTP_PASSWORD=... tkksd mail test kerjasama@kukarkab.go.id"))
@click.argument("address")
def mail_test(address):
    from engine.mail.transport import send_test
    from engine.store.home import private_umask

    ctx = context(check_schema=False, access="none")
    private_umask(ctx.settings.get("access", "group") or None)
    result = send_test(ctx, address)
    click.echo(_("Sent a test message to {address} through {where} (Message-ID {message_id}).").format(
        address=address, where=result["where"], message_id=result["message_id"]))
