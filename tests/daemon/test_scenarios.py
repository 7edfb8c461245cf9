"""The issue's scenarios: TKKSD_NOW moves forward and `tkksd daemon --once` runs at each step."""

from __future__ import annotations

import pytest

from .conftest import day, deadline_rows, history_rows, outbox_rows, signing, walk


def add(cli, now: str, kind: str = "PKS", title: str = "PKS Ketahanan Pangan IKN") -> str:
    out = cli("add", "--title", title, "--partner", "Otorita IKN", "--opd", "DKP", "--set", f"document_kind={kind}",
              "--json", now=now).json()
    return out["id"]


@pytest.mark.slow
def test_expiry_warnings_at_180_90_30_and_expire_at_end_date(cli, ctx, once):
    ref = add(cli, day(0))
    walk(cli, ref, "integrated", day(0), **signing(200))
    once(day(0))
    expected = {19: 0, 20: 1, 110: 2, 169: 2, 170: 3, 199: 3}
    for n, warnings in expected.items():
        once(day(n))
        once(day(n))  # twice at the same instant adds nothing
        assert len(outbox_rows(ctx, ref, "expiry_warning")) == warnings, f"day {n}"
        if n in (20, 170):
            assert cli("doctor", now=day(n)).returncode == 0
    assert cli("show", ref, "--json", now=day(199)).json()["state"] == "integrated"
    days_left = [r.text_body for r in outbox_rows(ctx, ref, "expiry_warning")]
    assert len(days_left) == 3
    summary = once(day(200)).stdout
    assert "dijalankan 1" in summary
    assert cli("show", ref, "--json", now=day(200)).json()["state"] == "expired"
    last = history_rows(ctx, ref)[-1]
    assert (last.event, last.actor, last.kind) == ("expire", "system", "system")
    assert len(outbox_rows(ctx, ref, "expired")) == 1
    assert not deadline_rows(ctx, ref, status="pending")
    once(day(201))
    assert len(outbox_rows(ctx, ref, "expiry_warning")) == 3
    assert cli("doctor", now=day(201)).returncode == 0
    assert cli("audit", "verify").returncode == 0


def test_proposed_left_alone_reminder_then_escalations(cli, ctx, once, env):
    ref = add(cli, day(0))
    for n, (reminders, escalations) in {13: (0, 0), 14: (1, 0), 27: (1, 0), 28: (1, 1), 34: (1, 1), 35: (1, 2)}.items():
        once(day(n))
        once(day(n))
        assert len(outbox_rows(ctx, ref, "reminder")) == reminders, f"day {n}"
        assert len(outbox_rows(ctx, ref, "escalation")) == escalations, f"day {n}"
    assert cli("doctor", now=day(35)).returncode == 0
    chair = ctx.settings.get("chair", "email")
    escalations = outbox_rows(ctx, ref, "escalation")
    assert all(r.to_addrs == [chair] for r in escalations)
    reminder = outbox_rows(ctx, ref, "reminder")[0]
    assert reminder.to_addrs == ["dkp@opd.kukar.example"] or reminder.recipient_opd == "DKP"
    # The agreement moves: the escalation stops and the new step plans its own.
    walk(cli, ref, "identified", day(36))
    once(day(60))
    assert len(outbox_rows(ctx, ref, "escalation")) == 2
    pending = {r.rule for r in deadline_rows(ctx, ref, status="pending")}
    assert pending == {"step_sla", "escalation"}
    assert all(r.state == "identified" for r in deadline_rows(ctx, ref, status="pending"))


def test_integrated_opens_evaluation_after_twelve_months(cli, ctx, once):
    ref = add(cli, day(0))
    walk(cli, ref, "integrated", day(0), **signing(5 * 365))
    once(day(364))
    assert cli("show", ref, "--json", now=day(364)).json()["state"] == "integrated"
    out = once(day(365)).stdout
    assert "dijalankan 1" in out
    shown = cli("show", ref, "--json", now=day(365)).json()
    assert shown["state"] == "under_evaluation"
    last = history_rows(ctx, ref)[-1]
    assert (last.event, last.actor) == ("open_evaluation", "system")
    assert len(outbox_rows(ctx, ref, "evaluation_opened")) == 1
    # Under evaluation: its own SLA reminder and the expiry deadlines carried over.
    pending = {r.rule for r in deadline_rows(ctx, ref, status="pending")}
    assert {"step_sla", "escalation", "expiry", "expiry_warning"} <= pending
    # Continue (the IKN relevance assessed again, issue 15): back to integrated, the next
    # evaluation 12 months after that.
    cli("fire", ref, "continue", "--set", "evaluation_findings=Efektif", "--set", "evaluation_recommendation=continue",
        "--set", "ikn_relevance=direct", "--set", "ikn_reassessment=Tetap relevan", now=day(370))
    evaluation = [r for r in deadline_rows(ctx, ref, status="pending") if r.rule == "periodic_evaluation"]
    assert len(evaluation) == 1
    assert evaluation[0].due_at.date().isoformat() == day(370 + 365)[:10] or evaluation[0].due_at.date().isoformat() == day(370 + 364)[:10]
    assert cli("doctor", now=day(370)).returncode == 0


def test_extend_moves_expiry_and_keeps_entered_deadlines(cli, ctx, once):
    ref = add(cli, day(0), kind="KB", title="KB Pangan")
    walk(cli, ref, "integrated", day(0), **signing(300))
    before = {r.rule: r for r in deadline_rows(ctx, ref, status="pending")}
    assert {"periodic_evaluation", "kb_followup", "expiry", "expiry_warning"} <= set(before)
    cli("fire", ref, "extend", "--set", f"ends_on={day(900)[:10]}", "--set", "adendum_ref=ADD-1", now=day(10))
    after = {r.rule: r for r in deadline_rows(ctx, ref, status="pending")}
    assert after["periodic_evaluation"].id == before["periodic_evaluation"].id  # entered-anchored: kept
    assert after["kb_followup"].id == before["kb_followup"].id
    assert after["expiry"].id != before["expiry"].id  # field-anchored: replanned at the new date
    assert after["expiry"].due_at > before["expiry"].due_at
    # At 12 months the KB follow-up reminder goes out before the evaluation opens.
    once(day(365))
    assert len(outbox_rows(ctx, ref, "kb_followup")) == 1
    assert cli("show", ref, "--json", now=day(365)).json()["state"] == "under_evaluation"


def test_kb_followup_skipped_when_a_pks_exists(cli, ctx, once):
    ref = add(cli, day(0), kind="KB", title="KB Pangan")
    walk(cli, ref, "integrated", day(0), **signing(5 * 365))
    cli("fire", ref, "upgrade", now=day(5))
    once(day(365))
    assert not outbox_rows(ctx, ref, "kb_followup")
    skipped = deadline_rows(ctx, ref, rule="kb_followup")
    assert skipped[0].status == "skipped" and "follow-up" in skipped[0].result
