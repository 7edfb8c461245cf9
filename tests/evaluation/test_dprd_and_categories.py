"""The DPRD and the centre (issue 16, point 5), the lead OPD's urusan (point 4), and BMD
approvals per form (point 6)."""

from __future__ import annotations

import pytest

from engine.errors import RequirementsMissing
from engine.lifecycle.services import fire, show
from tests.daemon.conftest import deadline_rows
from tests.helpers import KS_STEPS, add_service, walk_service

FOREIGN = {"identify": {"partner_type": "foreign"}}


def test_ksdpl_needs_the_dprd_and_the_centre(ctx):
    ref = add_service(ctx, title="KB Sister City Tenggarong", partner="Kota Kembar", category="KSDPL")
    # The category must agree with the partner type at identify.
    with pytest.raises(RequirementsMissing) as refused:
        fire(ctx, "admin", ref, "identify", values=KS_STEPS["identify"][1])
    assert ("the category With foreign local governments (KSDPL) is for the partner type(s) Foreign partner (foreign), "
            "not IKN Authority (otorita_ikn) (category_partner_types.KSDPL: ") in str(refused.value)
    walk_service(ctx, ref, "verified", **FOREIGN)

    with pytest.raises(RequirementsMissing) as refused:
        fire(ctx, "admin", ref, "synchronize", values=KS_STEPS["synchronize"][1])
    assert "dprd_approval_ref" in str(refused.value) and "central_approval_ref" in str(refused.value)
    with pytest.raises(RequirementsMissing) as refused:
        fire(ctx, "admin", ref, "synchronize", values={**KS_STEPS["synchronize"][1], "dprd_approval_ref": "DPRD/01/2026"})
    assert "central_approval_ref" in str(refused.value) and "dprd_approval_ref" not in str(refused.value)

    # Waiting on the DPRD: its own state and deadline, the OPD not chased meanwhile.
    fire(ctx, "admin", ref, "submit_to_dprd", values={"burdens_public": "no", "budgeted_in_apbd": "yes",
                                                      "dprd_request_ref": "005/123/SETDA/2026"})
    assert show(ctx, ref)["state"] == "awaiting_dprd"
    assert {r.rule for r in deadline_rows(ctx, ref, status="pending")} == {"dprd_wait"}
    fire(ctx, "admin", ref, "dprd_approve", values={"dprd_approval_ref": "DPRD/17/2026"})
    shown = fire(ctx, "admin", ref, "synchronize", values={**KS_STEPS["synchronize"][1],
                                                           "central_approval_ref": "KEMENDAGRI/100.4/2026"})
    assert shown["state"] == "synchronized"


def test_submit_to_dprd_only_when_the_dprd_must_approve(ctx):
    ref = add_service(ctx)
    walk_service(ctx, ref, "verified")
    with pytest.raises(RequirementsMissing) as refused:
        fire(ctx, "admin", ref, "submit_to_dprd", values={"burdens_public": "no", "budgeted_in_apbd": "yes",
                                                          "dprd_request_ref": "005/1/2026"})
    assert "the DPRD's approval is needed only when" in str(refused.value)


def test_field_outside_the_lead_opds_urusan(urusan):
    ctx = urusan
    ref = add_service(ctx, title="KB Pangan RSUD", opd="RSUD")
    # Flagged at identify (an incident for the secretariat), not stopped.
    assert fire(ctx, "admin", ref, "identify", values=KS_STEPS["identify"][1])["state"] == "identified"
    import sqlalchemy as sa
    from engine.store.tables import incidents

    with ctx.engine.connect() as conn:
        flags = conn.execute(sa.select(incidents.c.message).where(incidents.c.kind == "flag")).scalars().all()
    assert len(flags) == 1 and "the field Food (food_security) is not among the urusan of the lead OPD RSUD: Health (health)" in flags[0]
    fire(ctx, "admin", ref, "verify", values=KS_STEPS["verify"][1])
    with pytest.raises(RequirementsMissing) as refused:
        fire(ctx, "admin", ref, "synchronize", values=KS_STEPS["synchronize"][1])
    assert "urusan_reason" in str(refused.value)
    reason = "Gizi pasien: RSUD sebagai pengguna pasokan pangan lokal"
    shown = fire(ctx, "admin", ref, "synchronize", values={**KS_STEPS["synchronize"][1], "urusan_reason": reason})
    assert shown["state"] == "synchronized"

    # The right OPD raises no flag.
    ok = add_service(ctx, title="KB Pangan DKP")
    walk_service(ctx, ok, "synchronized")
    with ctx.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(incidents).where(incidents.c.kind == "flag")).scalar() == 1


def test_init_loads_the_urusan(cli):
    out = cli("init")
    assert "urusan OPD tercatat" in out.stdout


def test_a_deployments_urusan_list(cli, tmp_path):
    (tmp_path / "tkksd.toml").write_text('[general]\nopd_urusan = "urusan.csv"\n', encoding="utf-8")
    (tmp_path / "urusan.csv").write_text("code,urusan\nDKP,food_security\nDINAS-X,health\n", encoding="utf-8")
    out = cli("init")
    assert "1 urusan OPD tercatat" in out.stdout and "Urusan OPD DINAS-X dilewati" in out.stdout
    (tmp_path / "urusan.csv").write_text("code,urusan\nDKP,food_safety\n", encoding="utf-8")
    bad = cli("init", check=False)
    assert bad.returncode == 9 and "menyebut urusan 'food_safety', yang tidak dikenal oleh alur kerja mana pun" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_the_dprd_wait_reminds_the_secretariat_not_the_opd(ctx):
    from engine.scheduler.sweep import sweep
    from tests.daemon.conftest import outbox_rows

    from .conftest import ctx_at

    c0 = ctx_at(ctx, "2026-03-02T09:00")
    ref = add_service(c0, title="KB Air Bersih")
    walk_service(c0, ref, "verified")
    fire(c0, "admin", ref, "submit_to_dprd", values={"burdens_public": "yes", "budgeted_in_apbd": "no",
                                                     "dprd_request_ref": "005/77/SETDA/2026"})
    sweep(ctx_at(ctx, "2026-04-30T09:00"), daemon_id="test")  # 59 days: the DPRD still deliberates
    assert not [r for r in outbox_rows(ctx, ref) if r.kind != "transition"]
    sweep(ctx_at(ctx, "2026-05-05T09:00"), daemon_id="test")
    [wait] = outbox_rows(ctx, ref, "dprd_wait")
    assert wait.to_addrs == ["kerjasama@opd.kukar.example"] and wait.cc_addrs == ["sekda@opd.kukar.example"]
    assert not outbox_rows(ctx, ref, "reminder") and not outbox_rows(ctx, ref, "escalation")
    assert "mencatat nomor persetujuan DPRD" in wait.text_body and "tkksd fire" not in wait.text_body
