"""SMTP that cannot get a server banned (issue 17.9 and 17.8): a refused login is tried once per
pass, one incident names the server and the account, no further login until the settings change
or an operator retries; a daemon that starts with such settings exits 9; a missing CA file is a
configuration error naming the setting; cafile adds to the system's CAs; every message carries
Reply-To."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.errors import ConfigurationError
from engine.mail.outbox import drain_all, retry
from engine.store import db
from engine.store.tables import incidents, outbox
from tests.mail.conftest import ca, ca_file, mail_ctx, server_tls, smtp_sections, smtpd  # noqa: F401
from tests.mail.outboxrows import put


def counting(server):
    """Count every AUTH attempt the server sees (aiosmtpd asks the authenticator each time)."""
    seen = []
    original = server._authenticate

    def authenticate(srv, session, envelope, mechanism, auth_data):
        seen.append(mechanism)
        return original(srv, session, envelope, mechanism, auth_data)

    server._authenticate = authenticate
    return seen


def login_incidents(ctx):
    with db.read(ctx.engine) as conn:
        return conn.execute(sa.select(incidents).where(incidents.c.kind == "smtp_login_refused")).all()


def test_a_refused_login_is_tried_once_and_raises_one_incident(mail_ctx, smtpd, server_tls, ca_file):
    server = smtpd(tls_context=server_tls, users={"tkksd": "rahasia-123"})
    logins = counting(server)
    sections = smtp_sections(server, "starttls", username="tkksd", cafile=str(ca_file))
    sections["smtp"]["concurrency"] = 5
    ctx = mail_ctx(sections, TKKSD_SMTP_PASSWORD="salah-sandi-987")
    ids = [put(ctx, [f"opd{i}@opd.kukar.example"]) for i in range(20)]

    first = drain_all(ctx, daemon_id="t")
    assert len(logins) == 1, logins                     # one login attempt, one mechanism
    (incident,) = login_incidents(ctx)
    assert "127.0.0.1" in incident.message and "'tkksd'" in incident.message and "535" in incident.message
    assert "salah-sandi-987" not in incident.message
    with db.read(ctx.engine) as conn:
        states = conn.execute(sa.select(outbox.c.status, outbox.c.attempts, outbox.c.claimed_by)
                              .where(outbox.c.id.in_(ids))).all()
    assert {tuple(s) for s in states} == {("pending", 0, None)}
    assert first.sent == 0

    # The next passes do not log in at all, and add no incident.
    drain_all(ctx, daemon_id="t")
    drain_all(ctx, daemon_id="t2")
    assert len(logins) == 1 and len(login_incidents(ctx)) == 1

    # A daemon starting with these settings exits 9 with the reason, without logging in.
    from engine.mail.preflight import check_mail_login

    with pytest.raises(ConfigurationError, match="refused the login for 'tkksd'"):
        check_mail_login(ctx)
    assert len(logins) == 1

    # New settings (the right password) lift it: everything goes, one login per connection.
    fixed = mail_ctx(sections, TKKSD_SMTP_PASSWORD="rahasia-123")
    assert drain_all(fixed, daemon_id="t").sent == 20
    assert 2 <= len(logins) <= 1 + 5 and len(logins) == 1 + len(server.logins) and set(server.logins) == {"tkksd"}
    assert all(m["Reply-To"] for m in (r.parsed() for r in server.recorder.accepted()))


def test_an_operators_retry_lifts_the_stop(mail_ctx, smtpd, server_tls, ca_file):
    server = smtpd(tls_context=server_tls, users={"tkksd": "rahasia-123"})
    logins = counting(server)
    sections = smtp_sections(server, "starttls", username="tkksd", cafile=str(ca_file))
    ctx = mail_ctx(sections, TKKSD_SMTP_PASSWORD="salah")
    oid = put(ctx, ["dkp@opd.kukar.example"])
    drain_all(ctx, daemon_id="t")
    drain_all(ctx, daemon_id="t")
    assert len(logins) == 1
    retry(ctx, "admin", oid)
    assert login_incidents(ctx)[0].resolved_at is not None
    drain_all(ctx, daemon_id="t")
    assert len(logins) == 2  # tried again once, refused again: a new incident
    assert len([i for i in login_incidents(ctx) if i.resolved_at is None]) == 1


def test_a_daemon_whose_login_is_refused_at_start_exits_9(cli, smtpd, server_tls, ca_file, tmp_path):
    from tests.mail.conftest import write_settings

    server = smtpd(tls_context=server_tls, users={"tkksd": "rahasia-123"})
    logins = counting(server)
    conf = tmp_path / "smtp.toml"
    write_settings(conf, smtp_sections(server, "starttls", username="tkksd", cafile=str(ca_file)))
    extra = {"TKKSD_CONFIG": str(conf), "TKKSD_SMTP_PASSWORD": "salah"}
    r = cli("daemon", "--once", extra_env=extra, check=False)
    assert r.returncode == 9 and "menolak login untuk 'tkksd'" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(logins) == 1
    r = cli("daemon", "--once", extra_env=extra, check=False)
    assert r.returncode == 9 and len(logins) == 1  # still stopped: no second login


def test_a_missing_ca_file_names_the_setting(cli, tmp_path):
    r = cli("mail", "test", "a@b.example", extra_env={"TKKSD_MAIL_TRANSPORT": "smtp",
                                                      "TKKSD_SMTP_CAFILE": str(tmp_path / "nope.pem")}, check=False)
    assert r.returncode == 9 and "[smtp] cafile (TKKSD_SMTP_CAFILE)" in r.stderr, r.stderr


def test_cafile_adds_to_the_system_cas(tmp_path, ca_file):
    import ssl

    from notifiers.smtp import SmtpTransport

    t = SmtpTransport("127.0.0.1", 587, security="starttls", cafile=str(ca_file))
    context = t._context()
    system = ssl.create_default_context()
    assert len(context.get_ca_certs()) == len(system.get_ca_certs()) + 1


def test_the_test_message_has_reply_to(cli, env):
    from pathlib import Path

    r = cli("mail", "test", "a@b.example")
    assert r.returncode == 0
    (path,) = list((Path(env["TKKSD_HOME"]) / "mail" / "new").iterdir())
    text = path.read_text()
    assert "Reply-To: kerjasama@opd.kukar.example" in text
    assert path.stat().st_mode & 0o777 == 0o600


def test_outbox_leases_lapse_in_real_time_whatever_tkksd_now_says(mail_ctx, smtpd, env):
    """A killed daemon's claims lapse after lease_seconds of real time, even with a fixed clock."""
    import time

    from engine.mail.outbox import claim

    server = smtpd()
    sections = smtp_sections(server) | {"daemon": {"lease_seconds": 1}}
    ctx = mail_ctx(sections, TKKSD_NOW="2027-06-01T08:00")
    oid = put(ctx, ["dkp@opd.kukar.example"])
    assert [r.id for r in claim(ctx, daemon_id="killed", limit=10)] == [oid]
    assert claim(ctx, daemon_id="other", limit=10) == []
    time.sleep(1.5)
    fresh = mail_ctx(sections, TKKSD_NOW="2027-06-01T08:00")  # the same fixed business time
    assert [r.id for r in claim(fresh, daemon_id="other", limit=10)] == [oid]


def test_stale_maildir_tmp_files_are_cleaned_at_daemon_start(cli, env):
    import os
    import time
    from pathlib import Path

    from engine.mail.maildir_tmp import clean_stale_tmp

    tmp = Path(env["TKKSD_HOME"]) / "mail" / "tmp"
    tmp.mkdir(parents=True)
    old, fresh = tmp / "1.killed.host", tmp / "2.writing.host"
    old.write_text("half a message")
    fresh.write_text("being written")
    two_days_ago = time.time() - 48 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    r = cli("daemon", "--once", check=False)
    assert r.returncode in (0, 1), r.stderr
    assert not old.exists() and fresh.exists()
    assert clean_stale_tmp(tmp.parent, now=time.time() + 37 * 3600) == 1 and not fresh.exists()


def test_a_setting_that_does_nothing_under_the_maildir_is_a_warning(cli):
    r = cli("daemon", "--once", extra_env={"TKKSD_SMTP_PASSWORD": "rahasia"}, check=False)
    assert r.returncode in (0, 1), r.stderr
    assert "Saluran pengiriman surel adalah 'maildir', sehingga kata sandi SMTP" in r.stderr and "rahasia" not in r.stderr
