"""A whole-database snapshot, to show that a refusal changed nothing (in any table, including
those the hooks write: deadlines, outbox, incidents)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def snapshot(engine) -> dict[str, list[tuple[Any, ...]]]:
    from engine.store.tables import metadata

    out = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]
        conn.rollback()
    return out


def count(engine, table_name: str, **where) -> int:
    from engine.store.tables import metadata

    table = metadata.tables[table_name]
    q = sa.select(sa.func.count()).select_from(table)
    for k, v in where.items():
        q = q.where(table.c[k] == v)
    with engine.connect() as conn:
        n = conn.execute(q).scalar_one()
        conn.rollback()
    return n
