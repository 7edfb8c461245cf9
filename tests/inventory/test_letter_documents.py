"""Letters as an OPD head and the Sekda get them: the daemon writes them to the Maildir, a mail
parser opens them, Chromium shows them, vobject reads the invitation and openpyxl the digest's list."""

from __future__ import annotations

import email
import email.policy
import io
import re
from pathlib import Path

import openpyxl
import pytest
import vobject

from tests.conftest import Cli

from . import pictures

NOW = "2024-05-06T09:00:00"  # a Monday: the weekly digests go out, and the monthly one
SIGNATURE = "Kepala Bagian Kerja Sama Setda Kabupaten Kutai Kartanegara"


def _mails(env) -> dict[str, list]:
    by_kind: dict[str, list] = {}
    for f in sorted((Path(env["TKKSD_HOME"]) / "mail" / "new").iterdir()):
        m = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
        by_kind.setdefault(m["X-TKKSD-Kind"], []).append(m)
    return by_kind


def _letter_rules(text: str) -> None:
    assert "di Tempat" in text and SIGNATURE in text and "selaku Sekretaris TKKSD" in text
    assert not re.search(r"\btkksd (show|events|history|due|report)\b", text)  # no commands
    assert "Hormat kami" not in text and "Jenis alur" not in text and "Peristiwa" not in text
    assert "admin" not in text  # a login never appears


@pytest.mark.slow
def test_letters_digests_invitations_and_lists(doc_env, chromium, tmp_path):
    cli = Cli(dict(doc_env, TKKSD_NOW=NOW), tmp_path)
    cli("user", "add", "sari", "--name", "Sari Wulandari", "--role", "secretariat")
    cli("fire", "KS-2024-0024", "identify", "--set", "field=agriculture", "--set", "objective=Pertanian presisi",
        "--set", "partner_type=university", "--set", "ikn_relevance=indirect", user="sari")
    cli("daemon", "--once")
    mails = _mails(doc_env)

    # The transition letter: who recorded it by name, the partner type as a label, the action and its date.
    letter = next(m for m in mails["transition"] if "KS-2024-0024" in m["Subject"])
    text = letter.get_body(("plain",)).get_content()
    _letter_rules(text)
    assert "dicatat oleh Sari Wulandari" in text and "sari" not in text.replace("Sari Wulandari", "")
    assert "(Perguruan tinggi)" in text and "(university)" not in text
    assert re.search(r"paling lambat \d{1,2} \w+ 2024 mohon Bapak/Ibu menyiapkan bahan", text)
    assert "Alasan" not in text and "Tolak" not in text  # nothing the OPD head's role cannot do

    # A deadline notice carries its due date as an invitation (METHOD:PUBLISH) a calendar reads.
    reminder = mails["reminder"][0]
    _letter_rules(reminder.get_body(("plain",)).get_content())
    [ics] = [a for a in reminder.iter_attachments() if a.get_content_type() == "text/calendar"]
    assert ics.get_param("method") == "PUBLISH" and ics.get_filename().endswith(".ics")
    cal = vobject.readOne(ics.get_content() if isinstance(ics.get_content(), str) else ics.get_content().decode())
    assert cal.method.value == "PUBLISH" and len(cal.vevent_list) == 1
    number = re.search(r"(KS|BMD|DESA)-\d{4}-\d{4}", reminder["Subject"]).group(0)
    assert number in cal.vevent.summary.value

    # The Sekda's monthly digest: short, grouped by OPD, the full list attached as XLSX.
    [digest] = mails["digest_chair"]
    text = digest.get_body(("plain",)).get_content()
    _letter_rules(text)
    assert len(text.splitlines()) < 150 and "Daftar lengkap terlampir" in text
    assert re.search(r"^  Dinas [A-Z][^\n]* \(\d+\):$", text, flags=re.M)  # an OPD heading
    [sheet] = [a for a in digest.iter_attachments() if a.get_filename().endswith(".xlsx")]
    wb = openpyxl.load_workbook(io.BytesIO(sheet.get_content()))
    rows = list(wb.active.iter_rows(min_row=2, values_only=True))
    assert len(rows) > 28 and all(r[1] and r[4] is not None for r in rows)  # more than the letter lists

    # As people see them: the letter and the digest in Chromium.
    for kind, message in (("transition", letter), ("digest_chair", digest)):
        page = tmp_path / f"{kind}.html"
        page.write_text(message.get_body(("html",)).get_content(), encoding="utf-8")
        shot = pictures.screenshot(chromium, page, tmp_path / f"{kind}.png", tmp_path / f"profile-{kind}",
                                   size="760,1400")
        assert pictures.ink_share(shot) > 0.03
        print(kind, pictures.keep(shot, f"letter-{kind}.png"))
