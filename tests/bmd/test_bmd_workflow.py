"""Workflow `pemanfaatan-bmd` through the real CLI on both backends: the form's maximum term at
`synchronize`, the Bupati's approval where the form needs it, extensions capped by the form,
the sewa contract deadline, the yearly contribution, and closing only with the BAST."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers import sets

from .conftest import T0, add_bmd, deadline_rows, now_at, outbox_kinds, step_values, walk_bmd


def test_sewa_over_five_years_is_refused_naming_the_limit_and_its_source_unless_a_ground_is_recorded(cli, ctx):
    ref = add_bmd(cli, "sewa")
    walk_bmd(cli, ref, "sewa", "verify")
    six_years = step_values("sewa", "synchronize", starts_on="2026-04-01", ends_on="2032-04-01")

    refused = cli("fire", ref, "synchronize", *sets(six_years), check=False, now=now_at(T0))
    assert refused.returncode == 5
    message = refused.stderr.strip()
    assert message.count("\n") == 0, "one sentence"
    assert "jangka waktu 6,0 tahun melebihi batas paling lama 5 tahun untuk Sewa (sewa)" in message
    assert "(batasan bmd_terms.sewa: PP 27/2014 Pasal 29" in message  # the limit and its source
    assert "; catat dasar pengecualian pada term_exception_ground (Dasar pengecualian jangka waktu" in message
    in_english = cli("fire", ref, "synchronize", *sets(six_years), check=False, now=now_at(T0),
                     extra_env={"TKKSD_LANGUAGE": "en"}).stderr.strip()
    assert in_english.startswith("Error: Cannot fire 'synchronize' on ") and in_english.count("\n") == 0
    assert "the term of 6.0 years exceeds the maximum of 5 years for Lease (sewa) (limit bmd_terms.sewa: PP 27/2014" in in_english
    assert "; record an exception ground in term_exception_ground (Exception ground for a longer term" in in_english
    assert cli("show", ref, "--json").json()["state"] == "verified"

    ground = "Usaha memerlukan jangka waktu lebih dari 5 tahun (PP 27/2014 Pasal 29)"
    cli("fire", ref, "synchronize", *sets({**six_years, "term_exception_ground": ground}), now=now_at(T0))
    shown = cli("show", ref, "--json").json()
    assert shown["state"] == "synchronized"
    assert shown["data"]["term_exception_ground"] == ground


def test_a_five_year_sewa_passes_and_its_contract_falls_due_a_month_after_the_pengelola_approval(cli, ctx):
    ref = add_bmd(cli, "sewa")
    walk_bmd(cli, ref, "sewa", "synchronize")  # approved 2026-03-01, term 2026-04-01 .. 2031-04-01
    due = [r for r in deadline_rows(ctx, ref, status="pending") if r.rule == "contract_due"]
    assert len(due) == 1
    assert ctx.clock.local(due[0].due_at).date().isoformat() == "2026-03-31"  # 30 days after the approval

    cli("daemon", "--once", now=now_at(T0 + timedelta(days=28)))
    assert outbox_kinds(ctx, ref, "contract_due") == []
    cli("daemon", "--once", now=now_at(T0 + timedelta(days=29)))
    [notice] = outbox_kinds(ctx, ref, "contract_due")
    assert "Perjanjian sewa" in notice.subject and ref in notice.subject
    assert "31 Maret 2026" in notice.text_body

    # Signing cancels it; a KSP never gets one (the rule's condition is on the form).
    cli("fire", ref, "sign", *sets(step_values("sewa", "sign", signed_on="2026-03-31")), now=now_at(T0 + timedelta(days=30)))
    assert not [r for r in deadline_rows(ctx, ref, status="pending") if r.rule == "contract_due"]
    other = add_bmd(cli, "ksp")
    walk_bmd(cli, other, "ksp", "synchronize")
    assert not [r for r in deadline_rows(ctx, other) if r.rule == "contract_due"]


def test_pinjam_pakai_needs_the_bupati_and_may_be_extended_once(cli, ctx):
    ref = add_bmd(cli, "pinjam_pakai")
    walk_bmd(cli, ref, "pinjam_pakai", "verify")
    without_bupati = {k: v for k, v in step_values("pinjam_pakai", "synchronize").items() if not k.startswith("bupati_")}
    refused = cli("fire", ref, "synchronize", *sets(without_bupati), check=False, now=now_at(T0))
    assert refused.returncode == 5
    assert "bupati_approval_ref" in refused.stderr and "bupati_approval_on" in refused.stderr
    # A sewa needs no Bupati: the requirement is a condition on the form, in the definition.
    sewa = add_bmd(cli, "sewa")
    walk_bmd(cli, sewa, "sewa", "synchronize")

    walk_bmd(cli, ref, "pinjam_pakai", "integrate", after="verify")
    assert cli("show", ref, "--json").json()["state"] == "integrated"

    # The extension period itself may not exceed the form's maximum of 5 years.
    too_long = cli("fire", ref, "extend", "--set", "ends_on=2037-04-01", "--set", "adendum_ref=ADD/01", check=False)
    assert too_long.returncode == 5 and "melebihi batas paling lama 5 tahun untuk Pinjam pakai (pinjam_pakai)" in too_long.stderr

    cli("fire", ref, "extend", "--set", "ends_on=2036-04-01", "--set", "adendum_ref=ADD/01")
    second = cli("fire", ref, "extend", "--set", "ends_on=2038-04-01", "--set", "adendum_ref=ADD/02", check=False)
    assert second.returncode == 5
    assert "Perpanjang (extend) paling banyak 1 kali untuk Pinjam pakai (pinjam_pakai)" in second.stderr
    assert "; sudah dilakukan 1 kali." in second.stderr
    assert "bmd_terms.pinjam_pakai" in second.stderr and "Permendagri 19/2016" in second.stderr
    shown = cli("show", ref, "--json").json()
    assert (shown["state"], shown["data"]["ends_on"]) == ("integrated", "2036-04-01")


def test_pinjam_pakai_is_only_lent_to_a_government(cli):
    ref = add_bmd(cli, "pinjam_pakai")
    refused = cli("fire", ref, "identify", *sets(step_values("pinjam_pakai", "identify", partner_type="company")), check=False)
    assert refused.returncode == 5 and "pinjam pakai hanya diberikan kepada pemerintah lain" in refused.stderr
    # A definition's own sentence, in English when asked for.
    in_english = cli("fire", ref, "identify", *sets(step_values("pinjam_pakai", "identify", partner_type="company")),
                     check=False, extra_env={"TKKSD_LANGUAGE": "en"})
    assert in_english.returncode == 5 and "a pinjam pakai is only lent to another government" in in_english.stderr


def test_closing_requires_the_bast(cli, ctx):
    ref = add_bmd(cli, "sewa")
    walk_bmd(cli, ref, "sewa", "integrate")
    refused = cli("fire", ref, "hand_over", check=False)
    assert refused.returncode == 5 and "bast_ref" in refused.stderr and "bast_on" in refused.stderr

    # At the end of the term the scheduler ends it, and it waits (with a deadline) for the BAST.
    end = now_at(T0.replace(year=2031, month=4, day=1))
    cli("daemon", "--once", now=end)
    assert cli("show", ref, "--json").json()["state"] == "ended"
    assert any(r.rule == "step_sla" for r in deadline_rows(ctx, ref, status="pending"))
    cli("fire", ref, "hand_over", "--set", "bast_ref=BAST/033/2031", "--set", "bast_on=2031-04-01", now=end)
    shown = cli("show", ref, "--json", now=end).json()
    assert (shown["state"], shown["final"], shown["data"]["bast_ref"]) == ("closed", True, "BAST/033/2031")
    assert not deadline_rows(ctx, ref, status="pending")
    assert cli("audit", "verify").returncode == 0


@pytest.mark.slow
def test_a_ksp_produces_a_contribution_reminder_every_year(cli, ctx):
    ref = add_bmd(cli, "ksp")
    walk_bmd(cli, ref, "ksp", "integrate")  # signed 2026-03-02
    sewa = add_bmd(cli, "sewa")
    walk_bmd(cli, sewa, "sewa", "integrate")
    for year in range(1, 5):
        anniversary = T0 + timedelta(days=365 * year)
        cli("daemon", "--once", now=now_at(anniversary - timedelta(days=1)))
        assert len(outbox_kinds(ctx, ref, "contribution_due")) == year - 1, f"year {year}, the day before"
        cli("daemon", "--once", now=now_at(anniversary))
        cli("daemon", "--once", now=now_at(anniversary))  # the same instant again adds nothing
        notices = outbox_kinds(ctx, ref, "contribution_due")
        assert len(notices) == year, f"year {year}"
        assert f"ke-{year}" in notices[-1].subject
    assert outbox_kinds(ctx, sewa, "contribution_due") == []  # only KSP and BGS/BSG owe one
    # The periodic evaluation opened meanwhile: the reminders go on while it is under evaluation.
    assert cli("show", ref, "--json").json()["state"] in ("integrated", "under_evaluation")
    assert cli("doctor").returncode == 0
