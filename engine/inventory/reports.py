"""The inventory report for the TKKSD: what there is, what hangs, what falls due, how KBs are followed up.

``build`` reads the database once and returns plain data (JSON-ready); the renderers turn it
into text, JSON, a self-contained printable HTML page with inline SVG charts (Indonesian
labels, no network), or an XLSX workbook. Deadlines are read from the ``deadlines`` table
(the planner writes them); hanging agreements are also found from the agreements themselves,
so the report is right even where no deadline was planned.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa

from notifiers.formatting import tanggal, waktu

from engine.store import db
from engine.context import Context
from engine.inventory import evaluation_report, wilayah_report
from engine.lifecycle.labels import DEADLINE_TEXT, deadline_what  # noqa: F401 - part of this module's names
from engine.inventory import report_hanging, report_trends
from engine.lifecycle.labels import CHOICE_LABELS, choice_label, choice_labels, report_text
from engine.inventory.report_hanging import KB_KINDS  # noqa: F401 - part of this module's names
from engine.lifecycle.hanging import find as find_hanging
from engine.store.tables import agreements, deadlines, history, opds

OUTCOMES = ("continue", "upgrade", "revise", "terminate", "extend")
# Kept for callers of the old names; the labels live in engine.lifecycle.labels.
OUTCOME_LABELS = CHOICE_LABELS["outcome"]["id"]
CATEGORY_LABELS = CHOICE_LABELS["category"]["id"]
PARTNER_TYPE_LABELS = CHOICE_LABELS["partner_type"]["id"]
IKN_LABELS = CHOICE_LABELS["ikn_relevance"]["id"]
BMD_FORM_LABELS = CHOICE_LABELS["form"]["id"]
SIGNED_OR_LATER = ("signed", "integrated", "under_evaluation", "expired", "terminated", "ended", "closed")


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
    return [{"key": k, "label": (labels or {}).get(k, k), "count": counter[k]} for k in keys if counter.get(k)]


class Snapshot:
    """Everything the report needs, read in one transaction, with the lookups every part shares."""

    def __init__(self, ctx: Context, horizon_days: int):
        self.ctx, self.lang = ctx, ctx.lang
        self.now, self.today = ctx.clock.now(), ctx.clock.today()
        self.until = self.now + timedelta(days=horizon_days)
        self._defns: dict[tuple[str, int], Any] = {}
        self._read()
        self.by_id = {r.id: r for r in self.rows}
        self.children: Counter = Counter(r.parent_id for r in self.rows if r.parent_id)

    def _read(self) -> None:
        with db.read(self.ctx.engine) as conn:
            self.rows = conn.execute(sa.select(
                agreements.c.id, agreements.c.number, agreements.c.title, agreements.c.partner, agreements.c.lead_opd,
                agreements.c.workflow, agreements.c.workflow_version, agreements.c.lifecycle_state, agreements.c.data,
                agreements.c.parent_id, agreements.c.state_entered_at,
            ).order_by(agreements.c.id)).all()
            self.opds = {r.code: r for r in conn.execute(sa.select(opds.c.code, opds.c.name, opds.c.head_title))}
            self.pending = conn.execute(
                sa.select(deadlines.c.id, deadlines.c.agreement_id, deadlines.c.rule, deadlines.c.state, deadlines.c.due_at,
                          deadlines.c.offset_days, deadlines.c.occurrence)
                .where(deadlines.c.status == "pending", deadlines.c.due_at <= self.until)
                .order_by(deadlines.c.due_at, deadlines.c.id)
            ).all()
            self.outcome_events = conn.execute(
                sa.select(history.c.event, history.c.at).where(history.c.event.in_(OUTCOMES), history.c.kind != "import")
            ).all()
            # The demo loader notes "sample data" on every agreement it imports: the report says so.
            self.sample = conn.execute(
                sa.select(history.c.id).where(history.c.seq == 1, history.c.note.like("%sample data%")).limit(1)
            ).first() is not None
            self.imported_ids = set(conn.execute(
                sa.select(history.c.agreement_id).where(history.c.seq == 1, history.c.kind == "import")
            ).scalars())
            self.wilayah = wilayah_report.build(conn, self.lang, self.ctx.clock, self.ctx.registry)
            # The one meaning of "hanging" (engine.lifecycle.hanging), shared with doctor, the
            # digests and status.
            self.hanging = find_hanging(conn, self.ctx, self.now)

    def defn(self, workflow: str, version: int):
        key = (workflow, version)
        if key not in self._defns:
            try:
                self._defns[key] = self.ctx.registry.get(workflow, version)
            except LookupError:
                self._defns[key] = None
        return self._defns[key]

    def state_label(self, r) -> str:
        d = self.defn(r.workflow, r.workflow_version)
        return d.state(r.lifecycle_state).label.get(self.lang) if d is not None and d.has_state(r.lifecycle_state) else r.lifecycle_state

    def is_final(self, r) -> bool:
        d = self.defn(r.workflow, r.workflow_version)
        return bool(d and d.has_state(r.lifecycle_state) and d.state(r.lifecycle_state).final)

    def opd_name(self, code: str) -> str:
        o = self.opds.get(code)
        return o.name if o else code

    date_of = staticmethod(lambda value: _date(value))


def _state_order(snap: Snapshot) -> tuple[list[str], dict[str, str]]:
    order: list[str] = []
    labels: dict[str, str] = {}
    for d in snap.ctx.registry.all():
        for s in d.states:
            if s.name not in order:
                order.append(s.name)
                labels[s.name] = s.label.get(snap.lang)
    return order, labels


def _count_all(snap: Snapshot) -> dict[str, Any]:
    """The counts by state, OPD, workflow, category, partner type, year and IKN relation."""
    lang = snap.lang
    c = {k: Counter() for k in ("state", "opd", "opd_active", "category", "ptype", "year", "ikn", "imported", "workflow")}
    state_order, state_labels = _state_order(snap)
    for r in snap.rows:
        data = r.data or {}
        c["state"][r.lifecycle_state] += 1
        if r.lifecycle_state not in state_order:
            state_order.append(r.lifecycle_state)
        c["opd"][r.lead_opd] += 1
        c["workflow"][r.workflow] += 1
        if not snap.is_final(r):
            c["opd_active"][r.lead_opd] += 1
        if r.workflow == "kerja-sama" or "category" in data:
            c["category"][data.get("category") or ""] += 1
        else:
            c["category"][f"BMD:{data.get('form') or ''}"] += 1
        c["ptype"][data.get("partner_type") or ""] += 1
        signed = _date(data.get("signed_on"))
        c["year"][str(signed.year) if signed else "belum"] += 1
        if "ikn_relevance" in data or r.workflow == "kerja-sama":
            c["ikn"][data.get("ikn_relevance") or ""] += 1
        rec = data.get("evaluation_recommendation")
        if rec and r.id in snap.imported_ids:
            c["imported"][rec] += 1
    cat_labels = dict(choice_labels("category", lang))
    for k in c["category"]:
        if k.startswith("BMD:"):
            cat_labels[k] = ("Use of regional assets (BMD)" if lang == "en" else "Pemanfaatan BMD") + (
                f": {choice_label('form', k[4:], lang)}" if k[4:] else "")
    years = sorted(k for k in c["year"] if k != "belum") + (["belum"] if "belum" in c["year"] else [])
    return {
        "counters": c,
        "by_workflow": _counts(c["workflow"], {d.name: d.label.get(lang) for d in snap.ctx.registry.all()}),
        "by_state": _counts(c["state"], state_labels, state_order),
        "by_opd": [{"key": k, "label": snap.opd_name(k), "count": n, "active": c["opd_active"].get(k, 0)}
                   for k, n in sorted(c["opd"].items(), key=lambda kv: (-kv[1], kv[0]))],
        "by_category": _counts(c["category"], cat_labels),
        "by_partner_type": _counts(c["ptype"], dict(choice_labels("partner_type", lang))),
        "by_year": _counts(c["year"], {"belum": report_text(lang)["not_signed"]}, years),
    }


def _hanging_and_due(snap: Snapshot) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    def what_of(r, dl) -> str:
        return deadline_what(snap.defn(r.workflow, r.workflow_version), dl.rule, dl.state, dl.offset_days, snap.lang)

    return report_hanging.entries(snap, snap.hanging), report_hanging.due_soon(snap, what_of, snap.opd_name)


def _followup(snap: Snapshot) -> dict[str, Any]:
    """KB -> PKS: how many signed KB/MoU/NK have a follow-up agreement."""
    kbs = [r for r in snap.rows if (r.data or {}).get("document_kind") in KB_KINDS and r.lifecycle_state in SIGNED_OR_LATER]
    followed = [r for r in kbs if snap.children.get(r.id)]
    in_progress = sum(1 for r in followed if any(
        c.parent_id == r.id and c.lifecycle_state not in SIGNED_OR_LATER for c in snap.rows))
    return {"kb_total": len(kbs), "followed_up": len(followed),
            "rate": round(len(followed) / len(kbs), 3) if kbs else None,
            "with_pks_in_preparation": in_progress, "not_followed_up": len(kbs) - len(followed)}


def _evaluation(snap: Snapshot, imported: Counter) -> list[dict[str, Any]]:
    hist = Counter(e for e, _ in snap.outcome_events)
    return [
        {"outcome": o, "label": choice_label("outcome", o, snap.lang), "from_history": hist.get(o, 0),
         "recorded_at_import": imported.get(o, 0), "total": hist.get(o, 0) + imported.get(o, 0)}
        for o in list(OUTCOMES) + sorted(k for k in imported if k not in OUTCOMES)
    ]


def _trends(snap: Snapshot, hanging: list[dict[str, Any]]) -> dict[str, Any]:
    signed = [d for d in (_date((r.data or {}).get("signed_on")) for r in snap.rows) if d is not None]
    events = [(e, snap.ctx.clock.local(at).year) for e, at in snap.outcome_events]
    # An imported evaluation counts in the year the agreement entered its recorded state.
    events += [((r.data or {})["evaluation_recommendation"], snap.ctx.clock.local(r.state_entered_at).year)
               for r in snap.rows if r.id in snap.imported_ids and (r.data or {}).get("evaluation_recommendation")]
    return {
        **report_trends.signings(signed, snap.lang),
        "hanging_per_quarter": report_trends.hanging_per_quarter(
            [date.fromisoformat(h["since"]) for h in hanging], snap.today, snap.lang),
        "evaluations_per_year": report_trends.evaluations_per_year(events, OUTCOMES, snap.lang),
    }


def build(ctx: Context, *, horizon_days: int = 90) -> dict[str, Any]:
    """The report as plain data (JSON-ready); dates in ISO form, labels in the context's language."""
    snap = Snapshot(ctx, horizon_days)
    counts = _count_all(snap)
    hanging, due_soon = _hanging_and_due(snap)
    ikn_counter = counts["counters"]["ikn"]
    ikn_total = sum(v for k, v in ikn_counter.items() if k)
    ikn_related = ikn_counter.get("direct", 0) + ikn_counter.get("indirect", 0)
    active = sum(counts["counters"]["opd_active"].values())
    return {
        "title": report_text(ctx.lang)["title"],
        "lang": ctx.lang,
        "region": ctx.settings.get("general", "region", "Kabupaten Kutai Kartanegara"),
        "generated_at": snap.now.isoformat(),
        "as_of": snap.today.isoformat(),
        "timezone": ctx.settings.timezone,
        "timezone_abbr": ctx.settings.get("general", "timezone_abbr", "WITA"),
        "horizon_days": horizon_days,
        "totals": {"agreements": len(snap.rows), "active": active, "final": len(snap.rows) - active,
                   "hanging": len(hanging), "due_soon": len(due_soon)},
        **{k: v for k, v in counts.items() if k != "counters"},
        "hanging": hanging,
        "due_soon": due_soon,
        "followup": _followup(snap),
        "evaluation": _evaluation(snap, counts["counters"]["imported"]),
        "trends": _trends(snap, hanging),
        "ikn": {
            "counts": _counts(ikn_counter, dict(choice_labels("ikn_relevance", ctx.lang)), ["direct", "indirect", "none", ""]),
            "related": ikn_related, "with_value": ikn_total,
            "share": round(ikn_related / ikn_total, 3) if ikn_total else None,
        },
        "sample_data": snap.sample,
        **evaluation_report.sections(ctx),  # KB decisions, evaluations departing from the score
        "wilayah": snap.wilayah,  # by kecamatan, the IKN delineation, potential cooperation with IKN
    }


# ------------------------------------------------------------------------- text and JSON


def render_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def percent(x: float | None, lang: str = "id") -> str:
    """``48,4 %`` (Indonesian) or ``48.4%`` (English); ``-`` when there is nothing to divide."""
    from engine import i18n

    return "-" if x is None else i18n.percent(x, lang)


def generated_when(data: dict[str, Any]) -> str:
    """When the report was made, as people read it: ``1 Mei 2024 pukul 09.00 WITA``."""
    return waktu(datetime.fromisoformat(data["generated_at"]), data.get("lang", "id"), data["timezone"],
                 data.get("timezone_abbr", "WITA"))


def day_text(iso: str, lang: str) -> str:
    return tanggal(date.fromisoformat(iso), lang)


def render_text(data: dict[str, Any]) -> str:
    from engine.i18n import number

    lang = data.get("lang", "id")
    T = report_text(lang)

    def n(value: int) -> str:
        return number(value, lang)

    out: list[str] = []
    t = data["totals"]
    out.append(f"{data['title']} - {data['region']}")
    out.append(f"{T['as_of'].capitalize()} {day_text(data['as_of'], lang)}; {T['made']} {generated_when(data)}")
    out.append("")
    out.append(f"{T['total']}: {n(t['agreements'])} ({T['active'].lower()} {n(t['active'])}, {T['final'].lower()} {n(t['final'])}); "
               f"{T['hanging'].lower()} {n(t['hanging'])}; {T['due_soon'].format(days=n(data['horizon_days'])).lower()} {n(t['due_soon'])}")

    def section(title: str, items: list[dict[str, Any]], extra: bool = False) -> None:
        out.append("")
        out.append(title)
        width = min(max((len(str(i["label"])) for i in items), default=10), 60)
        for i in items:
            line = f"  {str(i['label'])[:60].ljust(width)}  {n(i['count']):>5}"
            if extra and "active" in i:
                line += f"  ({T['active_short'].lower()}: {n(i['active'])})"
            out.append(line)

    section(T["by_state"], data["by_state"])
    section(T["by_category"], data["by_category"])
    section(T["by_partner_type"], data["by_partner_type"])
    section(T["by_year"], data["by_year"])
    section(T["by_opd"], data["by_opd"][:15], extra=True)
    f = data["followup"]
    out.append("")
    out.append(f"{T['followup']}: {n(f['followed_up'])} {T['of']} {n(f['kb_total'])} ({percent(f['rate'], lang)})")
    ikn = data["ikn"]
    out.append(f"{T['ikn_share']}: {n(ikn['related'])} {T['of']} {n(ikn['with_value'])} ({percent(ikn['share'], lang)})")
    out.append("")
    out.append(T["evaluation"])
    for e in data["evaluation"]:
        out.append(f"  {e['label'].ljust(28)} {n(e['total']):>5}")
    out.extend(evaluation_report.text_lines(data))
    out.append("")
    out.append(f"{T['hanging_list']} ({n(len(data['hanging']))})")
    for h in data["hanging"][:40]:
        out.append(f"  {h['id']}  {T['since'].lower()} {day_text(h['since'], lang)}  {h['responsible']['opd']}: "
                   f"{'; '.join(h['reasons'])}")
    if len(data["hanging"]) > 40:
        out.append(f"  ... +{n(len(data['hanging']) - 40)} (--format json/html/pdf/xlsx)")
    out.append("")
    out.append(f"{T['due_list'].format(days=n(data['horizon_days']))} ({n(len(data['due_soon']))})")
    for d in data["due_soon"][:40]:
        out.append(f"  {day_text(d['due_on'], lang)}  {d['id']}  {d['responsible']['opd']}: {d['what']}")
    if len(data["due_soon"]) > 40:
        out.append(f"  ... +{n(len(data['due_soon']) - 40)}")
    return "\n".join(out) + "\n" + (wilayah_report.render_text(data["wilayah"], lang) if "wilayah" in data else "")


# ------------------------------------------------------------------------- HTML, PDF, XLSX (own modules)


def render_html(data: dict[str, Any]) -> str:
    from engine.inventory.report_html import render

    return wilayah_report.into_html(render(data), data.get("wilayah"), data.get("lang", "id"))


def write_pdf(data: dict[str, Any], path: str | Path) -> str:
    from engine.inventory.report_pdf import write

    return write(render_html(data), path)


def write_xlsx(data: dict[str, Any], path: str | Path) -> None:
    from engine.inventory.report_xlsx import write

    write(data, path)
