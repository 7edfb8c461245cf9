"""Exporting agreements to the sheet format that ``engine.inventory.importing`` reads (CSV or XLSX), and the
empty XLSX template: export -> import round-trips."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import sqlalchemy as sa

from engine.store import db

from engine.inventory import sheets
from engine.context import Context
from engine.errors import InvalidInput
from engine.i18n import N_, _, day, in_language, number

PROGRESS_EVERY = 200  # rows between two progress reports: often enough to move, rarely enough to cost nothing
from engine.store.tables import agreements, opds


def drop_down_lists(ctx: Context, cols: list[sheets.Column], opd_codes: list[str], registry=None) -> dict[str, list[str]]:
    registry = registry or ctx.registry
    lists: dict[str, list[str]] = {
        "workflow": registry.names(),
        "state": list(dict.fromkeys(s.name for d in registry.all() for s in d.states)),
        "lead_opd": opd_codes,
    }
    for c in cols:
        if c.type == "choice":
            lists[c.key] = list(c.choices)
        elif c.type == "bool":
            lists[c.key] = ["ya", "tidak"]
        elif c.type == "opd":
            lists[c.key] = opd_codes
    return lists


def _opd_codes(conn) -> list[str]:
    return list(conn.execute(sa.select(opds.c.code).where(opds.c.active.is_(True)).order_by(opds.c.code)).scalars())


def rows_for_export(conn, ctx: Context, cols: list[sheets.Column], *, workflow: str | None = None,
                    opd: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
    from engine.lifecycle.services import filter_agreements

    q = filter_agreements(sa.select(agreements).order_by(agreements.c.id), state=state, opd=opd, workflow=workflow)
    rows = conn.execute(q).all()
    numbers = dict(conn.execute(sa.select(agreements.c.id, agreements.c.number)).all()) if any(r.parent_id for r in rows) else {}
    date_keys = {c.key for c in cols if c.type == "date"}
    out = []
    for r in rows:
        item: dict[str, Any] = {
            "id": r.number, "workflow": r.workflow, "workflow_version": r.workflow_version, "state": r.lifecycle_state,
            "state_since": ctx.clock.local(r.state_entered_at).date(), "title": r.title, "partner": r.partner,
            "lead_opd": r.lead_opd, "parent": numbers.get(r.parent_id) if r.parent_id else None,
        }
        for key, value in (r.data or {}).items():
            if key in date_keys and isinstance(value, str):
                try:
                    value = date.fromisoformat(value)
                except ValueError:
                    pass
            item[key] = value
        out.append(item)
    return out


class Counted(Sequence[dict[str, Any]]):
    """The rows as the sheet writer reads them, reporting ``(done, total)`` as it goes: the writer
    walks them once, so counting what it has taken is counting what it has written."""

    def __init__(self, rows: list[dict[str, Any]], progress: Callable[[int, int], None]):
        self.rows, self.progress = rows, progress

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):  # type: ignore[override]
        return self.rows[index]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        total = len(self.rows)
        for done, row in enumerate(self.rows, start=1):
            yield row
            if done % PROGRESS_EVERY == 0 or done == total:
                self.progress(done, total)


def export_file(ctx: Context, path: str | Path, *, workflow: str | None = None, opd: str | None = None,
                state: str | None = None, progress: Callable[[int, int], None] | None = None) -> int:
    """Write the agreements (optionally filtered) to ``path``; returns how many. ``progress`` is
    told ``(rows written, all rows)`` while the file is written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidInput(_("'{name}' must end in .csv or .xlsx.").format(name=path.name))
    if workflow and workflow not in ctx.registry.names():
        raise InvalidInput(_unknown_workflow(ctx, workflow))
    cols = sheets.columns(ctx.registry)
    with db.read(ctx.engine) as conn:
        rows = rows_for_export(conn, ctx, cols, workflow=workflow, opd=opd, state=state)
        codes = _opd_codes(conn)
    shown = Counted(rows, progress) if progress is not None else rows
    if suffix == ".csv":
        sheets.write_csv(path, cols, shown)
    else:
        title = in_language(N_("Regional cooperation agreements ({rows} rows), exported on {day}"), ctx.lang).format(
            rows=number(len(rows), ctx.lang), day=day(ctx.clock.today(), ctx.lang))
        sheets.write_xlsx(path, cols, shown, lists=drop_down_lists(ctx, cols, codes), lang=ctx.lang, title=title)
    return len(rows)


def _unknown_workflow(ctx: Context, workflow: str) -> str:
    return _("Unknown workflow '{workflow}' (loaded: {loaded}).").format(
        workflow=workflow, loaded=", ".join(ctx.registry.names()))


def _one_workflow(ctx: Context, workflow: str):
    """The registry narrowed to ``workflow``: its template offers only that workflow's fields and choices."""
    from workflows import Registry

    if workflow not in ctx.registry.names():
        raise InvalidInput(_unknown_workflow(ctx, workflow))
    return Registry({k: d for k, d in ctx.registry.definitions.items() if k[0] == workflow})


def write_template(ctx: Context, path: str | Path, workflow: str | None = None) -> list[str]:
    """An empty XLSX with headers, notes and drop-down lists; returns the column keys.

    With ``workflow``, only that workflow's columns and choices (a kerja-sama row is never
    offered the partner types of a BMD contract)."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise InvalidInput(_("The template is an XLSX workbook; '{name}' must end in .xlsx.").format(name=path.name))
    registry = _one_workflow(ctx, workflow) if workflow else ctx.registry
    cols = sheets.columns(registry)
    try:
        with db.read(ctx.engine) as conn:
            codes = _opd_codes(conn)
    except sa.exc.SQLAlchemyError:
        codes = []
    sheets.write_xlsx(path, cols, [], lists=drop_down_lists(ctx, cols, codes, registry), lang=ctx.lang,
                      title=in_language(N_("Import template for regional cooperation agreements"), ctx.lang)
                      + (f" ({workflow})" if workflow else ""))
    return [c.key for c in cols]
