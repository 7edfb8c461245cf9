"""Spreadsheets as a secretariat makes them: a title above the header, merged cells, a "No."
column, an empty column, dates typed as 20/11/2023 or "20 November 2023" or entered as date
cells, an empty row. The sheet is made in LibreOffice (a flat ODS converted to XLSX headless)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from tests.conftest import Cli, program

from . import pictures

ODS_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
<office:automatic-styles>
 <number:date-style style:name="tanggal"><number:day number:style="long"/><number:text>/</number:text>
  <number:month number:style="long"/><number:text>/</number:text><number:year number:style="long"/></number:date-style>
 <style:style style:name="sel-tanggal" style:family="table-cell" style:data-style-name="tanggal"/>
</office:automatic-styles>
<office:body><office:spreadsheet><table:table table:name="Daftar KS">
"""
ODS_TAIL = "</table:table></office:spreadsheet></office:body></office:document>\n"


def _cell(value, span: int = 1) -> str:
    spanned = f' table:number-columns-spanned="{span}"' if span > 1 else ""
    if value is None:
        return f"<table:table-cell{spanned}/>" + "<table:covered-table-cell/>" * (span - 1)
    if isinstance(value, date):
        return (f'<table:table-cell table:style-name="sel-tanggal" office:value-type="date" office:date-value="{value.isoformat()}"{spanned}>'
                f"<text:p>{value.strftime('%d/%m/%Y')}</text:p></table:table-cell>"
                + "<table:covered-table-cell/>" * (span - 1))
    return (f'<table:table-cell office:value-type="string"{spanned}><text:p>{escape(str(value))}</text:p></table:table-cell>'
            + "<table:covered-table-cell/>" * (span - 1))


def _row(*cells) -> str:
    return "<table:table-row>" + "".join(c if isinstance(c, str) and c.startswith("<table:") else _cell(c) for c in cells) + "</table:table-row>\n"


HEADER = ("No.", "Judul", None, "Mitra", "OPD pengampu", "Alur kerja", "Status", "Jenis mitra",
          "Tanggal penandatanganan", "Tanggal berakhir", None)
ROWS = [
    (1, "Perjanjian Kerja Sama Pengelolaan Sampah Regional", "Pemerintah Kota Samarinda",
     "Dinas Lingkungan Hidup dan Kehutanan", "kerja-sama", "Ditandatangani", "region", "20/11/2023", "20/11/2026"),
    (2, "Kesepakatan Bersama Ketahanan Pangan", "Otorita Ibu Kota Nusantara", "Dinas Ketahanan Pangan",
     "kerja-sama", "Ditandatangani", "otorita_ikn", "20 November 2023", "19-11-2028"),
    (3, "Perjanjian Kerja Sama Beasiswa Daerah", "Universitas Mulawarman", "Dinas Pendidikan dan Kebudayaan",
     "kerja-sama", "Ditandatangani", "university", date(2022, 3, 14), date(2025, 3, 14)),
]


def secretariat_fods() -> str:
    body = [_row(_cell("DAFTAR KERJA SAMA DAERAH KABUPATEN KUTAI KARTANEGARA", span=len(HEADER))),
            _row(_cell("Bagian Kerja Sama Setda - keadaan per 30 April 2024", span=len(HEADER))),
            _row(None)]
    header = [_cell(HEADER[0]), _cell("Judul", span=2)] + [_cell(h) for h in HEADER[3:]]
    body.append(_row(*header))
    for n, (no, title, partner, opd, wf, state, ptype, signed, ends) in enumerate(ROWS):
        body.append(_row(_cell(no), _cell(title, span=2), _cell(partner), _cell(opd), _cell(wf), _cell(state),
                         _cell(ptype), _cell(signed), _cell(ends), _cell(None)))
        if n == 0:
            body.append(_row(None))  # an empty row between entries
    return ODS_HEAD + "".join(body) + ODS_TAIL


@pytest.fixture(scope="session")
def secretariat_sheets(tmp_path_factory) -> dict[str, Path]:
    """The sheet as the secretariat makes it, and the same with a bad date, made in LibreOffice
    once for the session: one LibreOffice start for both."""
    soffice = program(("soffice", "libreoffice"), "libreoffice-calc")
    folder = tmp_path_factory.mktemp("secretariat")
    good = folder / "daftar-ks-bagian-kerja-sama.fods"
    good.write_text(secretariat_fods(), encoding="utf-8")
    bad = folder / "salah.fods"
    bad.write_text(secretariat_fods().replace("19-11-2028", "31/02/2028"), encoding="utf-8")
    made = pictures.office_convert_all(soffice, [good, bad], folder / "xlsx", folder / "lo-profile", "xlsx")
    return dict(zip(("good", "bad"), made))


def _own_copy(sheet: Path, tmp_path: Path) -> Path:
    """The test's own copy of a session's sheet."""
    target = tmp_path / "xlsx" / sheet.name
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(sheet, target)
    return target


@pytest.fixture
def secretariat_xlsx(secretariat_sheets, tmp_path):
    return _own_copy(secretariat_sheets["good"], tmp_path)


@pytest.mark.xdist_group("secretariat-sheets")  # the session's sheets are made once per worker
def test_a_secretariat_sheet_made_in_libreoffice_imports_cleanly(doc_env, secretariat_xlsx, tmp_path):
    import openpyxl

    ws = openpyxl.load_workbook(secretariat_xlsx).active
    assert ws.merged_cells.ranges and ws["A4"].value == "No."  # as LibreOffice wrote it: merged title, header row 4
    cli = Cli(doc_env, tmp_path)
    dry = cli("import", str(secretariat_xlsx), "--dry-run", "--json").json()
    assert dry["problems"] == [] and dry["added"] == 3, dry
    out = cli("import", str(secretariat_xlsx), "--json").json()
    assert out["added"] == 3 and not out["problems"]
    ids = out["added_ids"]
    # Without an id, an agreement is numbered in the year it was signed.
    assert sorted(i[:7] for i in ids) == ["KS-2022", "KS-2023", "KS-2023"], ids
    shown = {cli("show", i, "--json").json()["title"]: cli("show", i, "--json").json() for i in ids}
    food = shown["Kesepakatan Bersama Ketahanan Pangan"]
    assert food["data"]["signed_on"] == "2023-11-20" and food["data"]["ends_on"] == "2028-11-19"
    assert food["lead_opd"] == "DKP" and food["state"] == "signed"
    assert shown["Perjanjian Kerja Sama Beasiswa Daerah"]["data"]["signed_on"] == "2022-03-14"
    again = cli("import", str(secretariat_xlsx), "--json").json()
    assert again["added"] == 0 and again["unchanged"] == 3


@pytest.mark.xdist_group("secretariat-sheets")
def test_a_bad_cell_is_reported_with_the_row_number_the_sheet_shows(doc_env, secretariat_sheets, tmp_path):
    xlsx = _own_copy(secretariat_sheets["bad"], tmp_path)
    out = Cli(doc_env, tmp_path)("import", str(xlsx), check=False)
    assert out.returncode == 2
    # Title rows 1-3, header 4, rows 5, (empty 6), 7: the row as the sheet shows it, in the reader's
    # language only; the column by its label, with the key a header may be written as.
    assert "  baris 7, kolom Tanggal berakhir (ends_on): '31/02/2028' bukan tanggal yang ada\n" in out.stderr
    assert "row" not in out.stderr and "column" not in out.stderr
    english = Cli(dict(doc_env, TKKSD_LANGUAGE="en"), tmp_path)("import", str(xlsx), check=False)
    assert "  row 7, column End date (ends_on): '31/02/2028' is not a real date\n" in english.stderr
    assert "baris" not in english.stderr and "kolom" not in english.stderr


def test_one_template_per_workflow_offers_only_its_choices(doc_env, tmp_path):
    import openpyxl

    cli = Cli(doc_env, tmp_path)
    lists = {}
    for workflow in ("kerja-sama", "pemanfaatan-bmd"):
        path = tmp_path / f"templat-{workflow}.xlsx"
        cli("import", "--template", str(path), "--workflow", workflow)
        sheet = openpyxl.load_workbook(path)["daftar"]
        lists[workflow] = {col[0]: [v for v in col[1:] if v] for col in sheet.iter_cols(values_only=True)}
    ks = lists["kerja-sama"]
    assert ks["workflow"] == ["kerja-sama"] and "university" in ks["partner_type"]
    assert not {"cooperative", "individual"} & set(ks["partner_type"])
    assert "form" not in ks  # a BMD column is not in the kerja-sama template
    assert lists["pemanfaatan-bmd"]["workflow"] == ["pemanfaatan-bmd"]
    bad = cli("import", "--template", str(tmp_path / "x.xlsx"), "--workflow", "nope", check=False)
    assert bad.returncode == 2 and "Alur kerja 'nope' tidak dikenal" in bad.stderr
