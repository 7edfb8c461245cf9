"""SMTP delivery with aiosmtplib: a small pool of reused connections, each bounded in time.

Connections live for one ``deliver()`` call (one outbox batch) and are closed at its end,
or, inside ``session()``, for the several batches a drain run sends back to back. They are
never kept idle beyond that: long-lived idle clients are where aiosmtplib has hung in the
past (aiosmtplib #243, #38), and a drain every few seconds gains nothing from keeping them.
Within a batch, up to ``concurrency`` connections each send messages one after another; a
connection that saw any connection-level error is thrown away and the next message gets a
fresh one. Messages go as bytes written by ``notifiers.wire``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from gettext import gettext as _  # the catalog engine/i18n.py binds; English until it does
from typing import Literal

import aiosmtplib

from notifiers.base import Message, Outcome, Refusal, valid_address
from notifiers.errors import ConfigurationError, InvalidMessage, LoginRefused, PermanentError, ServerUnreachable, TransientError
from notifiers.wire import wire_bytes

log = logging.getLogger(__name__)

Security = Literal["starttls", "tls", "none"]
_DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
# A connection parked between the batches of a session is reused only this soon: far below
# the 5 minutes RFC 5321 (4.5.3.2.7) asks servers to wait, so the server has not dropped it.
MAX_IDLE_SECONDS = 10.0


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
        breaker_after: int = 3,
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
        # One login at a time until one succeeds, and none at all after a refusal for good:
        # each failed login counts against the account on the server (lock-outs, fail2ban).
        self._login_lock: asyncio.Lock | None = None
        self._logged_in = False
        self.login_refused: LoginRefused | None = None
        # The circuit breaker: after this many connection failures in a row, no message of this
        # transport's life tries to connect again (each would wait up to connect_timeout on a
        # dead server); the caller sees ``unreachable`` and tries again with a new transport.
        self.breaker_after = int(breaker_after)
        self._connect_failures = 0
        self.unreachable: ServerUnreachable | None = None
        # Connections kept between the batches of a session(); None outside one.
        self._parked: list[_Slot] | None = None

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

    async def check_login(self) -> None:
        """Connect, log in and say goodbye: raises LoginRefused (a refusal for good), or the
        connection's own error. For a daemon that wants to know at start."""
        slot = _Slot(self)
        try:
            await slot.client()
        finally:
            await slot.release()

    async def aclose(self) -> None:
        # Nothing stays open outside a session; this only refuses further use.
        self._closed = True

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """Keep the connections open from one ``deliver()`` to the next until the block ends.

        For a caller that sends several batches back to back (a drain run of many passes):
        connecting (and TLS, and login) once per run instead of once per batch. Use it within
        one event loop; a connection idle longer than MAX_IDLE_SECONDS is replaced.
        """
        if self._parked is not None:
            raise RuntimeError("This SmtpTransport already has a session open.")
        parked: list[_Slot] = []
        self._parked = parked
        try:
            yield
        except BaseException:
            for slot in parked:
                slot.discard()
            raise
        finally:
            self._parked = None
        await asyncio.gather(*(slot.release() for slot in parked))

    async def _work(
        self, pending: Iterator[int], messages: Sequence[Message], outcomes: list[Outcome | None]
    ) -> None:
        # Each worker owns one connection slot; `pending` is shared, which is safe because
        # next() and the use of its result happen without an await in between.
        parked = self._parked
        slot = parked.pop() if parked else _Slot(self)
        try:
            for index in pending:
                outcome = await self._deliver_one(slot, messages[index])
                outcomes[index] = outcome
                if not outcome.delivered and not outcome.login_refused:  # a refused login is said once, by the caller
                    log.warning(_not_delivered(outcome), outcome.message_id, outcome.error)
        except BaseException:
            slot.discard()  # cancelled (daemon stopping) or broken: no polite QUIT, just close
            raise
        if parked is not None and parked is self._parked:
            slot.park()
            parked.append(slot)
        else:
            await slot.release()

    async def _deliver_one(self, slot: _Slot, msg: Message) -> Outcome:
        mid = msg.message_id
        try:
            # Built (and so checked) before any connection: a bad message never reaches the
            # server. 8bit is what nearly every server announces; see below for the others.
            data = wire_bytes(msg)
            sender = (self.sender or msg.envelope_sender).encode("ascii")
            recipients = [r.encode("ascii") for r in msg.recipients]
        except InvalidMessage as exc:
            return Outcome.from_error(exc, mid)
        except ValueError as exc:  # e.g. a lone surrogate in a body: no encoding can send it
            error = InvalidMessage(_("The message could not be built: {problem}.").format(problem=exc), message_id=mid)
            return Outcome.from_error(error, mid)
        if self.unreachable is not None:
            return Outcome(mid, "retry", error=self.unreachable.sentence, unreachable=True, untried=True)
        try:
            client = await slot.client()
        except LoginRefused as exc:
            return Outcome.from_error(LoginRefused(exc.sentence, message_id=mid, code=exc.code, reply=exc.reply), mid)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            error = self._connect_error(exc, mid)
            self._count_connect_failure(error)
            return Outcome.from_error(error, mid)
        self._connect_failures = 0
        try:
            # One bound for the whole transaction (see _transaction for the per-command ones).
            async with asyncio.timeout(self.timeout):
                eight_bit = client.supports_extension("8bitmime")
                if not eight_bit:
                    data = wire_bytes(msg, eight_bit=False)  # UTF-8 bodies as base64
                refused = await _transaction(client, sender, recipients, data, _8BITMIME if eight_bit else ())
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
            # aiosmtplib refused a command argument: possibly mid-envelope,
            # so this session is not reused either.
            slot.discard()
            text = _("The message could not be sent as it is: {problem}.").format(problem=exc)
            error = InvalidMessage(self._redact(text), message_id=mid)
            return Outcome.from_error(error, mid)
        if not refused:
            return Outcome(mid, "sent")
        refusals = tuple(Refusal(rcpt, resp.code, resp.message) for rcpt, resp in refused.items())
        return Outcome(mid, "sent", refused=refusals)

    def _count_connect_failure(self, error: TransientError) -> None:
        if not isinstance(error, ServerUnreachable):
            return
        self._connect_failures += 1
        if self._connect_failures >= self.breaker_after and self.unreachable is None:
            self.unreachable = ServerUnreachable(
                _("Not tried: the SMTP server {server} could not be reached {count} times in a row ({reason}).").format(
                    server=f"{self.host}:{self.port}", count=self._connect_failures, reason=error.sentence.rstrip(".")))

    # -- connections ---------------------------------------------------------------------

    async def _connect(self) -> aiosmtplib.SMTP:
        if self.username is None or self._logged_in:
            return await self._open()
        if self._login_lock is None:
            self._login_lock = asyncio.Lock()
        async with self._login_lock:
            if self.login_refused is not None:
                raise self.login_refused
            client = await self._open()
            self._logged_in = True
            return client

    async def _open(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            local_hostname=self.local_hostname,
            timeout=self.timeout,
            use_tls=self.security == "tls",
            # True, not None: None silently stays plaintext when STARTTLS is not offered.
            start_tls=self.security == "starttls",
            tls_context=self._context() if self.security != "none" else None,
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
            if self.username is not None:
                await self._login(client)
        return client

    async def _login(self, client: aiosmtplib.SMTP) -> None:
        """One AUTH exchange with one mechanism (aiosmtplib's login() tries each mechanism the
        server offers in turn: two failed logins per attempt with PLAIN and LOGIN)."""
        offered = {m.lower() for m in client.server_auth_methods}
        method = next((m for m in ("plain", "login", "cram-md5") if m in offered), None)
        if method is None:
            client.close()
            raise aiosmtplib.SMTPException(
                _("The SMTP server {server} offers no login method tkksd knows (PLAIN, LOGIN, CRAM-MD5).").format(
                    server=f"{self.host}:{self.port}"))
        auth = {"plain": client.auth_plain, "login": client.auth_login, "cram-md5": client.auth_crammd5}[method]
        try:
            await auth(self.username, self._password)
        except aiosmtplib.SMTPAuthenticationError as exc:
            client.close()
            if 500 <= exc.code < 600:
                self.login_refused = LoginRefused(
                    self._redact(_("The SMTP server {server} refused the login for {user!r} ({code} {reply}); no further "
                                   "login is tried until the settings change or an operator runs `tkksd outbox retry`.").format(
                        server=f"{self.host}:{self.port}", user=self.username, code=exc.code, reply=exc.message)),
                    code=exc.code, reply=self._redact(exc.message),
                )
                raise self.login_refused from None
            raise

    def _context(self) -> ssl.SSLContext:
        if self._tls_context is None:
            # Built on first use: loading the system CA bundle takes tens of milliseconds.
            # ``cafile`` adds a private CA to the system's (create_default_context(cafile=...)
            # would trust that file alone).
            context = ssl.create_default_context()
            if self._cafile:
                context.load_verify_locations(cafile=self._cafile)
            self._tls_context = context
        return self._tls_context

    # -- error wording ---------------------------------------------------------------------

    def _connect_error(self, exc: BaseException, mid: str) -> TransientError:
        # Every connection-stage failure is "retry": the message itself is fine.
        where = f"{self.host}:{self.port}"
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            text = _("The SMTP server {server} refused the login for {user!r} ({code} {reply}).").format(
                server=where, user=self.username, code=exc.code, reply=exc.message)
            return TransientError(self._redact(text), message_id=mid, code=exc.code, reply=self._redact(exc.message))
        if isinstance(exc, aiosmtplib.SMTPException) and "STARTTLS" in exc.message and "not supported" in exc.message:
            text = _("The SMTP server {server} does not offer STARTTLS, which security 'starttls' requires; "
                     "nothing was sent.").format(server=where)
            return ServerUnreachable(text, message_id=mid)
        if isinstance(exc, TimeoutError):
            return ServerUnreachable(self._connect_timeout_sentence(where), message_id=mid)
        code = getattr(exc, "code", None)
        detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        # aiosmtplib repeats host and port ("Error connecting to h on port p: ..."); say it once.
        if detail.startswith("Error connecting to") and ": " in detail:
            detail = detail.split(": ", 1)[1]
        if "WRONG_VERSION_NUMBER" in detail:
            detail += _("; the server may not speak implicit TLS on port {port} (try security 'starttls')").format(port=self.port)
        text = _("Could not connect to the SMTP server {server}: {problem}").format(server=where, problem=_sentence(detail))
        # A reply code means the server answered (a 421 greeting, a failed EHLO): it is there.
        kind = TransientError if code else ServerUnreachable
        return kind(self._redact(text), message_id=mid, code=code)

    def _connect_timeout_sentence(self, where: str) -> str:
        # The usual cause of a silent server is security and port that do not go together: say so.
        if self.security == "starttls" and self.port == 465:
            text = _("Connecting to the SMTP server {server} took longer than {seconds} s; port 465 usually speaks "
                     "implicit TLS (security 'tls'), not STARTTLS.")
        elif self.security == "tls" and self.port in (25, 587):
            text = _("Connecting to the SMTP server {server} took longer than {seconds} s; port {port} usually speaks "
                     "STARTTLS (security 'starttls'), not implicit TLS.")
        else:
            text = _("Connecting to the SMTP server {server} took longer than {seconds} s.")
        return text.format(server=where, seconds=f"{self.connect_timeout:g}", port=self.port)

    def _reply_error(self, exc: aiosmtplib.SMTPResponseException, mid: str) -> TransientError | PermanentError:
        reply = self._redact(exc.message)
        text = _("The SMTP server {server} replied {code} {reply}").format(server=self.host, code=exc.code, reply=_sentence(reply))
        kind = PermanentError if 500 <= exc.code < 600 else TransientError
        return kind(text, message_id=mid, code=exc.code, reply=reply)

    def _send_error(self, exc: BaseException, mid: str) -> TransientError:
        if isinstance(exc, TimeoutError):
            text = _("Sending to the SMTP server {server} took longer than {seconds} s; the message may or may not "
                     "have arrived.").format(server=self.host, seconds=f"{self.timeout:g}")
        else:
            detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            text = _("The connection to the SMTP server {server} was lost while sending: {problem}").format(
                server=self.host, problem=_sentence(detail))
        return TransientError(self._redact(text), message_id=mid)

    def _all_refused(self, exc: aiosmtplib.SMTPRecipientsRefused, mid: str) -> Outcome:
        refusals = tuple(Refusal(r.recipient, r.code, self._redact(r.message)) for r in exc.recipients)
        permanent = all(r.permanent for r in refusals)
        first = refusals[0] if refusals else Refusal("", 0, "")
        text = _("The SMTP server {server} refused every recipient; for {recipient} it replied {code} {reply}").format(
            server=self.host, recipient=first.recipient, code=first.code, reply=_sentence(first.text))
        return Outcome(mid, "failed" if permanent else "retry", refused=refusals, error=text, code=first.code)

    def _redact(self, text: str) -> str:
        if self._password:
            text = text.replace(self._password, "***")
        return text


class _Slot:
    """One worker's connection: made on first use, replaced after an error or a long rest,
    closed at the end of the batch or session."""

    def __init__(self, transport: SmtpTransport) -> None:
        self._transport = transport
        self._client: aiosmtplib.SMTP | None = None
        self._parked_at: float | None = None

    async def client(self) -> aiosmtplib.SMTP:
        if self._parked_at is not None:
            if time.monotonic() - self._parked_at > MAX_IDLE_SECONDS:
                self.discard()
            self._parked_at = None
        if self._client is not None and not self._client.is_connected:
            self._client = None
        if self._client is None:
            self._client = await self._transport._connect()
        return self._client

    def park(self) -> None:
        self._parked_at = time.monotonic()

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


_8BITMIME = (b"BODY=8BITMIME",)
_ACCEPTED = (250, 251)


async def _transaction(
    client: aiosmtplib.SMTP, sender: bytes, recipients: Sequence[bytes], data: bytes, options: Sequence[bytes]
) -> dict[str, aiosmtplib.SMTPResponse]:
    """One mail transaction; returns the recipients refused while others were accepted.

    This is aiosmtplib's ``sendmail`` (same commands, same RSET after a refusal, same
    exceptions: SMTPSenderRefused, SMTPRecipientsRefused when nobody is accepted) minus the
    costs measured per message: ``mail()`` and ``rcpt()`` parse every address again with
    ``email.utils.parseaddr``, and ``sendmail`` makes an extra pass over the message for SIZE.
    The addresses here are bare ``local@domain`` that ``valid_address`` passed (ASCII, no
    white space, no ``<>"``), and ``execute_command`` still refuses any control character.
    Per-command timeouts are off (None): the caller's whole-send bound is shorter than any
    of them could usefully be, and arming five timers per message is not free.
    """
    refused: dict[str, aiosmtplib.SMTPResponse] = {}
    try:
        reply = await client.execute_command(b"MAIL", b"FROM:<" + sender + b">", *options, timeout=None)
        if reply.code != 250:
            raise aiosmtplib.SMTPSenderRefused(reply.code, reply.message, sender.decode("ascii"))
        errors = []
        for recipient in recipients:
            reply = await client.execute_command(b"RCPT", b"TO:<" + recipient + b">", timeout=None)
            if reply.code not in _ACCEPTED:
                address = recipient.decode("ascii")
                errors.append(aiosmtplib.SMTPRecipientRefused(reply.code, reply.message, address))
                refused[address] = reply
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


def _not_delivered(outcome: Outcome) -> str:
    """The log line for a message that did not go (message id and reason as %s arguments)."""
    if outcome.status == "retry":
        return _("Message %s not delivered, to be tried again: %s")
    return _("Message %s not delivered, not to be tried again: %s")


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
        raise ConfigurationError(_("SMTP security must be 'starttls', 'tls' or 'none', not {security!r}.").format(security=security))
    if password is not None and username is None:
        raise ConfigurationError(_("An SMTP password was given without a username."))
    if username is not None and security == "none":
        raise ConfigurationError(_("Refusing to send an SMTP password over an unencrypted connection; use security 'starttls' or 'tls'."))
    if not timeout > 0 or not connect_timeout > 0:
        raise ConfigurationError(_("SMTP timeouts must be positive numbers of seconds."))
    if int(concurrency) < 1:
        raise ConfigurationError(_("SMTP concurrency must be at least 1."))
    if tls_context is not None and cafile is not None:
        raise ConfigurationError(_("Give either an SMTP TLS context or a CA file, not both."))
    if sender is not None and not valid_address(sender):
        raise ConfigurationError(_("The SMTP envelope sender {sender!r} is not one plain e-mail address.").format(sender=sender))
