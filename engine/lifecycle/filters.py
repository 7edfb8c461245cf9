"""Checking the filters people type (`list --state`, `--opd`, `--workflow`, `export`): a value
that matches nothing known is a typo, not an empty result, so it is refused naming the close
matches and the valid values, before any query runs."""

from __future__ import annotations

import difflib
from typing import Iterable

import sqlalchemy as sa

from engine.errors import InvalidInput
from engine.store import db
from engine.store.tables import opds


def _refuse(what: str, value: str, valid: Iterable[str], *, listed: str | None = None) -> None:
    valid = sorted(set(valid))
    close = difflib.get_close_matches(value, valid, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    listed = f" {listed}" if listed else f" Valid: {', '.join(valid)}."
    raise InvalidInput(f"Unknown {what} '{value}'.{hint}{listed}")


def check_filters(ctx, *, state: str | None = None, opd: str | None = None, workflow: str | None = None) -> None:
    """Raise ``InvalidInput`` (exit 2) for a workflow, state or OPD code that does not exist."""
    names = ctx.registry.names()
    if workflow and workflow not in names:
        _refuse("workflow", workflow, names)
    if state:
        defs = [ctx.registry.latest(workflow)] if workflow else ctx.registry.all()
        states = {s.name for d in defs for s in d.states}
        if state not in states:
            _refuse("state", state, states)
    if opd:
        with db.read(ctx.engine) as conn:
            codes = conn.execute(sa.select(opds.c.code).where(opds.c.active.is_(True))).scalars().all()
        if opd.upper() not in codes:
            # Some 65 codes are too many for one sentence: point to the directory instead.
            _refuse("OPD code", opd.upper(), codes, listed="`tkksd opd list` shows the directory.")
