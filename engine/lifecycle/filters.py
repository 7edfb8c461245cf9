"""Checking the filters people type (`list --state`, `--opd`, `--workflow`, `export`): a value
that matches nothing known is a typo, not an empty result, so it is refused naming the close
matches and the valid values, before any query runs."""

from __future__ import annotations

import sqlalchemy as sa

from engine.errors import InvalidInput, did_you_mean
from engine.i18n import _
from engine.store import db
from engine.store.tables import opds


def check_filters(ctx, *, state: str | None = None, opd: str | None = None, workflow: str | None = None) -> None:
    """Raise ``InvalidInput`` (exit 2) for a workflow, state or OPD code that does not exist."""
    names = sorted(ctx.registry.names())
    if workflow and workflow not in names:
        raise InvalidInput(_("Unknown workflow '{name}'{hint}; valid: {values}.").format(
            name=workflow, hint=did_you_mean(workflow, names), values=", ".join(names)))
    if state:
        defs = [ctx.registry.latest(workflow)] if workflow else ctx.registry.all()
        states = sorted({s.name for d in defs for s in d.states})
        if state not in states:
            raise InvalidInput(_("Unknown state '{value}'{hint}; valid: {values}.").format(
                value=state, hint=did_you_mean(state, states), values=", ".join(states)))
    if opd:
        with db.read(ctx.engine) as conn:
            codes = conn.execute(sa.select(opds.c.code).where(opds.c.active.is_(True))).scalars().all()
        if opd.upper() not in codes:
            # Some 65 codes are too many for one sentence: point to the directory instead.
            raise InvalidInput(_("Unknown OPD code '{code}'{hint}; `tkksd opd list` shows the directory.").format(
                code=opd.upper(), hint=did_you_mean(opd.upper(), codes)))
