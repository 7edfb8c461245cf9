"""`tkksd outbox ...` and `tkksd mail test` as real subprocesses."""

from __future__ import annotations

import mailbox

from tests.helpers import add_service

from .conftest import write_settings
from .outboxrows import put


def _failed_row(ctx):
    import sqlalchemy as sa

    from engine.store import db
    from engine.store.tables import outbox

    oid = put(ctx, ["dkp@opd.kukar.example"])
    with db.write(ctx.engine) as c:
        c.execute(outbox.update().where(outbox.c.id == oid).values(status="failed", attempts=8, last_error="554 no."))
    return oid


def test_outbox_list_show_retry_purge(cli, ctx):
    ref = add_service(ctx)
    failed = _failed_row(ctx)
    listed = cli("outbox", "list", "--json").json()
    assert {r["status"] for r in listed} == {"pending", "failed"}
    assert [r["agreement"] for r in listed if r["kind"] == "transition"] == [ref]
    assert [r["id"] for r in cli("outbox", "list", "--status", "failed", "--json").json()] == [failed]
    human = cli("outbox", "list").stdout
    assert "STATUS" in human and ref in human
    shown = cli("outbox", "show", str(failed), "--json").json()
    assert shown["status"] == "failed" and shown["last_error"] == "554 no." and "text_body" in shown
    assert "Message-ID:" in cli("outbox", "show", str(failed)).stdout

    out = cli("outbox", "retry", str(failed)).stdout
    assert "sebelumnya berstatus gagal dan kini menunggu" in out
    again = cli("outbox", "show", str(failed), "--json").json()
    assert again["status"] == "pending" and again["attempts"] == 0 and again["retried_at"]

    from engine.mail.outbox import drain_once

    assert drain_once(ctx, daemon_id="t").sent == 2
    refused = cli("outbox", "retry", str(failed), check=False)
    assert refused.returncode != 0 and "sudah terkirim" in refused.stderr

    dry = cli("outbox", "purge", "--sent-before", "2100-01-01", "--dry-run").stdout
    assert dry.startswith("2 surel terkirim") and "akan dihapus" in dry
    none = cli("outbox", "purge", "--sent-before", "2000-01-01").stdout
    assert none.startswith("0 surel terkirim") and "telah dihapus" in none
    done = cli("outbox", "purge", "--sent-before", "2100-01-01").stdout
    assert done.startswith("2 surel terkirim") and "telah dihapus" in done
    assert cli("outbox", "list", "--json").json() == []


def test_outbox_refusals_are_one_sentence(cli, ctx):
    missing = cli("outbox", "show", "999", check=False)
    assert missing.returncode != 0 and missing.stderr.strip() == "Kesalahan: Tidak ada surel 999 di kotak keluar."
    bad_date = cli("outbox", "purge", "--sent-before", "kemarin", check=False)
    assert bad_date.returncode != 0 and "ISO-8601" in bad_date.stderr
    cli("user", "add", "budi", "--role", "opd", "--opd", "DKP")
    oid = _failed_row(ctx)
    denied = cli("outbox", "retry", str(oid), user="budi", check=False)
    assert denied.returncode == 4 and "Hanya sekretariat atau admin" in denied.stderr
    assert cli("outbox", "show", str(oid), "--json").json()["status"] == "failed"  # unchanged


def test_mail_test_into_the_maildir(cli, env):
    out = cli("mail", "test", "uji@kukarkab.go.id").stdout
    assert "Surel uji telah dikirim ke uji@kukarkab.go.id melalui Maildir" in out
    box = mailbox.Maildir(f"{env['TKKSD_HOME']}/mail", factory=None, create=False)
    (key,) = box.keys()
    import email
    import email.policy

    msg = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
    assert str(msg["To"]) == "uji@kukarkab.go.id" and "Uji pengiriman" in str(msg["Subject"])
    bad = cli("mail", "test", "uji@kukarkab.go.id\nBcc: x@evil.example", check=False)
    assert bad.returncode != 0 and "bukan satu alamat surel yang sah" in bad.stderr


def test_mail_test_over_smtp_and_its_failure_sentence(cli, smtpd, tmp_path, server_tls, ca_file):
    server = smtpd(tls_context=server_tls, users={"tkksd": "rahasia-123"})
    path = tmp_path / "smtp.toml"
    write_settings(path, {"mail": {"transport": "smtp"},
                          "smtp": {"host": "127.0.0.1", "port": server.port, "security": "starttls",
                                   "username": "tkksd", "cafile": str(ca_file)}})
    ok = cli("mail", "test", "uji@kukarkab.go.id", extra_env={"TKKSD_CONFIG": str(path), "TKKSD_SMTP_PASSWORD": "rahasia-123"})
    assert f"melalui server SMTP 127.0.0.1:{server.port} (starttls sebagai tkksd)" in ok.stdout
    assert len(server.recorder.accepted()) == 1
    wrong = cli("mail", "test", "uji@kukarkab.go.id", check=False,
                extra_env={"TKKSD_CONFIG": str(path), "TKKSD_SMTP_PASSWORD": "sandi-bocor-42", "TKKSD_LOG_LEVEL": "debug"})
    assert wrong.returncode != 0 and wrong.stderr.count("Kesalahan:") == 1
    assert "tidak terkirim melalui server SMTP" in wrong.stderr and "menolak login untuk 'tkksd'" in wrong.stderr
    assert "sandi-bocor-42" not in wrong.stdout + wrong.stderr
    english = cli("mail", "test", "uji@kukarkab.go.id", check=False,
                  extra_env={"TKKSD_CONFIG": str(path), "TKKSD_SMTP_PASSWORD": "sandi-bocor-42", "TKKSD_LANGUAGE": "en"})
    assert english.returncode == wrong.returncode and "refused the login for 'tkksd'" in english.stderr, english.stderr
    assert "menolak" not in english.stderr and "sandi-bocor-42" not in english.stdout + english.stderr


def test_password_file_and_a_password_in_the_settings_file(cli, smtpd, tmp_path, server_tls, ca_file):
    server = smtpd(tls_context=server_tls, users={"tkksd": "dari-berkas"})
    secret = tmp_path / "smtp-password"
    secret.write_text("dari-berkas\n")
    path = tmp_path / "smtp.toml"
    smtp = {"host": "127.0.0.1", "port": server.port, "security": "starttls", "username": "tkksd",
            "cafile": str(ca_file), "password_file": str(secret)}
    write_settings(path, {"mail": {"transport": "smtp"}, "smtp": smtp})
    cli("mail", "test", "uji@kukarkab.go.id", extra_env={"TKKSD_CONFIG": str(path)})
    assert server.logins == ["tkksd"]
    write_settings(path, {"mail": {"transport": "smtp"}, "smtp": {**smtp, "password": "di-repo"}})
    refused = cli("mail", "test", "uji@kukarkab.go.id", check=False, extra_env={"TKKSD_CONFIG": str(path)})
    assert refused.returncode != 0 and "TKKSD_SMTP_PASSWORD" in refused.stderr and "di-repo" not in refused.stderr
