"""The report as a spreadsheet people can sort, filter and print.

Every sheet has its header row frozen and an autofilter; dates are date cells shown as
``1/5/2024``-style dates (``DD/MM/YYYY``), shares are percentages; columns are as wide as their
content (long text wraps inside a capped width, so nothing is cut when printed); every sheet
prints on A4 landscape, fitted to the page width, the header repeated on each page. Each
summary sheet carries one native bar chart of its counts.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Sequence

from engine.lifecycle.labels import report_text

DATE_FORMAT = "DD/MM/YYYY"
PERCENT_FORMAT = "0.0%"
MAX_WIDTH = 48  # characters; longer text wraps
SHEET_NAMES = {
    "id": {"summary": "ringkasan", "by_state": "status", "by_category": "kategori", "by_partner_type": "jenis_mitra",
           "by_year": "tahun", "by_opd": "opd", "trends": "tren", "evaluation": "evaluasi", "hanging": "menggantung",
           "due_soon": "jatuh_tempo"},
    "en": {"summary": "summary", "by_state": "state", "by_category": "category", "by_partner_type": "partner_type",
           "by_year": "year", "by_opd": "opd", "trends": "trends", "evaluation": "evaluation", "hanging": "hanging",
           "due_soon": "due_soon"},
}


@dataclass(frozen=True)
class Col:
    header: str
    kind: str = "text"  # text | wrap | int | date | pct
    width: float | None = None  # fixed width in characters; None: as wide as the content


def _fit_width(col: Col, values: Sequence[Any]) -> float:
    if col.width is not None:
        return col.width
    if col.kind == "date":
        return 12
    if col.kind == "pct":
        return max(9, len(col.header) + 2)
    longest = max([len(str(v)) for v in values if v is not None] + [len(col.header)])
    return min(MAX_WIDTH, longest + 2)


def _lines(value: Any, width: float) -> int:
    """Lines a text takes when wrapped in a column ``width`` characters wide (a safe estimate)."""
    if not isinstance(value, str) or not value:
        return 1
    return len(textwrap.wrap(value, max(1, int(width * 1.1) - 2))) or 1


def write_table(ws, cols: Sequence[Col], rows: Sequence[Sequence[Any]], *, first_row: int = 1) -> None:
    """Header at ``first_row``, then the rows, typed and formatted; frozen header, autofilter, widths."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DCE6EE")
    for c, col in enumerate(cols, start=1):
        cell = ws.cell(row=first_row, column=c, value=col.header)
        cell.font, cell.fill = bold, fill
        numeric = col.kind in ("int", "pct")
        cell.alignment = Alignment(wrap_text=True, vertical="top", horizontal="right" if numeric else "left",
                                   indent=0 if numeric else 1)
    for r, values in enumerate(rows, start=first_row + 1):
        for c, (col, value) in enumerate(zip(cols, values), start=1):
            if col.kind == "date" and isinstance(value, str) and value:
                value = date.fromisoformat(value[:10])  # an ISO date (or the date part of a time)
            cell = ws.cell(row=r, column=c, value=value)
            if col.kind == "date":
                cell.number_format = DATE_FORMAT
            elif col.kind == "pct":
                cell.number_format = PERCENT_FORMAT
            cell.alignment = Alignment(vertical="top", wrap_text=col.kind in ("wrap", "text"),
                                       indent=0 if col.kind in ("int", "pct") else 1)
    widths = [_fit_width(col, [row[c] for row in rows]) for c, col in enumerate(cols)]
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    # Spreadsheet programs do not grow a row for wrapped text on opening a file: set its height.
    for r, values in enumerate([[col.header for col in cols], *rows], start=first_row):
        lines = max(_lines(v, w) for v, w in zip(values, widths))
        if lines > 1:
            ws.row_dimensions[r].height = 15 * lines
    last = get_column_letter(len(cols))
    ws.freeze_panes = ws.cell(row=first_row + 1, column=1)
    ws.auto_filter.ref = f"A{first_row}:{last}{first_row + max(len(rows), 1)}"
    ws.print_title_rows = f"{first_row}:{first_row}"


def print_setup(ws) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as needed
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4


def _bar_chart(ws, title: str, n_rows: int, *, label_col: int, value_col: int, anchor: str, first_row: int = 1,
               stacked_cols: Sequence[int] = ()) -> None:
    """One native chart of the sheet's counts, placed right of the table."""
    from openpyxl.chart import BarChart, Reference

    if n_rows == 0:
        return
    chart = BarChart()
    chart.type = "bar" if not stacked_cols else "col"
    chart.title = title
    chart.style = 10
    chart.height, chart.width = max(7.5, min(22, 0.6 * n_rows + 3)), 18
    cats = Reference(ws, min_col=label_col, min_row=first_row + 1, max_row=first_row + n_rows)
    for col in stacked_cols or (value_col,):
        chart.add_data(Reference(ws, min_col=col, min_row=first_row, max_row=first_row + n_rows), titles_from_data=True)
    chart.set_categories(cats)
    if stacked_cols:
        chart.grouping, chart.overlap = "stacked", 100
    else:
        chart.legend = None
        chart.y_axis.majorGridlines = None
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    ws.add_chart(chart, anchor)


def _summary(wb, data: dict[str, Any], T: dict[str, str], name: str) -> None:
    ws = wb.active
    ws.title = name
    t, f, ikn = data["totals"], data["followup"], data["ikn"]
    rows = [
        (T["total"], t["agreements"]), (T["active"], t["active"]), (T["final"], t["final"]),
        (T["hanging"], t["hanging"]), (T["due_soon"].format(days=data["horizon_days"]), t["due_soon"]),
        ("KB/MoU", f["kb_total"]), (T["followup_rate"], f["followed_up"]), (T["followup_rate"] + " (%)", f["rate"]),
        (T["ikn_share"], ikn["related"]), (T["ikn_share"] + " (%)", ikn["share"]),
    ]
    from openpyxl.styles import Font

    ws.append([data["title"]])
    ws.append([data["region"]])
    ws.append([T["as_of"].capitalize(), date.fromisoformat(data["as_of"])])
    ws["A1"].font = Font(bold=True, size=13)
    ws["B3"].number_format = DATE_FORMAT
    write_table(ws, [Col(T["label"], width=42), Col(T["value"], "int", width=14)], rows, first_row=5)
    for r, (label, value) in enumerate(rows, start=6):
        if label.endswith("(%)"):
            ws.cell(row=r, column=2).number_format = PERCENT_FORMAT
    _bar_chart(ws, T["summary"], 5, label_col=1, value_col=2, anchor="D5", first_row=5)


def _counts_sheet(wb, name: str, title: str, items: list[dict[str, Any]], T: dict[str, str], *, active: bool = False) -> None:
    ws = wb.create_sheet(name)
    cols = [Col(T["code"], width=14), Col(T["label"]), Col(T["count"], "int", width=10)]
    if active:
        cols.append(Col(T["active_short"], "int", width=12))
    rows = [[i["key"], i["label"], i["count"]] + ([i["active"]] if active else []) for i in items]
    write_table(ws, cols, rows)
    _bar_chart(ws, title, min(len(rows), 20), label_col=2, value_col=3, anchor=f"{'F' if active else 'E'}2")


def _trends_sheet(wb, name: str, data: dict[str, Any], T: dict[str, str]) -> None:
    ws = wb.create_sheet(name)
    per_year = data["trends"]["per_year"]
    ev = data["trends"]["evaluations_per_year"]
    years = sorted({i["label"] for i in per_year} | set(ev["years"]))
    signed = {i["label"]: i["count"] for i in per_year}
    series = {s["label"]: dict(zip(ev["years"], s["values"])) for s in ev["series"]}
    cols = [Col(T["year"], width=10),
            Col(T["signed_per_year"], "int")] + [Col(label, "int") for label in series]
    rows = [[y, signed.get(y, 0)] + [series[label].get(y, 0) for label in series] for y in years]
    write_table(ws, cols, rows)
    _bar_chart(ws, T["trends"], len(rows), label_col=1, value_col=2, anchor=f"{chr(ord('A') + len(cols) + 1)}2",
               stacked_cols=range(2, len(cols) + 1))


def write(data: dict[str, Any], path: str | Path) -> None:
    from openpyxl import Workbook

    lang = data.get("lang", "id")
    T, names = report_text(lang), SHEET_NAMES["en" if lang == "en" else "id"]
    wb = Workbook()
    _summary(wb, data, T, names["summary"])
    for key in ("by_state", "by_category", "by_partner_type", "by_year", "by_opd"):
        _counts_sheet(wb, names[key], T[key], data[key], T, active=key == "by_opd")
    _trends_sheet(wb, names["trends"], data, T)
    ws = wb.create_sheet(names["evaluation"])
    write_table(ws, [Col(T["code"], width=12), Col(T["outcome"]), Col(T["from_history"], "int", width=14),
                Col(T["at_import"], "int", width=14), Col(T["count"], "int", width=10)],
           [[e["outcome"], e["label"], e["from_history"], e["recorded_at_import"], e["total"]] for e in data["evaluation"]])
    _bar_chart(ws, T["evaluation"], len(data["evaluation"]), label_col=2, value_col=5, anchor="G2")
    ws = wb.create_sheet(names["hanging"])
    write_table(ws, [Col(T["number"], width=14), Col(T["agreement_title"], "wrap", 40), Col(T["state"], "wrap", 18),
                Col(T["since"], "date"), Col(T["days"], "int", width=8), Col("OPD", width=12),
                Col(T["responsible"], "wrap", 30), Col(T["reasons"], "wrap", 45)],
           [[h["id"], h["title"], h["state_label"], h["since"], h["days"], h["responsible"]["opd"],
             h["responsible"]["name"], "; ".join(h["reasons"])] for h in data["hanging"]])
    ws = wb.create_sheet(names["due_soon"])
    write_table(ws, [Col(T["date"], "date"), Col(T["days_left"], "int", width=10), Col(T["number"], width=14),
                Col(T["agreement_title"], "wrap", 40), Col(T["what_due"], "wrap", 36), Col("OPD", width=12),
                Col(T["responsible"], "wrap", 30)],
           [[d["due_on"], d["days_left"], d["id"], d["title"], d["what"], d["responsible"]["opd"], d["responsible"]["name"]]
            for d in data["due_soon"]])
    from engine.inventory import evaluation_report

    evaluation_report.xlsx_sheets(wb, data)
    if "wilayah" in data:
        from engine.inventory import wilayah_report

        wilayah_report.add_sheets(wb, data["wilayah"], lang)
    for sheet in wb.worksheets:
        print_setup(sheet)
    from engine.inventory.sheets import mark_text_cells  # no cell a spreadsheet would run as a formula

    for sheet in wb.worksheets:
        mark_text_cells(sheet)
    wb.save(path)
