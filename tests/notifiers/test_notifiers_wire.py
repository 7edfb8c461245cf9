"""notifiers.wire writes the bytes directly; parsed back they must be what build_email makes."""

from __future__ import annotations

import email
import re
from datetime import datetime, timezone
from email.policy import default as default_policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifiers.addresses import header_text
from notifiers.base import Message, build_email
from notifiers.errors import InvalidMessage
from notifiers.policy import MAIL_POLICY
from notifiers.wire import unstructured, wire_bytes

from .samples import TITLE
from .test_notifiers_message import EVIL

WHEN = datetime(2026, 11, 29, 0, 0, 7, tzinfo=timezone.utc)
LONG_ASCII = "[TKKSD] Pengingat: tahap Verifikasi dan Kajian KS-2024-0017 terlambat 9 hari: " + "kerja sama " * 12
LONG_INDONESIAN = "[TKKSD] Pengingat: tahap Verifikasi & Kajian KS-2024-0017 terlambat 9 hari: " + TITLE


def message(**overrides) -> Message:
    values = {
        "message_id": "<outbox-7.tkksd@kukarkab.go.id>",
        "sender": "TKKSD Kukar <tkksd@kukarkab.go.id>",
        "to": ("Kepala Dinas Pertanian <distanak@kukarkab.go.id>",),
        "cc": ("kerjasama@kukarkab.go.id",),
        "subject": TITLE,
        "text": f"Dengan hormat,\n\n{TITLE}\n",
        "html": f"<p>Dengan hormat,</p><p>{TITLE}</p>",
        "headers": (("X-TKKSD-Kind", "reminder"),),
        "reply_to": "kerjasama@kukarkab.go.id",
    }
    values.update(overrides)
    return Message(**values)


TRICKY = {
    "plain": message(),
    "long ascii subject": message(subject=LONG_ASCII),
    "long indonesian subject": message(subject=LONG_INDONESIAN),
    "one very long word": message(subject="x" * 1200),
    "non-latin subject": message(subject="会议通知 — Rapat koordinasi 🤝 " * 4),
    "injected title": message(subject=EVIL, text=f"Judul: {EVIL}\n", html="<p>&lt;script&gt;</p>"),
    "encoded-word look-alike": message(subject="=?utf-8?q?a=0D=0ABcc:_x@evil.example?= pangan"),
    "script in text": message(text="<script>alert(1)</script>\n", html="<p><script>alert(1)</script></p>"),
    "display names": message(
        sender="Sekretariat TKKSD — Kukar <tkksd@kukarkab.go.id>",
        to=('"Kepala Dinas, Pertanian" <distanak@kukarkab.go.id>', "Bü Öztürk <bappeda@kukarkab.go.id>"),
    ),
    "line ends and dots": message(text="a\r\nb\rc\n.\n..titik\nFrom awal\n", html=".\r\n<p>x</p>"),
    "no final newline, empty html": message(text="tanpa akhir baris", html=""),
    "long body line": message(text="panjang " * 200 + "\nü " * 600, html="<p>" + "x" * 2000 + "</p>"),
    "non-ascii extra header": message(headers=(("X-TKKSD-Key", "kunci — ü\r\nBcc: y@evil.example"),)),
}


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=default_policy)  # type: ignore[return-value]


def content(part: email.message.EmailMessage) -> str:
    # Line ends are the one thing that depends on the transfer encoding: an 8bit part reads
    # back with the CRLF of the wire, a base64 one with the LF it was encoded with.
    return part.get_content().replace("\r\n", "\n")


def summary(msg: email.message.EmailMessage) -> dict:
    parts = list(msg.iter_parts())
    return {
        "headers": sorted((k, str(v)) for k, v in msg.items() if k.lower() != "content-type"),
        "type": msg.get_content_type(),
        "parts": [(p.get_content_type(), p.get_content_charset(), content(p)) for p in parts],
        "defects": [type(d).__name__ for p in [msg, *parts] for d in p.defects],
    }


@pytest.mark.parametrize("eight_bit", [True, False], ids=["8bit", "7bit"])
@pytest.mark.parametrize("case", list(TRICKY))
def test_wire_bytes_read_back_as_build_email(case, eight_bit):
    msg = TRICKY[case]
    data = wire_bytes(msg, eight_bit=eight_bit, date=WHEN)
    wire_policy = MAIL_POLICY.clone(linesep="\r\n", cte_type="8bit" if eight_bit else "7bit")
    reference = build_email(msg, date=WHEN).as_bytes(policy=wire_policy)

    got, expected = parsed(data), parsed(reference)
    assert summary(got) == summary(expected)
    assert got["Bcc"] is None and len(got.get_all("Subject")) == 1
    assert got["Subject"] == header_text(msg.subject)
    assert got["Message-ID"] == msg.message_id and got["Date"] == "Sun, 29 Nov 2026 00:00:07 +0000"
    # HTML unchanged, up to line ends (CRLF on the wire; base64 decodes to LF).
    html = content(got.get_body(("html",)))
    assert html == "\n".join(msg.html.splitlines()) + "\n"
    _check_lines(data, eight_bit)


def _check_lines(data: bytes, eight_bit: bool) -> None:
    head, _, _ = data.partition(b"\r\n\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    if not eight_bit:
        assert data.isascii()
    for line in head.split(b"\r\n"):
        assert line.isascii() and not re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", line)
        for word in re.findall(rb"=\?[^?]+\?[bBqQ]\?[^?]*\?=", line):
            assert len(word) <= 75  # RFC 2047


def test_text_goes_8bit_or_7bit_as_the_server_allows():
    msg = message()
    eight = wire_bytes(msg, date=WHEN)
    seven = wire_bytes(msg, eight_bit=False, date=WHEN)
    assert b"Content-Transfer-Encoding: 8bit" in eight and TITLE.encode() in eight
    assert b"Content-Transfer-Encoding: base64" in seven and seven.isascii()
    ascii_only = wire_bytes(message(subject="Rapat", text="Dengan hormat\n", html="<p>x</p>"), eight_bit=False)
    assert b"Content-Transfer-Encoding: 7bit" in ascii_only and b"base64" not in ascii_only


def test_folded_subjects_keep_to_78_columns():
    for subject in (LONG_ASCII, LONG_INDONESIAN):
        folded = unstructured("Subject", header_text(subject))
        assert folded.endswith(b"\r\n") and folded.count(b"\r\n") > 1
        assert all(len(line) <= 78 for line in folded.split(b"\r\n"))
        assert parsed(folded + b"\r\n")["Subject"] == header_text(subject)


@pytest.mark.parametrize(
    "field, value",
    [
        ("to", ("distanak@kukarkab.go.id\r\nBcc: x@evil.example",)),
        ("to", ("Kepala\r\nBcc: x@evil.example <distanak@kukarkab.go.id>",)),
        ("to", ("=?utf-8?q?A=0D=0ABcc:_y@evil.example?= <distanak@kukarkab.go.id>",)),
        ("to", ()),
        ("sender", "tkksd@kukarkab.go.id\nX-Evil: 1"),
        ("reply_to", "<x@evil.example>\r\n"),
        ("message_id", "<outbox-1@kukarkab.go.id>\r\nBcc: x@evil.example"),
        ("headers", (("Bcc", "x@evil.example"),)),
        ("headers", (("X-Bad\r\nBcc", "v"),)),
    ],
)
def test_unsafe_values_are_refused_as_by_build_email(field, value):
    for build in (build_email, wire_bytes):
        with pytest.raises(InvalidMessage):
            build(message(**{field: value}))


@settings(max_examples=150, deadline=None)
@given(
    subject=st.text(max_size=300) | st.lists(st.text(min_size=1, max_size=40), max_size=30).map(" ".join),
    text=st.text(max_size=400),
    name=st.text(st.characters(blacklist_characters='"\\', blacklist_categories=("Cs",)), max_size=40),
)
def test_any_subject_body_and_name_reads_back_as_intended(subject, text, name):
    to = f'"{name}" <distanak@kukarkab.go.id>' if name.strip() else "distanak@kukarkab.go.id"
    try:
        msg = message(subject=subject, text=text, to=(to,))
        reference = parsed(build_email(msg, date=WHEN).as_bytes(policy=MAIL_POLICY.clone(linesep="\r\n")))
    except InvalidMessage:
        with pytest.raises(InvalidMessage):
            wire_bytes(msg, date=WHEN)
        return
    for eight_bit in (True, False):
        data = wire_bytes(msg, eight_bit=eight_bit, date=WHEN)
        got = parsed(data)
        assert got["Subject"] == header_text(subject)
        assert str(got["To"]) == str(reference["To"])
        assert content(got.get_body(("plain",))) == content(reference.get_body(("plain",)))
        assert set(got.keys()) == set(reference.keys())
        _check_lines(data, eight_bit)
