"""The report of an evaluation round (issue 16): per OPD, the outcomes, the scores, what stays
hanging and why. HTML (one self-contained file, prints on A4), PDF (that HTML printed by a
headless Chromium) and XLSX."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from engine.errors import ConfigurationError, InvalidInput

OUTCOME_LABELS = {
    "continue": "Dilanjutkan", "upgrade": "Ditingkatkan menjadi PKS", "extend": "Diperpanjang", "revise": "Direvisi",
    "terminate": "Diakhiri", "declare_not_followed_up": "KB tidak ditindaklanjuti", "expire": "Berakhir",
    "revoke": "Dicabut",
}
FORMATS = ("html", "pdf", "xlsx")


def _tanggal(iso: str | None) -> str:
    from notifiers.formatting import tanggal

    return tanggal(date.fromisoformat(iso[:10])) if iso else "-"


def render_html(data: dict[str, Any], region: str) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(Path(__file__).with_name("report_templates"))),
                      autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["tanggal"] = _tanggal
    return env.get_template("round.html.j2").render(d=data, region=region, labels=OUTCOME_LABELS)


def write_xlsx(data: dict[str, Any], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "per_opd"
    ws.append(["OPD", "nama OPD", "kerja sama", "dievaluasi", "belum", "terlambat", "rata-rata skor"]
              + [OUTCOME_LABELS[o] for o in OUTCOME_LABELS])
    for o in data["opds"]:
        ws.append([o["opd"], o["name"], o["total"], o["evaluated"], o["pending"], "ya" if o["late"] else "tidak",
                   o["mean_score"]] + [o["outcomes"].get(k, 0) for k in OUTCOME_LABELS])
    items = wb.create_sheet("kerja_sama")
    items.append(["OPD", "nomor", "judul", "mitra", "tahap", "hasil", "skor", "alasan menyimpang dari skor",
                  "dievaluasi (UTC)", "menggantung karena", "keterkaitan IKN", "penilaian IKN terakhir",
                  "IKN dinilai ulang dalam evaluasi ini"])
    for o in data["opds"]:
        for i in o["items"]:
            items.append([o["opd"], i["id"], i["title"], i["partner"], i["state_label"],
                          OUTCOME_LABELS.get(i["outcome"], i["outcome"] or ""), i["score"], i["reason"],
                          i["evaluated_at"], i["hanging"], i["ikn_relevance_label"], i["ikn_assessed_on"],
                          "ya" if i["ikn_reassessed"] else "tidak"])
    for sheet in wb.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    from engine.inventory.sheets import mark_text_cells  # no cell a spreadsheet would run as a formula

    for sheet in wb.worksheets:
        mark_text_cells(sheet)
    wb.save(path)


def write_pdf(html: str, path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        raise ConfigurationError("A PDF needs Debian's chromium (apt-get install chromium); write .html or .xlsx instead.")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "round.html"
        source.write_text(html, encoding="utf-8")
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={Path(tmp) / 'profile'}",
             "--no-pdf-header-footer", f"--print-to-pdf={path.resolve()}", source.as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    if not path.exists():
        raise ConfigurationError(f"chromium did not write {path}.")


def write(data: dict[str, Any], path: str | Path, region: str) -> str:
    """Write the report in the format ``path``'s extension names; returns the format."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidInput(f"The round's report is written as .html, .pdf or .xlsx, not '{path.name}'.")
    if fmt == "xlsx":
        write_xlsx(data, path)
    elif fmt == "html":
        path.write_text(render_html(data, region), encoding="utf-8")
    else:
        write_pdf(render_html(data, region), path)
    return fmt
