"""Mail commands: `tkksd outbox list|show|retry|purge` and `tkksd mail test ADDRESS`."""

from __future__ import annotations

import click

from .common import actor, context, emit_json, table


@click.group()
def outbox():
    """The e-mail outbox: what is waiting, what was sent, what failed.

    Every notice is written here in the same transaction as the change that caused it; the
    daemon delivers it (Maildir by default, or SMTP) and retries temporary failures.

    \b
    Example:
      tkksd outbox list --status failed
      tkksd outbox show 42
      tkksd outbox retry 42
      tkksd outbox purge --sent-before 2026-01-01
    """


@outbox.command("list")
@click.option("--status", default="all", show_default=True,
              type=click.Choice(["all", "pending", "sent", "failed", "held"]), help="Only messages in this status.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100000), help="At most this many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def outbox_list(status, limit, as_json):
    """List outbox messages, newest first.

    \b
    Example:
      tkksd outbox list
      tkksd outbox list --status pending --json
    """
    from engine.mail.outbox import list_rows

    rows = list_rows(context(), status=status, limit=limit)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        r["to"] = ", ".join(r["to"])
        r["when"] = r["sent_at"] or r["next_attempt_at"] or ""
        r["when"] = r["when"][:16].replace("T", " ")
    table(rows, [("id", "ID"), ("status", "STATUS"), ("kind", "KIND"), ("agreement", "AGREEMENT"), ("to", "TO"),
                 ("attempts", "TRIES"), ("when", "SENT/NEXT (UTC)"), ("subject", "SUBJECT"), ("last_error", "LAST ERROR")])


@outbox.command("show")
@click.argument("outbox_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def outbox_show(outbox_id, as_json):
    """Show one outbox message: headers, status, errors, incidents and its text body.

    \b
    Example:
      tkksd outbox show 42
      tkksd outbox show 42 --json
    """
    from engine.mail.outbox import show_row

    from engine.lifecycle.access import may_read_mail
    from engine.errors import PermissionDenied
    from engine.store import db

    from .common import identity

    ctx = context()
    row = show_row(ctx, outbox_id)
    with db.read(ctx.engine) as conn:
        allowed = may_read_mail(conn, identity(), list(row.get("to") or []) + list(row.get("cc") or []))
    if not allowed:
        raise PermissionDenied(f"Outbox message {outbox_id} is addressed to another OPD; only the secretariat, an admin "
                               f"or the addressee's OPD may read it, and '{identity().login}' is none of them.")
    if as_json:
        emit_json(row)
        return
    for key, label in (("id", "ID"), ("status", "Status"), ("kind", "Kind"), ("agreement", "Agreement"),
                       ("message_id", "Message-ID"), ("subject", "Subject"), ("to", "To"), ("cc", "Cc"),
                       ("attempts", "Attempts"), ("created_at", "Created"), ("next_attempt_at", "Next attempt"),
                       ("sent_at", "Sent"), ("claimed_by", "Claimed by"), ("last_error", "Last error")):
        value = row.get(key)
        if isinstance(value, list):
            value = ", ".join(value)
        if value not in (None, ""):
            click.echo(f"{label + ':':14} {value}")
    for r in row["refused"]:
        click.echo(f"{'Refused:':14} {r['recipient']} ({r['code']} {r['text']})")
    for i in row["incidents"]:
        state = f"resolved {i['resolved_at'][:16]}" if i["resolved_at"] else "open"
        click.echo(f"{'Incident:':14} [{i['kind']}, {state}] {i['message']}")
    click.echo("")
    click.echo(row["text_body"].rstrip())


@outbox.command("retry")
@click.argument("outbox_id", metavar="ID", type=int)
def outbox_retry(outbox_id):
    """Send a failed (or waiting) message again at the next drain, with a fresh attempt budget.

    Its open incidents are marked resolved. A message that was already sent is refused.
    Needs the secretariat or admin role.

    \b
    Example:
      tkksd outbox retry 42
    """
    from engine.mail.outbox import retry

    done = retry(context(access="operate", what="retry outbox messages"), actor(), outbox_id)
    click.echo(f"Outbox message {outbox_id} was {done['previous_status']} and is now pending; the daemon sends it on its next pass.")


@outbox.command("purge")
@click.option("--sent-before", "sent_before", required=True, metavar="DATE",
              help="Delete messages sent before this date (WITA), e.g. 2026-01-01.")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def outbox_purge(sent_before, dry_run):
    """Delete sent messages older than DATE. Pending and failed messages are never purged.

    Needs the secretariat or admin role.

    \b
    Example:
      tkksd outbox purge --sent-before 2026-01-01
      tkksd outbox purge --sent-before 2026-01-01 --dry-run
    """
    from engine.clock import parse_instant
    from engine.mail.outbox import purge

    ctx = context()
    before = parse_instant(sent_before, ctx.clock.zone)
    n = purge(ctx, actor(), sent_before=before, dry_run=dry_run)
    if dry_run:
        click.echo(f"{n} sent message(s) from before {sent_before} would be deleted (dry run; nothing changed).")
    else:
        click.echo(f"Deleted {n} sent message(s) from before {sent_before}.")


@click.group()
def mail():
    """Check the e-mail set-up.

    \b
    Example:
      tkksd mail test kerjasama@kukarkab.go.id
    """


@mail.command("test")
@click.argument("address")
def mail_test(address):
    """Send one test message to ADDRESS right away through the configured transport.

    It does not go through the outbox and needs no database. With the default Maildir
    transport the message lands in <home>/mail; with SMTP it goes to [smtp] host.

    \b
    Example:
      tkksd mail test kerjasama@kukarkab.go.id
      TKKSD_MAIL_TRANSPORT=smtp TKKSD_SMTP_PASSWORD=... tkksd mail test kerjasama@kukarkab.go.id
    """
    from engine.mail.transport import send_test

    from engine.store.home import private_umask

    ctx = context(check_schema=False, access="none")
    private_umask(ctx.settings.get("access", "group") or None)
    result = send_test(ctx, address)
    click.echo(f"Sent a test message to {address} through {result['where']} (Message-ID {result['message_id']}).")
