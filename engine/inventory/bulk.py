"""Many new agreements in one transaction (tools, the scale tests): a thin adapter over the
kernel's batched creation, which writes what a single creation writes with one executemany
per statement and runs the handlers (deadlines planned for the whole batch at once)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Sequence

from sqlalchemy.engine import Connection

from engine.context import Context
from engine.lifecycle import kernel


def insert_many(conn: Connection, ctx: Context, items: Sequence[Mapping[str, Any]], *, actor: str, at: datetime,
                kind: str = "import", event: str = "import", chunk: int = 2000) -> list[str]:
    """Insert ``items`` (each: defn, values, state, and optionally number, import_key,
    entered_at, note, parent_id); returns their numbers in order."""
    news = [
        kernel.New(it["defn"], it["values"], it["state"], note=it.get("note"), number=it.get("number"),
                   import_key=it.get("import_key"), parent_id=it.get("parent_id"), entered_at=it.get("entered_at"))
        for it in items
    ]
    return [t.number for t in kernel.create_many(conn, ctx, news, actor=actor, kind=kind, event=event, at=at, chunk=chunk)]
