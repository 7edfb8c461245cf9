"""SMTP delivery with aiosmtplib: a small pool of reused connections, each bounded in time.

Connections live for one ``deliver()`` call (one outbox batch) and are closed at its end:
long-lived idle clients are where aiosmtplib has hung in the past (aiosmtplib #243, #38),
and a drain pass every few seconds gains nothing from keeping them. Within a batch, up to
``concurrency`` connections each send messages one after another; a connection that saw
any connection-level error is thrown away and the next message gets a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterator, Sequence
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from notifiers.base import MAIL_POLICY, Message, Outcome, Refusal, build_email, valid_address
from notifiers.errors import ConfigurationError, InvalidMessage, PermanentError, TransientError

log = logging.getLogger(__name__)

Security = Literal["starttls", "tls", "none"]
_DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class SmtpTransport:
    """Send messages to one SMTP server.

    ``security``: ``"starttls"`` makes STARTTLS mandatory (a server that does not offer it
    gets nothing, never plaintext); ``"tls"`` is implicit TLS (port 465); ``"none"`` is
    plaintext, for a relay on the same host, and refuses credentials.
    ``timeout`` bounds the whole sending of one message; ``connect_timeout`` bounds
    connecting, TLS and login together.
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        concurrency: int = 5,
        local_hostname: str = "tkksd.localdomain",
        sender: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        cafile: str | None = None,
    ) -> None:
        _check_options(security, username, password, timeout, connect_timeout, concurrency, tls_context, cafile, sender)
        self.host = host
        self.port = port if port is not None else _DEFAULT_PORTS[security]
        self.security: Security = security
        self.username = username
        self._password = password
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        self.concurrency = int(concurrency)
        # Given explicitly: otherwise every connection does a slow hostname lookup for EHLO.
        self.local_hostname = local_hostname
        self.sender = sender
        self._tls_context = tls_context
        self._cafile = cafile
        self._closed = False

    def __repr__(self) -> str:
        # The password stays out of reprs, logs and tracebacks.
        return (
            f"SmtpTransport(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"username={self.username!r}, concurrency={self.concurrency})"
        )

    async def deliver(self, messages: Sequence[Message]) -> list[Outcome]:
        if self._closed:
            raise RuntimeError("This SmtpTransport is closed.")
        outcomes: list[Outcome | None] = [None] * len(messages)
        pending = iter(range(len(messages)))
        # A TaskGroup, not gather(): if one worker fails unexpectedly the others are cancelled
        # instead of sending on while nobody records their outcomes.
        async with asyncio.TaskGroup() as group:
            for _ in range(min(self.concurrency, len(messages))):
                group.create_task(self._work(pending, messages, outcomes))
        return [o for o in outcomes if o is not None]

    async def aclose(self) -> None:
        # Nothing stays open between batches; this only refuses further use.
        self._closed = True

    async def _work(
        self, pending: Iterator[int], messages: Sequence[Message], outcomes: list[Outcome | None]
    ) -> None:
        # Each worker owns one connection slot; `pending` is shared, which is safe because
        # next() and the use of its result happen without an await in between.
        slot = _Slot(self)
        try:
            for index in pending:
                outcome = await self._deliver_one(slot, messages[index])
                outcomes[index] = outcome
                if not outcome.delivered:
                    log.warning("Message %s not delivered (%s): %s", outcome.message_id, outcome.status, outcome.error)
        except BaseException:
            slot.discard()  # cancelled (daemon stopping) or broken: no polite QUIT, just close
            raise
        await slot.release()

    async def _deliver_one(self, slot: _Slot, msg: Message) -> Outcome:
        mid = msg.message_id
        try:
            email = build_email(msg)
            sender = self.sender or msg.envelope_sender
            recipients = list(msg.recipients)
        except InvalidMessage as exc:
            return Outcome.from_error(exc, mid)
        try:
            client = await slot.client()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Outcome.from_error(self._connect_error(exc, mid), mid)
        try:
            # One bound for the whole transaction (see _transaction for the per-command ones).
            async with asyncio.timeout(self.timeout):
                eight_bit = client.supports_extension("8bitmime")
                data = _serialize(email, eight_bit)
                refused = await _transaction(client, sender, recipients, data, ["BODY=8BITMIME"] if eight_bit else [])
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return self._all_refused(exc, mid)
        except aiosmtplib.SMTPResponseException as exc:
            # _transaction has sent RSET: the connection stays usable unless it dropped.
            if not client.is_connected:
                slot.discard()
            return Outcome.from_error(self._reply_error(exc, mid), mid)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # Lost connection or timeout: the reply may be lost with it, so the state of the
            # session is unknown. Never reuse it. The stable Message-ID makes a possible
            # duplicate traceable.
            slot.discard()
            return Outcome.from_error(self._send_error(exc, mid), mid)
        except ValueError as exc:
            # aiosmtplib refused an address, or the generator a header: possibly mid-envelope,
            # so this session is not reused either.
            slot.discard()
            error = InvalidMessage(self._redact(f"The message could not be sent as it is: {exc}."), message_id=mid)
            return Outcome.from_error(error, mid)
        refusals = tuple(Refusal(rcpt, resp.code, resp.message) for rcpt, resp in refused.items())
        return Outcome(mid, "sent", refused=refusals)

    # -- connections ---------------------------------------------------------------------

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            local_hostname=self.local_hostname,
            timeout=self.timeout,
            use_tls=self.security == "tls",
            # True, not None: None silently stays plaintext when STARTTLS is not offered.
            start_tls=self.security == "starttls",
            tls_context=self._context() if self.security != "none" else None,
            username=self.username,
            password=self._password,
        )
        async with asyncio.timeout(self.connect_timeout):
            await client.connect(timeout=self.connect_timeout)
            # EHLO now (aiosmtplib only does it when TLS or login needed it), so that the
            # message can be serialised for what the server supports before MAIL FROM.
            if client.is_ehlo_or_helo_needed:
                try:
                    await client.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await client.helo()
        return client

    def _context(self) -> ssl.SSLContext:
        if self._tls_context is None:
            # Built on first use: loading the system CA bundle takes tens of milliseconds.
            self._tls_context = ssl.create_default_context(cafile=self._cafile)
        return self._tls_context

    # -- error wording ---------------------------------------------------------------------

    def _connect_error(self, exc: BaseException, mid: str) -> TransientError:
        # Every connection-stage failure is "retry": the message itself is fine.
        where = f"{self.host}:{self.port}"
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            text = f"The SMTP server {where} refused the login for {self.username!r} ({exc.code} {exc.message})."
            return TransientError(self._redact(text), message_id=mid, code=exc.code, reply=self._redact(exc.message))
        if isinstance(exc, aiosmtplib.SMTPException) and "STARTTLS" in exc.message and "not supported" in exc.message:
            text = f"The SMTP server {where} does not offer STARTTLS, which security 'starttls' requires; nothing was sent."
            return TransientError(text, message_id=mid)
        if isinstance(exc, TimeoutError):
            text = f"Connecting to the SMTP server {where} took longer than {self.connect_timeout:g} s."
            return TransientError(text, message_id=mid)
        code = getattr(exc, "code", None)
        detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        # aiosmtplib repeats host and port ("Error connecting to h on port p: ..."); say it once.
        if detail.startswith("Error connecting to") and ": " in detail:
            detail = detail.split(": ", 1)[1]
        if "WRONG_VERSION_NUMBER" in detail:
            detail += f"; the server may not speak implicit TLS on port {self.port} (try security 'starttls')"
        text = f"Could not connect to the SMTP server {where}: {_sentence(detail)}"
        return TransientError(self._redact(text), message_id=mid, code=code)

    def _reply_error(self, exc: aiosmtplib.SMTPResponseException, mid: str) -> TransientError | PermanentError:
        reply = self._redact(exc.message)
        text = f"The SMTP server {self.host} replied {exc.code} {_sentence(reply)}"
        kind = PermanentError if 500 <= exc.code < 600 else TransientError
        return kind(text, message_id=mid, code=exc.code, reply=reply)

    def _send_error(self, exc: BaseException, mid: str) -> TransientError:
        if isinstance(exc, TimeoutError):
            text = f"Sending to the SMTP server {self.host} took longer than {self.timeout:g} s; the message may or may not have arrived."
        else:
            detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            text = f"The connection to the SMTP server {self.host} was lost while sending: {_sentence(detail)}"
        return TransientError(self._redact(text), message_id=mid)

    def _all_refused(self, exc: aiosmtplib.SMTPRecipientsRefused, mid: str) -> Outcome:
        refusals = tuple(Refusal(r.recipient, r.code, self._redact(r.message)) for r in exc.recipients)
        permanent = all(r.permanent for r in refusals)
        first = refusals[0] if refusals else Refusal("", 0, "")
        text = f"The SMTP server {self.host} refused every recipient; for {first.recipient} it replied {first.code} {_sentence(first.text)}"
        return Outcome(mid, "failed" if permanent else "retry", refused=refusals, error=text, code=first.code)

    def _redact(self, text: str) -> str:
        if self._password:
            text = text.replace(self._password, "***")
        return text


class _Slot:
    """One worker's connection: made on first use, replaced after an error, closed at the end."""

    def __init__(self, transport: SmtpTransport) -> None:
        self._transport = transport
        self._client: aiosmtplib.SMTP | None = None

    async def client(self) -> aiosmtplib.SMTP:
        if self._client is not None and not self._client.is_connected:
            self._client = None
        if self._client is None:
            self._client = await self._transport._connect()
        return self._client

    def discard(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def release(self) -> None:
        client, self._client = self._client, None
        if client is None or not client.is_connected:
            return
        try:
            async with asyncio.timeout(min(5.0, self._transport.connect_timeout)):
                await client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            pass  # the batch is done; a rude goodbye loses nothing
        finally:
            client.close()


async def _transaction(
    client: aiosmtplib.SMTP, sender: str, recipients: Sequence[str], data: bytes, options: list[str]
) -> dict[str, aiosmtplib.SMTPResponse]:
    """One mail transaction; returns the recipients refused while others were accepted.

    This is aiosmtplib's ``sendmail`` (same commands, same RSET after a refusal, same
    SMTPRecipientsRefused when nobody is accepted) minus two costs measured per message:
    it parses every address twice and makes an extra pass over the message for SIZE.
    ``mail()`` and ``rcpt()`` still check each address for command injection. Per-command
    timeouts are off (None): the caller's whole-send bound is shorter than any of them could
    usefully be, and arming five timers per message is not free.
    """
    refused: dict[str, aiosmtplib.SMTPResponse] = {}
    try:
        await client.mail(sender, options=options, timeout=None)
        errors = []
        for recipient in recipients:
            try:
                await client.rcpt(recipient, timeout=None)
            except aiosmtplib.SMTPRecipientRefused as exc:
                errors.append(exc)
                refused[recipient] = aiosmtplib.SMTPResponse(exc.code, exc.message)
        if len(errors) == len(recipients):
            raise aiosmtplib.SMTPRecipientsRefused(errors)
        await client.data(data, timeout=None)
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
        try:
            await client.rset(timeout=None)  # clear the envelope for the next message
        except (ConnectionError, aiosmtplib.SMTPResponseException):
            pass
        raise
    return refused


# Serialised here rather than by aiosmtplib's send_message, which always uses
# email.policy.SMTP and so would fold subjects at 78 columns (see MAIL_POLICY).
_WIRE_8BIT = MAIL_POLICY.clone(linesep="\r\n")
_WIRE_7BIT = MAIL_POLICY.clone(linesep="\r\n", cte_type="7bit")


def _serialize(email: EmailMessage, eight_bit: bool) -> bytes:
    # Without 8BITMIME the generator re-encodes 8bit bodies as base64; headers are ASCII
    # either way (RFC 2047 encoded words), so SMTPUTF8 is never needed.
    return email.as_bytes(policy=_WIRE_8BIT if eight_bit else _WIRE_7BIT)


def _sentence(text: str) -> str:
    text = " ".join(str(text).split())
    return text if text.endswith(".") else text + "."


def _check_options(
    security: str,
    username: str | None,
    password: str | None,
    timeout: float,
    connect_timeout: float,
    concurrency: int,
    tls_context: ssl.SSLContext | None,
    cafile: str | None,
    sender: str | None,
) -> None:
    if security not in _DEFAULT_PORTS:
        raise ConfigurationError(f"SMTP security must be 'starttls', 'tls' or 'none', not {security!r}.")
    if password is not None and username is None:
        raise ConfigurationError("An SMTP password was given without a username.")
    if username is not None and security == "none":
        raise ConfigurationError("Refusing to send an SMTP password over an unencrypted connection; use security 'starttls' or 'tls'.")
    if not timeout > 0 or not connect_timeout > 0:
        raise ConfigurationError("SMTP timeouts must be positive numbers of seconds.")
    if int(concurrency) < 1:
        raise ConfigurationError("SMTP concurrency must be at least 1.")
    if tls_context is not None and cafile is not None:
        raise ConfigurationError("Give either an SMTP TLS context or a CA file, not both.")
    if sender is not None and not valid_address(sender):
        raise ConfigurationError(f"The SMTP envelope sender {sender!r} is not one plain e-mail address.")
