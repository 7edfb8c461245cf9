"""Helpers for the daemon tests: a clock at fixed instants, walking agreements, reading counts."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.helpers import KS_STEPS, PATH_TO, sets

T0 = date(2026, 3, 2)  # a Monday


def day(n: int, hour: int = 9) -> str:
    """TKKSD_NOW for day ``n`` after T0, at ``hour`` WITA."""
    return f"{(T0 + timedelta(days=n)).isoformat()}T{hour:02d}:00"


def ctx_at(ctx, when: str):
    """A copy of the in-process context whose clock reads ``when`` (WITA)."""
    from engine.clock import Clock, parse_instant

    return dataclasses.replace(ctx, clock=Clock(ctx.clock.zone, parse_instant(when, ctx.clock.zone)))


def walk(cli, ref: str, to_state: str, now: str, **overrides) -> None:
    for event in PATH_TO[to_state]:
        values = {**KS_STEPS[event][1], **overrides.get(event, {})}
        cli("fire", ref, event, *sets(values), now=now)


def signing(ends_in_days: int, signed_before: int = 1) -> dict[str, str]:
    return {"sign": {"signed_on": (T0 - timedelta(days=signed_before)).isoformat(),
                     "ends_on": (T0 + timedelta(days=ends_in_days)).isoformat()}}


def outbox_rows(ctx, number: str | None = None, kind: str | None = None) -> list:
    from engine.store.tables import agreements, outbox

    q = sa.select(outbox, agreements.c.number).select_from(
        outbox.join(agreements, agreements.c.id == outbox.c.agreement_id, isouter=True))
    if number:
        q = q.where(agreements.c.number == number)
    if kind:
        q = q.where(outbox.c.kind == kind)
    from tests.helpers import with_text

    with ctx.engine.connect() as conn:
        return with_text(ctx, conn.execute(q.order_by(outbox.c.id)).all())


def history_rows(ctx, number: str) -> list:
    from engine.store.tables import agreements, history

    with ctx.engine.connect() as conn:
        return conn.execute(
            sa.select(history).join(agreements, agreements.c.id == history.c.agreement_id)
            .where(agreements.c.number == number).order_by(history.c.seq)
        ).all()


def deadline_rows(ctx, number: str | None = None, **where) -> list:
    from engine.store.tables import agreements, deadlines

    q = sa.select(deadlines, agreements.c.number).join(agreements, agreements.c.id == deadlines.c.agreement_id)
    if number:
        q = q.where(agreements.c.number == number)
    for k, v in where.items():
        q = q.where(getattr(deadlines.c, k) == v)
    with ctx.engine.connect() as conn:
        return conn.execute(q.order_by(deadlines.c.id)).all()


@pytest.fixture
def once(cli):
    """`tkksd daemon --once` at a given TKKSD_NOW; returns the CliResult."""

    def run(now: str, check: bool = True):
        return cli("daemon", "--once", now=now, check=check)

    return run
