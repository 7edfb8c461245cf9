"""Which agreements hang and what falls due soon, for the report.

An agreement hangs when a deadline of a hanging rule has passed (from the ``deadlines`` table)
or, computed from the agreement itself so the report is right where no deadline was planned,
when a step is held longer than its SLA, an integrated agreement is not evaluated in time, a
KB/MoU has no PKS long after signing, or an end date passed without the agreement being closed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Callable

from notifiers.formatting import tanggal

HANGING_RULES = frozenset({"step_sla", "escalation", "periodic_evaluation", "kb_followup", "expiry", "contract_due"})
KB_KINDS = ("KB", "MoU", "NK")

REASONS = {
    "id": {
        "overdue": "{what}: terlewati sejak {day}",
        "step": "Berada di tahap '{state}' {age} hari (batas {limit} hari)",
        "evaluation": "Evaluasi berkala terlambat: belum dievaluasi sejak {day}",
        "kb": "KB/MoU belum ditindaklanjuti dengan PKS sejak ditandatangani {day}",
        "expiry": "Masa berlaku berakhir {day} tetapi belum ditutup",
    },
    "en": {
        "overdue": "{what}: missed since {day}",
        "step": "In step '{state}' for {age} days (limit {limit} days)",
        "evaluation": "Periodic evaluation overdue: not evaluated since {day}",
        "kb": "KB/MoU not followed by a PKS since it was signed on {day}",
        "expiry": "Term ended on {day} but the agreement is not closed",
    },
}


class HangingList:
    """Collects the reasons each agreement hangs; one entry per agreement, its earliest date kept."""

    def __init__(self, today: date, lang: str, describe: Callable[[Any, date], dict[str, Any]]):
        self.today, self.lang, self.describe = today, lang, describe
        self.entries: dict[int, dict[str, Any]] = {}

    def add(self, row, kind: str, reason: str, since: date) -> None:
        entry = self.entries.get(row.id)
        if entry is None:
            entry = self.entries[row.id] = {**self.describe(row, since), "reasons": [], "kinds": []}
        if kind in entry["kinds"]:
            return
        entry["kinds"].append(kind)
        entry["reasons"].append(reason)
        if since.isoformat() < entry["since"]:
            entry["since"], entry["days"] = since.isoformat(), (self.today - since).days

    def sorted(self) -> list[dict[str, Any]]:
        out = sorted(self.entries.values(), key=lambda h: (h["since"], h["id"]))
        for h in out:
            h.pop("kinds", None)
        return out


def from_deadlines(snap, hanging: HangingList, what_of: Callable, opd_name: Callable[[str], str]) -> list[dict[str, Any]]:
    """Missed deadlines of a hanging rule go to ``hanging``; the pending ones ahead are returned (due soon)."""
    ctx, lang = snap.ctx, hanging.lang
    due_soon = []
    for dl in snap.pending:
        r = snap.by_id.get(dl.agreement_id)
        if r is None or snap.is_final(r):
            continue
        due_day = ctx.clock.local(dl.due_at).date()
        what = what_of(r, dl)
        if dl.due_at <= snap.now:
            if dl.rule not in HANGING_RULES:  # a warning or a payment reminder is not the agreement hanging
                continue
            kind = "step" if dl.rule in ("step_sla", "escalation") else dl.rule
            hanging.add(r, kind, REASONS[lang]["overdue"].format(what=what, day=tanggal(due_day, lang)), due_day)
        else:
            due_soon.append({
                "due_on": due_day.isoformat(), "days_left": (due_day - snap.today).days, "id": r.number, "title": r.title,
                "what": what, "rule": dl.rule, "state": r.lifecycle_state,
                "responsible": {"opd": r.lead_opd, "name": opd_name(r.lead_opd)},
            })
    return sorted(due_soon, key=lambda d: (d["due_on"], d["id"]))


def from_agreements(snap, hanging: HangingList, limits: dict[str, int]) -> None:
    """Hanging found from the agreements themselves: SLA, evaluation, KB follow-up, end of term."""
    lang, today = hanging.lang, snap.today
    text = REASONS[lang]
    for r in snap.rows:
        if snap.is_final(r):
            continue
        data = r.data or {}
        since = snap.ctx.clock.local(r.state_entered_at).date()
        age = (today - since).days
        limit = limits["sla"].get(r.lifecycle_state) if isinstance(limits["sla"], dict) else None
        if limit is not None and age > int(limit):
            hanging.add(r, "step", text["step"].format(state=snap.state_label(r), age=age, limit=int(limit)),
                        since + timedelta(days=int(limit)))
        if r.lifecycle_state == "integrated" and age > limits["evaluation"]:
            hanging.add(r, "periodic_evaluation", text["evaluation"].format(day=tanggal(since, lang)),
                        since + timedelta(days=limits["evaluation"]))
        if (data.get("document_kind") in KB_KINDS and r.lifecycle_state in ("integrated", "under_evaluation")
                and not snap.children.get(r.id)):
            signed = snap.date_of(data.get("signed_on")) or since
            if (today - signed).days > limits["followup"]:
                hanging.add(r, "kb_followup", text["kb"].format(day=tanggal(signed, lang)),
                            signed + timedelta(days=limits["followup"]))
        ends = snap.date_of(data.get("ends_on"))
        if ends and ends < today and r.lifecycle_state in ("signed", "integrated", "under_evaluation"):
            hanging.add(r, "expiry", text["expiry"].format(day=tanggal(ends, lang)), ends)
