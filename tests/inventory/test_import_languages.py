"""Issue 13 and issue 14 point 5: `tkksd import` speaks the reader's language, Indonesian by default
and English with TKKSD_LANGUAGE=en: each problem once, with the row as the sheet shows it and the
column by its label (its key in brackets), dates as people write them, no ISO or UTC time; the
summary, the template and its notes likewise; `--json` keeps the codes. Real CLI runs (SQLite)."""

from __future__ import annotations

import csv
import re

import openpyxl
import pytest

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
EN = {"TKKSD_LANGUAGE": "en"}
NOW = "2026-11-30T11:14"
ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\+00:00|\bUTC\b")
HEADER = ["id", "workflow", "state", "state_since", "title", "partner", "lead_opd", "document_kind", "partner_type",
          "signed_on", "ends_on"]
GOOD = ["", "kerja-sama", "signed", "20/11/2025", "KB Ketahanan Pangan", "Otorita IKN", "DKP", "KB", "otorita_ikn",
        "20 November 2025", "20-11-2030"]


def _sheet(path, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)


def _bad_sheet(path) -> None:
    """Row 2 good; rows 3-6 each with one problem, none written as an ISO date."""
    rows = [list(GOOD) for _ in range(5)]
    for n, row in enumerate(rows):
        row[4] = f"KB Uji {n}"
    rows[1][3] = "1 Januari 2030"  # in the future
    rows[2][10] = "20/11/2020"  # ends before it was signed
    rows[3][8] = "universty"  # not a choice
    rows[4][9] = "31/02/2025"  # no such day
    _sheet(path, rows)


def _problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("  ")]


def test_problems_are_said_once_in_the_readers_language(cli, tmp_path):
    sheet = tmp_path / "daftar.csv"
    _bad_sheet(sheet)
    indonesian = cli("import", str(sheet), "--dry-run", check=False, now=NOW)
    english = cli("import", str(sheet), "--dry-run", check=False, now=NOW, extra_env=EN)
    assert indonesian.returncode == english.returncode == 2
    assert indonesian.stderr.startswith("daftar.csv: 4 masalah pada 4 baris; tidak ada yang akan diimpor:\n")
    assert english.stderr.startswith("daftar.csv: 4 problem(s) in 4 row(s); nothing would be imported:\n")
    assert _problem_lines(indonesian.stderr) == [
        "  baris 3, kolom Status sejak tanggal (state_since): 1 Januari 2030 ada di masa depan (hari ini 30 November 2026)",
        "  baris 4, kolom Tanggal berakhir (ends_on): 20 November 2020 harus sesudah Tanggal penandatanganan (signed_on) "
        "20 November 2025 (tanggal akhir mendahului tanggal awal)",
        "  baris 5, kolom Jenis mitra (partner_type): harus salah satu dari Pemerintah daerah (region), Kementerian/lembaga "
        "(ministry_agency), otorita_ikn, BUMN/BUMD (bumn_bumd), Badan usaha swasta (company), Perguruan tinggi (university), "
        "Organisasi kemasyarakatan (ngo), Luar negeri (foreign), bukan 'universty' (maksud Anda 'university'?)",
        "  baris 6, kolom Tanggal penandatanganan (signed_on): '31/02/2025' bukan tanggal yang ada",
    ]
    lines = _problem_lines(english.stderr)
    assert lines[0] == "  row 3, column In this state since (state_since): 1 January 2030 is in the future (today is 30 November 2026)"
    assert lines[2].startswith("  row 5, column partner_type: must be one of Regional government (region), ")
    assert lines[2].endswith(", not 'universty' (did you mean 'university'?)")
    assert lines[3] == "  row 6, column Signing date (signed_on): '31/02/2025' is not a real date"
    for text in (indonesian.stderr, english.stderr):
        assert not ISO.search(text), ISO.search(text)
    assert not re.search(r"\b(row|column|must|not|today)\b", indonesian.stderr)
    assert not re.search(r"\b(baris|kolom|harus|bukan|hari ini)\b", english.stderr)


def test_json_keeps_the_codes_and_says_the_message_in_the_chosen_language(cli, tmp_path):
    sheet = tmp_path / "daftar.csv"
    _bad_sheet(sheet)
    indonesian = cli("import", str(sheet), "--dry-run", "--json", check=False, now=NOW).json()
    english = cli("import", str(sheet), "--dry-run", "--json", check=False, now=NOW, extra_env=EN).json()
    facts = [(p["row"], p["column"], p["code"]) for p in indonesian["problems"]]
    assert facts == [(3, "state_since", "future_date"), (4, "ends_on", "end_before_start"),
                     (5, "partner_type", "not_a_choice"), (6, "signed_on", "bad_date")]
    assert facts == [(p["row"], p["column"], p["code"]) for p in english["problems"]]
    assert indonesian["problems"][3]["message"] == "'31/02/2025' bukan tanggal yang ada"
    assert english["problems"][3]["message"] == "'31/02/2025' is not a real date"


def test_the_summary_usage_and_history_in_either_language(cli, tmp_path):
    sheet = tmp_path / "baik.csv"
    _sheet(sheet, [GOOD])
    dry = cli("import", str(sheet), "--dry-run", now=NOW)
    assert dry.stdout == ("baik.csv: 1 baris diperiksa; akan ditambahkan 1, akan diperbarui 0, 0 tidak berubah "
                          "(uji coba: tidak ada yang disimpan).\n")
    dry = cli("import", str(sheet), "--dry-run", now=NOW, extra_env=EN)
    assert dry.stdout == "baik.csv: 1 row(s) checked; would add 1, would update 0, 0 unchanged (dry run: nothing written).\n"
    done = cli("import", str(sheet), "--json", now=NOW).json()
    assert done["added"] == 1 and done["written"] is True
    again = cli("import", str(sheet), now=NOW, extra_env=EN)
    assert again.stdout == "baik.csv: 1 row(s) checked; added 0, updated 0, 1 unchanged.\n"
    [entry] = cli("history", done["added_ids"][0], "--json").json()
    # Recorded in the deployment's language; the agreement is numbered in the year it was signed.
    assert entry["note"] == "diimpor dari baik.csv baris 2 oleh admin" and done["added_ids"][0].startswith("KS-2025-")

    for extra, sentence in (({}, "Kesalahan: Berikan FILE yang diimpor, atau --template FILE.xlsx untuk menulis templat kosong."),
                            (EN, "Error: Give the FILE to import, or --template FILE.xlsx to write an empty template.")):
        refused = cli("import", check=False, extra_env=extra)
        assert refused.returncode == 2 and refused.stderr.strip() == sentence
    refused = cli("import", str(sheet), "--workflow", "kerja-sama", check=False)
    assert refused.returncode == 2 and refused.stderr.startswith("Kesalahan: --workflow hanya dipakai bersama --template")
    missing = cli("import", str(tmp_path / "tidak-ada.csv"), check=False, extra_env=EN)
    assert missing.returncode == 2 and missing.stderr.strip() == f"Error: There is no file '{tmp_path / 'tidak-ada.csv'}'."


def test_the_template_and_its_notes_in_either_language(cli, tmp_path):
    notes = {}
    for lang, extra, said in (("id", {}, "Templat impor {path} telah ditulis ("),
                              ("en", EN, "Wrote the import template {path} (")):
        path = tmp_path / f"templat-{lang}.xlsx"
        out = cli("import", "--template", str(path), "--workflow", "kerja-sama", extra_env=extra)
        assert out.stdout.startswith(said.format(path=path)), out.stdout
        wb = openpyxl.load_workbook(path)
        ws = wb["kerja_sama"]
        notes[lang] = {c.value: c.comment.text for c in ws[1]}
        notes[lang]["guide"] = " ".join(str(c.value) for c in wb["petunjuk"]["B"] if c.value)
    assert notes["id"]["state_since"].startswith("Status sejak tanggal. Tanggal status ini mulai berlaku")
    assert notes["en"]["state_since"].startswith("In this state since. The date this state began")
    assert "Perguruan tinggi (university)" in notes["id"]["partner_type"]
    assert "University" not in notes["id"]["partner_type"] and "Regional government (region)" in notes["en"]["partner_type"]
    assert "Satu baris untuk satu kerja sama" in notes["id"]["guide"] and "One row per agreement" in notes["en"]["guide"]
