"""The report's evaluation sections of issue 16: the chair's decisions on KBs past their
follow-up, and evaluations whose outcome departs from the scorecard (with the reason)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.store import db
from engine.store.tables import agreements, history

KB_DECISIONS = {
    "upgrade": "Ditingkatkan menjadi PKS",
    "give_more_time": "Diberi tambahan waktu",
    "declare_not_followed_up": "Dinyatakan tidak ditindaklanjuti",
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
    departures = [
        {"id": r.number, "title": r.title, "opd": r.lead_opd, "event": r.event, "actor": r.actor,
         "at": r.at.isoformat(), "reason": (r.data or {}).get("departure_reason"),
         "recommendation": (r.data or {}).get("evaluation_recommendation")}
        for r in rows if (r.data or {}).get("departure_reason")
    ]
    return {
        "kb_decisions": [{"decision": k, "label": v, "count": counts.get(k, 0)} for k, v in KB_DECISIONS.items()],
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
    out = ["", "Keputusan Ketua TKKSD atas KB/MoU yang melewati batas tindak lanjut"]
    for d in data.get("kb_decisions", []):
        out.append(f"  {d['label'].ljust(34)} {d['count']:>5}")
    departures = data.get("evaluation_departures", [])
    out += ["", f"Keputusan evaluasi yang berbeda dari skor ({len(departures)})"]
    for d in departures:
        out.append(f"  {d['id']}  {d['event']} oleh {d['actor']} ({d['at'][:10]}): {d['reason']}")
    return out


def xlsx_sheets(wb, data: dict[str, Any]) -> None:
    """The chair's KB decisions and the evaluations departing from their score, as the report's
    other sheets are (typed cells, widths, frozen header, autofilter)."""
    from engine.inventory.report_xlsx import Col, write_table

    en = data.get("lang") == "en"
    write_table(wb.create_sheet("keputusan_kb"),
                [Col("Code" if en else "Kode", width=24), Col("Decision" if en else "Keputusan", "wrap", 40),
                 Col("Count" if en else "Jumlah", "int", width=10)],
                [[d["decision"], d["label"], d["count"]] for d in data.get("kb_decisions", [])])
    write_table(wb.create_sheet("evaluasi_menyimpang"),
                [Col("Number" if en else "Nomor", width=16), Col("Title" if en else "Judul", "wrap", 40),
                 Col("OPD", width=12), Col("Decision" if en else "Keputusan", width=14),
                 Col("By" if en else "Oleh", "wrap", 18), Col("Date" if en else "Tanggal", "date"),
                 Col("Reason" if en else "Alasan", "wrap", 45)],
                [[d["id"], d["title"], d["opd"], d["event"], d["actor"], d["at"], d["reason"]]
                 for d in data.get("evaluation_departures", [])])
