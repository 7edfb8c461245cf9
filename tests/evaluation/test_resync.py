"""Re-alignment when plans change (issue 16, point 4): when a planning period ends, the running
agreements whose plan_ref cites it get a re-synchronization deadline; `resynchronize` records
the new reference."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa

from engine.errors import RequirementsMissing
from engine.lifecycle.services import fire
from engine.scheduler.sweep import sweep
from tests.daemon.conftest import deadline_rows, outbox_rows
from tests.helpers import add_service, walk_service
from tests.setups import demo_loaded, shared_setup

from .conftest import ctx_at

CURRENT = "RPJMD 2021-2026 Misi 2"


def running(ctx, title: str, plan_ref: str, to: str = "integrated") -> str:
    ref = add_service(ctx, title=title)
    walk_service(ctx, ref, to, synchronize={"plan_ref": plan_ref})
    return ref


def test_the_end_of_the_rpjmd_opens_resync_for_exactly_the_agreements_citing_it(ctx):
    c0 = ctx_at(ctx, "2026-03-02T09:00")
    citing = [running(c0, "KB A", CURRENT), running(c0, "KB B", "rpjmd 2021 – 2026, misi 4", to="signed")]
    other = running(c0, "KB C", "RPJMD 2025-2029 Misi 1")  # a period not configured: nothing to re-align
    proposal = add_service(c0, title="KB D")  # not running: no deadline
    before = ctx_at(ctx, "2026-12-31T09:00")
    sweep(before, daemon_id="test")
    assert not outbox_rows(ctx, kind="resync_due")

    after = ctx_at(ctx, "2027-01-02T09:00")
    sweep(after, daemon_id="test")
    letters = outbox_rows(ctx, kind="resync_due")
    assert sorted(r.number for r in letters) == sorted(citing)
    assert all(r.to_addrs == ["kerjasama@opd.kukar.example"] for r in letters)
    assert not outbox_rows(ctx, other) or all(r.kind != "resync_due" for r in outbox_rows(ctx, other))
    assert not deadline_rows(ctx, proposal, rule="resync_due")

    # The TKKSD re-synchronizes: an ended period is refused, the plan in force accepted.
    with pytest.raises(RequirementsMissing) as refused:
        fire(after, "admin", citing[0], "resynchronize", values={"plan_ref": "RPJMD 2016-2021 Misi 1"})
    assert "cites RPJMD Kabupaten Kutai Kartanegara 2016-2021, which ended on 31 December 2021" in str(refused.value)
    fire(after, "admin", citing[0], "resynchronize", values={"plan_ref": "RPJMD 2025-2029 Misi 2"})
    assert not [r for r in deadline_rows(ctx, citing[0], status="pending") if r.rule.startswith("resync")]
    # The other one is not re-synchronized: a month on, the chair hears of it.
    sweep(ctx_at(ctx, "2027-02-02T09:00"), daemon_id="test")
    chair = [r for r in outbox_rows(ctx, citing[1], "resync_due") if r.to_addrs == ["sekda@opd.kukar.example"]]
    assert len(chair) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@shared_setup(demo_loaded)  # `tkksd demo` on 1 May 2024
def test_demo_agreements_citing_the_old_rpjmd(cli, ctx):
    from engine.store.tables import agreements, deadlines

    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.select(agreements.c.number, agreements.c.lifecycle_state, agreements.c.data)).all()
        planned = conn.execute(
            sa.select(agreements.c.number, deadlines.c.due_at).join(agreements, agreements.c.id == deadlines.c.agreement_id)
            .where(deadlines.c.rule == "resync_due", deadlines.c.status == "pending")).all()
    running = {"signed", "integrated", "under_evaluation"}
    cites = Counter()
    expected: dict[str, set[str]] = {"2016-2021": set(), "2021-2026": set()}
    for r in rows:
        for period in expected:
            if r.lifecycle_state in running and f"RPJMD {period}" in (r.data or {}).get("plan_ref", ""):
                expected[period].add(r.number)
    due = {date(2022, 1, 1): "2016-2021", date(2027, 1, 1): "2021-2026"}
    got: dict[str, set[str]] = {"2016-2021": set(), "2021-2026": set()}
    for p in planned:
        got[due[ctx.clock.local(p.due_at).date()]].add(p.number)
        cites[p.number] += 1
    assert got == expected and len(expected["2016-2021"]) == 24
    assert set(cites.values()) == {1}
