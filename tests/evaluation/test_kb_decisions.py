"""Every KB decided (issue 16, point 3): past its follow-up deadline and the escalation to the
chair, the chair upgrades it, gives more time (a reason and a new date) or declares it not
followed up; the report counts each; `doctor` finds none hanging. `document_kind` is required at
`identify`."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine.errors import RequirementsMissing
from engine.lifecycle.services import create_agreement, fire, show
from engine.scheduler import doctor
from engine.scheduler.sweep import sweep
from tests.daemon.conftest import deadline_rows, outbox_rows
from tests.helpers import add_service, walk_service

from .conftest import ctx_at

T0 = date(2026, 3, 2)


def at(n: int) -> str:
    return f"{(T0 + timedelta(days=n)).isoformat()}T09:00"


@pytest.fixture
def late_evaluation(tmp_path):
    """Periodic evaluations far off, so the KB stays `integrated` while its follow-up runs out."""
    (tmp_path / "tkksd.toml").write_text("[deadlines]\nevaluation_days = 2000\n", encoding="utf-8")


def kb_past_its_deadline(ctx, title: str) -> str:
    c0 = ctx_at(ctx, at(0))
    ref = add_service(c0, title=title)
    walk_service(c0, ref, "integrated", sign={"signed_on": (T0 - timedelta(days=1)).isoformat(), "ends_on": "2031-03-01"})
    return ref


def test_the_chairs_three_decisions(late_evaluation, ctx):
    refs = {d: kb_past_its_deadline(ctx, f"KB {d}") for d in ("upgrade", "more_time", "not_followed_up")}
    # A year on: the lead OPD is reminded; a month later the chair is asked to decide.
    c = ctx_at(ctx, at(400))
    sweep(c, daemon_id="test")
    for ref in refs.values():
        # Swept 35 days after the reminder's date, it says it is late (kb_followup_overdue).
        assert len(outbox_rows(ctx, ref, "kb_followup") + outbox_rows(ctx, ref, "kb_followup_overdue")) == 1
        [letter] = outbox_rows(ctx, ref, "kb_decision")
        assert letter.to_addrs == ["sekda@opd.kukar.example"]
        assert "memberi tambahan waktu" in letter.text_body and "menyatakan KB tidak ditindaklanjuti" in letter.text_body
        assert "tkksd fire" not in letter.text_body

    fire(c, "admin", refs["upgrade"], "upgrade")
    reason = "OPD menunggu hasil kajian teknis Otorita IKN"
    with pytest.raises(RequirementsMissing) as refused:
        fire(c, "admin", refs["more_time"], "give_more_time", values={"reason": reason, "followup_due_on": at(300)[:10]})
    assert "must be after today" in str(refused.value)
    fire(c, "admin", refs["more_time"], "give_more_time", values={"reason": reason, "followup_due_on": at(580)[:10]})
    fire(c, "admin", refs["not_followed_up"], "declare_not_followed_up", note="Mitra tidak menanggapi dua kali surat")

    assert show(c, refs["not_followed_up"])["state"] == "not_followed_up"
    assert show(c, refs["not_followed_up"])["final"] is True
    pending = {r.rule for r in deadline_rows(ctx, refs["more_time"], status="pending")}
    assert {"kb_followup_extended", "kb_decision_extended"} <= pending and "kb_decision" not in pending
    [extended] = [r for r in deadline_rows(ctx, refs["more_time"], status="pending") if r.rule == "kb_followup_extended"]
    assert c.clock.local(extended.due_at).date() == T0 + timedelta(days=580)

    check = doctor.check(c)
    hanging = [p for p in check["problems"] if p["kind"] == "hanging"]
    assert hanging == []

    # The more time runs out too: reminded again, then the chair again.
    c2 = ctx_at(ctx, at(615))
    sweep(c2, daemon_id="test")
    # The second reminder is sent after its date: it says so (kb_followup_overdue), to the chair.
    reminders = outbox_rows(ctx, refs["more_time"], "kb_followup") + outbox_rows(ctx, refs["more_time"], "kb_followup_overdue")
    assert len(reminders) == 2
    assert len(outbox_rows(ctx, refs["more_time"], "kb_decision")) >= 2

    from engine.inventory.reports import build

    counts = {d["decision"]: d["count"] for d in build(c2)["kb_decisions"]}
    assert counts == {"upgrade": 1, "give_more_time": 1, "declare_not_followed_up": 1}


def test_only_the_chair_decides_and_only_on_a_kb(ctx):
    from engine.errors import PermissionDenied
    from tests.core.conftest import USERS
    from engine.lifecycle.services import add_user

    for login, (roles, opd) in USERS.items():
        add_user(ctx, "admin", login, login, roles, opd)
    ref = add_service(ctx, title="KB Sampah")
    walk_service(ctx, ref, "integrated")
    with pytest.raises(PermissionDenied):
        fire(ctx, "rina", ref, "declare_not_followed_up", note="x")
    pks = add_service(ctx, title="PKS Sampah", document_kind="PKS")
    walk_service(ctx, pks, "integrated")
    with pytest.raises(RequirementsMissing) as refused:
        fire(ctx, "sekda", pks, "declare_not_followed_up", note="x")
    assert "only a KB/MoU can be declared not followed up" in str(refused.value)


def test_document_kind_is_required_at_identify(ctx):
    from tests.helpers import KS_STEPS

    untyped = create_agreement(ctx, "admin", title="KB tanpa jenis", partner="Otorita IKN", opd="DKP")["id"]
    with pytest.raises(RequirementsMissing) as refused:
        fire(ctx, "admin", untyped, "identify", values=KS_STEPS["identify"][1])
    assert "document_kind" in str(refused.value)
    assert fire(ctx, "admin", untyped, "identify", values={**KS_STEPS["identify"][1], "document_kind": "KB"})["state"] == "identified"
