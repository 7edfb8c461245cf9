"""BMD approvals per form, the government share of a BGS/BSG building, and the contribution due
by 31 March for the years after the first (issue 16, point 6). Real CLI on both backends."""

from __future__ import annotations

from datetime import date

from tests.bmd.conftest import T0, add_bmd, now_at, step_values, walk_bmd
from tests.daemon.conftest import deadline_rows
from tests.helpers import sets


def test_a_bgs_bsg_with_5_percent_for_government_use_is_refused(cli, ctx):
    ref = add_bmd(cli, "bgs_bsg")
    walk_bmd(cli, ref, "bgs_bsg", "verify")
    refused = cli("fire", ref, "synchronize", *sets(step_values("bgs_bsg", "synchronize", government_use_pct="5")),
                  check=False, now=now_at(T0))
    assert refused.returncode == 5
    assert ("government_use_pct (Bagian bangunan untuk tugas pemerintahan (%)) 5 % di bawah batas paling sedikit 10 % "
            "untuk BGS/BSG (bgs_bsg)") in refused.stderr
    assert "PP 28/2020 Pasal 36" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert cli("show", ref, "--json").json()["state"] == "verified"
    cli("fire", ref, "synchronize", *sets(step_values("bgs_bsg", "synchronize", government_use_pct="12.5")), now=now_at(T0))


def test_ksp_needs_the_bupatis_approval(cli, ctx):
    ref = add_bmd(cli, "ksp")
    walk_bmd(cli, ref, "ksp", "verify")
    values = {k: v for k, v in step_values("ksp", "synchronize").items() if not k.startswith("bupati_")}
    refused = cli("fire", ref, "synchronize", *sets(values), check=False, now=now_at(T0))
    assert refused.returncode == 5 and "(persetujuan Bupati untuk KSP (ksp): bmd_approvals.ksp: " in refused.stderr
    assert "bupati_approval_ref (Nomor persetujuan Bupati)" in refused.stderr
    assert "masih perlu dicocokkan dengan naskah resmi" in refused.stderr


def test_sewa_needs_no_bupati(cli, ctx):
    ref = add_bmd(cli, "sewa")
    walk_bmd(cli, ref, "sewa", "synchronize")
    assert cli("show", ref, "--json").json()["state"] == "synchronized"


def test_the_contribution_is_due_by_31_march_after_the_first_year(cli, ctx):
    ref = add_bmd(cli, "ksp")
    walk_bmd(cli, ref, "ksp", "integrate")  # signed on 2 March 2026
    [row] = [r for r in deadline_rows(ctx, ref, status="pending") if r.rule == "contribution_deadline"]
    assert ctx.clock.local(row.due_at).date() == date(2027, 3, 1)  # a month before 31 March 2027
    cli("daemon", "--once", now="2027-03-01T09:00")
    from tests.daemon.conftest import outbox_rows

    [letter] = outbox_rows(ctx, ref, "contribution_deadline")
    assert "31 Maret 2027" in letter.subject
