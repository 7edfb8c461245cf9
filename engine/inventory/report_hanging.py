"""Which agreements hang and what falls due soon, for the report.

Hanging has one meaning, ``engine.lifecycle.hanging.find`` (shared with `tkksd doctor`, the
chair's digest and `tkksd status`); this module only writes each reason as a sentence in the
report's language. What falls due soon comes from the pending deadline rows.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Callable, Iterable

from notifiers.formatting import tanggal

from engine.lifecycle.hanging import EVALUATION_ROUND, NO_DEADLINE
from engine.lifecycle.labels import deadline_what

KB_KINDS = ("KB", "MoU", "NK")

REASONS = {
    "id": {
        "no_deadline": "Tahap '{state}' tanpa tenggat yang menunggu: tidak ada yang akan menggerakkannya",
        "overdue": "{what}: terlewati sejak {day}",
        "grace": " (lebih dari {days} hari)",
        "round": "Evaluasi {round} belum disampaikan (batas {day})",
    },
    "en": {
        "no_deadline": "Step '{state}' has no pending deadline: nothing will move it",
        "overdue": "{what}: missed since {day}",
        "grace": " (by more than {days} days)",
        "round": "Evaluation {round} not submitted (due {day})",
    },
}


def _sentence(defn, reason, state_label: str, lang: str) -> str:
    text = REASONS["en" if lang == "en" else "id"]
    if reason.kind == NO_DEADLINE:
        return text["no_deadline"].format(state=state_label)
    if reason.kind == EVALUATION_ROUND:
        return text["round"].format(round=reason.ref, day=tanggal(reason.due_on, lang))
    what = deadline_what(defn, reason.kind, reason.state, 0, lang)
    opened_by = _opened_by(defn, reason.state, lang)
    if opened_by:
        what = f"{opened_by}: {what}"
    return (text["overdue"].format(what=what, day=tanggal(reason.due_on, lang))
            + (text["grace"].format(days=reason.grace_days) if reason.grace_days else ""))


def _opened_by(defn, state: str, lang: str) -> str | None:
    """What the timed event that opens ``state`` is called: an evaluation step reads
    "Evaluasi berkala: batas waktu tahap 'Dievaluasi' ...", not just the step."""
    if defn is None:
        return None
    for rule in defn.deadlines:
        if rule.action == "fire" and defn.has_event(rule.event or "") and defn.event(rule.event).dest == state:
            return deadline_what(defn, rule.name, state, 0, lang)
    return None


def entries(snap, found: Iterable[Any]) -> list[dict[str, Any]]:
    """The hanging agreements ``found`` as the report lists them, oldest first."""
    out = []
    for h in sorted(found, key=lambda h: (h.since, h.number)):
        defn = snap.defn(h.workflow, h.workflow_version)
        label = defn.state(h.state).label.get(snap.lang) if defn is not None and defn.has_state(h.state) else h.state
        o = snap.opds.get(h.lead_opd)
        out.append({
            "id": h.number, "title": h.title, "partner": h.partner, "state": h.state, "state_label": label,
            "state_since": h.state_since.isoformat(), "since": h.since.isoformat(), "days": (snap.today - h.since).days,
            "responsible": {"opd": h.lead_opd, "name": o.name if o else h.lead_opd, "head": o.head_title if o else ""},
            "reasons": [_sentence(defn, r, label, snap.lang) for r in h.reasons],
            "kinds": [r.kind for r in h.reasons],
        })
    return out


def due_soon(snap, what_of: Callable, opd_name: Callable[[str], str]) -> list[dict[str, Any]]:
    """The pending deadlines ahead (not yet due) of agreements still running."""
    ctx = snap.ctx
    out = []
    for dl in snap.pending:
        r = snap.by_id.get(dl.agreement_id)
        if r is None or snap.is_final(r) or dl.due_at <= snap.now:
            continue
        due_day: date = ctx.clock.local(dl.due_at).date()
        out.append({
            "due_on": due_day.isoformat(), "days_left": (due_day - snap.today).days, "id": r.number, "title": r.title,
            "what": what_of(r, dl), "rule": dl.rule, "state": r.lifecycle_state,
            "responsible": {"opd": r.lead_opd, "name": opd_name(r.lead_opd)},
        })
    return sorted(out, key=lambda d: (d["due_on"], d["id"]))
