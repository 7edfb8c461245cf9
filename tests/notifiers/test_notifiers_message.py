"""Message building, addresses, header injection, outcomes and backoff."""

from __future__ import annotations

import email
from datetime import datetime, timezone
from email.policy import default as default_policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from .samples import TITLE, context

from notifiers.base import Message, Outcome, Refusal, _refuse_control_characters, backoff_seconds, build_email, valid_address
from notifiers.policy import MAIL_POLICY
from notifiers.errors import InvalidMessage, NotifierError, PermanentError, TransientError
from notifiers.rendering import Renderer

EVIL = "Judul\r\nBcc: x@evil.example\r\n<script>alert(1)</script>"
BASE_HEADERS = {"from", "to", "subject", "date", "message-id", "auto-submitted", "mime-version", "content-type"}


def message(**overrides) -> Message:
    values = {
        "message_id": "<outbox-123.tkksd@kukarkab.go.id>",
        "sender": "TKKSD Kukar <tkksd@kukarkab.go.id>",
        "to": ("distanak@kukarkab.go.id",),
        "subject": TITLE,
        "text": "Dengan hormat,\n",
        "html": "<p>Dengan hormat,</p>",
    }
    values.update(overrides)
    return Message(**values)


def parse(msg: Message) -> email.message.EmailMessage:
    return email.message_from_bytes(build_email(msg).as_bytes(), policy=default_policy)


# -- building ---------------------------------------------------------------------------------


def test_build_email_structure():
    when = datetime(2026, 11, 29, 0, 0, tzinfo=timezone.utc)
    built = build_email(message(cc=["kerjasama@kukarkab.go.id"], reply_to="kerjasama@kukarkab.go.id"), date=when)
    parsed = email.message_from_bytes(built.as_bytes(), policy=default_policy)

    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["Message-ID"] == "<outbox-123.tkksd@kukarkab.go.id>"
    assert parsed["Subject"] == TITLE
    assert parsed["Date"] == "Sun, 29 Nov 2026 00:00:00 +0000"
    assert parsed["Reply-To"] == "kerjasama@kukarkab.go.id"
    assert parsed["Cc"] == "kerjasama@kukarkab.go.id"


def test_message_coerces_lists_and_lists_envelope_recipients():
    msg = message(to=["A <a@kukarkab.go.id>", "b@kukarkab.go.id"], cc=["a@kukarkab.go.id", "c@kukarkab.go.id"])
    assert msg.to == ("A <a@kukarkab.go.id>", "b@kukarkab.go.id")
    assert msg.recipients == ("a@kukarkab.go.id", "b@kukarkab.go.id", "c@kukarkab.go.id")
    assert msg.envelope_sender == "tkksd@kukarkab.go.id"
    hash(msg)  # still a value


def test_header_injection_through_subject_and_headers_makes_no_header():
    parsed = parse(message(subject=EVIL, headers=(("X-TKKSD-Key", "k\r\nBcc: y@evil.example"),)))

    assert parsed["Bcc"] is None
    assert len(parsed.get_all("Subject")) == 1
    assert parsed["Subject"] == "Judul Bcc: x@evil.example <script>alert(1)</script>"
    assert parsed["X-TKKSD-Key"] == "k Bcc: y@evil.example"


@pytest.mark.parametrize(
    "typed",
    [
        "=?utf-8?q?a=0D=0ABcc:_x@evil.example?=",
        "Judul =?utf-8?b?YQ0KQmNjOiB4QGV2aWwuZXhhbXBsZQ==?= — pangan",
        "=?us-ascii?Q?x=0ABcc=3A_x=40evil.example?=",
    ],
)
def test_encoded_words_cannot_smuggle_a_line_break(typed):
    # An RFC 2047 encoded word typed into a title decodes to CR LF inside the header parser;
    # Python 3.11.7's generator (CVE-2024-6923) would then write it raw as a new header.
    parsed = parse(message(subject=typed, headers=(("X-TKKSD-Key", typed),)))
    assert parsed["Bcc"] is None and len(parsed.get_all("Subject")) == 1
    assert set(k.lower() for k in parsed.keys()) == BASE_HEADERS | {"x-tkksd-key"}
    assert "\n" not in parsed["Subject"] and "\n" not in parsed["X-TKKSD-Key"]
    assert parsed["Subject"] == typed.replace("=?", "= ?")  # shown as typed, not decoded


def test_encoded_display_names_are_decoded_but_never_to_a_line_break():
    parsed = parse(message(to=("=?utf-8?q?Kepala_Dinas?= <distanak@kukarkab.go.id>",)))
    assert parsed["To"] == "Kepala Dinas <distanak@kukarkab.go.id>"
    with pytest.raises(InvalidMessage):
        build_email(message(to=("=?utf-8?q?A=0D=0ABcc:_y@evil.example?= <distanak@kukarkab.go.id>",)))


def test_last_line_of_defence_refuses_decoded_control_characters():
    email_message = email.message.EmailMessage(policy=MAIL_POLICY)
    email_message["Subject"] = "=?utf-8?q?a=0D=0ABcc:_x@evil.example?="  # decodes to CR LF
    with pytest.raises(InvalidMessage, match="Subject"):
        _refuse_control_characters(email_message, "<m@x.id>")


def test_rendered_notice_with_hostile_title_and_partner():
    ctx = context("transition", "id")
    ctx["agreement"] = ctx["agreement"] | {"title": EVIL, "partner": "PT Jahat\r\nBcc: z@evil.example <script>x</script>"}
    rendered = Renderer().render("transition", ctx)
    parsed = parse(message(subject=rendered.subject, text=rendered.text, html=rendered.html))

    assert parsed["Bcc"] is None and len(parsed.get_all("Subject")) == 1
    assert set(k.lower() for k in parsed.keys()) == BASE_HEADERS
    html = parsed.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize(
    "field, value",
    [
        ("to", ("distanak@kukarkab.go.id\r\nBcc: x@evil.example",)),
        ("to", ("Kepala\r\nBcc: x@evil.example <distanak@kukarkab.go.id>",)),
        ("to", ("distanak@kukarkab.go.id, x@evil.example",)),
        ("to", ("bukan alamat",)),
        ("to", ()),
        ("cc", ("x@localhost",)),
        ("sender", "tkksd@kukarkab.go.id\nX-Evil: 1"),
        ("reply_to", "<x@evil.example>\r\n"),
        ("message_id", "<outbox-1@kukarkab.go.id>\r\nBcc: x@evil.example"),
        ("message_id", "outbox-1"),
        ("headers", (("Bcc", "x@evil.example"),)),
        ("headers", (("X-Bad Name", "v"),)),
        ("headers", (("X-Bad\r\nBcc", "v"),)),
    ],
)
def test_unsafe_addresses_and_headers_are_refused(field, value):
    with pytest.raises(InvalidMessage) as caught:
        build_email(message(**{field: value}))
    assert caught.value.message_id is not None
    assert "\n" not in str(caught.value)


_free_text = st.text(st.characters(codec="utf-8"), max_size=80)
# Text that also looks like RFC 2047 encoded words, with CR/LF/NUL among the encoded octets.
_encoded_words = st.builds(
    lambda head, charset, kind, body, tail: f"{head}=?{charset}?{kind}?{body}?={tail}",
    _free_text,
    st.sampled_from(["utf-8", "us-ascii", "iso-8859-1"]),
    st.sampled_from(["q", "Q", "b"]),
    st.one_of(
        st.text(alphabet="=0ADa_Bcc:x@evil.YQ", max_size=30),
        st.sampled_from(["a=0D=0ABcc:_x@evil.example", "YQ0KQmNjOiB4QGV2aWwuZXhhbXBsZQ==", "=00=0D=0A"]),
    ),
    _free_text,
)
_hostile = st.one_of(_free_text, _encoded_words)


@settings(max_examples=200, deadline=None)
@given(subject=_hostile, value=_hostile, name=_hostile)
def test_no_text_ever_adds_a_header(subject, value, name):
    # Whatever a user types into a title, a header value or a display name...
    msg = message(
        subject=subject,
        headers=(("X-TKKSD-Key", value),),
        to=(f'"{name}" <distanak@kukarkab.go.id>',),
    )
    try:
        parsed = parse(msg)
    except InvalidMessage:
        return  # ...it is refused (control characters in an address)...
    # ...or it arrives as exactly the headers we meant.
    assert set(k.lower() for k in parsed.keys()) == BASE_HEADERS | {"x-tkksd-key"}
    assert len(parsed.get_all("Subject")) == 1
    assert [a.addr_spec for a in parsed["To"].addresses] == ["distanak@kukarkab.go.id"]


@pytest.mark.parametrize(
    "address, ok",
    [
        ("distanak@kukarkab.go.id", True),
        ("kepala.dinas+tkksd@kukarkab.go.id", True),
        ("a_b-c@mail.kukar-kab.go.id", True),
        ("distanak@kukarkab", False),
        ("distanak@-kukar.go.id", False),
        ("Distanak <distanak@kukarkab.go.id>", False),
        ("distanak@kukarkab.go.id\n", False),
        ("dist anak@kukarkab.go.id", False),
        ('"dist anak"@kukarkab.go.id', False),
        ("distanak@[10.0.0.1]", False),
        ("dinas@pertanian.id, x@evil.example", False),
        ("pertanian@kukarkab.go.id.", False),
        ("pértanian@kukarkab.go.id", False),
        ("@kukarkab.go.id", False),
        ("", False),
        (None, False),
    ],
)
def test_valid_address(address, ok):
    assert valid_address(address) is ok


# -- outcomes, errors, backoff ----------------------------------------------------------------


def test_outcome_rules():
    sent = Outcome("<m@x.id>", "sent", refused=[("a@x.id", 550, "no"), ("b@x.id", 451, "later")])
    assert sent.delivered
    assert sent.refused[0] == Refusal("a@x.id", 550, "no")
    assert sent.permanently_refused == ("a@x.id",) and sent.temporarily_refused == ("b@x.id",)
    with pytest.raises(ValueError):
        Outcome("<m@x.id>", "lost")
    with pytest.raises(ValueError):
        Outcome("<m@x.id>", "failed")  # a failure needs its sentence


def test_outcome_from_error():
    retry = Outcome.from_error(TransientError("Try later.", code=451), "<m@x.id>")
    failed = Outcome.from_error(PermanentError("No such user.", code=550), "<m@x.id>")
    invalid = Outcome.from_error(InvalidMessage("Bad address."), "<m@x.id>")
    assert (retry.status, retry.code, retry.error) == ("retry", 451, "Try later.")
    assert (failed.status, failed.code) == ("failed", 550)
    assert invalid.status == "failed"


def test_errors_carry_context():
    err = PermanentError("The server replied 550.", message_id="<m@x.id>", code=550, reply="5.1.1 unknown")
    assert isinstance(err, NotifierError)
    assert (str(err), err.message_id, err.code, err.reply) == ("The server replied 550.", "<m@x.id>", 550, "5.1.1 unknown")


def test_backoff_is_exponential_with_full_jitter_and_capped():
    top = lambda: 1.0  # noqa: E731 - the largest draw
    assert [backoff_seconds(n, rng=top) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff_seconds(20, rng=top) == 6 * 3600
    assert backoff_seconds(10_000, rng=top) == 6 * 3600  # no overflow
    assert backoff_seconds(5, rng=lambda: 0.0) == 0.0
    assert backoff_seconds(3, base=10, cap=25, rng=lambda: 0.5) == 12.5
    assert all(0 <= backoff_seconds(4) <= 480 for _ in range(200))
    with pytest.raises(ValueError):
        backoff_seconds(0)


def test_policy_caches_change_no_byte():
    # The caching policy must serialise exactly as the standard one with the same line limit.
    plain = default_policy.clone(max_line_length=998, linesep="\r\n")
    cached = MAIL_POLICY.clone(linesep="\r\n")
    when = datetime(2026, 11, 29, 0, 0, tzinfo=timezone.utc)
    for n in range(3):  # later rounds hit the caches
        built = build_email(message(cc=("kerjasama@kukarkab.go.id",), headers=(("X-TKKSD-Key", f"k{n}"),)), date=when)
        assert built.as_bytes(policy=cached) == built.as_bytes(policy=plain)
        assert built.as_bytes(policy=cached.clone(cte_type="7bit")) == built.as_bytes(policy=plain.clone(cte_type="7bit"))
