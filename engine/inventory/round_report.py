"""The report of an evaluation round (issue 16): per OPD, the outcomes, the scores, what stays
hanging and why. HTML (one self-contained file, prints on A4), PDF (that HTML printed by a
headless Chromium) and XLSX. Written in the language asked for (the context's): headings,
outcomes, dates ("30 November 2026") and scores ("3,55") as its readers write them."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from engine.errors import ConfigurationError, InvalidInput
from engine.i18n import N_, _, in_language, number

OUTCOME_LABELS = {
    "continue": N_("Continued"), "upgrade": N_("Upgraded to a PKS"), "extend": N_("Extended"), "revise": N_("Revised"),
    "terminate": N_("Terminated"), "declare_not_followed_up": N_("KB not followed up"), "expire": N_("Expired"),
    "revoke": N_("Revoked"),
}
TEXT = {
    "report": N_("Evaluation report of regional cooperation {round}"),
    "report_short": N_("Report {round}"),
    "opened": N_("opened {day}"), "due": N_("due {day}"), "closed": N_("closed {day}"), "running": N_("still running"),
    "as_of": N_("as of {day}"),
    "agreements": N_("Agreements"), "evaluated": N_("Evaluated"), "pending": N_("Not yet evaluated"),
    "late_opds": N_("OPDs late"), "per_opd": N_("By OPD"), "pending_short": N_("Pending"),
    "mean_score": N_("Average score"), "outcomes": N_("Outcomes"), "late": N_("late"),
    "number": N_("Number"), "title": N_("Title"), "outcome": N_("Outcome"), "score": N_("Score"), "notes": N_("Notes"),
    "step": N_("step {state}"), "departs": N_("Departs from the score: {reason}"),
    "not_submitted": N_("The OPD has not submitted its evaluation"),
    "not_submitted_late": N_("The OPD has not submitted its evaluation ({days} days late)"),
    # the spreadsheet
    "opd_name": N_("OPD name"), "partner": N_("Partner"), "evaluated_at": N_("Evaluated ({zone})"),
    "hanging_because": N_("Hanging because"), "step_col": N_("Step"), "late_col": N_("Late"),
    "departs_col": N_("Reason for departing from the score"),
    "ikn_reassessed_card": N_("IKN relevance re-assessed"), "ikn_relevance": N_("IKN relevance"),
    "assessed": N_("assessed {day}"), "not_reassessed": N_("not re-assessed"),
    "ikn_assessed_col": N_("Last IKN assessment"), "ikn_reassessed_col": N_("IKN re-assessed in this evaluation"), "yes": N_("yes"), "no": N_("no"),
}
SHEETS = {"id": ("per_opd", "kerja_sama"), "en": ("by_opd", "agreements")}  # names programs look sheets up by
FORMATS = ("html", "pdf", "xlsx")
ZONE = "Asia/Makassar"  # the round's dates are the regency's days


def texts(lang: str) -> dict[str, str]:
    return {k: in_language(v, lang) for k, v in TEXT.items()}


def outcome_label(outcome: str | None, lang: str) -> str:
    if not outcome:
        return "-"
    return in_language(OUTCOME_LABELS[outcome], lang) if outcome in OUTCOME_LABELS else outcome


def _day(iso: str | None, lang: str) -> str:
    from notifiers.formatting import tanggal

    return tanggal(date.fromisoformat(iso[:10]), lang) if iso else "-"


def _moment(iso: str | None, lang: str, zone: str) -> str:
    """When an evaluation was recorded, in the regency's zone (``30 Nov 2026 11.14 WITA``)."""
    from engine.i18n import moment

    if not iso:
        return ""
    at = datetime.fromisoformat(iso)
    return moment(at if at.tzinfo else at.replace(tzinfo=timezone.utc), ZoneInfo(zone), lang)


def _score(value: float | None, lang: str) -> str:
    return "-" if value is None else number(value, lang)


def _relevance(item: dict[str, Any], lang: str) -> str:
    """The agreement's IKN relevance by its label in the report's language (``-`` when not set)."""
    from engine.lifecycle.labels import choice_label

    value = item.get("ikn_relevance")
    return choice_label("ikn_relevance", value, lang) if value else "-"


def _why_hanging(data: dict[str, Any], T: dict[str, str], lang: str) -> str:
    days = data.get("days_late") or 0
    return T["not_submitted_late"].format(days=number(days, lang)) if days else T["not_submitted"]


def render_html(data: dict[str, Any], region: str, lang: str = "id") -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(Path(__file__).with_name("report_templates"))),
                      autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["tanggal"] = lambda iso: _day(iso, lang)
    env.filters["score"] = lambda value: _score(value, lang)
    env.filters["outcome"] = lambda value: outcome_label(value, lang)
    env.filters["relevance"] = lambda item: _relevance(item, lang)
    T = texts(lang)
    return env.get_template("round.html.j2").render(d=data, region=region, lang=lang, T=T,
                                                    why_hanging=_why_hanging(data, T, lang))


def write_xlsx(data: dict[str, Any], path: Path, lang: str = "id", zone: str = ZONE) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    T = texts(lang)
    opds_sheet, items_sheet = SHEETS["en" if lang == "en" else "id"]
    wb = Workbook()
    ws = wb.active
    ws.title = opds_sheet
    ws.append(["OPD", T["opd_name"], T["agreements"], T["evaluated"], T["pending_short"], T["late_col"], T["mean_score"]]
              + [outcome_label(o, lang) for o in OUTCOME_LABELS])
    for o in data["opds"]:
        ws.append([o["opd"], o["name"], o["total"], o["evaluated"], o["pending"], T["yes"] if o["late"] else T["no"],
                   o["mean_score"]] + [o["outcomes"].get(k, 0) for k in OUTCOME_LABELS])
    items = wb.create_sheet(items_sheet)
    abbr = datetime.now(ZoneInfo(zone)).tzname() or zone
    items.append(["OPD", T["number"], T["title"], T["partner"], T["step_col"], T["outcome"],
                  T["score"], T["departs_col"], T["evaluated_at"].format(zone=abbr),
                  T["hanging_because"], T["ikn_relevance"], T["ikn_assessed_col"], T["ikn_reassessed_col"]])
    why = _why_hanging(data, T, lang)
    for o in data["opds"]:
        for i in o["items"]:
            items.append([o["opd"], i["id"], i["title"], i["partner"], i["state_label"],
                          outcome_label(i["outcome"], lang) if i["outcome"] else "", i["score"], i["reason"],
                          _moment(i["evaluated_at"], lang, zone), "" if i["outcome"] else why,
                          _relevance(i, lang), i.get("ikn_assessed_on"), T["yes"] if i.get("ikn_reassessed") else T["no"]])
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
        raise ConfigurationError(_("A PDF needs Debian's chromium (apt-get install chromium); write .html or .xlsx instead."))
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
        raise ConfigurationError(_("chromium did not write {path}.").format(path=path))


def check_name(path: str | Path) -> str:
    """The format ``path``'s extension names; a bad one is refused before anything is done."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidInput(_("The round's report is written as .html, .pdf or .xlsx, not '{name}'.").format(name=Path(path).name))
    return fmt


def write(data: dict[str, Any], path: str | Path, region: str, lang: str = "id", zone: str = ZONE) -> str:
    """Write the report in the format ``path``'s extension names; returns the format."""
    path = Path(path)
    fmt = check_name(path)
    if fmt == "xlsx":
        write_xlsx(data, path, lang, zone)
    elif fmt == "html":
        path.write_text(render_html(data, region, lang), encoding="utf-8")
    else:
        write_pdf(render_html(data, region, lang), path)
    return fmt
