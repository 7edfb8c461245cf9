"""Address and header-text hygiene: the one place that decides what may reach a header.

Header injection is stopped here, before ``email`` ever sees a value: subjects and other
free text are collapsed to one line, addresses with control characters are refused.
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.headerregistry import Address, BaseHeader
from functools import lru_cache
from gettext import gettext as _  # the catalog engine/i18n.py binds; English until it does

from notifiers.errors import InvalidMessage
from notifiers.policy import MAIL_POLICY, share

# C0 and C1 controls (CR, LF, NUL, TAB, NEL, ...), the Unicode line and paragraph separators,
# and the bidi embedding/override/isolate marks, which can make a subject read backwards.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def has_control(text: str) -> bool:
    """True when ``text`` holds a character that must never reach a header."""
    return _CONTROL.search(text) is not None


def one_line(text: str) -> str:
    """Collapse control characters and whitespace runs to single spaces, then strip.

    Used for subjects and display names: a title typed with a line break in it is still a
    legitimate title, so it is repaired rather than refused.
    """
    return " ".join(_CONTROL.sub(" ", text).split())


def header_text(text: str) -> str:
    """Free text made safe for a header value: one line, and no RFC 2047 encoded words.

    A header parser decodes ``=?utf-8?q?...?=`` in a value, so text typed as an encoded
    word could come out as a line break (unpatched CVE-2024-6923 on Python before 3.11.10
    then writes it raw: a new header). A space after ``=`` makes it plain text again.
    """
    return one_line(text).replace("=?", "= ?")


def valid_address(value: object) -> bool:
    """True for one plain ``local@domain.tld`` address: ASCII, no display name, no comments.

    Deliberately stricter than RFC 5322 (no quoted local parts, no domain literals, no
    SMTPUTF8): the OPD directory holds government addresses, and every SMTP server and mail
    client must accept what passes here.
    """
    if not isinstance(value, str) or not value or not value.isascii() or len(value) > 254:
        return False
    if has_control(value) or any(c.isspace() for c in value) or '"' in value:
        return False
    try:
        parsed = Address(addr_spec=value)
    except (ValueError, HeaderParseError):
        return False
    if parsed.addr_spec != value or not parsed.username or len(parsed.username) > 64:
        return False
    labels = parsed.domain.split(".")
    if len(labels) < 2 or labels[-1].isdigit():
        return False
    return all(_DOMAIN_LABEL.fullmatch(label) for label in labels)


def parse_mailbox(value: object, *, field: str, message_id: str | None = None) -> Address:
    """Parse ``addr`` or ``Display Name <addr>`` into one ``Address``, or raise InvalidMessage."""
    if not isinstance(value, str) or has_control(value):
        raise InvalidMessage(
            _("The {field} address {value!r} contains a line break or another control character.").format(
                field=field, value=value),
            message_id=message_id,
        )
    parsed = _parse_mailbox(value)
    if parsed is None:
        raise InvalidMessage(
            _("The {field} address {value!r} is not one valid e-mail address.").format(field=field, value=value),
            message_id=message_id,
        )
    return parsed


def address_header(name: str, values: tuple[str, ...], *, message_id: str | None = None) -> BaseHeader:
    """A parsed From/To/Cc/Reply-To header for ``values``, or raise InvalidMessage.

    The result is the standard library's own header object; EmailMessage stores it as it is,
    without parsing its text again.
    """
    try:
        return _address_header(name, values)
    except InvalidMessage as exc:
        exc.message_id = message_id
        raise


@lru_cache(maxsize=1024)
def _address_header(name: str, values: tuple[str, ...]) -> BaseHeader:
    # Header objects are immutable str subclasses, so one may be shared by many messages.
    return share(_registry()(name, [parse_mailbox(v, field=name) for v in values]))


# The same few hundred directory addresses come back in every batch, and the email parser
# is slow (~0.1 ms per address), so parses are memoised; Address values are immutable.
@lru_cache(maxsize=4096)
def _parse_mailbox(value: str) -> Address | None:
    if valid_address(value):
        return Address(addr_spec=value)
    try:
        header = _registry()("To", value)
    except (ValueError, HeaderParseError):
        return None
    if (
        header.defects
        or len(header.groups) != 1
        or header.groups[0].display_name is not None
        or len(header.addresses) != 1
        or not valid_address(header.addresses[0].addr_spec)
    ):
        return None
    found = header.addresses[0]
    return Address(display_name=header_text(found.display_name), addr_spec=found.addr_spec)


def _registry():  # the policy's own factory, so cached headers match what EmailMessage makes
    return MAIL_POLICY.header_factory
