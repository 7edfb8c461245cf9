"""Issue 13: the inventory, workflow and wilayah commands speak Indonesian by default and English
with TKKSD_LANGUAGE=en, with labels instead of codes and no ISO or UTC time on screen; `export`
shows a progress bar on a terminal only. Real CLI runs over the demo inventory (SQLite)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess

import pytest

from tests.conftest import tkksd_executable

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
EN = {"TKKSD_LANGUAGE": "en"}
NOW = "2026-11-30T11:14"
ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\+00:00|\bUTC\b")


def test_the_report_text_is_in_one_language(cli):
    cli("demo", now=NOW)
    indonesian = cli("report", now=NOW).stdout
    english = cli("report", now=NOW, extra_env=EN).stdout
    for heading in ("Laporan Inventaris Kerja Sama Daerah", "Menurut status", "Kerja sama menggantung",
                    "Keputusan Ketua TKKSD atas KB/MoU", "Kerja sama per kecamatan (lokasi)", "Delineasi IKN",
                    "Potensi kerja sama dengan IKN (per urusan)", "Perhubungan: 4"):
        assert heading in indonesian and heading not in english, heading
    for heading in ("Inventory of Regional Cooperation Agreements", "By state", "Hanging agreements",
                    "The TKKSD chair's decisions on KB/MoU", "Agreements by kecamatan (location)", "IKN delineation",
                    "Potential cooperation with IKN (by field)", "Transport: 4"):
        assert heading in english and heading not in indonesian, heading
    # Rates and dates as each language writes them; potential cooperation by its status's label.
    assert re.search(r"dari \d+ \(\d+,\d %\)", indonesian) and re.search(r"of \d+ \(\d+\.\d%\)", english)
    assert "keputusan paling lambat 29 Juli 2024" in indonesian and "decision due by 29 July 2024" in english
    assert "(PKS, Dikaji)" in indonesian and "(PKS, Under study)" in english
    for text in (indonesian, english):
        assert not ISO.search(text), ISO.search(text)
        assert "siap_diusulkan" not in text and "antar_desa" not in text  # labels, not codes
    assert not re.search(r"\b(sejak|terlewati|Menurut|menunggu keputusan)\b", english)
    assert not re.search(r"\b(since|missed|awaiting|decision due)\b", indonesian)


def test_workflow_show_and_list_in_either_language(cli):
    indonesian = cli("workflow", "show", "kerja-sama").stdout
    english = cli("workflow", "show", "kerja-sama", extra_env=EN).stdout
    assert "Peristiwa:" in indonesian and "Tenggat:" in indonesian and "memerlukan: Urusan pemerintahan (field)" in indonesian
    assert "Identifikasi (identify): Usulan -> Teridentifikasi; oleh Sekretariat" in indonesian
    assert "Events:" in english and "Deadlines:" in english and "requires: Field (urusan) (field)" in english
    assert "(identify): Proposed -> Identified; by Secretariat" in english
    # (a rule's own message is the definition's text, in the language it was written in)
    ours = [line for line in indonesian.splitlines() if not line.strip().startswith("aturan ")]
    assert not re.search(r"\b(requires|Events|days|when)\b", "\n".join(ours))
    assert not re.search(r"\b(memerlukan|Peristiwa|hari|bila|oleh)\b", english)
    listed = cli("workflow", "list").stdout
    assert listed.splitlines()[0].split() == ["Alur", "kerja", "Nama", "Versi", "Terbaru", "Berjalan", "Kerja", "sama"]
    assert "Running" in cli("workflow", "list", extra_env=EN).stdout.splitlines()[0]


def test_wilayah_and_potensi_in_either_language(cli):
    cli("demo", now=NOW)
    for extra, words, absent in (({}, ("Delineasi IKN", "Masuk IKN", "Tingkat"), ("Inside IKN", "Level")),
                                 (EN, ("IKN delineation", "Inside IKN", "Level"), ("Masuk IKN", "Tingkat"))):
        text = cli("wilayah", "list", "--kecamatan", "Samboja", extra_env=extra).stdout
        assert all(w in text for w in words) and not any(w in text for w in absent), text[:400]
    shown = cli("potensi", "show", "PI-2026-0001").stdout
    assert "Urusan" in shown and "Perhubungan" in shown and "Status       : Dikaji" in shown
    shown = cli("potensi", "show", "PI-2026-0001", extra_env=EN).stdout
    assert "Field           : Transport" in shown and "Status          : Under study" in shown
    refused = cli("potensi", "list", "--status", "dikaj", check=False)
    assert refused.returncode == 2 and "'dikaj' bukan status dalam daftar" in refused.stderr and "dikaji" in refused.stderr
    refused = cli("potensi", "list", "--field", "transportasi", check=False, extra_env=EN)
    assert refused.returncode == 2 and "'transportasi' is not an urusan; choose one of" in refused.stderr
    due = cli("wilayah", "of", "KS-2020-0005", now=NOW).stdout
    assert "paling lambat 29 Juli 2024 (terlambat 854 hari)" in due and not ISO.search(due), due
    due = cli("wilayah", "of", "KS-2020-0005", now=NOW, extra_env=EN).stdout
    assert "is due by 29 July 2024 (854 days late)" in due and not ISO.search(due), due


def test_export_demo_calendar_and_graph_say_what_they_did_in_either_language(cli, tmp_path):
    first = cli("demo", now=NOW)
    assert "kerja sama ditambahkan" in first.stdout and "Coba: tkksd list" in first.stdout
    again = cli("demo", now=NOW, extra_env=EN)
    assert "0 agreement(s) added, 0 updated, 219 already there" in again.stdout
    out = cli("export", str(tmp_path / "a.csv"))
    assert out.stdout == f"219 kerja sama diekspor ke {tmp_path / 'a.csv'}.\n" and out.stderr == ""  # no bar into a pipe
    out = cli("export", str(tmp_path / "a.csv"), extra_env=EN)
    assert out.stdout == f"Exported 219 agreement(s) to {tmp_path / 'a.csv'}.\n"
    ics = tmp_path / "k.ics"
    written = cli("calendar", "--output", str(ics), now=NOW)
    assert re.fullmatch(r"\d{1,3}(\.\d{3})* tenggat ditulis ke .*k\.ics\.\n", written.stdout), written.stdout
    assert "TERLAMBAT" in ics.read_text(encoding="utf-8") and "Yang jatuh tempo" in ics.read_text(encoding="utf-8")
    cli("calendar", "--output", str(ics), now=NOW, extra_env=EN)
    assert "OVERDUE" in ics.read_text(encoding="utf-8") and "TERLAMBAT" not in ics.read_text(encoding="utf-8")
    mmd = tmp_path / "g.mmd"
    assert cli("graph", "--output", str(mmd)).stdout == f"{mmd} telah ditulis.\n"
    assert "Teridentifikasi" in mmd.read_text(encoding="utf-8")


def test_export_shows_a_progress_bar_on_a_terminal(env, tmp_path):
    """With stderr on a terminal, `export` draws its progress there (rich); stdout keeps the sentence."""
    subprocess.run([*tkksd_executable(), "demo"], env=env, cwd=tmp_path, capture_output=True, check=True, timeout=120)
    main, other = pty.openpty()
    proc = subprocess.Popen([*tkksd_executable(), "export", str(tmp_path / "b.xlsx")], env={**env, "COLUMNS": "100"},
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=other)
    os.close(other)
    seen = b""
    while True:
        ready, _w, _x = select.select([main], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    stdout, _err = proc.communicate(timeout=60)
    os.close(main)
    assert proc.returncode == 0 and stdout.decode().startswith("219 kerja sama diekspor ke")
    assert b"Menulis baris" in seen and b"219/219" in seen, seen[-400:]
