"""The report for the Sekda as people get it: the PDF's pages through pdftoppm, the HTML in
Chromium, the XLSX printed by LibreOffice; checked as pages and pictures (sizes, dates, language)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from datetime import datetime

import openpyxl
import pytest

from engine.inventory import charts, reports
from tests.conftest import Cli

from . import pictures

A4 = (595.3, 841.9)
PT_PER_MM = 72 / 25.4


def test_the_pdf_report_is_a4_with_readable_charts_dates_in_words_and_a_wita_footer(doc_env, pdftoppm, tmp_path):
    pdf = tmp_path / "laporan.pdf"
    cli = Cli(doc_env, tmp_path)
    out = cli("report", "--output", str(pdf))
    assert "Laporan ditulis ke" in out.stdout and pdf.read_bytes()[:5] == b"%PDF-"
    sizes = pictures.pdf_page_sizes(pdftoppm, pdf)
    assert len(sizes) >= 6 and all(abs(w - A4[0]) < 1 and abs(h - A4[1]) < 1 for w, h in sizes)
    words = pictures.pdf_words(pdftoppm, pdf)
    text = " ".join(w.text for w in words)
    assert "1 Mei 2024" in text and "WITA" in text and "UTC" not in text and "2024-05-01" not in text
    # Each section starts on its own page: the headings are on different pages.
    first_page = {h: min(w.page for w in words if w.text == h) for h in ("Ringkasan", "Perkembangan", "Menurut")}
    assert first_page["Ringkasan"] == 1 and first_page["Perkembangan"] == 2
    # Chart text at 8 pt or more on paper: the state labels of the first chart, measured in the PDF.
    labels = [w for w in words if w.page == 1 and w.text in ("Teridentifikasi", "Tersinkronisasi", "Dievaluasi")]
    assert len(labels) == 3 and all(w.height >= 8 for w in labels), [(w.text, w.height) for w in labels]
    # No clipped OPD name: every word of the names in the OPD chart is printed whole, no "…".
    opd_page = min(w.page for w in words if w.text == "OPD" and w.page > 2)
    on_page = {w.text for w in words if w.page == opd_page}
    for name in ("Badan Pengelolaan Keuangan dan Aset Daerah", "Dinas Pertanian dan Peternakan"):
        assert set(name.split()) <= on_page, name
    assert not any("…" in w.text for w in words if w.page == opd_page)
    pages = pictures.pdf_pages(pdftoppm, pdf, tmp_path / "page", first=1, last=2)
    assert all(pictures.ink_share(p) > 0.02 for p in pages)
    print("pdf pages:", pictures.keep(pages[0], "report-pdf-page1.png"), pictures.keep(pages[1], "report-pdf-page2.png"))


def test_the_report_speaks_english_when_asked(doc_env, tmp_path):
    cli = Cli(dict(doc_env, TKKSD_LANGUAGE="en"), tmp_path)
    html = tmp_path / "report.html"
    cli("report", "--output", str(html))
    page = html.read_text(encoding="utf-8")
    for heading in ("Inventory of Regional Cooperation Agreements", "By state", "Trends over time", "Hanging agreements",
                    "Signings per month", "Evaluation outcomes per year", "1 May 2024"):
        assert heading in page, heading
    for indonesian in ("Menurut status", "Kerja sama menggantung", "Perguruan tinggi", "1 Mei 2024"):
        assert indonesian not in page, indonesian
    assert "University" in page


def _svg_texts_inside(svg: ET.Element) -> None:
    width = float(svg.get("width"))
    for t in svg.iter("{http://www.w3.org/2000/svg}text"):
        x, w = float(t.get("x")), charts.text_width(t.text or "", int(t.get("font-size")))
        left = {"start": x, "middle": x - w / 2, "end": x - w}[t.get("text-anchor")]
        assert left >= 0 and left + w <= width + 1, (t.text, left, w)
        assert int(t.get("font-size")) * 186 / charts.WIDTH * PT_PER_MM >= 8  # >= 8 pt in the 186 mm column


def test_every_chart_keeps_its_text_inside_and_the_trends_are_there(doc_ctx):
    data = reports.build(doc_ctx)
    html = reports.render_html(data)
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert len(svgs) >= 12
    for svg in svgs:
        _svg_texts_inside(ET.fromstring(svg))
    trends = data["trends"]
    assert [i["label"] for i in trends["per_year"]] == ["2020", "2021", "2022", "2023", "2024"]
    assert sum(i["count"] for i in trends["per_month"]) == 210 and trends["per_month"][0]["label"] == "Jan 2020"
    assert trends["hanging_per_quarter"][-1]["count"] == len(data["hanging"])
    assert trends["evaluations_per_year"]["series"]
    assert "(university)" not in html and "Perguruan tinggi" in html


def test_html_report_in_chromium(doc_ctx, chromium, tmp_path):
    page = tmp_path / "laporan.html"
    page.write_text(reports.render_html(reports.build(doc_ctx)), encoding="utf-8")
    shot = pictures.screenshot(chromium, page, tmp_path / "report.png", tmp_path / "profile", size="820,2400")
    assert pictures.ink_share(shot) > 0.05
    print("report screenshot:", pictures.keep(shot, "report-html.png"))


def _cell_fits(cell, width: float) -> bool:
    if cell.value is None or (cell.alignment is not None and cell.alignment.wrap_text):
        return True
    if isinstance(cell.value, datetime):
        return width >= 10
    return len(str(cell.value)) <= width


@pytest.mark.slow
def test_the_xlsx_report_is_a_spreadsheet_and_libreoffice_prints_it_without_cutting_a_cell(
        doc_ctx, libreoffice, pdftoppm, tmp_path):
    data = reports.build(doc_ctx)
    path = tmp_path / "laporan.xlsx"
    reports.write_xlsx(data, path)
    wb = openpyxl.load_workbook(path)
    summaries = ["ringkasan", "status", "kategori", "jenis_mitra", "tahun", "opd", "tren", "evaluasi"]
    lists = {"menggantung", "jatuh_tempo", "keputusan_kb", "evaluasi_menyimpang", "kecamatan", "delineasi_ikn", "potensi_ikn"}
    assert set(summaries) | lists == set(wb.sheetnames)
    for ws in wb.worksheets:
        assert ws.freeze_panes and ws.auto_filter.ref, ws.title
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage and int(ws.page_setup.fitToWidth) == 1
        for row in ws.iter_rows():
            for cell in row:
                width = ws.column_dimensions[cell.column_letter].width
                assert _cell_fits(cell, width), (ws.title, cell.coordinate, cell.value, width)
    hanging = wb["menggantung"]
    assert isinstance(hanging["D2"].value, datetime) and hanging["D2"].number_format == "DD/MM/YYYY"
    assert isinstance(wb["jatuh_tempo"]["A2"].value, datetime)
    rate = [r for r in wb["ringkasan"].iter_rows(min_row=6) if r[0].value.endswith("(%)")]
    assert rate and all(r[1].number_format == "0.0%" and 0 < r[1].value < 1 for r in rate)
    with zipfile.ZipFile(path) as z:
        assert len([n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]) == len(summaries)

    pdf = pictures.office_to_pdf(libreoffice, path, tmp_path / "lo", tmp_path / "lo-profile")
    words = pictures.pdf_words(pdftoppm, pdf)
    sizes = pictures.pdf_page_sizes(pdftoppm, pdf)
    assert all(abs(w - A4[1]) < 2 and abs(h - A4[0]) < 2 for w, h in sizes)  # A4 landscape
    text = " ".join(w.text for w in words)
    for h in data["hanging"]:
        assert h["id"] in text  # ids whole, never "KS-2022-0"
    longest = max(data["hanging"], key=lambda h: len(h["title"]))["title"]
    assert all(word in text for word in longest.split()[-3:])  # the end of the longest title is printed
    pages = pictures.pdf_pages(pdftoppm, pdf, tmp_path / "xlsx", first=1, last=len(sizes), dpi=50)
    hanging_page = next(w.page for w in words if w.text == data["hanging"][0]["id"])
    print("xlsx pages:", pictures.keep(pages[0], "report-xlsx-summary.png"),
          pictures.keep(pages[hanging_page - 1], "report-xlsx-hanging.png"))
