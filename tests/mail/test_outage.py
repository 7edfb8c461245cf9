"""An SMTP server that goes away and comes back (issue 13, point 5): the drain stops trying after
a few connection failures in a pass (a circuit breaker, said once), the messages that give up
meanwhile make one incident and one mail to the secretariat, and `tkksd outbox retry --all`
sends the backlog at once. A real aiosmtpd server, stopped and started again on its port, and
`tkksd daemon --once` as a real process."""

from __future__ import annotations

from collections import Counter

from .conftest import smtp_sections
from .outboxrows import incidents_of, put, row, rows

CONTACT = "kerjasama@opd.kukar.example"


def _settings(server) -> dict:
    sections = smtp_sections(server)
    # One attempt: a message that meets the dead server gives up at once (the outage's member).
    sections["mail"]["max_attempts"] = 1
    sections["daemon"] = {"batch_size": 100}
    return sections


def test_an_outage_is_one_incident_one_mail_and_retry_all_sends_the_backlog(mail_ctx, smtpd, cli):
    server = smtpd()
    port = server.port
    ctx = mail_ctx(_settings(server))
    ours = [put(ctx, [f"opd{i}@opd.kukar.example"]) for i in range(12)]
    server.stop()

    down = cli("daemon", "--once")
    tried = [oid for oid in ours if row(ctx, oid).status == "failed"]
    untried = [oid for oid in ours if row(ctx, oid).status == "pending"]
    # The breaker opened: a few messages met the dead server (three failures, plus what the
    # other four connections had in hand), the rest were not even tried.
    assert 3 <= len(tried) <= 7 and untried and all(row(ctx, oid).attempts == 0 for oid in untried)
    assert down.stderr.count("tidak dapat dihubungi") >= 1
    assert "menyusul" in down.stdout or "satu putaran" in down.stdout
    (incident,) = incidents_of(ctx)
    assert incident.kind == "mail_outage" and incident.resolved_at is None
    assert "tidak dapat dihubungi sejak" in incident.message and "surel tidak terkirim" in incident.message
    assert all(f"[outage #{incident.id}]" in row(ctx, oid).last_error for oid in tried)
    assert rows(ctx, kind="incident") == [] and rows(ctx, kind="mail_outage") == []  # no mail per message

    back = smtpd(server.recorder, port=port)  # the same server, back on its port
    cli("daemon", "--once")
    # Mail flows again: what had waited went out, and the outage's one mail to the secretariat
    # is written (it goes with the next pass).
    assert all(row(ctx, oid).status == "sent" for oid in untried)
    (letter,) = rows(ctx, kind="mail_outage")
    assert letter.to_addrs == [CONTACT]
    assert rows(ctx, kind="incident") == [] and len(incidents_of(ctx)) == 1

    failed = len(rows(ctx, status="failed"))
    out = cli("outbox", "retry", "--all").stdout
    assert failed >= len(tried) and out.startswith(f"{failed} surel berstatus gagal kini menunggu lagi")
    assert incidents_of(ctx)[0].resolved_at is not None  # the operator acted: the outage is settled
    cli("daemon", "--once")
    assert all(row(ctx, oid).status == "sent" for oid in ours)
    letter = row(ctx, letter.id)
    assert letter.status == "sent" and all(row(ctx, oid).message_id in letter.text_body for oid in tried)
    assert "tidak dapat dihubungi" in letter.text_body and "WITA" in letter.text_body
    # Every message arrived once; the outage made one incident and one letter, never one per message.
    arrived = Counter(r.message_id for r in back.recorder.accepted())
    assert all(arrived[row(ctx, oid).message_id] == 1 for oid in ours)
    assert len(incidents_of(ctx)) == 1 and len(rows(ctx, kind="mail_outage")) == 1 and rows(ctx, kind="incident") == []
    assert cli("outbox", "list", "--status", "failed", "--json").json() == []


def test_the_breaker_stops_a_pass_after_a_few_connection_failures(mail_ctx, smtpd):
    from engine.mail.outbox import drain_all

    server = smtpd()
    sections = smtp_sections(server, concurrency=1)
    ctx = mail_ctx(sections)
    ours = [put(ctx, [f"opd{i}@opd.kukar.example"]) for i in range(10)]
    server.stop()
    result = drain_all(ctx, daemon_id="t")
    attempts = Counter(row(ctx, oid).attempts for oid in ours)
    # One connection at a time: exactly three tries, then nothing more in this pass.
    assert attempts == {1: 3, 0: 7} and result.sent == 0 and result.failed == 0
    assert all(row(ctx, oid).status == "pending" for oid in ours) and incidents_of(ctx) == []
