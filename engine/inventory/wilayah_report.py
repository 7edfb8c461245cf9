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

from engine.store.tables import agreement_locations, agreements, deadlines, potensi, wilayah

STATUS_LABELS = {
    "id": {"inside": "Masuk IKN", "cut": "Terpotong garis IKN", "to_confirm": "Perlu dikonfirmasi", "outside": "Di luar IKN"},
    "en": {"inside": "Inside IKN", "cut": "Cut by the IKN line", "to_confirm": "To be confirmed", "outside": "Outside IKN"},
}
FIELD_LABELS = {
    "transport": "Perhubungan/transportasi", "food_security": "Ketahanan pangan", "clean_water": "Air minum",
    "energy": "Energi", "education": "Pendidikan", "health": "Kesehatan", "tourism": "Pariwisata",
    "agriculture": "Pertanian", "marine_fisheries": "Kelautan dan perikanan", "environment": "Lingkungan hidup",
    "public_works": "Pekerjaan umum", "trade": "Perdagangan", "industry": "Perindustrian",
    "investment": "Penanaman modal", "culture": "Kebudayaan", "manpower": "Tenaga kerja",
    "communication": "Komunikasi dan informatika", "housing": "Perumahan", "regional_assets": "Aset daerah",
}


def field_label(key: str) -> str:
    return FIELD_LABELS.get(key, key.replace("_", " ").capitalize())



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


def delineation_section(conn: Connection, lang: str = "id", clock=None) -> dict[str, Any]:
    """Agreements located in a unit inside or cut by IKN, with their decision deadline."""
    rows = conn.execute(
        sa.select(agreements.c.id, agreements.c.number, agreements.c.title, agreements.c.lead_opd, agreements.c.lifecycle_state,
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
            "ikn_delineation": (r.data or {}).get("ikn_delineation"), "units": [],
            "decision_due": ((clock.local(due[r.id]) if clock else due[r.id]).date().isoformat()) if r.id in due else None,
            "decided": bool((r.data or {}).get("ikn_decision_ref")),
            # when its IKN relevance and alignment were last assessed (identify, every evaluation)
            "ikn_assessed_on": (r.data or {}).get("ikn_assessed_on"),
            "ikn_assessed": _assessed_text((r.data or {}).get("ikn_relevance"), (r.data or {}).get("ikn_assessed_on")),
        })
        item["units"].append(f"{r.name} ({STATUS_LABELS[lang][r.ikn_status]})")
    units = Counter(conn.execute(sa.select(wilayah.c.ikn_status)).scalars().all())
    return {"units": {s: units[s] for s in STATUS_LABELS[lang]}, "agreements": list(items.values()),
            "pending_decisions": sum(1 for i in items.values() if i["decision_due"])}


def _assessed_text(relevance: str | None, assessed_on: str | None) -> str:
    """The last IKN assessment as the report prints it. A relevance recorded without a date came
    with an import (the date is derived only when a person records it)."""
    if assessed_on:
        return assessed_on
    return "tanggal tidak tercatat" if relevance else "belum dinilai"


def potensi_by_field(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(potensi, agreements.c.number.label("agreement"))
                        .select_from(potensi.outerjoin(agreements, agreements.c.id == potensi.c.agreement_id))
                        .order_by(potensi.c.number)).all()
    groups: dict[str, list] = defaultdict(list)
    for r in rows:
        groups[r.field].append({"id": r.number, "description": r.description, "proposer": r.proposer,
                                "ikn_counterpart": r.ikn_counterpart, "expected_form": r.expected_form,
                                "status": r.status, "agreement": r.agreement})
    order = sorted(groups, key=lambda f: (f != "transport", field_label(f)))
    return [{"field": f, "label": field_label(f), "entries": groups[f]} for f in order]


def build(conn: Connection, lang: str = "id", clock=None) -> dict[str, Any]:
    return {"by_kecamatan": by_kecamatan(conn, lang), "ikn_delineation": delineation_section(conn, lang, clock),
            "potensi": potensi_by_field(conn)}


def render_text(w: dict[str, Any]) -> str:
    lines = ["", "Kerja sama per kecamatan (lokasi)", "-" * 34]
    for k in w["by_kecamatan"]:
        bar = "#" * k["agreements"]
        lines.append(f"  {k['code']:<9} {k['name']:<24} {k['agreements']:>4} {bar:<20} {k['ikn_label']}")
    d = w["ikn_delineation"]
    lines += ["", "Delineasi IKN", "-" * 13,
              "  Wilayah: " + ", ".join(f"{STATUS_LABELS['id'][s]} {n}" for s, n in d["units"].items()),
              f"  Kerja sama berlokasi di wilayah yang masuk/terpotong IKN: {len(d['agreements'])}"
              f" (menunggu keputusan: {d['pending_decisions']})"]
    for a in d["agreements"]:
        due = f", keputusan paling lambat {a['decision_due']}" if a["decision_due"] else (", sudah diputuskan" if a["decided"] else "")
        lines.append(f"  {a['id']}  {a['title'][:50]}  [{'; '.join(a['units'])}]{due}, penilaian IKN terakhir {a['ikn_assessed']}")
    lines += ["", "Potensi kerja sama dengan IKN (per urusan)", "-" * 42]
    for g in w["potensi"]:
        lines.append(f"  {g['label']}: {len(g['entries'])}")
        for e in g["entries"]:
            lines.append(f"    {e['id']}  {e['description'][:60]}  ({e['expected_form']}, {e['status']})")
    return "\n".join(lines) + "\n"


def write_oikn_xlsx(ctx, conn: Connection, path: str | Path) -> int:
    """The inventory of potential cooperation in the form Kukar sends to OIKN: one sheet, grouped
    by field (transport first), with the header of the letter. Returns the number of entries."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from notifiers.formatting import tanggal

    groups = potensi_by_field(conn)
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
                       e["expected_form"], e["status"].replace("_", " "), e["agreement"] or ""])
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
<h2>Kerja sama per kecamatan</h2>
<table><tr><th>Kode</th><th>Kecamatan</th><th>Desa/kelurahan</th><th>Kerja sama</th><th></th><th>Delineasi IKN</th></tr>
{% for k in w.by_kecamatan %}<tr><td>{{ k.code }}</td><td>{{ k.name }}</td><td>{{ k.units }}</td><td>{{ k.agreements }}</td>
<td><svg width="{{ 4 + k.agreements * 8 }}" height="12"><rect width="{{ k.agreements * 8 }}" height="12" fill="{{ colours[k.ikn_status] }}"/></svg></td>
<td>{{ k.ikn_label }}</td></tr>
{% endfor %}</table>
<h2>Delineasi IKN</h2>
<p>Wilayah: {% for s, n in w.ikn_delineation.units.items() %}{{ labels[s] }} {{ n }}{{ ", " if not loop.last }}{% endfor %}.
Kerja sama berlokasi di wilayah yang masuk atau terpotong IKN: {{ w.ikn_delineation.agreements|length }}
(menunggu keputusan: {{ w.ikn_delineation.pending_decisions }}).</p>
<table><tr><th>Nomor</th><th>Judul</th><th>Lokasi</th><th>Status</th><th>Batas keputusan</th><th>Penilaian IKN terakhir</th></tr>
{% for a in w.ikn_delineation.agreements %}<tr><td>{{ a.id }}</td><td>{{ a.title }}</td><td>{{ a.units|join("; ") }}</td><td>{{ a.state }}</td>
<td>{{ a.decision_due or ("sudah diputuskan" if a.decided else "-") }}</td><td>{{ a.ikn_assessed }}</td></tr>
{% endfor %}</table>
<h2>Potensi kerja sama dengan IKN</h2>
{% for g in w.potensi %}<h3>{{ g.label }} ({{ g.entries|length }})</h3><ul>
{% for e in g.entries %}<li>{{ e.id }}: {{ e.description }} ({{ e.expected_form }}, {{ e.status }}){% if e.agreement %}, {{ e.agreement }}{% endif %}</li>
{% endfor %}</ul>{% endfor %}
</section>
"""
COLOURS = {"inside": "#b5446e", "cut": "#e07a2f", "to_confirm": "#c9a227", "outside": "#1f6f8b"}


def into_html(html: str, w: dict[str, Any] | None) -> str:
    """The report's HTML with the wilayah sections before its footer."""
    if not w:
        return html
    from jinja2 import Environment, select_autoescape

    env = Environment(autoescape=select_autoescape(default_for_string=True), trim_blocks=True, lstrip_blocks=True)
    section = env.from_string(_HTML).render(w=w, labels=STATUS_LABELS["id"], colours=COLOURS)
    return html.replace("<footer>", section + "<footer>", 1) if "<footer>" in html else html.replace("</body>", section + "</body>")


def add_sheets(wb, w: dict[str, Any]) -> None:
    """Agreements by kecamatan, the IKN delineation and the potential cooperation with IKN, as
    the report's other sheets are (typed cells, widths, frozen header, autofilter)."""
    from engine.inventory.report_xlsx import Col, write_table

    write_table(wb.create_sheet("kecamatan"),
                [Col("Kode", width=12), Col("Kecamatan", "wrap", 24), Col("Desa/kelurahan", "int", width=16),
                 Col("Kerja sama", "int", width=12), Col("Delineasi IKN", "wrap", 24)],
                [[k["code"], k["name"], k["units"], k["agreements"], k["ikn_label"]] for k in w["by_kecamatan"]])
    write_table(wb.create_sheet("delineasi_ikn"),
                [Col("Nomor", width=16), Col("Judul", "wrap", 40), Col("Lokasi", "wrap", 30), Col("Status", "wrap", 18),
                 Col("Batas keputusan", "date"), Col("Penilaian IKN terakhir", "date")],
                [[a["id"], a["title"], "; ".join(a["units"]), a["state"], a["decision_due"], a["ikn_assessed_on"]]
                 for a in w["ikn_delineation"]["agreements"]])
    write_table(wb.create_sheet("potensi_ikn"),
                [Col("Urusan", "wrap", 20), Col("Nomor", width=14), Col("Uraian", "wrap", 40), Col("Pengusul", "wrap", 24),
                 Col("Mitra IKN", "wrap", 24), Col("Bentuk", "wrap", 14), Col("Status", "wrap", 16),
                 Col("Kerja sama", width=16)],
                [[g["label"], e["id"], e["description"], e["proposer"], e["ikn_counterpart"], e["expected_form"],
                  e["status"], e["agreement"] or ""] for g in w["potensi"] for e in g["entries"]])
