"""The outbox drain against real aiosmtpd servers: each outcome kind end to end, on SQLite
and PostgreSQL. Messages are parsed back with the standard ``email`` package."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from engine.mail.outbox import claim, drain_all, drain_once, record
from tests.helpers import add_service

from .conftest import smtp_sections
from .outboxrows import incidents_of, put, row, rows
from .smtpd import Recorder

CONTACT = "kerjasama@opd.kukar.example"


def later(ctx, **delta):
    ctx.clock = ctx.clock.advanced(timedelta(**delta))


def fail_first(mid_to_fail_holder, reply):
    """decide(): ``reply`` the first time the given Message-ID arrives, accept afterwards."""
    return lambda mid, n: reply if mid in mid_to_fail_holder and n == 0 else "ok"


def test_transition_notice_over_plain_smtp_is_parsed_back_intact(mail_ctx, smtpd):
    server = smtpd()
    ctx = mail_ctx(smtp_sections(server))
    title = "Kesepakatan Bersama — ketahanan pangan Desa Loa Ipuh, Tenggarong"
    ref = add_service(ctx, title=title, partner="Otorita Ibu Kota Nusantara")
    result = drain_once(ctx, daemon_id="t1")
    assert (result.sent, result.claimed) == (1, 1)
    (got,) = server.recorder.accepted()
    (stored,) = rows(ctx, status="sent")
    msg = got.parsed()
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.get_payload()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    assert title in text.get_content() and "Dengan hormat" in text.get_content()
    assert "ketahanan pangan Desa Loa Ipuh" in html.get_content()
    assert msg["Message-ID"] == stored.message_id
    assert str(msg["To"]) == "dkp@opd.kukar.example" and str(msg["Cc"]) == CONTACT
    assert msg["From"].addresses[0].addr_spec == "tkksd@opd.kukar.example"
    assert msg["Reply-To"].addresses[0].addr_spec == CONTACT
    assert ref in str(msg["Subject"]) and "\n" not in str(msg["Subject"])
    assert sorted(got.rcpt_tos) == sorted(["dkp@opd.kukar.example", CONTACT])
    assert stored.sent_at is not None and stored.attempts == 1 and stored.claimed_by is None


def test_starttls_with_auth_from_the_environment(mail_ctx, smtpd, server_tls, ca_file):
    server = smtpd(tls_context=server_tls, users={"tkksd": "rahasia-123"})
    sections = smtp_sections(server, "starttls", username="tkksd", cafile=str(ca_file))
    ctx = mail_ctx(sections, TKKSD_SMTP_PASSWORD="rahasia-123")
    put(ctx, ["dkp@opd.kukar.example"])
    assert drain_once(ctx, daemon_id="t").sent == 1
    assert server.logins == ["tkksd"] and len(server.recorder.accepted()) == 1


def test_wrong_password_is_retried_and_never_recorded(mail_ctx, smtpd, server_tls, ca_file):
    server = smtpd(tls_context=server_tls, users={"tkksd": "rahasia-123"})
    sections = smtp_sections(server, "starttls", username="tkksd", cafile=str(ca_file))
    ctx = mail_ctx(sections, TKKSD_SMTP_PASSWORD="salah-sandi-987")
    oid = put(ctx, ["dkp@opd.kukar.example"])
    assert drain_once(ctx, daemon_id="t").retried == 1
    r = row(ctx, oid)
    assert r.status == "pending" and "535" in r.last_error and "salah-sandi-987" not in r.last_error


def test_implicit_tls(mail_ctx, smtpd, server_tls, ca_file):
    server = smtpd(tls_context=server_tls, implicit_tls=True)
    ctx = mail_ctx(smtp_sections(server, "tls", cafile=str(ca_file)))
    put(ctx, ["dkp@opd.kukar.example"])
    assert drain_once(ctx, daemon_id="t").sent == 1
    assert len(server.recorder.accepted()) == 1


def test_starttls_is_mandatory_once_chosen(mail_ctx, smtpd, ca_file):
    server = smtpd()  # plaintext only, no STARTTLS offered
    ctx = mail_ctx(smtp_sections(server, "starttls", cafile=str(ca_file)))
    oid = put(ctx, ["dkp@opd.kukar.example"])
    assert drain_once(ctx, daemon_id="t").retried == 1
    assert server.recorder.received == [] and "STARTTLS" in row(ctx, oid).last_error


def test_4xx_then_success(mail_ctx, smtpd):
    failing = set()
    server = smtpd(Recorder(decide=fail_first(failing, "451 4.3.0 Coba lagi nanti")))
    ctx = mail_ctx(smtp_sections(server))
    oid = put(ctx, ["dkp@opd.kukar.example"])
    failing.add(row(ctx, oid).message_id)
    assert drain_once(ctx, daemon_id="t").retried == 1
    r = row(ctx, oid)
    assert r.status == "pending" and r.attempts == 1 and "451" in r.last_error
    assert ctx.clock.now() < r.next_attempt_at <= ctx.clock.now() + timedelta(seconds=60)
    assert drain_once(ctx, daemon_id="t").claimed == 0  # not due yet
    later(ctx, minutes=2)
    assert drain_once(ctx, daemon_id="t").sent == 1
    assert row(ctx, oid).status == "sent" and server.recorder.ids()[r.message_id] == 1


def test_5xx_fails_raises_an_incident_and_mails_the_secretariat(mail_ctx, smtpd):
    failing = set()
    server = smtpd(Recorder(decide=fail_first(failing, "554 5.7.1 Ditolak oleh kebijakan")))
    ctx = mail_ctx(smtp_sections(server))
    oid = put(ctx, ["dkp@opd.kukar.example"])
    failing.add(row(ctx, oid).message_id)
    assert drain_once(ctx, daemon_id="t").failed == 1
    r = row(ctx, oid)
    assert r.status == "failed" and "554" in r.last_error and r.attempts == 1
    (incident,) = incidents_of(ctx)
    assert incident.kind == "delivery_failed" and incident.outbox_id == oid and r.message_id in incident.message
    (notice,) = rows(ctx, kind="incident")
    assert notice.to_addrs == [CONTACT] and notice.dedupe_key == f"incident:outbox:{oid}"
    assert drain_once(ctx, daemon_id="t").sent == 1  # the incident e-mail itself goes out
    msg = server.recorder.accepted()[-1].parsed()
    assert r.message_id in msg.get_body(("plain",)).get_content()
    assert row(ctx, oid).status == "failed"  # nothing deleted


def test_drop_before_the_reply_is_retried_and_delivered_with_the_same_message_id(mail_ctx, smtpd):
    failing = set()
    server = smtpd(Recorder(decide=fail_first(failing, "drop")))
    ctx = mail_ctx(smtp_sections(server))
    oid = put(ctx, ["dkp@opd.kukar.example"])
    mid = row(ctx, oid).message_id
    failing.add(mid)
    assert drain_once(ctx, daemon_id="t").retried == 1
    later(ctx, minutes=2)
    assert drain_once(ctx, daemon_id="t").sent == 1
    assert server.recorder.ids()[mid] == 2  # the lost-reply duplicate, recognisable by Message-ID


def test_reply_slower_than_the_timeout_is_retried(mail_ctx, smtpd):
    failing = set()
    server = smtpd(Recorder(decide=fail_first(failing, ("sleep", 2.5))))
    ctx = mail_ctx(smtp_sections(server, timeout_seconds=1))
    oid = put(ctx, ["dkp@opd.kukar.example"])
    failing.add(row(ctx, oid).message_id)
    assert drain_once(ctx, daemon_id="t").retried == 1
    assert "longer than" in row(ctx, oid).last_error
    later(ctx, minutes=2)
    assert drain_once(ctx, daemon_id="t").sent == 1


def test_partial_refusal_is_handled_per_recipient(mail_ctx, smtpd):
    recorder = Recorder(refuse_rcpt={"pindah@opd.kukar.example": "550 5.1.1 No such user",
                                     "penuh@opd.kukar.example": "452 4.2.2 Mailbox full"})
    server = smtpd(recorder)
    ctx = mail_ctx(smtp_sections(server))
    oid = put(ctx, ["dkp@opd.kukar.example"], ["pindah@opd.kukar.example", "penuh@opd.kukar.example"])
    assert drain_once(ctx, daemon_id="t").sent == 1
    r = row(ctx, oid)
    assert r.status == "sent"
    assert sorted((x["recipient"], x["code"]) for x in r.refused) == [
        ("penuh@opd.kukar.example", 452), ("pindah@opd.kukar.example", 550)]
    (incident,) = incidents_of(ctx)
    assert incident.kind == "recipient_refused" and "pindah@opd.kukar.example" in incident.message
    assert "penuh@" not in incident.message
    (copy,) = [x for x in rows(ctx, status="pending") if x.kind == "mail_test"]
    assert copy.to_addrs == ["penuh@opd.kukar.example"] and copy.message_id == r.message_id
    recorder.refuse_rcpt.clear()
    later(ctx, minutes=1)
    assert drain_once(ctx, daemon_id="t").sent == 2  # the copy and the incident e-mail
    assert row(ctx, copy.id).status == "sent"
    assert ["penuh@opd.kukar.example"] in [x.rcpt_tos for x in recorder.accepted()]


def test_gives_up_after_max_attempts(mail_ctx, smtpd):
    failing = set()
    server = smtpd(Recorder(decide=lambda mid, n: "421 4.7.0 Sibuk" if mid in failing else "ok"))
    sections = smtp_sections(server)
    sections["mail"]["max_attempts"] = 2
    ctx = mail_ctx(sections)
    oid = put(ctx, ["dkp@opd.kukar.example"])
    failing.add(row(ctx, oid).message_id)
    assert drain_once(ctx, daemon_id="t").retried == 1
    later(ctx, minutes=2)
    assert drain_once(ctx, daemon_id="t").failed == 1
    r = row(ctx, oid)
    assert r.status == "failed" and r.attempts == 2 and "gave up after 2 attempt" in r.last_error
    assert [i.kind for i in incidents_of(ctx)] == ["delivery_failed"]


def test_gives_up_after_max_age(mail_ctx, smtpd):
    failing = set()
    server = smtpd(Recorder(decide=lambda mid, n: "450 4.2.0 Nanti" if mid in failing else "ok"))
    ctx = mail_ctx(smtp_sections(server))  # max_age_hours = 72 by default
    oid = put(ctx, ["dkp@opd.kukar.example"])
    failing.add(row(ctx, oid).message_id)
    later(ctx, hours=73)
    assert drain_once(ctx, daemon_id="t").failed == 1
    assert row(ctx, oid).status == "failed"


def test_a_failed_incident_mail_raises_no_incident_mail(mail_ctx, smtpd):
    server = smtpd(Recorder(decide=lambda mid, n: "550 5.1.1 Unknown"))
    ctx = mail_ctx(smtp_sections(server))
    oid = put(ctx, [CONTACT], kind="incident")
    assert drain_once(ctx, daemon_id="t").failed == 1
    assert [i.kind for i in incidents_of(ctx)] == ["delivery_failed"]
    assert [x.id for x in rows(ctx)] == [oid]  # no new outbox row: no loop


def test_a_lease_keeps_other_daemons_off_until_it_expires(mail_ctx, smtpd):
    server = smtpd()
    ctx = mail_ctx(smtp_sections(server) | {"daemon": {"lease_seconds": 120}})
    oid = put(ctx, ["dkp@opd.kukar.example"])
    held = claim(ctx, daemon_id="a", limit=10)
    assert [r.id for r in held] == [oid]
    assert drain_once(ctx, daemon_id="b").claimed == 0
    later(ctx, seconds=121)
    assert drain_once(ctx, daemon_id="b").sent == 1
    # Daemon a wakes up late: its record changes nothing, b's stands.
    from notifiers.base import Outcome

    late = record(ctx, daemon_id="a", rows=held, outcomes=[Outcome(held[0].message_id, "retry", error="x")])
    assert late.retried == 0 and row(ctx, oid).status == "sent"


@dataclass
class PeerRecorder(Recorder):
    """Also remembers which connection each message came over."""

    peers: set = field(default_factory=set)

    async def handle_DATA(self, server, session, envelope):
        self.peers.add(session.peer)
        return await super().handle_DATA(server, session, envelope)


def test_drain_all_sends_batch_after_batch_over_the_same_connections(mail_ctx, smtpd):
    recorder = PeerRecorder()
    server = smtpd(recorder)
    ctx = mail_ctx(smtp_sections(server, concurrency=2))
    ids = [put(ctx, [f"kepala{i}@opd.kukar.example"]) for i in range(7)]
    result = drain_all(ctx, daemon_id="t", limit=3)
    assert result.as_dict() == {"sent": 7, "retried": 0, "failed": 0, "claimed": 7}
    assert all(row(ctx, i).status == "sent" and row(ctx, i).claimed_by is None for i in ids)
    assert len(recorder.accepted()) == 7
    assert len(recorder.peers) <= 2  # three passes, one pair of connections


def test_drain_all_while_full_and_stop(mail_ctx, smtpd):
    server = smtpd()
    ctx = mail_ctx(smtp_sections(server))
    for i in range(5):
        put(ctx, [f"kepala{i}@opd.kukar.example"])
    stop = threading.Event()
    stop.set()
    assert drain_all(ctx, daemon_id="t", limit=2, stop=stop).claimed == 0
    # A full batch leads to the next; the short one (1 of 2) ends the run.
    assert drain_all(ctx, daemon_id="t", limit=2, while_full=True).as_dict() == {
        "sent": 5, "retried": 0, "failed": 0, "claimed": 5}
    assert rows(ctx, status="pending") == []


def test_drain_all_records_failures_and_claims_what_they_raised(mail_ctx, smtpd):
    # A 5xx in the first batch raises an incident e-mail; the same run sends it.
    failing = set()
    server = smtpd(Recorder(decide=lambda mid, n: "554 5.7.1 Ditolak" if mid in failing else "ok"))
    ctx = mail_ctx(smtp_sections(server))
    bad = put(ctx, ["dkp@opd.kukar.example"])
    failing.add(row(ctx, bad).message_id)
    good = put(ctx, ["kepala1@opd.kukar.example"])
    result = drain_all(ctx, daemon_id="t", limit=2)
    assert (result.sent, result.failed, result.claimed) == (2, 1, 3)
    assert row(ctx, bad).status == "failed" and row(ctx, good).status == "sent"
    (incident_mail,) = rows(ctx, kind="incident")
    assert incident_mail.status == "sent"


def test_a_late_sent_record_leaves_the_new_holders_row_alone(mail_ctx, smtpd):
    from notifiers.base import Outcome

    ctx = mail_ctx(smtp_sections(smtpd()) | {"daemon": {"lease_seconds": 120}})
    oid = put(ctx, ["dkp@opd.kukar.example"])
    held = claim(ctx, daemon_id="a", limit=10)
    later(ctx, seconds=121)
    again = claim(ctx, daemon_id="b", limit=10)
    sent = [Outcome(held[0].message_id, "sent")]
    assert record(ctx, daemon_id="a", rows=held, outcomes=sent).sent == 0
    r = row(ctx, oid)
    assert (r.status, r.claimed_by, r.attempts) == ("pending", "b", 0)
    assert record(ctx, daemon_id="b", rows=again, outcomes=sent).sent == 1
    r = row(ctx, oid)
    assert (r.status, r.claimed_by, r.attempts) == ("sent", None, 1) and r.sent_at is not None
