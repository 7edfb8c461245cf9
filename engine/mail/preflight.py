"""What the daemon checks about the mail before its first pass: a login the server refuses for
good is a configuration error (exit 9, with the server's reason), not a loop of failed logins;
a server that is merely unreachable is left to the drain's retries."""

from __future__ import annotations

import asyncio
import logging

from engine.errors import ConfigurationError
from engine.i18n import _

log = logging.getLogger("tkksd.mail")


def check_mail_login(ctx) -> None:
    from engine.mail.login_guard import blocking_incident, record_refusal
    from engine.mail.transport import make_transport, transport_kind
    from engine.store import db

    if transport_kind(ctx.settings) != "smtp" or not ctx.settings.get("smtp", "username"):
        return
    with db.read(ctx.engine) as conn:
        blocked = blocking_incident(conn, ctx.settings)
    if blocked:
        raise ConfigurationError(blocked.rsplit(" [settings", 1)[0])
    from notifiers.errors import LoginRefused

    transport = make_transport(ctx.settings)

    async def go():
        try:
            await transport.check_login()
        finally:
            await transport.aclose()

    try:
        asyncio.run(go())
    except LoginRefused as exc:
        with db.write(ctx.engine) as conn:
            record_refusal(conn, ctx, str(exc))
        raise ConfigurationError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - unreachable now; the drain retries with backoff
        log.warning("%s", _("The SMTP server could not be checked at start ({error}); the drain will retry.").format(error=exc))
