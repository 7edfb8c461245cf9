"""Issue 13/14: `tkksd evaluasi` and the round's report in the reader's language: Indonesian by
default (scores "3,5", dates "31 Januari 2099"), English with TKKSD_LANGUAGE=en, times in WITA."""

from __future__ import annotations

import re

import pytest

from tests.helpers import add_service, walk_service

from .conftest import REASSESSED, scorecard

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
EN = {"TKKSD_LANGUAGE": "en"}
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\+00:00|\bUTC\b")


def sets(values: dict[str, str]) -> list[str]:
    return [arg for k, v in values.items() for arg in ("--set", f"{k}={v}")]


def _round_with_two_scores(cli, ctx) -> None:
    """One OPD, two evaluated agreements scored 4 and 3: the mean has a decimal (3.5)."""
    refs = [add_service(ctx, title=f"KB Pangan {n}") for n in (1, 2)]
    for ref in refs:
        walk_service(ctx, ref, "integrated")
    cli("evaluasi", "buka", "--due", "2099-01-31")
    for ref, score in zip(refs, (4, 3)):
        values = {**scorecard(score), **REASSESSED, "evaluation_findings": "Efektif", "evaluation_recommendation": "continue"}
        cli("fire", ref, "continue", *sets(values))


def test_status_and_report_speak_indonesian_by_default_and_english_on_request(cli, ctx, tmp_path):
    from openpyxl import load_workbook

    _round_with_two_scores(cli, ctx)
    data = cli("evaluasi", "status", "--json").json()
    [dkp] = data["opds"]
    assert dkp["mean_score"] == 3.5  # --json keeps the number as a number

    html_id, xlsx_en = tmp_path / "putaran.html", tmp_path / "round.xlsx"
    indonesian = cli("evaluasi", "status", "--output", str(html_id))
    assert "batas 31 Januari 2099: 2 dari 2 kerja sama dievaluasi" in indonesian.stdout
    assert re.search(r"DKP +2 +2 +0 +3,5 +Dilanjutkan 2", indonesian.stdout), indonesian.stdout
    assert "Rata-rata skor" in indonesian.stdout and "telah ditulis (HTML)" in indonesian.stdout
    assert not re.search(r"\b(due|evaluated|Outcomes|Average)\b", indonesian.stdout)

    english = cli("evaluasi", "status", "--output", str(xlsx_en), extra_env=EN)
    assert "due 31 January 2099: 2 of 2 agreements evaluated" in english.stdout
    assert re.search(r"DKP +2 +2 +0 +3\.5 +Continued 2", english.stdout), english.stdout
    assert not re.search(r"\b(batas|dievaluasi|Hasil|Dilanjutkan)\b", english.stdout)

    page = html_id.read_text(encoding="utf-8")
    assert "Laporan Evaluasi Kerja Sama Daerah" in page and "Rata-rata skor" in page and ">3,5<" in page
    assert "Average score" not in page and "3.5" not in page

    wb = load_workbook(xlsx_en)
    assert wb.sheetnames == ["by_opd", "agreements"]
    assert [c.value for c in wb["by_opd"][1]][:7] == ["OPD", "OPD name", "Agreements", "Evaluated", "Pending", "Late",
                                                     "Average score"]
    evaluated = [row[8].value for row in wb["agreements"].iter_rows(min_row=2)]
    assert wb["agreements"].cell(row=1, column=9).value == "Evaluated (WITA)"
    assert evaluated and all(v.endswith(" WITA") and not ISO_TIME.search(v) for v in evaluated), evaluated


def test_a_bad_date_is_one_sentence_in_either_language(cli):
    for extra, words in (({}, "--due harus berupa tanggal yang sah"), (EN, "--due must be a real date as YYYY-MM-DD")):
        refused = cli("evaluasi", "buka", "--due", "31-01-2099", check=False, extra_env=extra)
        assert refused.returncode == 2 and words in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
