"""Issue 13: the core commands speak Indonesian by default and English with TKKSD_LANGUAGE=en,
name states, events, fields and choices by their labels, and print times in WITA: never an
ISO-8601 or UTC time on screen (``--json`` keeps codes and ISO-8601 with the offset)."""

from __future__ import annotations

import re

import pytest

from tests.helpers import KS_STEPS, sets

# A time as programs write it (2026-11-30T03:14:45, 2026-11-30 03:14) or in UTC.
MACHINE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\bUTC\b|\+00:00")
# Words of the other language that a reader would notice (titles and names are the test's own).
ENGLISH = re.compile(r"\b(State|Workflow|Partner|since|History|registered|Agreement|is now|needs|roles|Event|Lead OPD|"
                     r"True|False|yes|Proposed|Identified|Integrated|Error|Did you mean)\b")
INDONESIAN = re.compile(r"\b(Status|Alur kerja|Mitra|sejak|Riwayat|terdaftar|Kerja sama|kini berstatus|perlu|peran|"
                        r"Peristiwa|ya|tidak|Usulan|Teridentifikasi|Terintegrasi|Kesalahan|Maksud Anda|Januari)\b")
# Codes that have a label: they must not be what a person reads.
CODES = re.compile(r"\b(proposed|identified|verified|synchronized|integrated|food_security|otorita_ikn)\b")

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def walk(cli, language: dict) -> tuple[str, list[str]]:
    """An agreement walked to integrated and upgraded, and what each step printed for people."""
    out = [cli("add", "--title", "KB Ketahanan Pangan", "--partner", "Otorita IKN", "--opd", "DKP",
               "--set", "document_kind=KB", extra_env=language).stdout]
    ref = re.search(r"KS-\d{4}-\d{4}", out[0]).group(0)
    out.append(cli("events", ref, extra_env=language).stdout)
    for event in ("identify", "verify", "synchronize", "sign", "integrate"):
        out.append(cli("fire", ref, event, *sets(KS_STEPS[event][1]), extra_env=language).stdout)
    out.append(cli("fire", ref, "upgrade", extra_env=language).stdout)
    for command in (("show", ref), ("history", ref), ("events", ref), ("list",), ("user", "list"), ("audit", "verify")):
        out.append(cli(*command, extra_env=language).stdout)
    for refused in (("fire", ref, "identfy"), ("fire", ref, "verify"), ("list", "--state", "integrate"),
                    ("list", "--opd", "NOPE"), ("show", "KS-1999-9999")):
        r = cli(*refused, check=False, extra_env=language)
        assert r.returncode in (2, 3, 5) and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1, (refused, r.stderr)
        out.append(r.stderr)
    return ref, out


def test_the_core_commands_speak_indonesian_by_default(cli):
    ref, out = walk(cli, {})
    text = "\n".join(out)
    assert not MACHINE_TIME.search(text), MACHINE_TIME.search(text)
    assert not ENGLISH.search(text), ENGLISH.search(text)
    shown, history = out[8], out[9]
    assert not CODES.search(shown + history + out[11]), CODES.search(shown + history + out[11])
    assert out[0] == f"Kerja sama {ref} terdaftar dengan status Usulan.\n"
    assert out[2] == f"Kerja sama {ref} kini berstatus Teridentifikasi.\n"
    assert re.search(r"^  Status +Terintegrasi \(berjalan\) sejak \d{1,2} \w{3} \d{4} \d\d\.\d\d WITA$", shown, re.M), shown
    for line in ("Urusan pemerintahan", "Pangan"), ("Jenis mitra", "Otorita IKN"), ("Tanggal penandatanganan", "15 Januari 2026"), \
            ("Dasar hukum telah diperiksa", "ya"), ("Membebani masyarakat dan daerah", "tidak"):
        assert re.search(rf"^  {re.escape(line[0])} +{re.escape(line[1])}$", shown, re.M), (line, shown)
    assert history.splitlines()[0].split() == ["#", "Waktu", "(WITA)", "Peristiwa", "Dari", "Ke", "Oleh", "Catatan"]
    assert re.search(r"^2 +\d{1,2} \w{3} \d{4} \d\d\.\d\d WITA +Identifikasi +Usulan +Teridentifikasi +admin", history, re.M), history
    assert "(maksud Anda 'identify'?)" in out[-5] and "(maksud Anda 'integrated'" in out[-3]
    assert out[-5].startswith("Kesalahan: 'identfy' bukan peristiwa dalam alur kerja kerja-sama")


def test_the_core_commands_speak_english_when_asked(cli):
    ref, out = walk(cli, {"TKKSD_LANGUAGE": "EN"})  # the variable's case does not matter
    text = "\n".join(out)
    assert not MACHINE_TIME.search(text), MACHINE_TIME.search(text)
    assert not INDONESIAN.search(text), INDONESIAN.search(text)
    shown = out[8]
    assert not CODES.search(shown + out[9] + out[11]), CODES.search(shown + out[9] + out[11])
    assert out[2] == f"Agreement {ref} is now Identified.\n"
    assert re.search(r"^  State +Integrated, in force since \d{1,2} \w{3} \d{4} \d\d:\d\d WITA$", shown, re.M), shown
    assert re.search(r"^  Signing date +15 January 2026$", shown, re.M) and re.search(r"^  Field \(urusan\) +Food$", shown, re.M)
    assert "(did you mean 'identify'?)" in out[-5] and out[-5].startswith("Error: ")


def test_json_keeps_codes_and_iso_times(cli):
    ref = cli("add", "--title", "T", "--partner", "P", "--opd", "DKP", "--json", now="2026-11-30T11:14").json()["id"]
    shown = cli("show", ref, "--json").json()
    assert shown["state"] == "proposed" and shown["created_at"] == "2026-11-30T03:14:00+00:00"
    [created] = cli("history", ref, "--json").json()
    assert (created["event"], created["to"], created["at"]) == ("create", "proposed", "2026-11-30T03:14:00+00:00")
    human = cli("show", ref, now="2026-11-30T11:14").stdout
    assert "30 Nov 2026 11.14 WITA" in human and "03:14" not in human
