"""The kernel's own promises: one typed value per agreement, batched changes all or nothing
with the stale one named, entered times passed in (no second UPDATE), a machine shared by
definitions of the same shape with nothing left attached."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from engine import errors
from engine.lifecycle import kernel
from engine.lifecycle.machine import machine_for, run_event
from engine.store import db
from tests.helpers import add_service, walk_service
from workflows import load_registry

from .dbstate import snapshot

# The services' sentences read in English here; tests/core/test_cli.py reads them in Indonesian (the default).
pytestmark = pytest.mark.usefixtures("english")


def test_a_stale_agreement_in_a_batch_is_named_and_nothing_is_written(ctx):
    refs = [add_service(ctx, title=f"KB {i}") for i in range(3)]
    defn = ctx.registry.latest("kerja-sama")
    with db.read(ctx.engine) as conn:
        read = [kernel.read(conn, r) for r in refs]
    walk_service(ctx, refs[1], "identified")  # someone else moves the second one on
    before = snapshot(ctx.engine)
    changes = [kernel.Change(a, defn, "withdraw", "withdrawn", "admin", "human", note="x") for a in read]
    with pytest.raises(errors.Conflict, match=f"Conflict: {refs[1]} was changed by someone else"):
        with db.write(ctx.engine) as conn:
            kernel.change_many(conn, ctx, changes)
    assert snapshot(ctx.engine) == before


def test_an_entered_time_is_written_by_the_one_update(ctx):
    ref = add_service(ctx)
    defn = ctx.registry.latest("kerja-sama")
    updates = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE AGREEMENTS"):
            updates.append(statement)

    sa.event.listen(ctx.engine, "before_cursor_execute", count)
    try:
        with db.write(ctx.engine) as conn:
            a = kernel.read(conn, ref)
            entered = a.state_entered_at.replace(year=2020)
            t = kernel.change(conn, ctx, kernel.Change(a, defn, "import", "identified", "admin", "import",
                                                       entered_at=entered))
    finally:
        sa.event.remove(ctx.engine, "before_cursor_execute", count)
    assert len(updates) == 1
    with db.read(ctx.engine) as conn:
        after = kernel.read(conn, ref)
    assert after.state_entered_at == entered == t.state_entered_at and after.version == a.version + 1


def test_the_agreement_is_one_frozen_value(ctx):
    ref = add_service(ctx)
    with db.read(ctx.engine) as conn:
        a = kernel.read(conn, ref)
        assert kernel.read_by_id(conn, a.id) == a
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.version = 7
    with pytest.raises(errors.NotFound, match="No agreement 'KS-1999-0001'"):
        with db.read(ctx.engine) as conn:
            kernel.read(conn, "KS-1999-0001")


def test_one_machine_per_shape_and_nothing_attached():
    one = load_registry().latest("kerja-sama")
    two = dataclasses.replace(one, source="a copy loaded elsewhere")
    assert one is not two and machine_for(one) is machine_for(two)
    machine = machine_for(one)
    for _ in range(50):
        run_event(one, "proposed", "identify", lambda e: True)
        run_event(two, "proposed", "identify", lambda e: False)
    assert machine.models == []
