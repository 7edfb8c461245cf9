"""A notice as the bytes that go over SMTP, written directly instead of through EmailMessage.

Building an ``EmailMessage`` and running the generator over it cost about 0.5 ms per notice,
as much as the whole SMTP exchange; the message is always the same shape (headers, then a
multipart/alternative of one text and one HTML part, UTF-8), so it is written here as bytes.
What may appear in a header is still decided in one place: ``checked_headers`` (the list
``build_email`` uses too) vets every value, address headers are folded by the standard
library's own header objects (cached, as the same directory addresses come back), and a last
check refuses a header line that is not one header. The tests compare the result, parsed
back with ``email``, with the ``build_email`` path.

Differences from the generator's output, all invisible once parsed: non-ASCII free text
(Subject, extra headers) is written as whole RFC 2047 base64 words of at most 75 characters
on lines kept under 78 where possible, and bodies that cannot go as they are (lines over 998
octets, or non-ASCII text to a server without 8BITMIME) are always base64.
"""

from __future__ import annotations

import re
from binascii import b2a_base64
from datetime import datetime
from email.headerregistry import BaseHeader
from gettext import gettext as _  # the catalog engine/i18n.py binds; English until it does

from notifiers.base import Message, boundary_for, build_email, checked_headers
from notifiers.errors import InvalidMessage
from notifiers.policy import MAIL_POLICY

CRLF = b"\r\n"
# RFC 5322: lines SHOULD stay within 78 characters and MUST within 998.
_SOFT_LIMIT = 78
_HARD_LIMIT = 998
# RFC 2047: an encoded word is at most 75 characters; "=?utf-8?b?" + "?=" leave 63 for base64,
# i.e. 45 octets (a multiple of 3, so no padding in the middle of a header).
_WORD_OCTETS = 45
_WIRE_POLICY = MAIL_POLICY.clone(linesep="\r\n")
# One header: a name, a value of printable ASCII, continuation lines that start with white
# space. Anything else (a bare CR or LF, a control character, a second header) is refused.
_ONE_HEADER = re.compile(rb"[!-9;-~]+:[ -~]*(?:\r\n[ \t][ -~]*)*\r\n")
# Written as they are: ASCII by construction (checked_headers), and an identifier such as the
# Message-ID must never become an encoded word.
_VERBATIM = frozenset({"Date", "Message-ID", "Auto-Submitted"})


def wire_bytes(msg: Message, *, eight_bit: bool = True, date: datetime | None = None) -> bytes:
    """The whole message with CRLF line ends, ready for SMTP DATA (before dot-stuffing).

    ``eight_bit``: the server announced 8BITMIME, so UTF-8 bodies may go unencoded;
    otherwise they are base64 and every byte is ASCII. Raises InvalidMessage like
    ``build_email``.
    """
    if msg.attachments:
        # Rare (deadline invitations, digest lists): the email package writes the MIME tree.
        return build_email(msg, date=date).as_bytes(policy=_WIRE_POLICY.clone(cte_type="8bit" if eight_bit else "7bit"))
    head = [_header(name, value, msg.message_id) for name, value in checked_headers(msg, date=date)]
    boundary = boundary_for(msg).encode("ascii")
    delimiter = b"--" + boundary
    return b"".join([
        *head,
        b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="', boundary, b'"\r\n\r\n',
        delimiter, CRLF, _part(b"plain", msg.text, eight_bit),
        CRLF, delimiter, CRLF, _part(b"html", msg.html, eight_bit),
        CRLF, delimiter, b"--\r\n",
    ])


def _header(name: str, value: str | BaseHeader, message_id: str) -> bytes:
    if isinstance(value, BaseHeader):
        folded = _WIRE_POLICY.fold_binary(name, value)  # remembered on the shared header object
    elif name in _VERBATIM and value.isascii():
        folded = f"{name}: {value}\r\n".encode("ascii")
    else:
        folded = unstructured(name, value)
    if not _ONE_HEADER.fullmatch(folded):
        # Last line of defence, whatever the code above missed.
        raise InvalidMessage(
            _("The {name} header would contain a line break or another control character.").format(name=name),
            message_id=message_id,
        )
    return folded


def unstructured(name: str, text: str) -> bytes:
    """``Name: text`` folded for the wire; ``text`` is one line already (``header_text``).

    ASCII text is folded at its spaces, which unfolding turns back into the same spaces.
    Other text, or a word too long for any line, becomes UTF-8 base64 encoded words split
    between characters, which a reader joins without the folding white space.
    """
    prefix = f"{name}: "
    if text.isascii():
        words = text.split(" ")
        if max(map(len, words)) + len(prefix) <= _HARD_LIMIT:
            return _fold_at_spaces(prefix, words).encode("ascii")
    return prefix.encode("ascii") + b"\r\n ".join(_encoded_words(text.encode("utf-8"), len(prefix))) + CRLF


def _fold_at_spaces(prefix: str, words: list[str]) -> str:
    lines, line = [], prefix + words[0]
    for word in words[1:]:
        if len(line) + 1 + len(word) > _SOFT_LIMIT:
            lines.append(line)
            line = " " + word
        else:
            line += " " + word
    lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def _encoded_words(data: bytes, first_indent: int) -> list[bytes]:
    # The first word shares its line with the header name; later ones start a line each.
    size = max(12, (_SOFT_LIMIT - first_indent - 12) // 4 * 3)
    words, start = [], 0
    while start < len(data):
        end = min(start + size, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:
            end -= 1  # never cut a UTF-8 sequence: each word must decode on its own
        words.append(b"=?utf-8?b?" + b2a_base64(data[start:end], newline=False) + b"?=")
        start, size = end, _WORD_OCTETS
    return words or [b""]


def _part(subtype: bytes, text: str, eight_bit: bool) -> bytes:
    # Line ends become CRLF and the body ends with one, as the email package writes it.
    lines = text.encode("utf-8").splitlines()
    if max(map(len, lines), default=0) <= _HARD_LIMIT:
        body = CRLF.join(lines) + CRLF
        if body.isascii():
            return _part_head(subtype, b"7bit") + body
        if eight_bit:
            return _part_head(subtype, b"8bit") + body
    # base64 of the text with LF line ends, as the email package decodes it back.
    encoded = b"".join(
        b2a_base64(chunk) for chunk in _chunks(b"\n".join(lines) + b"\n", 57)
    )
    return _part_head(subtype, b"base64") + encoded.replace(b"\n", CRLF)


def _chunks(data: bytes, size: int):
    return (data[i:i + size] for i in range(0, len(data), size))


def _part_head(subtype: bytes, cte: bytes) -> bytes:
    return b'Content-Type: text/' + subtype + b'; charset="utf-8"\r\nContent-Transfer-Encoding: ' + cte + b"\r\n\r\n"
