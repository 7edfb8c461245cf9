"""The report's wilayah sections: agreements by kecamatan (a map-like table, IKN status beside
each kecamatan), the IKN-delineation section (agreements located inside or cut by IKN, their
decision deadline), and the potential cooperation with IKN grouped by field. Also the XLSX
Kukar sends to OIKN (``write_oikn_xlsx``)."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.i18n import N_, in_language
from engine.lifecycle.labels import CHOICE_LABELS, choice_label
from engine.store.tables import agreement_locations, agreements, deadlines, potensi, wilayah

STATUS_LABELS = CHOICE_LABELS["ikn_delineation"]
# The urusan labels live with the other choices' labels; kept under this name for its callers.
FIELD_LABELS = CHOICE_LABELS["field"]["id"]


def field_label(key: str, lang: str = "id") -> str:
    label = choice_label("field", key, lang)
    return label if label != key else key.replace("_", " ").capitalize()


def _t(message: str, lang: str) -> str:
    """A sentence of the report in the report's language (the report is built in the context's
    language, whatever the process speaks)."""
    return in_language(message, lang)


def by_kecamatan(conn: Connection, lang: str = "id") -> list[dict[str, Any]]:
    """One row per kecamatan (code order, as on a map's legend): agreements located there."""
    kec = conn.execute(sa.select(wilayah).where(wilayah.c.level == "kecamatan").order_by(wilayah.c.code)).all()
    counts = Counter(dict(conn.execute(
        sa.select(agreement_locations.c.kecamatan_code, sa.func.count(sa.distinct(agreement_locations.c.agreement_id)))
        .group_by(agreement_locations.c.kecamatan_code)).all()))
    units = Counter(dict(conn.execute(
        sa.select(wilayah.c.parent_code, sa.func.count()).where(wilayah.c.level != "kecamatan").group_by(wilayah.c.parent_code)).all()))
    return [{"code": k.code, "name": k.name, "units": units[k.code], "agreements": counts[k.code],
             "ikn_status": k.ikn_status, "ikn_label": STATUS_LABELS[lang][k.ikn_status]} for k in kec]


def delineation_section(conn: Connection, lang: str = "id", clock=None, registry=None) -> dict[str, Any]:
    """Agreements located in a unit inside or cut by IKN, with their decision deadline."""
    rows = conn.execute(
        sa.select(agreements.c.id, agreements.c.number, agreements.c.title, agreements.c.lead_opd, agreements.c.lifecycle_state,
                  agreements.c.workflow, agreements.c.workflow_version,
                  agreements.c.data, wilayah.c.code, wilayah.c.name, wilayah.c.ikn_status)
        .select_from(agreements.join(agreement_locations, agreement_locations.c.agreement_id == agreements.c.id)
                     .join(wilayah, wilayah.c.code == agreement_locations.c.unit_code))
        .where(wilayah.c.ikn_status.in_(("inside", "cut")))
        .order_by(agreements.c.number, wilayah.c.code)
    ).all()
    due = dict(conn.execute(
        sa.select(deadlines.c.agreement_id, sa.func.min(deadlines.c.due_at))
        .where(deadlines.c.rule == "ikn_decision", deadlines.c.status == "pending").group_by(deadlines.c.agreement_id)).all())
    items: dict[str, dict[str, Any]] = {}
    for r in rows:
        item = items.setdefault(r.number, {
            "id": r.number, "title": r.title, "lead_opd": r.lead_opd, "state": r.lifecycle_state,
            "state_label": _state_label(registry, r, lang),
            "ikn_delineation": (r.data or {}).get("ikn_delineation"), "units": [],
            "decision_due": ((clock.local(due[r.id]) if clock else due[r.id]).date().isoformat()) if r.id in due else None,
            "decided": bool((r.data or {}).get("ikn_decision_ref")),
            # when its IKN relevance and alignment were last assessed (identify, every evaluation)
            "ikn_assessed_on": (r.data or {}).get("ikn_assessed_on"),
            "ikn_assessed": _assessed_text((r.data or {}).get("ikn_relevance"), (r.data or {}).get("ikn_assessed_on"), lang),
        })
        item["units"].append(f"{r.name} ({STATUS_LABELS[lang][r.ikn_status]})")
    units = Counter(conn.execute(sa.select(wilayah.c.ikn_status)).scalars().all())
    return {"units": {s: units[s] for s in STATUS_LABELS[lang]}, "agreements": list(items.values()),
            "pending_decisions": sum(1 for i in items.values() if i["decision_due"])}


def _state_label(registry, row, lang: str) -> str:
    try:
        defn = registry.get(row.workflow, row.workflow_version) if registry is not None else None
    except LookupError:
        defn = None
    if defn is None or not defn.has_state(row.lifecycle_state):
        return row.lifecycle_state
    return defn.state(row.lifecycle_state).label.get(lang)


def _assessed_text(relevance: str | None, assessed_on: str | None, lang: str = "id") -> str:
    """The last IKN assessment as the report prints it. A relevance recorded without a date came
    with an import (the date is derived only when a person records it)."""
    if assessed_on:
        return assessed_on
    return _t(N_("date not recorded") if relevance else N_("not assessed yet"), lang)


def _assessed_shown(a: dict[str, Any], lang: str) -> str:
    """The same for a reader: the date as people write it."""
    return _day(a["ikn_assessed_on"], lang) if a.get("ikn_assessed_on") else a.get("ikn_assessed", "")


def potensi_by_field(conn: Connection, lang: str = "id") -> list[dict[str, Any]]:
    from engine.inventory.potensi import status_label

    rows = conn.execute(sa.select(potensi, agreements.c.number.label("agreement"))
                        .select_from(potensi.outerjoin(agreements, agreements.c.id == potensi.c.agreement_id))
                        .order_by(potensi.c.number)).all()
    groups: dict[str, list] = defaultdict(list)
    for r in rows:
        groups[r.field].append({"id": r.number, "description": r.description, "proposer": r.proposer,
                                "ikn_counterpart": r.ikn_counterpart, "expected_form": r.expected_form,
                                "status": r.status, "status_label": status_label(r.status, lang), "agreement": r.agreement})
    order = sorted(groups, key=lambda f: (f != "transport", field_label(f, lang)))
    return [{"field": f, "label": field_label(f, lang), "entries": groups[f]} for f in order]


def build(conn: Connection, lang: str = "id", clock=None, registry=None) -> dict[str, Any]:
    return {"by_kecamatan": by_kecamatan(conn, lang),
            "ikn_delineation": delineation_section(conn, lang, clock, registry), "potensi": potensi_by_field(conn, lang)}


# The report's wilayah headings and sentences (translated into the report's language when shown).
TEXT = {
    "by_kecamatan": N_("Agreements by kecamatan (location)"),
    "by_kecamatan_short": N_("Agreements by kecamatan"),
    "delineation": N_("IKN delineation"),
    "units": N_("Units"),
    "located": N_("Agreements located in units inside or cut by IKN: {count} (awaiting a decision: {pending})"),
    "decide_by": N_("decision due by {day}"),
    "decided": N_("decided"),
    "potensi_by_field": N_("Potential cooperation with IKN (by field)"),
    "potensi": N_("Potential cooperation with IKN"),
    "code": N_("Code"), "kecamatan": N_("Kecamatan"), "desa_kelurahan": N_("Desa/kelurahan"), "agreements": N_("Agreements"),
    "number": N_("Number"), "title": N_("Title"), "location": N_("Location"), "state": N_("State"),
    "decision_due": N_("Decision due"), "last_assessment": N_("Last IKN assessment"),
    "last_assessed": N_("last IKN assessment {when}"),
    "field": N_("Field"), "description": N_("Description"), "proposer": N_("Proposer"),
    "counterpart": N_("IKN counterpart"), "form": N_("Form"), "status": N_("Status"), "agreement": N_("Agreement"),
}


def texts(lang: str) -> dict[str, str]:
    return {k: _t(v, lang) for k, v in TEXT.items()}


def _day(iso: str, lang: str) -> str:
    from datetime import date

    from engine.i18n import day

    return day(date.fromisoformat(iso), lang)


def _decision(a: dict[str, Any], T: dict[str, str], lang: str) -> str:
    if a["decision_due"]:
        return T["decide_by"].format(day=_day(a["decision_due"], lang))
    return T["decided"] if a["decided"] else ""


def render_text(w: dict[str, Any], lang: str = "id") -> str:
    from engine.i18n import number

    T = texts(lang)
    lines = ["", T["by_kecamatan"], "-" * len(T["by_kecamatan"])]
    for k in w["by_kecamatan"]:
        bar = "#" * k["agreements"]
        lines.append(f"  {k['code']:<9} {k['name']:<24} {number(k['agreements'], lang):>4} {bar:<20} {k['ikn_label']}")
    d = w["ikn_delineation"]
    labels = STATUS_LABELS["en" if lang == "en" else "id"]
    lines += ["", T["delineation"], "-" * len(T["delineation"]),
              f"  {T['units']}: " + ", ".join(f"{labels[s]} {number(n, lang)}" for s, n in d["units"].items()),
              "  " + T["located"].format(count=number(len(d["agreements"]), lang), pending=number(d["pending_decisions"], lang))]
    for a in d["agreements"]:
        decision = _decision(a, T, lang)
        lines.append(f"  {a['id']}  {a['title'][:50]}  [{'; '.join(a['units'])}]" + (f", {decision}" if decision else "")
                     + ", " + T["last_assessed"].format(when=_assessed_shown(a, lang)))
    lines += ["", T["potensi_by_field"], "-" * len(T["potensi_by_field"])]
    for g in w["potensi"]:
        lines.append(f"  {g['label']}: {number(len(g['entries']), lang)}")
        for e in g["entries"]:
            lines.append(f"    {e['id']}  {e['description'][:60]}  ({e['expected_form']}, {e.get('status_label', e['status'])})")
    return "\n".join(lines) + "\n"


def write_oikn_xlsx(ctx, conn: Connection, path: str | Path) -> int:
    """The inventory of potential cooperation in the form Kukar sends to OIKN: one sheet, grouped
    by field (transport first), with the header of the letter. Returns the number of entries."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from notifiers.formatting import tanggal

    groups = potensi_by_field(conn, "id")  # the letter to OIKN is in Indonesian, whatever the reader speaks
    names = {r.code: r.name for r in conn.execute(sa.select(wilayah.c.code, wilayah.c.name))}
    from engine.store.tables import opds

    names.update({r.code: r.name for r in conn.execute(sa.select(opds.c.code, opds.c.name))})
    wb = Workbook()
    ws = wb.active
    ws.title = "Potensi Kerja Sama IKN"
    bold = Font(bold=True)
    ws.append(["PEMERINTAH KABUPATEN KUTAI KARTANEGARA"])
    ws.append(["Inventarisasi Potensi Kerja Sama dengan Otorita Ibu Kota Nusantara"])
    ws.append([f"Keadaan per {tanggal(ctx.clock.today())}"])
    ws.append([])
    header = ["No", "Urusan", "Uraian potensi kerja sama", "Pengusul", "Mitra di IKN", "Bentuk yang diharapkan", "Status", "Nomor kerja sama"]
    ws.append(header)
    for cell in ws[5]:
        cell.font = bold
    n = 0
    for g in groups:
        ws.append([None, g["label"]])
        ws.cell(row=ws.max_row, column=2).font = bold
        for i, e in enumerate(g["entries"], start=1):
            n += 1
            ws.append([i, g["label"], e["description"], names.get(e["proposer"], e["proposer"]), e["ikn_counterpart"],
                       e["expected_form"], e["status_label"], e["agreement"] or ""])
            ws.cell(row=ws.max_row, column=3).alignment = Alignment(wrap_text=True)
    for col, width in zip("ABCDEFGH", (5, 24, 60, 32, 32, 12, 16, 16)):
        ws.column_dimensions[col].width = width
    ws["A1"].font = ws["A2"].font = bold
    from engine.inventory.sheets import mark_text_cells  # no cell a spreadsheet would run as a formula

    for sheet in wb.worksheets:
        mark_text_cells(sheet)
    wb.save(path)
    return n


_HTML = """
<section id="wilayah">
<h2>{{ T.by_kecamatan_short }}</h2>
<table><tr><th>{{ T.code }}</th><th>{{ T.kecamatan }}</th><th>{{ T.desa_kelurahan }}</th><th>{{ T.agreements }}</th><th></th><th>{{ T.delineation }}</th></tr>
{% for k in w.by_kecamatan %}<tr><td>{{ k.code }}</td><td>{{ k.name }}</td><td>{{ k.units }}</td><td>{{ k.agreements }}</td>
<td><svg width="{{ 4 + k.agreements * 8 }}" height="12"><rect width="{{ k.agreements * 8 }}" height="12" fill="{{ colours[k.ikn_status] }}"/></svg></td>
<td>{{ k.ikn_label }}</td></tr>
{% endfor %}</table>
<h2>{{ T.delineation }}</h2>
<p>{{ T.units }}: {% for s, n in w.ikn_delineation.units.items() %}{{ labels[s] }} {{ n }}{{ ", " if not loop.last }}{% endfor %}.
{{ located }}.</p>
<table><tr><th>{{ T.number }}</th><th>{{ T.title }}</th><th>{{ T.location }}</th><th>{{ T.state }}</th><th>{{ T.decision_due }}</th><th>{{ T.last_assessment }}</th></tr>
{% for a in w.ikn_delineation.agreements %}<tr><td>{{ a.id }}</td><td>{{ a.title }}</td><td>{{ a.units|join("; ") }}</td><td>{{ a.state_label or a.state }}</td>
<td>{{ (a.decision_due | day) if a.decision_due else (T.decided if a.decided else "-") }}</td><td>{{ a | assessed }}</td></tr>
{% endfor %}</table>
<h2>{{ T.potensi }}</h2>
{% for g in w.potensi %}<h3>{{ g.label }} ({{ g.entries|length }})</h3><ul>
{% for e in g.entries %}<li>{{ e.id }}: {{ e.description }} ({{ e.expected_form }}, {{ e.status_label or e.status }}){% if e.agreement %}, {{ e.agreement }}{% endif %}</li>
{% endfor %}</ul>{% endfor %}
</section>
"""
COLOURS = {"inside": "#b5446e", "cut": "#e07a2f", "to_confirm": "#c9a227", "outside": "#1f6f8b"}


def into_html(html: str, w: dict[str, Any] | None, lang: str = "id") -> str:
    """The report's HTML with the wilayah sections before its footer."""
    if not w:
        return html
    from jinja2 import Environment, select_autoescape

    from engine.i18n import number

    env = Environment(autoescape=select_autoescape(default_for_string=True), trim_blocks=True, lstrip_blocks=True)
    env.filters["day"] = lambda iso: _day(iso, lang)
    env.filters["assessed"] = lambda a: _assessed_shown(a, lang)
    T = texts(lang)
    d = w["ikn_delineation"]
    located = T["located"].format(count=number(len(d["agreements"]), lang), pending=number(d["pending_decisions"], lang))
    section = env.from_string(_HTML).render(w=w, T=T, located=located, labels=STATUS_LABELS["en" if lang == "en" else "id"],
                                            colours=COLOURS)
    return html.replace("<footer>", section + "<footer>", 1) if "<footer>" in html else html.replace("</body>", section + "</body>")


SHEETS = {"id": ("kecamatan", "delineasi_ikn", "potensi_ikn"), "en": ("kecamatan", "ikn_delineation", "ikn_potential")}


def add_sheets(wb, w: dict[str, Any], lang: str = "id") -> None:
    """Agreements by kecamatan, the IKN delineation and the potential cooperation with IKN, as
    the report's other sheets are (typed cells, widths, frozen header, autofilter)."""
    from engine.inventory.report_xlsx import Col, write_table

    T = texts(lang)
    kecamatan, delineation, potential = SHEETS["en" if lang == "en" else "id"]
    write_table(wb.create_sheet(kecamatan),
                [Col(T["code"], width=12), Col(T["kecamatan"], "wrap", 24), Col(T["desa_kelurahan"], "int", width=16),
                 Col(T["agreements"], "int", width=12), Col(T["delineation"], "wrap", 24)],
                [[k["code"], k["name"], k["units"], k["agreements"], k["ikn_label"]] for k in w["by_kecamatan"]])
    write_table(wb.create_sheet(delineation),
                [Col(T["number"], width=16), Col(T["title"], "wrap", 40), Col(T["location"], "wrap", 30),
                 Col(T["state"], "wrap", 18), Col(T["decision_due"], "date"), Col(T["last_assessment"], "date")],
                [[a["id"], a["title"], "; ".join(a["units"]), a.get("state_label") or a["state"], a["decision_due"],
                  a["ikn_assessed_on"]]
                 for a in w["ikn_delineation"]["agreements"]])
    write_table(wb.create_sheet(potential),
                [Col(T["field"], "wrap", 20), Col(T["number"], width=14), Col(T["description"], "wrap", 40),
                 Col(T["proposer"], "wrap", 24), Col(T["counterpart"], "wrap", 24), Col(T["form"], "wrap", 14),
                 Col(T["status"], "wrap", 16), Col(T["agreement"], width=16)],
                [[g["label"], e["id"], e["description"], e["proposer"], e["ikn_counterpart"], e["expected_form"],
                  e.get("status_label") or e["status"], e["agreement"] or ""] for g in w["potensi"] for e in g["entries"]])
