"""Inserting many agreements in one transaction, fast: what ``services.insert_agreement`` does for
one, done with a few executemany statements for thousands (imports, the demo inventory).

Each agreement gets the same rows ``insert_agreement`` writes (the agreement, its first
history row chained from GENESIS, its history head), and the same hooks run on the same
``Transitioned``. A hook module may offer ``after_transitions(conn, ts, ctx)`` to take them all
at once; otherwise its ``after_transition`` runs once per agreement.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from workflows import guards

from engine.bootstrap import Context
from engine.store.history import GENESIS, row_hash
from engine.store.tables import agreements, history


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: guards.to_plain(v) for k, v in values.items()}


def insert_many(conn: Connection, ctx: Context, items: Sequence[Mapping[str, Any]], *, actor: str, at: datetime,
                kind: str = "import", event: str = "import", chunk: int = 2000) -> list[str]:
    """Insert ``items`` (each: defn, values, state, number, import_key, entered_at, note, parent_id);
    returns their numbers in order."""
    from engine.lifecycle.services import Transitioned, _next_number

    numbers: list[str] = []
    for start in range(0, len(items), chunk):
        part = items[start:start + chunk]
        rows = []
        for it in part:
            defn = it["defn"]
            values = it["values"]
            number = it.get("number") or _next_number(conn, defn.id_prefix, it.get("year") or ctx.clock.today().year)
            numbers.append(number)
            rows.append({
                "number": number, "title": values["title"], "partner": values["partner"], "lead_opd": values["lead_opd"],
                "workflow": defn.name, "workflow_version": defn.version, "lifecycle_state": it["state"],
                "data": _plain({k: v for k, v in values.items() if k not in defn.core_fields}),
                "parent_id": it.get("parent_id"), "state_entered_at": it.get("entered_at") or at,
                "created_at": at, "updated_at": at, "version": 1, "history_seq": 1, "history_head": GENESIS,
                "import_key": it.get("import_key"),
            })
        ids = [r.id for r in conn.execute(agreements.insert().returning(agreements.c.id, sort_by_parameter_order=True), rows)]
        hist = []
        for it, row, agreement_id in zip(part, rows, ids):
            data = _plain(it["values"])
            digest = row_hash(GENESIS, agreement_id, 1, event, None, it["state"], actor, at, it.get("note"), data, kind)
            row["history_head"] = digest
            hist.append({
                "agreement_id": agreement_id, "seq": 1, "event": event, "from_state": None, "to_state": it["state"],
                "actor": actor, "at": at, "note": it.get("note"), "data": data, "kind": kind,
                "prev_hash": GENESIS, "hash": digest,
            })
        hist_ids = [r.id for r in conn.execute(history.insert().returning(history.c.id, sort_by_parameter_order=True), hist)]
        conn.execute(
            agreements.update().where(agreements.c.id == sa.bindparam("b_id")).values(history_head=sa.bindparam("b_head")),
            [{"b_id": i, "b_head": h["hash"]} for i, h in zip(ids, hist)],
        )
        ts = [
            Transitioned(agreement_id, row["number"], it["defn"], event, None, it["state"], actor, at, it.get("note"),
                         dict(it["values"]), dict(it["values"]), hist_id, 1, row["state_entered_at"], it.get("parent_id"), kind)
            for it, row, agreement_id, hist_id in zip(part, rows, ids, hist_ids)
        ]
        run_hooks(conn, ctx, ts)
    return numbers


def run_hooks(conn: Connection, ctx: Context, ts: list) -> None:
    for hook in ctx.hooks:
        module = getattr(hook, "__module__", "")
        batch = getattr(sys.modules.get(module), "after_transitions", None)
        if batch is not None and getattr(hook, "__name__", "") == "after_transition":
            batch(conn, ts, ctx)
        elif module == "engine.lifecycle.deadlines" and getattr(hook, "__name__", "") == "after_transition":
            plan_fresh_deadlines(conn, ctx, ts)
        else:
            for t in ts:
                hook(conn, t, ctx)


def plan_fresh_deadlines(conn: Connection, ctx: Context, ts: list) -> None:
    """What ``engine.lifecycle.deadlines.after_transition`` does for agreements inserted just now, batched.

    A new agreement has no deadline rows, so reconciling reduces to planning what its state
    wants and inserting it: one executemany for the whole batch instead of a query and an
    insert per agreement.
    """
    from engine.lifecycle import deadlines as dl

    rows = []
    for t in ts:
        for p in dl.plan(t.definition, t.to_state, t.values, t.state_entered_at, ctx.clock, ctx.settings, t.at):
            rows.append(dict(agreement_id=t.agreement_id, rule=p.rule.name, action=p.rule.action, state=t.to_state,
                             due_at=p.due_at, occurrence=0, offset_days=p.offset_days, status=dl.PENDING, created_at=t.at))
    if rows:
        conn.execute(dl.deadlines.insert(), rows)
