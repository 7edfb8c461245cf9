"""The service layer on real databases (SQLite file and PostgreSQL): create, fire, upgrade,
roles, and every refusal as one clear sentence that changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine import errors

from engine.lifecycle import services
from engine.bootstrap import bootstrap
from engine.lifecycle.services import create_agreement, events_for, fire, history_of, show
from tests.helpers import KS_STEPS, add_service, walk_service

from .dbstate import count, snapshot

# The services' sentences read in English here; tests/core/test_cli.py reads them in Indonesian (the default).
pytestmark = pytest.mark.usefixtures("english")

SHOW_KEYS = {"id", "title", "workflow", "workflow_version", "state", "lead_opd", "partner", "data", "version"}


def test_create(people):
    ctx = people
    a = create_agreement(ctx, "sari", title="KB Ketahanan Pangan", partner="Otorita IKN", opd="dkp",
                         values={"document_kind": "kb", "location": "Tenggarong"}, note="usulan DKP")
    assert SHOW_KEYS <= set(a)
    assert re.fullmatch(rf"KS-{ctx.clock.today().year}-0001", a["id"])
    assert (a["state"], a["state_label"], a["lead_opd"], a["version"]) == ("proposed", "Usulan", "DKP", 1)
    assert a["data"] == {"document_kind": "KB", "location": "64.02.06", "ikn_delineation": "outside", "ikn_located_on": None}
    latest = ctx.registry.latest("kerja-sama").version
    assert (a["workflow"], a["workflow_version"], a["parent"], a["children"]) == ("kerja-sama", latest, None, [])
    [row] = history_of(ctx, a["id"])
    assert (row["seq"], row["event"], row["from"], row["to"], row["actor"], row["note"]) == (1, "create", None, "proposed", "sari", "usulan DKP")
    second = add_service(ctx, title="Another")
    assert second.endswith("-0002")
    assert show(ctx, second.lower())["id"] == second  # ids are case-insensitive


def test_walk_to_integrated_records_each_step(people):
    ctx = people
    ref = add_service(ctx)
    actors = {"secretariat": "sari", "tkksd": "rina"}
    for event in ("identify", "verify", "synchronize", "sign", "integrate"):
        role, values = KS_STEPS[event]
        before = show(ctx, ref)
        after = fire(ctx, actors[role], ref, event, values=values, note=f"step {event}")
        assert after["version"] == before["version"] + 1
    a = show(ctx, ref)
    assert a["state"] == "integrated"
    # Typed values are stored as plain data: dates as ISO text, confirmations as booleans.
    assert a["data"]["signed_on"] == "2026-01-15" and a["data"]["legal_basis_ok"] is True
    assert a["data"]["burdens_public"] is False and a["data"]["field"] == "food_security"
    rows = history_of(ctx, ref)
    assert [(r["event"], r["from"], r["to"]) for r in rows] == [
        ("create", None, "proposed"), ("identify", "proposed", "identified"), ("verify", "identified", "verified"),
        ("synchronize", "verified", "synchronized"), ("sign", "synchronized", "signed"), ("integrate", "signed", "integrated"),
    ]
    assert [r["actor"] for r in rows] == ["admin", "sari", "rina", "rina", "sari", "rina"]
    assert [r["seq"] for r in rows] == list(range(1, 7))
    assert rows[4]["data"]["signed_on"] == "2026-01-15" and rows[4]["note"] == "step sign"
    assert services.audit_verify(ctx)[2] == []


def test_upgrade_creates_linked_pks_in_proposed(people):
    ctx = people
    ref = add_service(ctx, title="KB Ketahanan Pangan", location="Tenggarong")
    walk_service(ctx, ref, "integrated")
    parent = fire(ctx, "rina", ref, "upgrade")
    assert parent["state"] == "integrated" and len(parent["children"]) == 1
    child = show(ctx, parent["children"][0])
    assert child["state"] == "proposed" and child["parent"] == ref
    assert child["title"] == "PKS: KB Ketahanan Pangan"
    assert (child["partner"], child["lead_opd"]) == ("Otorita IKN", "DKP")
    assert child["data"]["document_kind"] == "PKS"
    assert child["data"]["field"] == "food_security" and child["data"]["location"] == "64.02.06"
    assert child["data"]["plan_ref"] == KS_STEPS["synchronize"][1]["plan_ref"]
    assert "signed_on" not in child["data"]  # only the listed fields follow
    [created] = history_of(ctx, child["id"])
    assert (created["event"], created["to"], created["actor"]) == ("create", "proposed", "rina")
    assert ref in created["note"]
    assert history_of(ctx, ref)[-1]["event"] == "upgrade"
    assert services.audit_verify(ctx)[2] == []


def test_a_pks_cannot_be_upgraded(people):
    ctx = people
    ref = add_service(ctx, document_kind="PKS")
    walk_service(ctx, ref, "integrated", sign={"signed_by_opd_head": "no"})
    with pytest.raises(errors.RequirementsMissing, match="only a KB/MoU can be upgraded to a PKS"):
        fire(ctx, "rina", ref, "upgrade")


# ------------------------------------------------------------------ roles


def test_roles(people):
    ctx = people
    dkp = add_service(ctx, opd="DKP")
    dishub = add_service(ctx, opd="DISHUB", title="KB Transportasi", partner="Kota Samarinda")
    # secretariat identifies, tkksd verifies; not the other way round
    with pytest.raises(errors.PermissionDenied, match="User 'rina' may not fire 'identify' on .*; it needs one of: secretariat"):
        fire(ctx, "rina", dkp, "identify", values=KS_STEPS["identify"][1])
    with pytest.raises(errors.PermissionDenied, match="User 'budi' may not fire 'identify'"):
        fire(ctx, "budi", dkp, "identify", values=KS_STEPS["identify"][1])
    fire(ctx, "sari", dkp, "identify", values=KS_STEPS["identify"][1])
    with pytest.raises(errors.PermissionDenied, match="User 'sari' may not fire 'verify' .*; it needs one of: TKKSD member"):
        fire(ctx, "sari", dkp, "verify", values=KS_STEPS["verify"][1])
    with pytest.raises(errors.PermissionDenied, match="User 'sekda' may not fire 'verify'"):
        fire(ctx, "sekda", dkp, "verify", values=KS_STEPS["verify"][1])
    # an OPD user acts only on its own OPD's agreements
    with pytest.raises(errors.PermissionDenied, match="User 'joko' may not fire 'withdraw' .*; it needs one of: the lead OPD, secretariat"):
        fire(ctx, "joko", dkp, "withdraw", note="bukan milik kami")
    assert fire(ctx, "joko", dishub, "withdraw", note="tidak jadi")["state"] == "withdrawn"
    assert fire(ctx, "budi", dkp, "withdraw", note="tidak jadi")["state"] == "withdrawn"
    # an OPD user registers agreements for its own OPD only
    create_agreement(ctx, "budi", title="KB", partner="P", opd="DKP")
    with pytest.raises(errors.PermissionDenied, match="User 'budi' may not register agreements for DISHUB"):
        create_agreement(ctx, "budi", title="KB", partner="P", opd="DISHUB")
    with pytest.raises(errors.PermissionDenied, match="may not register agreements"):
        create_agreement(ctx, "sekda", title="KB", partner="P", opd="DKP")


def test_admin_holds_every_role(people):
    ctx = people
    ref = add_service(ctx)
    walk_service(ctx, ref, "integrated", actor="admin")
    fire(ctx, "admin", ref, "open_evaluation")
    assert fire(ctx, "admin", ref, "terminate", note="selesai")["state"] == "terminated"  # chair's event
    other = add_service(ctx, opd="DISHUB", partner="X")
    assert fire(ctx, "admin", other, "withdraw", note="x")["state"] == "withdrawn"  # the lead OPD's event


def test_chair_terminates_and_rejects(people):
    ctx = people
    ref = add_service(ctx)
    walk_service(ctx, ref, "integrated")
    with pytest.raises(errors.PermissionDenied, match="it needs one of: TKKSD chair"):
        fire(ctx, "rina", ref, "terminate", note="x")
    assert fire(ctx, "sekda", ref, "terminate", note="mitra bubar")["state"] == "terminated"
    other = add_service(ctx, partner="Y")
    assert fire(ctx, "sekda", other, "reject", values={"reason": "tidak layak"})["state"] == "rejected"


def test_only_admins_add_users_and_unknown_users_are_refused(people):
    ctx = people
    with pytest.raises(errors.PermissionDenied, match="Only an admin may add users; 'sari' is not one"):
        services.add_user(ctx, "sari", "x", "X", ["tkksd"], None)
    with pytest.raises(errors.InvalidInput, match="Unknown role 'mayor'"):
        services.add_user(ctx, "admin", "x", "X", ["mayor"], None)
    with pytest.raises(errors.InvalidInput, match="must belong to an OPD"):
        services.add_user(ctx, "admin", "x", "X", ["opd"], None)
    with pytest.raises(errors.NotFound, match="Unknown OPD code 'NOPE'"):
        services.add_user(ctx, "admin", "x", "X", ["opd"], "nope")
    with pytest.raises(errors.InvalidInput, match="User 'sari' already exists"):
        services.add_user(ctx, "admin", "sari", "X", ["tkksd"], None)
    ref = add_service(ctx)
    with pytest.raises(errors.PermissionDenied, match="User 'ghost' is not registered in tkksd"):
        fire(ctx, "ghost", ref, "withdraw", note="x")
    assert [u["login"] for u in services.list_users(ctx)] == ["admin", "budi", "joko", "rina", "sari", "sekda"]


# ------------------------------------------------------------------ refusals


def _at(ctx, state: str, **kw) -> str:
    ref = add_service(ctx, **kw)
    walk_service(ctx, ref, state)
    return ref


# (name, how to get there, the call, the error, what the sentence must say)
REFUSALS = [
    ("unknown-id", "proposed", lambda c, r: fire(c, "admin", "KS-1999-9999", "identify"), errors.NotFound,
     "No agreement 'KS-1999-9999'; `tkksd list` shows them."),
    # A name that is no event of the workflow is a typo (bad input), with the closest names.
    ("unknown-event", "proposed", lambda c, r: fire(c, "admin", r, "approve"), errors.InvalidInput,
     "'approve' is not an event of workflow kerja-sama (did you mean 'dprd_approve'?); `tkksd events {ref}` lists what may happen next."),
    ("misspelled-event", "proposed", lambda c, r: fire(c, "admin", r, "Identify"), errors.InvalidInput,
     "'Identify' is not an event of workflow kerja-sama (did you mean 'identify'?)"),
    ("not-now", "proposed", lambda c, r: fire(c, "admin", r, "verify", values=KS_STEPS["verify"][1]), errors.EventNotAllowed,
     "Event 'verify' is not allowed for {ref} in state Proposed; allowed now: identify, reject, withdraw."),
    ("final-state", "rejected", lambda c, r: fire(c, "admin", r, "identify"),
     errors.EventNotAllowed, "Event 'identify' is not allowed for {ref} in state Rejected; allowed now: none (the state is final)."),
    ("missing", "proposed", lambda c, r: fire(c, "sari", r, "identify", values={"objective": "x"}), errors.RequirementsMissing,
     "Cannot fire 'identify' on {ref}: missing field (Field (urusan)), partner_type (Partner type), ikn_relevance (IKN relevance)."),
    ("confirmation-no", "identified", lambda c, r: fire(c, "rina", r, "verify", values={**KS_STEPS["verify"][1], "legal_basis_ok": "no"}),
     errors.RequirementsMissing, "missing legal_basis_ok (Legal basis confirmed)."),
    ("dprd-needed", "verified", lambda c, r: fire(c, "rina", r, "synchronize", values={**KS_STEPS["synchronize"][1], "burdens_public": "yes"}),
     errors.RequirementsMissing, "missing dprd_approval_ref (DPRD approval reference)."),
    ("fresh-reason", "identified", lambda c, r: fire(c, "rina", r, "return"), errors.RequirementsMissing,
     "missing reason (Reason)."),
    ("future-signing", "synchronized", lambda c, r: fire(c, "sari", r, "sign", values={**KS_STEPS["sign"][1], "signed_on": (c.clock.today() + timedelta(days=1)).isoformat(), "ends_on": "2099-01-01"}),
     errors.RequirementsMissing, "is in the future"),
    ("end-before-start", "synchronized", lambda c, r: fire(c, "sari", r, "sign", values={**KS_STEPS["sign"][1], "ends_on": "2025-01-01"}),
     errors.RequirementsMissing, "ends_on (End date) 1 January 2025 must be after signed_on (Signing date) 15 January 2026."),
    ("pks-without-kuasa", "synchronized", lambda c, r: fire(c, "sari", r, "sign", values={**KS_STEPS["sign"][1], "signed_by_opd_head": "yes"}),
     errors.RequirementsMissing, "missing surat_kuasa_ref (Surat Kuasa reference)."),
    ("malformed-date", "synchronized", lambda c, r: fire(c, "sari", r, "sign", values={**KS_STEPS["sign"][1], "signed_on": "15/01/2026"}),
     errors.InvalidInput, "signed_on (Signing date) must be a date as YYYY-MM-DD, not '15/01/2026'."),
    ("impossible-date", "synchronized", lambda c, r: fire(c, "sari", r, "sign", values={**KS_STEPS["sign"][1], "ends_on": "2031-02-30"}),
     errors.InvalidInput, "ends_on (End date) is not a real date: '2031-02-30'."),
    ("bad-bool", "identified", lambda c, r: fire(c, "rina", r, "verify", values={**KS_STEPS["verify"][1], "legal_basis_ok": "maybe"}),
     errors.InvalidInput, "legal_basis_ok (Legal basis confirmed) must be yes or no (true/false), not 'maybe'."),
    ("bad-choice", "proposed", lambda c, r: fire(c, "sari", r, "identify", values={**KS_STEPS["identify"][1], "field": "astrology"}),
     errors.InvalidInput, "must be one of education, health,"),
    ("unknown-field", "proposed", lambda c, r: fire(c, "sari", r, "identify", values={**KS_STEPS["identify"][1], "colour": "red"}),
     errors.InvalidInput, "'colour' is not a field of workflow kerja-sama v2"),
    ("wrong-role", "identified", lambda c, r: fire(c, "sari", r, "verify", values=KS_STEPS["verify"][1]), errors.PermissionDenied,
     "User 'sari' may not fire 'verify' on {ref}; it needs one of: TKKSD member."),
    ("unknown-opd-value", "proposed", lambda c, r: fire(c, "sari", r, "identify", values={**KS_STEPS["identify"][1], "lead_opd": "XYZ"}),
     errors.NotFound, "Unknown OPD code 'XYZ'; `tkksd opd list` shows the directory."),
    ("unknown-opd-create", "proposed", lambda c, r: create_agreement(c, "admin", title="T", partner="P", opd="XYZ"), errors.NotFound,
     "Unknown OPD code 'XYZ'"),
    ("unknown-workflow", "proposed", lambda c, r: create_agreement(c, "admin", title="T", partner="P", opd="DKP", workflow="nope"),
     errors.NotFound, "Unknown workflow 'nope'; `tkksd workflow list` shows the installed ones."),
    ("empty-title", "proposed", lambda c, r: create_agreement(c, "admin", title=" ", partner="P", opd="DKP"), errors.InvalidInput,
     "title (Title) cannot be empty."),
    ("unknown-user", "proposed", lambda c, r: fire(c, "ghost", r, "withdraw", note="x"), errors.PermissionDenied,
     "User 'ghost' is not registered in tkksd"),
    ("same-step-twice", "identified", lambda c, r: fire(c, "sari", r, "identify", values=KS_STEPS["identify"][1]), errors.AlreadyDone,
     "Conflict: 'identify' was already fired on {ref} by admin at"),
    ("extend-backwards", "integrated", lambda c, r: fire(c, "sari", r, "extend", values={"ends_on": "2030-01-01", "adendum_ref": "AD-1"}),
     errors.RequirementsMissing, "the new ends_on (End date) 1 January 2030 must be after the current 15 January 2031"),
]


@pytest.mark.parametrize("name, state, call, error, sentence", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusal_is_one_sentence_and_changes_nothing(people, name, state, call, error, sentence):
    ctx = people
    if state == "rejected":
        ref = add_service(ctx)
        fire(ctx, "admin", ref, "reject", note="x")
    else:
        ref = _at(ctx, state, document_kind="PKS" if name == "pks-without-kuasa" else "KB")
    before = snapshot(ctx.engine)
    with pytest.raises(error) as info:
        call(ctx, ref)
    message = str(info.value)
    assert sentence.format(ref=ref) in message
    assert "\n" not in message and message.endswith(".") and message.count(". ") == 0, message
    assert snapshot(ctx.engine) == before
    assert info.value.exit_code != 0


def test_overlap_with_an_open_agreement_needs_acknowledging(people):
    ctx = people
    first = _at(ctx, "synchronized")
    second = _at(ctx, "verified", title="KB kedua")
    values = {k: v for k, v in KS_STEPS["synchronize"][1].items() if k != "overlap_acknowledged"}
    before = snapshot(ctx.engine)
    with pytest.raises(errors.RequirementsMissing, match=re.escape(
            f"another open agreement has the same Partner, Field (urusan), Lead OPD: {first}; acknowledge it with overlap_acknowledged=yes")):
        fire(ctx, "rina", second, "synchronize", values=values)
    assert snapshot(ctx.engine) == before
    assert fire(ctx, "rina", second, "synchronize", values={**values, "overlap_acknowledged": "yes"})["state"] == "synchronized"
    # A final agreement does not count as an overlap.
    third = _at(ctx, "verified", title="KB ketiga")
    fire(ctx, "admin", first, "withdraw", note="x")
    fire(ctx, "admin", second, "withdraw", note="x")
    assert fire(ctx, "rina", third, "synchronize", values=values)["state"] == "synchronized"


def test_note_counts_as_the_reason_and_reason_must_be_fresh(people):
    ctx = people
    ref = _at(ctx, "identified")
    fire(ctx, "sari", ref, "return", note="lengkapi data")
    assert show(ctx, ref)["data"]["reason"] == "lengkapi data"
    walk_service(ctx, ref, "identified")
    with pytest.raises(errors.RequirementsMissing, match="missing reason"):
        fire(ctx, "sari", ref, "return")  # the stored reason is the old one
    row = history_of(ctx, ref)[-1]
    assert (row["event"], row["note"]) == ("identify", None)


def test_events_for_lists_every_event_with_missing_items(people):
    ctx = people
    ref = add_service(ctx)
    rows = {e["event"]: e for e in events_for(ctx, ref, "sari")}
    assert list(rows) == [e.name for e in ctx.registry.latest("kerja-sama").events]
    identify = rows["identify"]
    assert identify["to"] == "identified" and identify["roles"] == ["secretariat"] and identify["allowed"] is False
    assert [m["key"] for m in identify["missing"]] == ["field", "objective", "partner_type", "ikn_relevance"]
    assert identify["missing"][0]["type"] == "choice" and "food_security" in identify["missing"][0]["choices"]
    assert "choices" not in identify["missing"][1]
    assert rows["verify"]["allowed"] is False and rows["verify"]["possible_now"] is False
    fire(ctx, "sari", ref, "identify", values=KS_STEPS["identify"][1])
    by_rina = {e["event"]: e for e in events_for(ctx, ref, "rina")}
    by_sari = {e["event"]: e for e in events_for(ctx, ref, "sari")}
    assert by_rina["return"]["missing"] == [{"key": "reason", "type": "text", "label": "Alasan"}]
    assert by_sari["withdraw"]["allowed"] is False  # needs a fresh reason
    fire(ctx, "rina", ref, "verify", values=KS_STEPS["verify"][1])
    rows = {e["event"]: e for e in events_for(ctx, ref, "rina")}
    assert rows["synchronize"]["possible_now"] and not rows["synchronize"]["allowed"]
    assert [m["key"] for m in rows["synchronize"]["missing"]] == ["plan_ref", "tkksd_recommendation_ref", "burdens_public", "budgeted_in_apbd"]
    fire(ctx, "rina", ref, "synchronize", values=KS_STEPS["synchronize"][1])
    rows = {e["event"]: e for e in events_for(ctx, ref, "sari")}
    assert rows["sign"]["possible_now"] and not rows["sign"]["allowed"]


def test_events_allowed_depends_on_the_user(people):
    ctx = people
    ref = _at(ctx, "signed")
    by = {u: {e["event"]: e["allowed"] for e in events_for(ctx, ref, u)} for u in ("rina", "sari", "admin", "ghost")}
    assert by["rina"]["integrate"] is False  # rkpd_ref missing
    assert by["sari"]["integrate"] is False and by["sari"]["expire"] is False
    assert by["ghost"] == {k: False for k in by["ghost"]}


def test_stale_write_is_a_conflict_and_writes_nothing(people):
    ctx = people
    ref = _at(ctx, "identified")
    with ctx.engine.connect() as conn:
        stale = services.find_agreement(conn, ref)
        conn.rollback()
    fire(ctx, "rina", ref, "verify", values=KS_STEPS["verify"][1])  # someone else wins
    defn = ctx.registry.latest("kerja-sama")
    before = snapshot(ctx.engine)
    with pytest.raises(errors.Conflict, match=f"Conflict: {ref} was changed by someone else while 'return' was being fired"):
        with services.db.write(ctx.engine) as conn:
            services.apply_transition(conn, ctx, stale, defn, event="return", to_state="proposed", actor="sari",
                                      note="x", supplied={"reason": "x"}, kind="human")
    assert snapshot(ctx.engine) == before
    assert errors.Conflict.exit_code == 6


def test_hook_failure_rolls_back_the_whole_transition(people):
    ctx = people
    ref = _at(ctx, "identified")

    def broken_hook(conn, t, ctx_):
        raise RuntimeError("the outbox is on fire")

    ctx.hooks = [*ctx.hooks, broken_hook]
    before = snapshot(ctx.engine)
    with pytest.raises(RuntimeError):
        fire(ctx, "rina", ref, "verify", values=KS_STEPS["verify"][1])
    assert snapshot(ctx.engine) == before


def test_clock_and_list_filters(env):
    ctx = bootstrap({**env, "TKKSD_NOW": "2030-05-01T09:00"})
    try:
        a = create_agreement(ctx, "admin", title="T", partner="P", opd="DKP")
        assert a["id"] == "KS-2030-0001"
        assert a["created_at"] == "2030-05-01T01:00:00+00:00"  # 09:00 WITA
        b = add_service(ctx, opd="DISHUB")
        fire(ctx, "admin", b, "withdraw", note="x")
        assert [r["id"] for r in services.list_agreements(ctx)] == [a["id"], b]
        assert [r["id"] for r in services.list_agreements(ctx, state="withdrawn")] == [b]
        assert [r["id"] for r in services.list_agreements(ctx, opd="dkp")] == [a["id"]]
        assert services.list_agreements(ctx, workflow="other") == []
        assert [r["id"] for r in services.list_agreements(ctx, limit=1)] == [a["id"]]
        assert {"id", "state"} <= set(services.list_agreements(ctx)[0])
        assert history_of(ctx, b)[-1]["at"] == "2030-05-01T01:00:00+00:00"
    finally:
        ctx.engine.dispose()


def test_audit_counts_rows(people):
    ctx = people
    ref = _at(ctx, "verified")
    assert count(ctx.engine, "history", agreement_id=1) == 3
    n_agreements, n_rows, problems = services.audit_verify(ctx)
    assert (n_agreements, n_rows, problems) == (1, 3, [])
    with services.db.write(ctx.engine) as conn:
        conn.execute(sa.text("UPDATE history SET actor = 'mallory' WHERE seq = 2"))
    _, _, problems = services.audit_verify(ctx)
    assert problems == [f"{ref}: history row id 2 (seq 2) does not match its hash (it was edited)"]
