"""A mail server that cannot be reached is one outage, not one incident per message.

While the SMTP server is down, every message that gives up (its attempts or its age spent) is
marked with the outage it failed in (``[outage #ID]`` at the end of its last error), and one
incident (kind ``mail_outage``) counts them. When a later pass delivers again, the outage is
over: one mail goes to the secretariat listing the messages that failed in it (it could not
have been delivered earlier: the server was down). `tkksd outbox retry --all` sends them again
and resolves the incident. A new failure after that opens a new outage.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.i18n import _, moment, number
from engine.store.tables import agreements, incidents, outbox

KIND = "mail_outage"
MAX_LISTED = 100  # an e-mail, not a report: `tkksd outbox list --status failed` gives the rest
log = logging.getLogger("tkksd.mail")


def tag(incident_id: int) -> str:
    return f"[outage #{incident_id}]"


def mail_key(incident_id: int) -> str:
    return f"incident:outage:{incident_id}"


def current(conn: Connection):
    """The outage going on: its open incident whose mail has not gone out yet (None if none)."""
    for row in conn.execute(sa.select(incidents).where(incidents.c.kind == KIND, incidents.c.resolved_at.is_(None))
                            .order_by(incidents.c.id.desc())):
        if conn.execute(sa.select(outbox.c.id).where(outbox.c.dedupe_key == mail_key(row.id))).first() is None:
            return row
    return None


def mark_failed(conn: Connection, ctx, why: str, server: str) -> str:
    """``why`` with the mark of the outage it failed in (opened now if none is going on)."""
    row = current(conn)
    if row is None:
        incident_id = conn.execute(incidents.insert().values(
            kind=KIND, message=_("The SMTP server {server} cannot be reached.").format(server=server),
            created_at=ctx.clock.now()).returning(incidents.c.id)).scalar_one()
        log.error("%s", _("Mail outage: {server} cannot be reached; the messages that give up meanwhile are "
                          "collected in one incident ({error})").format(server=server, error=why))
    else:
        incident_id = row.id
    return f"{why} {tag(incident_id)}"


def failed_rows(conn: Connection, incident_id: int) -> list[Any]:
    return conn.execute(
        sa.select(outbox.c.id, outbox.c.message_id, outbox.c.subject, outbox.c.to_addrs, outbox.c.kind, agreements.c.number)
        .select_from(outbox.outerjoin(agreements, agreements.c.id == outbox.c.agreement_id))
        .where(outbox.c.status == "failed", outbox.c.last_error.like(f"%{tag(incident_id)}"))
        .order_by(outbox.c.id)).all()


def refresh(conn: Connection, ctx, server: str, error: str) -> None:
    """Say in the outage's incident how many messages have failed in it so far."""
    row = current(conn)
    if row is None:
        return
    n = len(failed_rows(conn, row.id))
    message = _("The SMTP server {server} cannot be reached since {since}: {count} message(s) not delivered; "
                "last error: {error}").format(server=server, since=moment(row.created_at, ctx.clock.zone),
                                              count=number(n), error=error)
    conn.execute(incidents.update().where(incidents.c.id == row.id).values(message=message))


def close(conn: Connection, ctx, server: str) -> int | None:
    """The outage going on (if any) is over (the server delivers again, or an operator re-queues
    what failed): its one mail to the secretariat, listing what failed in it, goes into the
    outbox. Returns how many messages it lists (None when no outage was going on)."""
    from engine.lifecycle.notices import enqueue

    row = current(conn)
    if row is None:
        return None
    failed = failed_rows(conn, row.id)
    context = {
        "server": server,
        "since": row.created_at,
        "until": ctx.clock.now(),
        "total": len(failed),
        "messages": [{"message_id": r.message_id, "subject": r.subject or r.kind, "to": list(r.to_addrs or []),
                      "agreement": r.number or "-"} for r in failed[:MAX_LISTED]],
    }
    enqueue(conn, ctx, kind=KIND, agreement_id=None, to=["secretariat"], dedupe_key=mail_key(row.id), context=context)
    return len(failed)


def resolve_all(conn: Connection, now) -> int:
    """An operator re-queued the failed messages: every outage incident is settled."""
    return conn.execute(incidents.update().where(incidents.c.kind == KIND, incidents.c.resolved_at.is_(None))
                        .values(resolved_at=now)).rowcount
