"""SmtpTransport against real aiosmtpd servers: security modes, AUTH, and misbehaving servers."""

from __future__ import annotations

import asyncio
import ssl
import time

import pytest
from .smtp_fakes import (
    Authenticator,
    DropHandler,
    No8BitHandler,
    RcptHandler,
    RecordingHandler,
    ScriptedDataHandler,
    SlowHandler,
)
from .samples import TITLE

from notifiers.base import Message
from notifiers.errors import ConfigurationError
from notifiers.smtp import SmtpTransport

SENDER = "TKKSD Kukar <tkksd@kukarkab.go.id>"


def message(n: int = 1, **overrides) -> Message:
    values = {
        "message_id": f"<outbox-{n}.tkksd@kukarkab.go.id>",
        "sender": SENDER,
        "to": ("Kepala Dinas Pertanian <distanak@kukarkab.go.id>",),
        "cc": ("kerjasama@kukarkab.go.id",),
        "subject": f"[TKKSD] Pengingat {n}: {TITLE}",
        "text": f"Dengan hormat,\n\n{TITLE}\n",
        "html": f"<p>Dengan hormat,</p><p>{TITLE}</p>",
        "headers": (("X-TKKSD-Key", f"reminder:KS-2024-0017:{n}"),),
    }
    values.update(overrides)
    return Message(**values)


def transport(port: int, **options) -> SmtpTransport:
    options.setdefault("security", "none")
    options.setdefault("timeout", 5.0)
    options.setdefault("connect_timeout", 5.0)
    return SmtpTransport("127.0.0.1", port, **options)


def deliver(t: SmtpTransport, *messages: Message):
    return asyncio.run(t.deliver(list(messages)))


# -- plain delivery and what arrives ---------------------------------------------------------


def test_plain_delivery_arrives_intact(smtp_server):
    server = smtp_server()
    [outcome] = deliver(transport(server.port), message(1))

    assert outcome.status == "sent" and outcome.refused == () and outcome.error is None
    [got] = server.handler.received
    assert got.mail_from == "tkksd@kukarkab.go.id"
    assert got.rcpt_tos == ["distanak@kukarkab.go.id", "kerjasama@kukarkab.go.id"]
    parsed = got.parsed()
    assert parsed.get_content_type() == "multipart/alternative"
    plain, html = parsed.iter_parts()
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert plain.get_content_charset() == "utf-8"
    assert TITLE in plain.get_content() and TITLE in html.get_content()
    assert parsed["Subject"] == f"[TKKSD] Pengingat 1: {TITLE}"
    assert parsed["Message-ID"] == "<outbox-1.tkksd@kukarkab.go.id>"
    assert parsed["X-TKKSD-Key"] == "reminder:KS-2024-0017:1"
    assert parsed["From"] == SENDER
    assert parsed["Cc"] == "kerjasama@kukarkab.go.id"
    assert parsed["Date"] is not None
    assert parsed["Auto-Submitted"] == "auto-generated"


def test_server_without_8bitmime_gets_7bit(smtp_server):
    server = smtp_server(No8BitHandler())
    [outcome] = deliver(transport(server.port), message(1))
    assert outcome.status == "sent"
    [got] = server.handler.received
    assert got.content.isascii()
    plain = got.parsed().get_body(("plain",))
    assert plain["Content-Transfer-Encoding"] in ("base64", "quoted-printable")
    assert TITLE in plain.get_content()


def test_long_indonesian_subject_reads_back_unchanged(smtp_server):
    server = smtp_server()
    subject = "[TKKSD] Pengingat: tahap Verifikasi & Kajian KS-2024-0017 terlambat 9 hari: " + TITLE
    deliver(transport(server.port), message(1, subject=subject))
    assert server.handler.received[0].parsed()["Subject"] == subject


def test_envelope_sender_override(smtp_server):
    server = smtp_server()
    deliver(transport(server.port, sender="bounces@kukarkab.go.id"), message(1))
    assert server.handler.received[0].mail_from == "bounces@kukarkab.go.id"


def test_connections_are_reused_up_to_concurrency(smtp_server):
    server = smtp_server()
    outcomes = deliver(transport(server.port, concurrency=2), *(message(n) for n in range(10)))

    assert [o.status for o in outcomes] == ["sent"] * 10
    assert [o.message_id for o in outcomes] == [message(n).message_id for n in range(10)]
    assert len(server.handler.peers) <= 2
    assert sorted(server.handler.message_ids()) == sorted(message(n).message_id for n in range(10))


def test_a_session_keeps_the_connections_from_batch_to_batch(smtp_server):
    server = smtp_server()
    t = transport(server.port, concurrency=2)

    async def batches():
        async with t.session():
            with pytest.raises(RuntimeError):
                async with t.session():
                    pass
            first = await t.deliver([message(n) for n in range(4)])
            second = await t.deliver([message(n) for n in range(4, 9)])
        return first + second

    outcomes = asyncio.run(batches())
    assert [o.status for o in outcomes] == ["sent"] * 9
    assert len(server.handler.peers) == 2  # two batches, the same two connections
    assert sorted(server.handler.message_ids()) == sorted(message(n).message_id for n in range(9))
    # Outside a session, a batch has its own connections again.
    deliver(t, message(9))
    assert len(server.handler.peers) == 3


def test_a_connection_parked_too_long_is_replaced(smtp_server, monkeypatch):
    import notifiers.smtp

    monkeypatch.setattr(notifiers.smtp, "MAX_IDLE_SECONDS", 0.0)
    server = smtp_server()
    t = transport(server.port, concurrency=1)

    async def batches():
        async with t.session():
            await t.deliver([message(1)])
            await asyncio.sleep(0.01)
            return await t.deliver([message(2)])

    assert [o.status for o in asyncio.run(batches())] == ["sent"]
    assert len(server.handler.peers) == 2


# -- TLS and AUTH -----------------------------------------------------------------------------


def test_starttls_delivery(smtp_server, server_tls, client_tls):
    server = smtp_server(tls_context=server_tls, require_starttls=True)
    [outcome] = deliver(transport(server.port, security="starttls", tls_context=client_tls), message(1))
    assert outcome.status == "sent"
    assert len(server.handler.received) == 1


def test_starttls_with_cafile(smtp_server, server_tls, ca, tmp_path):
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    server = smtp_server(tls_context=server_tls, require_starttls=True)
    [outcome] = deliver(transport(server.port, security="starttls", cafile=str(cafile)), message(1))
    assert outcome.status == "sent"


def test_implicit_tls_delivery(smtp_server, server_tls, client_tls):
    server = smtp_server(ssl_context=server_tls)
    [outcome] = deliver(transport(server.port, security="tls", tls_context=client_tls), message(1))
    assert outcome.status == "sent"
    assert len(server.handler.received) == 1


def test_mandatory_starttls_never_falls_back_to_plaintext(smtp_server):
    # Given a server that does not offer STARTTLS (or an attacker who stripped it)
    server = smtp_server()
    # When the transport requires STARTTLS
    [outcome] = deliver(transport(server.port, security="starttls"), message(1))
    # I expect an error and nothing sent in the clear
    assert outcome.status == "retry"
    assert "does not offer STARTTLS" in outcome.error
    assert server.handler.received == []


def test_untrusted_certificate_is_refused(smtp_server, server_tls):
    server = smtp_server(tls_context=server_tls, require_starttls=True)
    untrusting = ssl.create_default_context()  # system CAs only: the test CA is unknown
    [outcome] = deliver(transport(server.port, security="starttls", tls_context=untrusting), message(1))
    assert outcome.status == "retry"
    assert "certificate" in outcome.error.lower()
    assert server.handler.received == []


@pytest.mark.parametrize("mechanism, excluded", [("PLAIN", "LOGIN"), ("LOGIN", "PLAIN")])
def test_auth_over_starttls(smtp_server, server_tls, client_tls, mechanism, excluded):
    auth = Authenticator("tkksd", "rahasia-Kukar-2026")
    server = smtp_server(
        tls_context=server_tls,
        require_starttls=True,
        authenticator=auth,
        auth_required=True,
        auth_require_tls=True,  # aiosmtpd's default: AUTH only after STARTTLS
        auth_exclude_mechanism=[excluded],  # exercise PLAIN and LOGIN in turn
    )
    t = transport(server.port, security="starttls", tls_context=client_tls, username="tkksd", password="rahasia-Kukar-2026")
    [outcome] = deliver(t, message(1))
    assert outcome.status == "sent"
    assert auth.attempts == [b"tkksd"] and auth.mechanisms == [mechanism]


def test_wrong_password_is_retry_and_never_shown(smtp_server, server_tls, client_tls):
    secret = "salah-Sandi-99"
    server = smtp_server(tls_context=server_tls, require_starttls=True, authenticator=Authenticator("tkksd", "benar"), auth_required=True)
    t = transport(server.port, security="starttls", tls_context=client_tls, username="tkksd", password=secret)
    [outcome] = deliver(t, message(1))

    assert outcome.status == "retry"
    assert "refused the login" in outcome.error
    assert secret not in outcome.error and secret not in repr(t)
    assert server.handler.received == []


def test_credentials_over_plaintext_are_refused():
    with pytest.raises(ConfigurationError, match="unencrypted"):
        SmtpTransport("127.0.0.1", 2525, security="none", username="tkksd", password="x")


@pytest.mark.parametrize(
    "options",
    [
        {"security": "ssl"},
        {"concurrency": 0},
        {"timeout": 0},
        {"password": "x"},
        {"sender": "TKKSD <tkksd@kukarkab.go.id>"},
        {"tls_context": ssl.create_default_context(), "cafile": "/tmp/ca.pem"},
    ],
)
def test_bad_options_are_refused(options):
    with pytest.raises(ConfigurationError):
        SmtpTransport("127.0.0.1", **options)


# -- misbehaving servers ----------------------------------------------------------------------


def test_4xx_then_success(smtp_server):
    server = smtp_server(ScriptedDataHandler(script=["451 4.3.0 Sistem sibuk, coba lagi"]))
    t = transport(server.port)

    [first] = deliver(t, message(1))
    assert first.status == "retry" and first.code == 451
    assert "451" in first.error

    [second] = deliver(t, message(1))
    assert second.status == "sent"
    assert server.handler.message_ids() == ["<outbox-1.tkksd@kukarkab.go.id>"]


def test_5xx_is_failed_and_the_connection_is_kept(smtp_server):
    server = smtp_server(ScriptedDataHandler(script=["554 5.7.1 Pesan ditolak"]))
    outcomes = deliver(transport(server.port, concurrency=1), message(1), message(2))

    assert [o.status for o in outcomes] == ["failed", "sent"]
    assert outcomes[0].code == 554 and "554" in outcomes[0].error
    assert len(server.handler.peers) == 1  # RSET, not reconnect


def test_drop_in_the_middle_of_data_loses_nothing(smtp_server):
    dropped = message(2)
    server = smtp_server(DropHandler(drop_subjects={dropped.subject}))
    t = transport(server.port, concurrency=1)

    outcomes = deliver(t, message(1), dropped, message(3))
    assert [o.status for o in outcomes] == ["sent", "retry", "sent"]
    assert "lost" in outcomes[1].error

    [again] = deliver(t, dropped)
    assert again.status == "sent"
    assert sorted(server.handler.message_ids()) == sorted(m.message_id for m in (message(1), dropped, message(3)))


def test_reply_slower_than_the_timeout(smtp_server):
    server = smtp_server(SlowHandler(data_delay=5.0))
    started = time.monotonic()
    [outcome] = deliver(transport(server.port, timeout=1.0), message(1))
    elapsed = time.monotonic() - started

    assert outcome.status == "retry"
    assert 0.9 <= elapsed < 2.0


def test_whole_send_bound_is_honoured(smtp_server):
    # Given a server answering each command in 0.4 s: no single reply exceeds the 1 s timeout,
    # but MAIL + 2 RCPT + DATA take 1.6 s in all.
    server = smtp_server(SlowHandler(delay=0.4))
    started = time.monotonic()
    [outcome] = deliver(transport(server.port, timeout=1.0), message(1))
    elapsed = time.monotonic() - started

    # I expect the send to be cut at about 1 s, not after 1.6 s.
    assert outcome.status == "retry"
    assert "longer than 1 s" in outcome.error
    assert 0.9 <= elapsed < 1.5


def test_partial_refusal_is_sent_with_refusals_listed(smtp_server):
    handler = RcptHandler(refuse={"kerjasama@kukarkab.go.id": "550 5.1.1 Tidak dikenal", "bappeda@kukarkab.go.id": "452 4.2.2 Kotak penuh"})
    server = smtp_server(handler)
    msg = message(1, cc=("kerjasama@kukarkab.go.id", "bappeda@kukarkab.go.id"))
    [outcome] = deliver(transport(server.port), msg)

    assert outcome.status == "sent"
    assert sorted(outcome.refused) == [
        ("bappeda@kukarkab.go.id", 452, "4.2.2 Kotak penuh"),
        ("kerjasama@kukarkab.go.id", 550, "5.1.1 Tidak dikenal"),
    ]
    assert outcome.permanently_refused == ("kerjasama@kukarkab.go.id",)
    assert outcome.temporarily_refused == ("bappeda@kukarkab.go.id",)
    assert server.handler.received[0].rcpt_tos == ["distanak@kukarkab.go.id"]


def test_all_recipients_refused_permanently_is_failed(smtp_server):
    server = smtp_server(RcptHandler(refuse={"distanak@kukarkab.go.id": "550 5.1.1 Tidak dikenal"}))
    [outcome] = deliver(transport(server.port), message(1, cc=()))
    assert outcome.status == "failed"
    assert outcome.refused == (("distanak@kukarkab.go.id", 550, "5.1.1 Tidak dikenal"),)


def test_all_recipients_refused_with_a_4xx_is_retry(smtp_server):
    refuse = {"distanak@kukarkab.go.id": "550 5.1.1 Tidak dikenal", "kerjasama@kukarkab.go.id": "451 4.3.0 Nanti"}
    server = smtp_server(RcptHandler(refuse=refuse))
    [outcome] = deliver(transport(server.port), message(1))
    assert outcome.status == "retry"
    assert len(outcome.refused) == 2


def test_connection_refused_is_retry():
    from .conftest import free_port

    [outcome] = deliver(transport(free_port(), connect_timeout=2.0), message(1))
    assert outcome.status == "retry"
    assert "Could not connect" in outcome.error


def test_invalid_message_fails_without_touching_the_server(smtp_server):
    server = smtp_server()
    bad = message(1, to=("kadis@kukarkab.go.id\r\nRCPT TO:<x@evil.example>",))
    outcomes = deliver(transport(server.port), bad, message(2))
    assert [o.status for o in outcomes] == ["failed", "sent"]
    assert "control character" in outcomes[0].error
    assert server.handler.message_ids() == ["<outbox-2.tkksd@kukarkab.go.id>"]


def test_cancelled_delivery_closes_at_once(smtp_server):
    # Given a batch stuck on a slow server (the daemon is being stopped)
    server = smtp_server(SlowHandler(data_delay=5.0))
    t = transport(server.port, timeout=30.0, concurrency=2)

    async def stop_early():
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(t.deliver([message(1), message(2), message(3)]), 0.5)

    started = time.monotonic()
    asyncio.run(stop_early())
    # I expect the cancellation to close the connections without waiting for QUIT.
    assert time.monotonic() - started < 2.0


def test_closed_transport_refuses_work(smtp_server):
    t = transport(smtp_server().port)
    asyncio.run(t.aclose())
    with pytest.raises(RuntimeError):
        deliver(t, message(1))


def test_recording_handler_is_plain(smtp_server):
    # The plain handler also serves as a sanity check of the fixture itself.
    server = smtp_server(RecordingHandler())
    assert deliver(transport(server.port))== []
    assert server.handler.received == []
