"""Nothing a user typed becomes a header or live HTML; bad directory addresses are refused."""

from __future__ import annotations

import email
import email.policy
import mailbox

import pytest

from engine.mail.outbox import drain_once
from tests.helpers import add_service, walk_service

from .conftest import smtp_sections

EVIL_TITLE = "KB Pangan\r\nBcc: x@evil.example\r\n<script>alert('t')</script>"
EVIL_PARTNER = "PT Mitra\nBcc: x@evil.example <script>alert(1)</script>"
EXPECTED_HEADERS = {"From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "Auto-Submitted",
                    "X-TKKSD-Kind", "MIME-Version", "Content-Type"}


def check_message(msg) -> None:
    assert set(msg.keys()) <= EXPECTED_HEADERS, set(msg.keys()) - EXPECTED_HEADERS
    assert msg["Bcc"] is None
    assert "evil" not in str(msg["To"]) + str(msg.get("Cc", ""))
    subject = str(msg["Subject"])
    assert "\r" not in subject and "\n" not in subject
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    text = msg.get_body(("plain",)).get_content()
    assert "\nBcc:" not in text  # titles are one-line values even in the text body


def test_injected_title_and_partner_give_no_header_and_no_live_html_in_the_maildir(mail_ctx):
    ctx = mail_ctx({"mail": {"transport": "maildir"}})
    ref = add_service(ctx, title=EVIL_TITLE, partner=EVIL_PARTNER)
    walk_service(ctx, ref, "identified")
    assert drain_once(ctx, daemon_id="t").sent == 2
    box = mailbox.Maildir(ctx.settings.maildir, factory=None, create=False)
    messages = [email.message_from_bytes(box.get_bytes(k), policy=email.policy.default) for k in box.keys()]
    assert len(messages) == 2
    for msg in messages:
        check_message(msg)


def test_injected_values_reach_no_extra_recipient_over_smtp(mail_ctx, smtpd):
    server = smtpd()
    ctx = mail_ctx(smtp_sections(server))
    add_service(ctx, title=EVIL_TITLE, partner=EVIL_PARTNER)
    assert drain_once(ctx, daemon_id="t").sent == 1
    (got,) = server.recorder.accepted()
    assert all("evil" not in r for r in got.rcpt_tos)
    check_message(got.parsed())


def test_directory_with_an_invalid_head_address_is_refused_naming_the_opd(tmp_path):
    from engine.store.directory import read_directory
    from engine.errors import ConfigurationError

    from config.settings import OPD_FILE

    lines = OPD_FILE.read_text(encoding="utf-8").splitlines()
    header, first, rest = lines[0], lines[1], lines[2:]
    bad = first.replace("setkab@opd.kukar.example", "setkab@opd.kukar.example\r\nBcc: x@evil.example")
    path = tmp_path / "opd.csv"
    path.write_text("\n".join([header, '"' + bad.replace(",", '","') + '"', *rest]) + "\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"surel kepala OPD SETKAB \(Sekretariat Daerah.*tidak sah"):
        read_directory(path)
    path.write_text("\n".join([header, first.replace("setkab@opd.kukar.example", "kepala di setkab"), *rest]) + "\n")
    with pytest.raises(ConfigurationError, match="OPD SETKAB"):
        read_directory(path)


def test_init_refuses_a_directory_with_an_invalid_address(cli, tmp_path):
    from config.settings import OPD_FILE

    text = OPD_FILE.read_text(encoding="utf-8").replace("bag-ks@opd.kukar.example", "bag-ks@@opd")
    (tmp_path / "opd.csv").write_text(text, encoding="utf-8")
    (tmp_path / "bad.toml").write_text(f'[general]\nopd_directory = "{tmp_path / "opd.csv"}"\n')
    result = cli("init", check=False, extra_env={"TKKSD_CONFIG": str(tmp_path / "bad.toml")})
    assert result.returncode != 0
    assert "OPD BAG-KS (Bagian Kerjasama)" in result.stderr and "bag-ks@@opd" in result.stderr
