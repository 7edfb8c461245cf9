"""Settings -> the mail transport: a Maildir under ``<home>/mail`` by default, or SMTP.

The SMTP password comes only from the environment (TKKSD_SMTP_PASSWORD) or a password file
(``[smtp] password_file`` or TKKSD_SMTP_PASSWORD_FILE), both read by config.settings into
``Settings.secrets``; a password written into a settings file is refused, so it can never be
committed with a deployment's configuration. Nothing here logs or prints the password.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config.settings import Settings

from engine.errors import ConfigurationError
from engine.i18n import N_, _

TRANSPORTS = ("maildir", "smtp")


def transport_kind(settings: Settings) -> str:
    kind = str(settings.get("mail", "transport", "maildir") or "maildir").strip().lower()
    if kind not in TRANSPORTS:
        raise ConfigurationError(_("The mail transport '{kind}' is unknown; set [mail] transport to 'maildir' or 'smtp'.").format(kind=kind))
    return kind


def smtp_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments for notifiers' SmtpTransport, password included (never print them)."""
    s = settings.section("smtp")
    if s.get("password"):
        raise ConfigurationError(_(
            "The settings file holds an SMTP password; remove it and give the password in "
            "TKKSD_SMTP_PASSWORD or a password file ([smtp] password_file)."
        ))
    host = str(s.get("host") or "").strip()
    if not host:
        raise ConfigurationError(_("The mail transport is 'smtp' but [smtp] host is empty."))
    security = str(s.get("security") or "starttls").strip().lower()
    username = str(s.get("username") or "").strip() or None
    password = settings.secrets.get("smtp_password") or None
    if password and not username:
        raise ConfigurationError(_("An SMTP password is set (TKKSD_SMTP_PASSWORD or a password file) but [smtp] username is empty."))
    if username and not password:
        raise ConfigurationError(_(
            "[smtp] username is '{username}' but no password is given; set TKKSD_SMTP_PASSWORD or [smtp] password_file."
        ).format(username=username))
    cafile = str(s.get("cafile") or "").strip() or None
    if cafile and not Path(cafile).is_absolute():
        cafile = str(settings.cwd / cafile)
    if cafile and not Path(cafile).is_file():
        raise ConfigurationError(_(
            "[smtp] cafile (TKKSD_SMTP_CAFILE) names {cafile}, which does not exist or is not a file; "
            "give the PEM file of the server's private CA, or leave it empty for the system's CAs."
        ).format(cafile=cafile))
    try:
        return dict(
            host=host,
            port=int(s["port"]) if s.get("port") else None,
            security=security,
            username=username,
            password=password,
            timeout=float(s.get("timeout_seconds", 30)),
            connect_timeout=float(s.get("connect_timeout_seconds", 10)),
            concurrency=int(s.get("concurrency", 5)),
            local_hostname=str(s.get("local_hostname") or "tkksd.localdomain"),
            cafile=cafile,
        )
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(_("An [smtp] setting is not a number where one is needed ({error}).").format(error=exc)) from None


def make_transport(settings: Settings):
    """The configured transport; the caller closes it with ``await transport.aclose()``."""
    # The transport modules directly, not notifiers.make_transport: only the chosen one loads
    # (aiosmtplib costs ~70 ms), and it works even where notifiers/__init__ is not importable.
    from notifiers.errors import ConfigurationError as NotifierConfigError

    kind = transport_kind(settings)
    warn_unused_settings(settings, kind)
    try:
        if kind == "maildir":
            from notifiers.maildir import MaildirTransport

            return MaildirTransport(settings.maildir)
        from notifiers.smtp import SmtpTransport

        return SmtpTransport(**smtp_options(settings))
    except NotifierConfigError as exc:
        raise ConfigurationError(str(exc)) from None


def warn_unused_settings(settings: Settings, kind: str) -> None:
    """A setting that does nothing under the chosen transport is said, not silently ignored."""
    import logging

    if kind != "maildir":
        return
    unused = []
    if settings.secrets.get("smtp_password"):
        unused.append(N_("an SMTP password (TKKSD_SMTP_PASSWORD or [smtp] password_file)"))
    if str(settings.get("smtp", "username") or "").strip():
        unused.append(N_("[smtp] username"))
    if str(settings.get("smtp", "cafile") or "").strip():
        unused.append(N_("[smtp] cafile"))
    if unused:
        logging.getLogger("tkksd.mail").warning("%s", _(
            "The mail transport is 'maildir', so {settings} does nothing; set TKKSD_MAIL_TRANSPORT=smtp to use it.").format(
            settings=", ".join(_(u) for u in unused)))


def _smtp_port(s) -> Any:
    security = str(s.get("security") or "starttls")
    return s.get("port") or {"starttls": 587, "tls": 465, "none": 25}.get(security, "?")


def describe(settings: Settings) -> str:
    """Where mail goes, for people: no password, ever."""
    kind = transport_kind(settings)
    if kind == "maildir":
        return _("the Maildir {path}").format(path=settings.maildir)
    s = settings.section("smtp")
    security = str(s.get("security") or "starttls")
    user = str(s.get("username") or "").strip()
    if user:
        return _("the SMTP server {host}:{port} ({security} as {user})").format(
            host=s.get("host"), port=_smtp_port(s), security=security, user=user)
    return _("the SMTP server {host}:{port} ({security})").format(host=s.get("host"), port=_smtp_port(s), security=security)


def destination(settings: Settings) -> str:
    """Where a pass's mail went, as the daemon's summary says it: "di var/mail/new" (a path
    under the current folder is shown relative to it) or "ke server SMTP smtp.kukarkab.go.id:587"."""
    if transport_kind(settings) == "maildir":
        new = Path(settings.maildir) / "new"
        try:
            shown = new.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            shown = new
        return _("in {path}").format(path=shown)
    s = settings.section("smtp")
    return _("to the SMTP server {host}:{port}").format(host=s.get("host"), port=_smtp_port(s))


def send_test(ctx, address: str) -> dict[str, str]:
    """Send one `mail_test` message to ``address`` now, bypassing the outbox.

    Returns {"where", "message_id"}; raises InvalidInput for a bad address and
    TransportFailed (one sentence) when the transport did not take the message.
    """
    import asyncio
    import uuid

    from notifiers.addresses import valid_address

    from engine.errors import InvalidInput
    from engine.lifecycle.notices import common_context, renderer
    from engine.mail.outbox import sender_of

    if not valid_address(address):
        raise InvalidInput(_("'{address}' is not one valid e-mail address (like kerjasama@kukarkab.go.id).").format(address=address))
    from notifiers.base import Message

    domain = ctx.settings.get("mail", "domain", "tkksd.localdomain")
    rendered = renderer(ctx).render("mail_test", {**common_context(ctx), "recipient": {"name": address, "email": address, "role": ""}})
    msg = Message(
        message_id=f"<test.{uuid.uuid4().hex}.tkksd@{domain}>", sender=sender_of(ctx.settings), to=(address,),
        subject=rendered.subject, text=rendered.text, html=rendered.html, headers=(("X-TKKSD-Kind", "mail_test"),),
        reply_to=ctx.settings.get("contact", "email") or None,  # as every message the outbox sends
    )
    where = describe(ctx.settings)

    import logging

    # The failure is reported once, as the command's sentence; the transport's own warning
    # would repeat it.
    logging.getLogger("notifiers.smtp").setLevel(logging.ERROR)

    async def go():
        transport = make_transport(ctx.settings)
        try:
            return (await transport.deliver([msg]))[0]
        finally:
            await transport.aclose()

    outcome = asyncio.run(go())
    if not outcome.delivered:
        raise TransportFailed(_("The test message to {address} was not sent through {where}: {error}").format(
            address=address, where=where, error=outcome.error))
    if outcome.refused:
        r = outcome.refused[0]
        raise TransportFailed(_("The test message to {address} was refused by {where}: {code} {text}").format(
            address=address, where=where, code=r.code, text=r.text))
    return {"where": where, "message_id": msg.message_id}


class TransportFailed(ConfigurationError):
    """The configured transport did not take a message (mail test)."""

    exit_code = 11
