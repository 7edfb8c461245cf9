"""What the engine hands to a transport and what it gets back.

``Message`` is a rendered, ready-to-send e-mail as plain data (the outbox row holds exactly
this); ``checked_headers`` vets its headers and ``build_email`` turns it into an
``EmailMessage``;
``Outcome`` is a transport's verdict per message; ``Transport`` is the port the engine
depends on. Standard library only: importing this module stays cheap.
"""

from __future__ import annotations

import random
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.headerregistry import BaseHeader
from email.message import EmailMessage
from email.utils import format_datetime
from gettext import gettext as _  # the catalog engine/i18n.py binds; English until it does
from typing import Literal, NamedTuple, Protocol

from notifiers.addresses import address_header, has_control, header_text, parse_mailbox, valid_address
from notifiers.errors import (
    ConfigurationError,
    InvalidMessage,
    NotifierError,
    PermanentError,
    TemplateError,
    TransientError,
    TransportError,
)
from notifiers.policy import MAIL_POLICY

__all__ = [
    "ConfigurationError",
    "InvalidMessage",
    "MAIL_POLICY",
    "Attachment",
    "Message",
    "NotifierError",
    "Outcome",
    "PermanentError",
    "Refusal",
    "Status",
    "TemplateError",
    "TransientError",
    "Transport",
    "TransportError",
    "backoff_seconds",
    "boundary_for",
    "build_email",
    "checked_headers",
    "valid_address",
]

Status = Literal["sent", "retry", "failed"]
_STATUSES = frozenset({"sent", "retry", "failed"})

# id-left "@" id-right in angle brackets, printable ASCII only (RFC 5322 section 3.6.4).
_MESSAGE_ID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")
_HEADER_NAME = re.compile(r"[!-9;-~]+")
# Headers that build_email writes itself or that would change who receives the message.
_RESERVED_HEADERS = frozenset(
    {
        "bcc", "cc", "content-disposition", "content-transfer-encoding", "content-type",
        "date", "from", "message-id", "mime-version", "received", "reply-to", "return-path",
        "sender", "subject", "to",
    }
)


_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
_CONTENT_TYPE = re.compile(r"([a-z]+)/([a-z0-9.+-]+)((?:; *[a-z-]+=[A-Za-z0-9._-]+)*)")


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message: an ``.ics`` invitation, an ``.xlsx`` list.

    ``content_type`` is ``maintype/subtype`` with optional ``; name=value`` parameters
    (``text/calendar; method=PUBLISH``). The filename is reduced to safe characters, so
    nobody's title can reach a MIME header through it.
    """

    filename: str
    content_type: str
    data: bytes

    def __post_init__(self) -> None:
        safe = _SAFE_FILENAME.sub("-", self.filename).strip("-.") or "lampiran"
        object.__setattr__(self, "filename", safe[:80])
        if not _CONTENT_TYPE.fullmatch(self.content_type):
            raise InvalidMessage(_("The attachment type {kind!r} is not allowed.").format(kind=self.content_type))

    def mime(self) -> tuple[str, str, dict[str, str]]:
        """(maintype, subtype, parameters)."""
        m = _CONTENT_TYPE.fullmatch(self.content_type)
        params = dict(p.strip().split("=", 1) for p in m.group(3).split(";") if p.strip())
        return m.group(1), m.group(2), params


@dataclass(frozen=True, kw_only=True)
class Message:
    """One rendered e-mail, as plain data. ``message_id`` is stable across retries."""

    message_id: str
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    subject: str
    text: str
    html: str
    headers: tuple[tuple[str, str], ...] = ()
    reply_to: str | None = None
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        # Callers often hold lists (JSON from the outbox); keep the value hashable and immutable.
        for name in ("to", "cc"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            object.__setattr__(self, name, tuple(value))
        object.__setattr__(self, "headers", tuple((str(k), str(v)) for k, v in self.headers))
        object.__setattr__(self, "attachments", tuple(self.attachments))

    @property
    def recipients(self) -> tuple[str, ...]:
        """Envelope recipients: To then Cc, bare addresses, duplicates removed."""
        seen: dict[str, None] = {}
        for value in self.to + self.cc:
            seen.setdefault(parse_mailbox(value, field="To", message_id=self.message_id).addr_spec)
        return tuple(seen)

    @property
    def envelope_sender(self) -> str:
        return parse_mailbox(self.sender, field="From", message_id=self.message_id).addr_spec


class Refusal(NamedTuple):
    """One recipient the server would not take: ``(recipient, code, text)``."""

    recipient: str
    code: int
    text: str

    @property
    def permanent(self) -> bool:
        return self.code >= 500


@dataclass(frozen=True)
class Outcome:
    """A transport's verdict on one message.

    - ``sent``: the server took the message. ``refused`` may still list recipients it did not
      take; ``Refusal.permanent`` tells the engine which ones to record as failed and which
      (4xx) it may retry on their own.
    - ``retry``: nothing was delivered, or it is unknown whether it was (e.g. the connection
      dropped before the final reply); try the same message again later with backoff. Also used
      for connection-level problems (refused connection, TLS, authentication): the message is
      fine, and the engine's attempt cap turns a lasting misconfiguration into an incident.
    - ``failed``: the server refused the message or all its recipients for good (5xx), or the
      message could not be built; sending it again cannot help, so raise an incident.
    """

    message_id: str
    status: Status
    refused: tuple[Refusal, ...] = ()
    error: str | None = None
    code: int | None = None
    login_refused: bool = False  # the server refused the login for good; the message is fine
    unreachable: bool = False  # no connection to the server could be made for this message
    untried: bool = False  # not attempted at all: the transport had given up on the server (breaker open)

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ValueError(f"Outcome status must be one of {sorted(_STATUSES)}, not {self.status!r}.")
        if self.status != "sent" and not self.error:
            raise ValueError("An outcome that is not 'sent' needs an error sentence.")
        object.__setattr__(self, "refused", tuple(Refusal(*r) for r in self.refused))

    @property
    def delivered(self) -> bool:
        return self.status == "sent"

    @property
    def permanently_refused(self) -> tuple[str, ...]:
        return tuple(r.recipient for r in self.refused if r.permanent)

    @property
    def temporarily_refused(self) -> tuple[str, ...]:
        return tuple(r.recipient for r in self.refused if not r.permanent)

    @classmethod
    def from_error(cls, error: NotifierError, message_id: str) -> Outcome:
        """Map a notifier error to an outcome: transient -> retry, anything else -> failed."""
        from .errors import LoginRefused, ServerUnreachable

        status: Status = "retry" if isinstance(error, TransientError) else "failed"
        return cls(message_id, status, error=str(error), code=error.code, login_refused=isinstance(error, LoginRefused),
                   unreachable=isinstance(error, ServerUnreachable))


class Transport(Protocol):
    """The delivery port. ``deliver`` never raises for a single message's trouble: it
    returns one Outcome per message, in the order given."""

    async def deliver(self, messages: Sequence[Message]) -> list[Outcome]: ...

    async def aclose(self) -> None: ...


def build_email(msg: Message, *, date: datetime | None = None) -> EmailMessage:
    """Build a multipart/alternative (text, then HTML) UTF-8 e-mail from ``msg`` (MAIL_POLICY).

    Raises InvalidMessage for anything that could smuggle a header (see ``checked_headers``).
    The SMTP transport writes the same message as bytes directly (``notifiers.wire``).
    """
    email = EmailMessage(policy=MAIL_POLICY)
    for name, value in checked_headers(msg, date=date):
        email[name] = value
    email.set_content(msg.text, subtype="plain", charset="utf-8")
    # A boundary chosen here spares the generator its own search for a safe one (a fresh
    # regex per message). 128 random bits cannot be guessed by whoever typed a title.
    email.make_alternative(boundary=boundary_for(msg))
    email.add_alternative(msg.html, subtype="html", charset="utf-8")
    for attachment in msg.attachments:  # the message becomes multipart/mixed around the alternative
        maintype, subtype, params = attachment.mime()
        email.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename,
                             params=params)
    _refuse_control_characters(email, msg.message_id)
    return email


def checked_headers(msg: Message, *, date: datetime | None = None) -> list[tuple[str, str | BaseHeader]]:
    """The top-level headers of ``msg``, in order, before the MIME ones: the one list both
    ways of writing a message (``build_email`` and ``notifiers.wire``) start from.

    Raises InvalidMessage for anything that could smuggle a header: addresses or a
    Message-ID with control characters, invalid addresses, a bad or reserved extra header
    name. Subjects and extra header values are repaired to one line instead. Address
    headers come as parsed header objects, everything else as one-line text.
    """
    mid = msg.message_id
    if not isinstance(mid, str) or not _MESSAGE_ID.fullmatch(mid):
        raise InvalidMessage(_("The Message-ID {mid!r} is not of the form <id@domain>.").format(mid=mid), message_id=str(mid))
    if not msg.to:
        raise InvalidMessage(_("The message has no To recipient."), message_id=mid)

    headers: list[tuple[str, str | BaseHeader]] = [
        ("From", address_header("From", (msg.sender,), message_id=mid)),
        ("To", address_header("To", msg.to, message_id=mid)),
    ]
    if msg.cc:
        headers.append(("Cc", address_header("Cc", msg.cc, message_id=mid)))
    if msg.reply_to:
        headers.append(("Reply-To", address_header("Reply-To", (msg.reply_to,), message_id=mid)))
    headers.append(("Subject", header_text(msg.subject)))
    # Whole seconds, as text: a batch then shares one parsed Date header (see policy.py).
    headers.append(("Date", format_datetime((date or datetime.now(timezone.utc)).replace(microsecond=0))))
    headers.append(("Message-ID", mid))
    # RFC 3834: tells vacation responders and ticket systems not to answer a robot.
    headers.append(("Auto-Submitted", "auto-generated"))
    for name, value in msg.headers:
        headers.append((_checked_header_name(name, mid), header_text(value)))
    return headers


def _refuse_control_characters(email: EmailMessage, message_id: str) -> None:
    # Last line of defence: whatever the parser decoded, no header we wrote may hold a
    # control character, because an unpatched generator would write it out raw.
    for name, value in email.items():
        if has_control(str(value)):
            raise InvalidMessage(_("The {name} header would contain a line break or another control character.").format(name=name),
                                 message_id=message_id)


def boundary_for(msg: Message) -> str:
    """A fresh MIME boundary that occurs in neither body."""
    while True:
        boundary = f"=_tkksd_{secrets.token_hex(16)}"
        if boundary not in msg.text and boundary not in msg.html:
            return boundary


def _checked_header_name(name: str, message_id: str) -> str:
    if not _HEADER_NAME.fullmatch(name) or name.lower() in _RESERVED_HEADERS or has_control(name):
        raise InvalidMessage(_("The extra header name {name!r} is not allowed.").format(name=name), message_id=message_id)
    return name


def backoff_seconds(
    attempt: int,
    base: float = 60,
    cap: float = 6 * 3600,
    rng: Callable[[], float] = random.random,
) -> float:
    """Delay before retry number ``attempt`` (1 = first retry): exponential with full jitter.

    Full jitter (a uniform draw between 0 and the exponential ceiling) spreads the retries of
    many messages that failed together, so a recovering server is not hit by all at once.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be 1 or more, not {attempt}.")
    # Cap the exponent before computing, so a large attempt count cannot overflow.
    ceiling = min(cap, base * 2 ** min(attempt - 1, 64))
    return rng() * ceiling
