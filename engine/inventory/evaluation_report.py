"""The report's evaluation sections of issue 16: the chair's decisions on KBs past their
follow-up, and evaluations whose outcome departs from the scorecard (with the reason)."""

from __future__ import annotations

from typing import Any

from zoneinfo import ZoneInfo

import sqlalchemy as sa

from engine.i18n import N_, in_language
from engine.lifecycle.labels import choice_label
from engine.store import db
from engine.store.tables import agreements, history

KB_DECISIONS = {
    "upgrade": N_("Upgraded to a PKS"),
    "give_more_time": N_("Given more time"),
    "declare_not_followed_up": N_("Declared not followed up"),
}
TEXT = {
    "kb_decisions": N_("The TKKSD chair's decisions on KB/MoU past their follow-up deadline"),
    "departures": N_("Evaluation decisions departing from the score ({count})"),
    "departure": N_("{event} by {actor} ({day}): {reason}"),
}


def sections(ctx) -> dict[str, Any]:
    with db.read(ctx.engine) as conn:
        counts = dict(conn.execute(
            sa.select(history.c.event, sa.func.count()).where(history.c.event.in_(KB_DECISIONS), history.c.kind != "import")
            .group_by(history.c.event)
        ).all())
        rows = conn.execute(
            sa.select(agreements.c.number, agreements.c.title, agreements.c.lead_opd, history.c.event, history.c.actor,
                      history.c.at, history.c.data)
            .join(agreements, agreements.c.id == history.c.agreement_id)
            .where(history.c.event.in_(("continue", "upgrade", "extend", "revise", "terminate")))
            .order_by(history.c.at, history.c.id)
        ).all()
    lang = ctx.lang
    departures = [
        {"id": r.number, "title": r.title, "opd": r.lead_opd, "event": r.event,
         "event_label": choice_label("outcome", r.event, lang), "actor": r.actor,
         "at": r.at.isoformat(), "reason": (r.data or {}).get("departure_reason"),
         "recommendation": (r.data or {}).get("evaluation_recommendation")}
        for r in rows if (r.data or {}).get("departure_reason")
    ]
    return {
        "kb_decisions": [{"decision": k, "label": in_language(v, lang), "count": counts.get(k, 0)} for k, v in KB_DECISIONS.items()],
        "evaluation_departures": departures,
    }


def open_round_items(ctx) -> dict[int, tuple[str, Any]]:
    """Agreement id -> (round number, due date) of the open evaluation round it is in."""
    from engine.store.evaluation_tables import evaluation_round_items as items, evaluation_rounds as rounds

    with db.read(ctx.engine) as conn:
        rows = conn.execute(sa.select(items.c.agreement_id, rounds.c.number, rounds.c.due_on)
                            .join(rounds, rounds.c.id == items.c.round_id).where(rounds.c.status == "open")).all()
    return {r.agreement_id: (r.number, r.due_on) for r in rows}


def text_lines(data: dict[str, Any]) -> list[str]:
    from datetime import datetime, timezone

    from engine.i18n import day, number

    lang = data.get("lang", "id")
    zone = ZoneInfo(data.get("timezone") or "Asia/Makassar")
    out = ["", in_language(TEXT["kb_decisions"], lang)]
    for d in data.get("kb_decisions", []):
        out.append(f"  {d['label'].ljust(34)} {number(d['count'], lang):>5}")
    departures = data.get("evaluation_departures", [])
    out += ["", in_language(TEXT["departures"], lang).format(count=number(len(departures), lang))]
    for d in departures:
        at = datetime.fromisoformat(d["at"])
        when = day((at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(zone).date(), lang)
        out.append(f"  {d['id']}  " + in_language(TEXT["departure"], lang).format(
            event=d.get("event_label") or d["event"], actor=d["actor"], day=when, reason=d["reason"]))
    return out


def xlsx_sheets(wb, data: dict[str, Any]) -> None:
    """The chair's KB decisions and the evaluations departing from their score, as the report's
    other sheets are (typed cells, widths, frozen header, autofilter)."""
    from engine.inventory.report_xlsx import Col, write_table

    en = data.get("lang") == "en"
    write_table(wb.create_sheet("kb_decisions" if en else "keputusan_kb"),
                [Col("Code" if en else "Kode", width=24), Col("Decision" if en else "Keputusan", "wrap", 40),
                 Col("Count" if en else "Jumlah", "int", width=10)],
                [[d["decision"], d["label"], d["count"]] for d in data.get("kb_decisions", [])])
    write_table(wb.create_sheet("evaluation_departures" if en else "evaluasi_menyimpang"),
                [Col("Number" if en else "Nomor", width=16), Col("Title" if en else "Judul", "wrap", 40),
                 Col("OPD", width=12), Col("Decision" if en else "Keputusan", width=14),
                 Col("By" if en else "Oleh", "wrap", 18), Col("Date" if en else "Tanggal", "date"),
                 Col("Reason" if en else "Alasan", "wrap", 45)],
                [[d["id"], d["title"], d["opd"], d.get("event_label") or d["event"], d["actor"], d["at"], d["reason"]]
                 for d in data.get("evaluation_departures", [])])
