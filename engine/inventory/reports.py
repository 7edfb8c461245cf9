"""The inventory report for the TKKSD: what there is, what hangs, what falls due, how KBs are followed up.

``build`` reads the database once and returns plain data (JSON-ready); the renderers turn it
into text, JSON, a self-contained printable HTML page with inline SVG charts (Indonesian
labels, no network), or an XLSX workbook. Deadlines are read from the ``deadlines`` table
(the planner writes them); hanging agreements are also found from the agreements themselves,
so the report is right even where no deadline was planned.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa

from engine.store import db
from engine.bootstrap import Context
from engine.store.tables import agreements, deadlines, history, opds

KB_KINDS = ("KB", "MoU", "NK")
OUTCOMES = ("continue", "upgrade", "revise", "terminate", "extend")
OUTCOME_LABELS = {"continue": "Dilanjutkan", "upgrade": "Ditingkatkan menjadi PKS", "revise": "Direvisi (adendum)",
                  "terminate": "Diakhiri", "extend": "Diperpanjang", "end": "Diakhiri (BMD)"}
CATEGORY_LABELS = {
    "KSDD": "KS Daerah dengan Daerah Lain (KSDD)", "KSDPK": "KS Daerah dengan Pihak Ketiga (KSDPK)",
    "KSDPL": "KS dengan Pemda Luar Negeri (KSDPL)", "KSDLL": "KS dengan Lembaga Luar Negeri (KSDLL)",
    "SINERGI_IKN": "Sinergi dengan Otorita IKN", "KS_DESA": "Kerja Sama Desa", "": "(kategori belum diisi)",
}
PARTNER_TYPE_LABELS = {
    "region": "Pemerintah daerah", "ministry_agency": "Kementerian/lembaga", "otorita_ikn": "Otorita IKN",
    "bumn_bumd": "BUMN/BUMD", "company": "Badan usaha swasta", "university": "Perguruan tinggi",
    "ngo": "Organisasi kemasyarakatan", "foreign": "Luar negeri", "cooperative": "Koperasi",
    "individual": "Perorangan", "": "(jenis mitra belum diisi)",
}
IKN_LABELS = {"direct": "Langsung", "indirect": "Tidak langsung", "none": "Tidak terkait", "": "(belum diisi)"}
BMD_FORM_LABELS = {"sewa": "Sewa", "pinjam_pakai": "Pinjam pakai", "ksp": "KSP", "bgs_bsg": "BGS/BSG", "kspi": "KSPI", "ketupi": "KETUPI"}
# Overdue deadlines of these rules mean the agreement is stuck (DESIGN.md §3: "no agreement left hanging").
HANGING_RULES = frozenset({"step_sla", "escalation", "periodic_evaluation", "kb_followup", "expiry", "contract_due"})
SIGNED_OR_LATER = ("signed", "integrated", "under_evaluation", "expired", "terminated", "ended", "closed")


def deadline_what(defn, rule: str, state: str, offset_days: int = 0, lang: str = "id") -> str:
    """What a deadline row is about, in a sentence fragment a reader of the report understands."""
    state_label = defn.state(state).label.get(lang) if defn is not None and defn.has_state(state) else state
    texts = {
        "step_sla": f"Batas waktu tahap '{state_label}'",
        "escalation": f"Eskalasi ke Ketua TKKSD (tahap '{state_label}')",
        "periodic_evaluation": "Evaluasi berkala",
        "expiry_warning": f"Peringatan: masa berlaku berakhir {abs(offset_days)} hari lagi",
        "expiry": "Masa berlaku berakhir",
        "kb_followup": "Tindak lanjut KB menjadi PKS",
        "contract_due": "Batas penandatanganan perjanjian sewa (1 bulan setelah persetujuan)",
        "contribution_due": "Pembayaran kontribusi tahunan",
    }
    if rule in texts:
        return texts[rule]
    return rule.replace("_", " ").capitalize()


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _counts(counter: Counter, labels: dict[str, str] | None = None, order: Iterable[str] | None = None) -> list[dict[str, Any]]:
    keys = list(order) if order is not None else [k for k, _ in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))]
    out = []
    for k in keys:
        if counter.get(k):
            out.append({"key": k, "label": (labels or {}).get(k, k) if labels is not None else k, "count": counter[k]})
    return out


def build(ctx: Context, *, horizon_days: int = 90) -> dict[str, Any]:
    now = ctx.clock.now()
    today = ctx.clock.today()
    until = now + timedelta(days=horizon_days)
    with db.read(ctx.engine) as conn:
        rows = conn.execute(sa.select(
            agreements.c.id, agreements.c.number, agreements.c.title, agreements.c.partner, agreements.c.lead_opd,
            agreements.c.workflow, agreements.c.workflow_version, agreements.c.lifecycle_state, agreements.c.data,
            agreements.c.parent_id, agreements.c.state_entered_at,
        ).order_by(agreements.c.id)).all()
        opd_rows = {r.code: r for r in conn.execute(sa.select(opds.c.code, opds.c.name, opds.c.head_title))}
        pending = conn.execute(
            sa.select(deadlines.c.id, deadlines.c.agreement_id, deadlines.c.rule, deadlines.c.state, deadlines.c.due_at,
                      deadlines.c.offset_days, deadlines.c.occurrence)
            .where(deadlines.c.status == "pending", deadlines.c.due_at <= until)
            .order_by(deadlines.c.due_at, deadlines.c.id)
        ).all()
        outcome_events = conn.execute(
            sa.select(history.c.event, sa.func.count()).where(history.c.event.in_(OUTCOMES), history.c.kind != "import")
            .group_by(history.c.event)
        ).all()
        # The demo loader notes "sample data" on every agreement it imports: the report says so.
        sample = conn.execute(
            sa.select(history.c.id).where(history.c.seq == 1, history.c.note.like("%sample data%")).limit(1)
        ).first() is not None
        imported_ids = set(conn.execute(
            sa.select(history.c.agreement_id).where(history.c.seq == 1, history.c.kind == "import")
        ).scalars())

    defns: dict[tuple[str, int], Any] = {}

    def defn_of(workflow: str, version: int):
        key = (workflow, version)
        if key not in defns:
            try:
                defns[key] = ctx.registry.get(workflow, version)
            except LookupError:
                defns[key] = None
        return defns[key]

    def state_label(workflow: str, version: int, state: str) -> str:
        d = defn_of(workflow, version)
        return d.state(state).label.get(ctx.lang) if d is not None and d.has_state(state) else state

    def is_final(r) -> bool:
        d = defn_of(r.workflow, r.workflow_version)
        return bool(d and d.has_state(r.lifecycle_state) and d.state(r.lifecycle_state).final)

    by_id = {r.id: r for r in rows}
    children: dict[int, int] = Counter(r.parent_id for r in rows if r.parent_id)

    # ------------------------------------------------------------ counts
    state_counter: Counter = Counter()
    state_labels: dict[str, str] = {}
    state_order: list[str] = []
    for d in ctx.registry.all():
        for s in d.states:
            if s.name not in state_order:
                state_order.append(s.name)
                state_labels[s.name] = s.label.get(ctx.lang)
    opd_counter: Counter = Counter()
    opd_active: Counter = Counter()
    cat_counter: Counter = Counter()
    ptype_counter: Counter = Counter()
    year_counter: Counter = Counter()
    ikn_counter: Counter = Counter()
    imported_outcomes: Counter = Counter()
    workflow_counter: Counter = Counter()
    active = 0
    for r in rows:
        data = r.data or {}
        state_counter[r.lifecycle_state] += 1
        state_labels.setdefault(r.lifecycle_state, r.lifecycle_state)
        if r.lifecycle_state not in state_order:
            state_order.append(r.lifecycle_state)
        opd_counter[r.lead_opd] += 1
        workflow_counter[r.workflow] += 1
        if not is_final(r):
            opd_active[r.lead_opd] += 1
            active += 1
        if r.workflow == "kerja-sama" or "category" in data:
            cat_counter[data.get("category") or ""] += 1
        else:
            form = data.get("form") or ""
            cat_counter[f"BMD:{form}"] += 1
        ptype_counter[data.get("partner_type") or ""] += 1
        signed = _date(data.get("signed_on"))
        year_counter[str(signed.year) if signed else "belum"] += 1
        if "ikn_relevance" in data or r.workflow == "kerja-sama":
            ikn_counter[data.get("ikn_relevance") or ""] += 1
        rec = data.get("evaluation_recommendation")
        if rec and r.id in imported_ids:
            imported_outcomes[rec] += 1

    cat_labels = dict(CATEGORY_LABELS)
    for k in cat_counter:
        if k.startswith("BMD:"):
            cat_labels[k] = "Pemanfaatan BMD" + (f": {BMD_FORM_LABELS.get(k[4:], k[4:])}" if k[4:] else "")
    years = sorted(k for k in year_counter if k != "belum") + (["belum"] if "belum" in year_counter else [])

    # ------------------------------------------------------------ hanging
    settings = ctx.settings
    sla = settings.deadline_days("sla") or {}
    evaluation_days = int(settings.deadline_days("evaluation_days") or 365)
    followup_days = int(settings.deadline_days("kb_followup_days") or 365)
    hanging: dict[int, dict[str, Any]] = {}

    def hang(r, kind: str, reason: str, since: date) -> None:
        entry = hanging.get(r.id)
        if entry is None:
            o = opd_rows.get(r.lead_opd)
            entry = hanging[r.id] = {
                "id": r.number, "title": r.title, "partner": r.partner, "state": r.lifecycle_state,
                "state_label": state_label(r.workflow, r.workflow_version, r.lifecycle_state),
                "state_since": ctx.clock.local(r.state_entered_at).date().isoformat(),
                "since": since.isoformat(), "days": (today - since).days,
                "responsible": {"opd": r.lead_opd, "name": o.name if o else r.lead_opd, "head": o.head_title if o else ""},
                "reasons": [], "kinds": [],
            }
        if kind in entry["kinds"]:
            return
        entry["kinds"].append(kind)
        entry["reasons"].append(reason)
        if since.isoformat() < entry["since"]:
            entry["since"], entry["days"] = since.isoformat(), (today - since).days

    due_soon = []
    for dl in pending:
        r = by_id.get(dl.agreement_id)
        if r is None or is_final(r):
            continue
        d = defn_of(r.workflow, r.workflow_version)
        due_day = ctx.clock.local(dl.due_at).date()
        what = deadline_what(d, dl.rule, dl.state, dl.offset_days, ctx.lang)
        if dl.due_at <= now:
            if dl.rule not in HANGING_RULES:  # a warning or a payment reminder is not the agreement hanging
                continue
            kind = "step" if dl.rule in ("step_sla", "escalation") else dl.rule
            hang(r, kind, f"{what}: terlewati sejak {due_day.isoformat()}", due_day)
        else:
            o = opd_rows.get(r.lead_opd)
            due_soon.append({
                "due_on": due_day.isoformat(), "days_left": (due_day - today).days, "id": r.number, "title": r.title,
                "what": what, "rule": dl.rule, "state": r.lifecycle_state,
                "responsible": {"opd": r.lead_opd, "name": o.name if o else r.lead_opd},
            })

    for r in rows:
        if is_final(r):
            continue
        data = r.data or {}
        since = ctx.clock.local(r.state_entered_at).date()
        age = (today - since).days
        limit = sla.get(r.lifecycle_state) if isinstance(sla, dict) else None
        if limit is not None and age > int(limit):
            hang(r, "step", f"Berada di tahap '{state_label(r.workflow, r.workflow_version, r.lifecycle_state)}' "
                            f"{age} hari (batas {int(limit)} hari)", since + timedelta(days=int(limit)))
        if r.lifecycle_state == "integrated" and age > evaluation_days:
            hang(r, "periodic_evaluation", f"Evaluasi berkala terlambat: belum dievaluasi sejak {since.isoformat()}",
                 since + timedelta(days=evaluation_days))
        if (data.get("document_kind") in KB_KINDS and r.lifecycle_state in ("integrated", "under_evaluation")
                and not children.get(r.id)):
            signed = _date(data.get("signed_on")) or since
            if (today - signed).days > followup_days:
                hang(r, "kb_followup", f"KB/MoU belum ditindaklanjuti dengan PKS sejak ditandatangani {signed.isoformat()}",
                     signed + timedelta(days=followup_days))
        ends = _date(data.get("ends_on"))
        if ends and ends < today and r.lifecycle_state in ("signed", "integrated", "under_evaluation"):
            hang(r, "expiry", f"Masa berlaku berakhir {ends.isoformat()} tetapi belum ditutup", ends)
    hanging_list = sorted(hanging.values(), key=lambda h: (h["since"], h["id"]))
    for h in hanging_list:
        h.pop("kinds", None)

    # ------------------------------------------------------------ KB -> PKS follow-up
    kbs = [r for r in rows if (r.data or {}).get("document_kind") in KB_KINDS and r.lifecycle_state in SIGNED_OR_LATER]
    followed = [r for r in kbs if children.get(r.id)]
    in_progress = sum(1 for r in followed if any(
        c.parent_id == r.id and c.lifecycle_state not in SIGNED_OR_LATER for c in rows))
    followup = {
        "kb_total": len(kbs), "followed_up": len(followed),
        "rate": round(len(followed) / len(kbs), 3) if kbs else None,
        "with_pks_in_preparation": in_progress,
        "not_followed_up": len(kbs) - len(followed),
    }

    outcomes_hist = {e: n for e, n in outcome_events}
    evaluation = [
        {"outcome": o, "label": OUTCOME_LABELS.get(o, o), "from_history": outcomes_hist.get(o, 0),
         "recorded_at_import": imported_outcomes.get(o, 0), "total": outcomes_hist.get(o, 0) + imported_outcomes.get(o, 0)}
        for o in list(OUTCOMES) + sorted(k for k in imported_outcomes if k not in OUTCOMES)
    ]

    ikn_total = sum(v for k, v in ikn_counter.items() if k)
    ikn_related = ikn_counter.get("direct", 0) + ikn_counter.get("indirect", 0)
    return {
        "title": "Laporan Inventaris Kerja Sama Daerah",
        "region": settings.get("general", "region", "Kabupaten Kutai Kartanegara"),
        "generated_at": now.isoformat(),
        "as_of": today.isoformat(),
        "timezone": settings.timezone,
        "horizon_days": horizon_days,
        "totals": {"agreements": len(rows), "active": active, "final": len(rows) - active,
                   "hanging": len(hanging_list), "due_soon": len(due_soon)},
        "by_workflow": _counts(workflow_counter, {d.name: d.label.get(ctx.lang) for d in ctx.registry.all()}),
        "by_state": _counts(state_counter, state_labels, state_order),
        "by_opd": [
            {"key": k, "label": opd_rows[k].name if k in opd_rows else k, "count": n, "active": opd_active.get(k, 0)}
            for k, n in sorted(opd_counter.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "by_category": _counts(cat_counter, cat_labels),
        "by_partner_type": _counts(ptype_counter, PARTNER_TYPE_LABELS),
        "by_year": _counts(year_counter, {"belum": "Belum ditandatangani"}, years),
        "hanging": hanging_list,
        "due_soon": sorted(due_soon, key=lambda d: (d["due_on"], d["id"])),
        "followup": followup,
        "evaluation": evaluation,
        "ikn": {
            "counts": _counts(ikn_counter, IKN_LABELS, ["direct", "indirect", "none", ""]),
            "related": ikn_related, "with_value": ikn_total,
            "share": round(ikn_related / ikn_total, 3) if ikn_total else None,
        },
        "sample_data": sample,
    }


# ------------------------------------------------------------------------- text and JSON


def render_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%".replace(".", ",")


def render_text(data: dict[str, Any]) -> str:
    out: list[str] = []
    t = data["totals"]
    out.append(f"{data['title']} - {data['region']}")
    out.append(f"Per {data['as_of']} ({data['timezone']}); dibuat {data['generated_at'][:19]} UTC")
    out.append("")
    out.append(f"Jumlah kerja sama: {t['agreements']} (berjalan/dalam proses {t['active']}, selesai {t['final']}); "
               f"menggantung {t['hanging']}; jatuh tempo {data['horizon_days']} hari ke depan {t['due_soon']}")

    def section(title: str, items: list[dict[str, Any]], extra: str | None = None) -> None:
        out.append("")
        out.append(title)
        width = max((len(str(i["label"])) for i in items), default=10)
        width = min(width, 60)
        for i in items:
            line = f"  {str(i['label'])[:60].ljust(width)}  {i['count']:>5}"
            if extra and extra in i:
                line += f"  ({i[extra]} aktif)"
            out.append(line)

    section("Menurut status", data["by_state"])
    section("Menurut kategori", data["by_category"])
    section("Menurut jenis mitra", data["by_partner_type"])
    section("Menurut tahun penandatanganan", data["by_year"])
    section("Menurut OPD pengampu (10 terbanyak)", data["by_opd"][:10], extra="active")
    f = data["followup"]
    out.append("")
    out.append(f"Tindak lanjut KB/MoU menjadi PKS: {f['followed_up']} dari {f['kb_total']} ({_pct(f['rate'])}); "
               f"{f['not_followed_up']} belum ditindaklanjuti")
    ikn = data["ikn"]
    out.append(f"Terkait IKN: {ikn['related']} dari {ikn['with_value']} ({_pct(ikn['share'])})")
    out.append("")
    out.append("Hasil evaluasi (riwayat + tercatat saat impor)")
    for e in data["evaluation"]:
        out.append(f"  {e['label'].ljust(28)} {e['total']:>5}")
    out.append("")
    out.append(f"Kerja sama menggantung ({len(data['hanging'])})")
    for h in data["hanging"][:40]:
        out.append(f"  {h['id']}  sejak {h['since']}  {h['responsible']['opd']}: {'; '.join(h['reasons'])}")
    if len(data["hanging"]) > 40:
        out.append(f"  ... dan {len(data['hanging']) - 40} lainnya (--format json/html/xlsx memuat semuanya)")
    out.append("")
    out.append(f"Jatuh tempo {data['horizon_days']} hari ke depan ({len(data['due_soon'])})")
    for d in data["due_soon"][:40]:
        out.append(f"  {d['due_on']}  {d['id']}  {d['responsible']['opd']}: {d['what']}")
    if len(data["due_soon"]) > 40:
        out.append(f"  ... dan {len(data['due_soon']) - 40} lainnya")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------- HTML with inline SVG

PALETTE = ["#1f6f8b", "#e07a2f", "#3f9b4b", "#b5446e", "#7a5cc4", "#c9a227", "#4a8fc9", "#8c6d3f", "#5aa39a", "#d1495b"]


def svg_bars(items: list[dict[str, Any]], *, width: int = 640, bar: int = 18, gap: int = 6, label_width: int = 260,
             title: str = "") -> str:
    """A horizontal bar chart as inline SVG (labels escaped)."""
    from markupsafe import escape

    if not items:
        return '<p class="empty">(tidak ada data)</p>'
    top = max(i["count"] for i in items) or 1
    plot = width - label_width - 60
    height = len(items) * (bar + gap) + gap
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    for n, i in enumerate(items):
        y = gap + n * (bar + gap)
        w = max(1, round(plot * i["count"] / top))
        label = str(i["label"])
        short = label if len(label) <= 38 else label[:37] + "…"
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar - 5}" text-anchor="end" class="lbl">{escape(short)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{w}" height="{bar}" rx="2" fill="{PALETTE[n % len(PALETTE)]}">'
            f'<title>{escape(label)}: {i["count"]}</title></rect>'
            f'<text x="{label_width + w + 6}" y="{y + bar - 5}" class="val">{i["count"]}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def svg_share(part: int, whole: int, *, width: int = 640, label: str = "") -> str:
    from markupsafe import escape

    share = part / whole if whole else 0
    w = round((width - 2) * share)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="34" viewBox="0 0 {width} 34" '
            f'role="img" aria-label="{escape(label)}"><rect x="1" y="1" width="{width - 2}" height="22" rx="3" fill="#e8eef2" stroke="#9bb"/>'
            f'<rect x="1" y="1" width="{w}" height="22" rx="3" fill="#3f9b4b"/>'
            f'<text x="{width / 2}" y="17" text-anchor="middle" class="val">{escape(_pct(share))} ({part} dari {whole})</text></svg>')


def render_html(data: dict[str, Any]) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(Path(__file__).with_name("report_templates"))),
                      autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    charts = {
        "state": svg_bars(data["by_state"], title="Menurut status"),
        "category": svg_bars(data["by_category"], title="Menurut kategori"),
        "partner_type": svg_bars(data["by_partner_type"], title="Menurut jenis mitra"),
        "year": svg_bars(data["by_year"], title="Menurut tahun penandatanganan"),
        "opd": svg_bars(data["by_opd"][:15], title="Menurut OPD pengampu"),
        "ikn": svg_bars(data["ikn"]["counts"], title="Keterkaitan dengan IKN"),
        "evaluation": svg_bars([{"label": e["label"], "count": e["total"]} for e in data["evaluation"] if e["total"]],
                               title="Hasil evaluasi"),
        "followup": svg_share(data["followup"]["followed_up"], data["followup"]["kb_total"], label="Tindak lanjut KB menjadi PKS"),
    }
    return env.get_template("report.html.j2").render(d=data, charts=charts, pct=_pct)


# ------------------------------------------------------------------------- XLSX


def write_xlsx(data: dict[str, Any], path: str | Path) -> None:
    from engine.inventory.sheets import mark_text_cells
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "ringkasan"
    bold = Font(bold=True)
    t = data["totals"]
    ws.append([data["title"], data["region"]])
    ws["A1"].font = bold
    ws.append(["Per tanggal", data["as_of"]])
    for label, value in (("Jumlah kerja sama", t["agreements"]), ("Berjalan / dalam proses", t["active"]),
                         ("Selesai", t["final"]), ("Menggantung", t["hanging"]),
                         (f"Jatuh tempo {data['horizon_days']} hari", t["due_soon"]),
                         ("KB/MoU", data["followup"]["kb_total"]), ("KB/MoU ditindaklanjuti PKS", data["followup"]["followed_up"]),
                         ("Tingkat tindak lanjut", data["followup"]["rate"]), ("Terkait IKN", data["ikn"]["related"]),
                         ("Porsi terkait IKN", data["ikn"]["share"])):
        ws.append([label, value])
    ws.column_dimensions["A"].width = 40
    for name, key in (("status", "by_state"), ("kategori", "by_category"), ("jenis_mitra", "by_partner_type"),
                      ("tahun", "by_year"), ("opd", "by_opd")):
        s = wb.create_sheet(name)
        s.append(["kode", "uraian", "jumlah"] + (["aktif"] if key == "by_opd" else []))
        for i in data[key]:
            s.append([i["key"], i["label"], i["count"]] + ([i["active"]] if key == "by_opd" else []))
        s.column_dimensions["B"].width = 50
    s = wb.create_sheet("evaluasi")
    s.append(["hasil", "uraian", "dari riwayat", "tercatat saat impor", "jumlah"])
    for e in data["evaluation"]:
        s.append([e["outcome"], e["label"], e["from_history"], e["recorded_at_import"], e["total"]])
    s = wb.create_sheet("menggantung")
    s.append(["id", "judul", "status", "sejak", "hari", "OPD", "nama OPD", "alasan"])
    for h in data["hanging"]:
        s.append([h["id"], h["title"], h["state_label"], h["since"], h["days"], h["responsible"]["opd"],
                  h["responsible"]["name"], "; ".join(h["reasons"])])
    s = wb.create_sheet("jatuh_tempo")
    s.append(["tanggal", "sisa hari", "id", "judul", "yang jatuh tempo", "OPD", "nama OPD"])
    for d in data["due_soon"]:
        s.append([d["due_on"], d["days_left"], d["id"], d["title"], d["what"], d["responsible"]["opd"], d["responsible"]["name"]])
    for sheet in wb.worksheets[1:]:
        for cell in sheet[1]:
            cell.font = bold
    for sheet in wb.worksheets:
        mark_text_cells(sheet)
    wb.save(path)
