"""Files sent with a notice, built when it is sent from what the outbox row names.

- A deadline notice (dedupe key ``deadline:<id>:<n>``) carries an iCalendar invitation
  (METHOD:PUBLISH) of its due date, with the same UID as ``tkksd calendar`` writes, so a
  calendar that has both shows one event.
- A digest (``digest_opd:<OPD>:<date>``, ``digest_chair:<date>``) carries its full list as an
  XLSX sheet: the letter itself stays short.
"""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from typing import Any, Mapping, Sequence

from engine.store import db

log = logging.getLogger(__name__)

DIGEST_DAYS = {"digest_opd": 7, "digest_chair": 31}


def for_rows(ctx, rows: Sequence[Any]) -> Mapping[int, tuple]:
    """Attachments of each row that has any, by outbox row id."""
    out: dict[int, tuple] = {}
    for row in rows:
        key = row.dedupe_key or ""
        try:
            if key.startswith("deadline:"):
                out[row.id] = (_invitation(ctx, int(key.split(":")[1])),)
            elif row.kind == "evaluation_opened" and row.agreement_id is not None:
                out[row.id] = (_invitation(ctx, _evaluation_deadline(ctx, row.agreement_id)),)
            elif row.kind in DIGEST_DAYS:
                out[row.id] = (_digest_sheet(ctx, row),)
        except Exception:  # noqa: BLE001 - an attachment must never keep the letter from going out
            log.exception("No attachment for outbox row %s (%s); the notice goes without it", row.id, key)
    return {k: v for k, v in out.items() if all(v)}


def _evaluation_deadline(ctx, agreement_id: int) -> int | None:
    """The pending deadline of an evaluation just opened (its step's time limit)."""
    import sqlalchemy as sa

    from engine.store.tables import deadlines

    with db.read(ctx.engine) as conn:
        return conn.execute(
            sa.select(deadlines.c.id).where(deadlines.c.agreement_id == agreement_id, deadlines.c.status == "pending",
                                            deadlines.c.state == "under_evaluation", deadlines.c.rule == "step_sla")
            .order_by(deadlines.c.due_at).limit(1)
        ).scalar()


def _invitation(ctx, deadline_id: int | None):
    from notifiers.base import Attachment

    if deadline_id is None:
        return None
    from engine.inventory import calendars

    cal, n = calendars.build(ctx, deadline_id=deadline_id)
    if not n:
        return None
    return Attachment(f"tenggat-{deadline_id}.ics", "text/calendar; method=PUBLISH", cal.to_ical())


def _digest_sheet(ctx, row):
    from notifiers.base import Attachment
    from openpyxl import Workbook

    from engine.inventory.report_xlsx import Col, print_setup, write_table
    from engine.scheduler.agenda import items
    from engine.scheduler.digests import action_text

    opd = row.dedupe_key.split(":")[1] if row.kind == "digest_opd" else None
    with db.read(ctx.engine) as conn:
        found = items(conn, ctx, now=row.created_at, until=row.created_at + timedelta(days=DIGEST_DAYS[row.kind]), opd=opd)
    en = ctx.lang == "en"
    wb = Workbook()
    ws = wb.active
    ws.title = "tenggat" if not en else "deadlines"
    cols = [Col("OPD", "wrap", 30), Col("Number" if en else "Nomor", width=14),
            Col("Agreement" if en else "Kerja sama", "wrap", 45), Col("To do" if en else "Tindak lanjut", "wrap", 30),
            Col("Due" if en else "Batas waktu", "date"), Col("Days overdue" if en else "Hari terlambat", "int", width=10)]
    write_table(ws, cols, [[i["responsible"]["name"], i["agreement"], i["title"], action_text(i, ctx.lang), i["due_on"],
                       i["overdue_days"]] for i in found])
    print_setup(ws)
    buffer = io.BytesIO()
    from engine.inventory.sheets import mark_text_cells  # no cell a spreadsheet would run as a formula

    for sheet in wb.worksheets:
        mark_text_cells(sheet)
    wb.save(buffer)
    name = f"daftar-tenggat-{opd.lower() if opd else 'tkksd'}-{row.created_at:%Y-%m-%d}.xlsx"
    return Attachment(name, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buffer.getvalue())
