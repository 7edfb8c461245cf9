"""The report as one self-contained, printable HTML page (inline CSS and SVG, no network).

Headings follow the report's language; dates are written as people write them ("1 Mei 2024"),
the time it was made in the regency's zone (WITA). Sections start on a new A4 page when printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.inventory import charts
from engine.lifecycle.labels import report_text
from engine.inventory.reports import percent, day_text, generated_when

TREND_COLORS = {"continue": "#3f9b4b", "upgrade": "#1f6f8b", "revise": "#c9a227", "terminate": "#d1495b",
                "extend": "#7a5cc4"}


def _charts(data: dict[str, Any], T: dict[str, str], lang: str) -> dict[str, str]:
    trends = data["trends"]
    ev = trends["evaluations_per_year"]
    f = data["followup"]
    bars = {key: charts.bars(data[source] if source else items, title=T[key], empty_text=T["empty"])
            for key, source, items in (
                ("by_state", "by_state", None), ("by_year", "by_year", None), ("by_category", "by_category", None),
                ("by_partner_type", "by_partner_type", None), ("by_opd", None, data["by_opd"][:15]),
                ("ikn", None, data["ikn"]["counts"]),
                ("evaluation", None, [{"label": e["label"], "count": e["total"]} for e in data["evaluation"] if e["total"]]),
            )}
    return {
        **bars,
        "signed_per_year": charts.columns(trends["per_year"], title=T["signed_per_year"], empty_text=T["empty"]),
        "signed_per_month": charts.columns(trends["per_month"], title=T["signed_per_month"], empty_text=T["empty"]),
        "hanging_per_quarter": charts.columns(trends["hanging_per_quarter"], title=T["hanging_per_quarter"],
                                              empty_text=T["empty"], color=charts.PALETTE[3]),
        "evaluations_per_year": charts.stacked_columns(
            ev["years"], [(s["label"], s["values"], TREND_COLORS.get(s["outcome"], "#888888")) for s in ev["series"]],
            title=T["evaluations_per_year"], empty_text=T["empty"]),
        "followup": charts.share(f["followed_up"], f["kb_total"], title=T["followup"],
                                 caption=f"{percent(f['rate'], lang)} ({f['followed_up']} {T['of']} {f['kb_total']})"),
    }


def render(data: dict[str, Any]) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    lang = data.get("lang", "id")
    T = report_text(lang)
    env = Environment(loader=FileSystemLoader(str(Path(__file__).with_name("report_templates"))),
                      autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["day"] = lambda iso: day_text(iso, lang)
    return env.get_template("report.html.j2").render(
        d=data, T=T, lang=lang, charts=_charts(data, T, lang), pct=lambda x: percent(x, lang),
        generated=generated_when(data))
