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
<<<<<<< HEAD
from engine.context import Context
from engine.lifecycle.labels import DEADLINE_TEXT, deadline_what  # noqa: F401 - part of this module's names
from engine.inventory import evaluation_report
from engine.inventory import report_hanging, report_trends
from engine.lifecycle.labels import CHOICE_LABELS, choice_label, choice_labels, report_text
from engine.inventory.report_hanging import HANGING_RULES, KB_KINDS  # noqa: F401 - part of this module's names
=======
from engine.inventory import wilayah_report
from engine.bootstrap import Context
>>>>>>> wilayah15
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
    settings = snap.ctx.settings
    limits = {"sla": settings.deadline_days("sla") or {},
              "evaluation": int(settings.deadline_days("evaluation_days") or 365),
              "followup": int(settings.deadline_days("kb_followup_days") or 365)}

    def describe(r, since: date) -> dict[str, Any]:
        o = snap.opds.get(r.lead_opd)
        return {"id": r.number, "title": r.title, "partner": r.partner, "state": r.lifecycle_state,
                "state_label": snap.state_label(r),
                "state_since": snap.ctx.clock.local(r.state_entered_at).date().isoformat(),
                "since": since.isoformat(), "days": (snap.today - since).days,
                "responsible": {"opd": r.lead_opd, "name": o.name if o else r.lead_opd, "head": o.head_title if o else ""}}

    def what_of(r, dl) -> str:
        return deadline_what(snap.defn(r.workflow, r.workflow_version), dl.rule, dl.state, dl.offset_days, snap.lang)

    hanging = report_hanging.HangingList(snap.today, snap.lang, describe)
    due_soon = report_hanging.from_deadlines(snap, hanging, what_of, snap.opd_name)
    report_hanging.from_agreements(snap, hanging, limits)
    return hanging.sorted(), due_soon


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
<<<<<<< HEAD
    """The report as plain data (JSON-ready); dates in ISO form, labels in the context's language."""
    snap = Snapshot(ctx, horizon_days)
    counts = _count_all(snap)
    hanging, due_soon = _hanging_and_due(snap)
    ikn_counter = counts["counters"]["ikn"]
=======
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
        wilayah_data = wilayah_report.build(conn, ctx.lang, ctx.clock)  # by kecamatan, IKN delineation, potensi

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

>>>>>>> wilayah15
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
<<<<<<< HEAD
        "sample_data": snap.sample,
        **evaluation_report.sections(ctx),  # KB decisions, evaluations departing from the score
=======
        "sample_data": sample,
        "wilayah": wilayah_data,
>>>>>>> wilayah15
    }


# ------------------------------------------------------------------------- text and JSON


def render_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def percent(x: float | None, lang: str = "id") -> str:
    """``48,4%`` (Indonesian decimal comma) or ``48.4%`` in English."""
    if x is None:
        return "-"
    text = f"{x * 100:.1f}%"
    return text if lang == "en" else text.replace(".", ",")


def generated_when(data: dict[str, Any]) -> str:
    """When the report was made, as people read it: ``1 Mei 2024 pukul 09.00 WITA``."""
    return waktu(datetime.fromisoformat(data["generated_at"]), data.get("lang", "id"), data["timezone"],
                 data.get("timezone_abbr", "WITA"))


def day_text(iso: str, lang: str) -> str:
    return tanggal(date.fromisoformat(iso), lang)


def render_text(data: dict[str, Any]) -> str:
    lang = data.get("lang", "id")
    T = report_text(lang)
    out: list[str] = []
    t = data["totals"]
    out.append(f"{data['title']} - {data['region']}")
    out.append(f"{T['as_of'].capitalize()} {day_text(data['as_of'], lang)}; {T['made']} {generated_when(data)}")
    out.append("")
    out.append(f"{T['total']}: {t['agreements']} ({T['active'].lower()} {t['active']}, {T['final'].lower()} {t['final']}); "
               f"{T['hanging'].lower()} {t['hanging']}; {T['due_soon'].format(days=data['horizon_days']).lower()} {t['due_soon']}")

    def section(title: str, items: list[dict[str, Any]], extra: bool = False) -> None:
        out.append("")
        out.append(title)
        width = min(max((len(str(i["label"])) for i in items), default=10), 60)
        for i in items:
            line = f"  {str(i['label'])[:60].ljust(width)}  {i['count']:>5}"
            if extra and "active" in i:
                line += f"  ({T['active_short'].lower()}: {i['active']})"
            out.append(line)

    section(T["by_state"], data["by_state"])
    section(T["by_category"], data["by_category"])
    section(T["by_partner_type"], data["by_partner_type"])
    section(T["by_year"], data["by_year"])
    section(T["by_opd"], data["by_opd"][:15], extra=True)
    f = data["followup"]
    out.append("")
    out.append(f"{T['followup']}: {f['followed_up']} {T['of']} {f['kb_total']} ({percent(f['rate'], lang)})")
    ikn = data["ikn"]
    out.append(f"{T['ikn_share']}: {ikn['related']} {T['of']} {ikn['with_value']} ({percent(ikn['share'], lang)})")
    out.append("")
    out.append(T["evaluation"])
    for e in data["evaluation"]:
        out.append(f"  {e['label'].ljust(28)} {e['total']:>5}")
    out.extend(evaluation_report.text_lines(data))
    out.append("")
    out.append(f"{T['hanging_list']} ({len(data['hanging'])})")
    for h in data["hanging"][:40]:
        out.append(f"  {h['id']}  {T['since'].lower()} {day_text(h['since'], lang)}  {h['responsible']['opd']}: "
                   f"{'; '.join(h['reasons'])}")
    if len(data["hanging"]) > 40:
        out.append(f"  ... +{len(data['hanging']) - 40} (--format json/html/pdf/xlsx)")
    out.append("")
    out.append(f"{T['due_list'].format(days=data['horizon_days'])} ({len(data['due_soon'])})")
    for d in data["due_soon"][:40]:
        out.append(f"  {day_text(d['due_on'], lang)}  {d['id']}  {d['responsible']['opd']}: {d['what']}")
    if len(data["due_soon"]) > 40:
<<<<<<< HEAD
        out.append(f"  ... +{len(data['due_soon']) - 40}")
    return "\n".join(out) + "\n"
=======
        out.append(f"  ... dan {len(data['due_soon']) - 40} lainnya")
    return "\n".join(out) + "\n" + (wilayah_report.render_text(data["wilayah"]) if "wilayah" in data else "")
>>>>>>> wilayah15


# ------------------------------------------------------------------------- HTML, PDF, XLSX (own modules)


def render_html(data: dict[str, Any]) -> str:
    from engine.inventory.report_html import render

<<<<<<< HEAD
    return render(data)
=======
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
    html = env.get_template("report.html.j2").render(d=data, charts=charts, pct=_pct)
    return wilayah_report.into_html(html, data.get("wilayah"))
>>>>>>> wilayah15


def write_pdf(data: dict[str, Any], path: str | Path) -> str:
    from engine.inventory.report_pdf import write

    return write(render_html(data), path)


def write_xlsx(data: dict[str, Any], path: str | Path) -> None:
    from engine.inventory.report_xlsx import write

<<<<<<< HEAD
    write(data, path)
=======
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
    if "wilayah" in data:
        wilayah_report.add_sheets(wb, data["wilayah"])
    for sheet in wb.worksheets[1:]:
        for cell in sheet[1]:
            cell.font = bold
    wb.save(path)
>>>>>>> wilayah15
