"""A refused SMTP login stops the mail, once, loudly, and until something changes.

When the server answers AUTH with a 5xx, every further login with the same account and password
is one more failed login on the server's books (enough of them lock the account or get the host
banned). So the drain stops at once, one incident names the server and the account, and no
daemon logs in again while that incident is open and the SMTP settings are the same; changing
the settings (host, port, account or password) or an operator's `tkksd outbox retry` lifts it.

The settings are recognised by a fingerprint (a hash: the password itself is never stored).
"""

from __future__ import annotations

import hashlib
import logging

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.store.tables import incidents

KIND = "smtp_login_refused"
log = logging.getLogger("tkksd.mail")


def fingerprint(settings) -> str:
    s = settings.section("smtp")
    parts = [str(s.get("host") or ""), str(s.get("port") or ""), str(s.get("username") or ""),
             settings.secrets.get("smtp_password") or ""]
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:16]


def _tag(settings) -> str:
    return f"[settings {fingerprint(settings)}]"


def blocking_incident(conn: Connection, settings) -> str | None:
    """The open incident that forbids logging in with these settings (its sentence), or None."""
    row = conn.execute(
        sa.select(incidents.c.message).where(
            incidents.c.kind == KIND, incidents.c.resolved_at.is_(None), incidents.c.message.contains(_tag(settings))
        ).limit(1)
    ).first()
    return row.message if row else None


def record_refusal(conn: Connection, ctx, error: str) -> bool:
    """One incident for a refused login (none if one is open for the same settings)."""
    if blocking_incident(conn, ctx.settings) is not None:
        return False
    from engine.lifecycle.notices import record_incident

    record_incident(conn, ctx, kind=KIND, message=f"{error} {_tag(ctx.settings)}")
    log.error("%s", error)
    return True


def lift(conn: Connection, now) -> int:
    """An operator retried: the next drain may log in again."""
    return conn.execute(
        incidents.update().where(incidents.c.kind == KIND, incidents.c.resolved_at.is_(None)).values(resolved_at=now)
    ).rowcount
