"""A daemon down for 400 days: each missed timed event fires once, in order; stale notices fold."""

from __future__ import annotations

import sqlalchemy as sa

from tests.helpers import add_service, walk_service

from .conftest import ctx_at, day, deadline_rows, history_rows, outbox_rows, signing


def _fresh_set(ctx):
    c = ctx_at(ctx, day(0))
    proposed = [add_service(c, title=f"Usulan {i}", document_kind="PKS") for i in range(3)]
    running = []
    for i in range(3):
        ref = add_service(c, title=f"PKS berjalan {i}", document_kind="PKS")
        walk_service(c, ref, "integrated", **signing(5 * 365))
        running.append(ref)
    ending = []
    for i in range(2):
        ref = add_service(c, title=f"PKS berakhir {i}", document_kind="PKS")
        walk_service(c, ref, "integrated", **signing(300))
        ending.append(ref)
    kb = add_service(c, title="KB tanpa PKS", document_kind="KB")
    walk_service(c, kb, "integrated", **signing(5 * 365))
    return proposed, running, ending, kb


def test_outage_of_400_days_fires_each_missed_deadline_once_and_folds(cli, ctx, once):
    proposed, running, ending, kb = _fresh_set(ctx)
    assert cli("doctor", now=day(0)).returncode == 0
    due_fire = len([r for r in deadline_rows(ctx, status="pending", action="fire")
                    if r.due_at <= ctx_at(ctx, day(400)).clock.now()])

    summary = once(day(400)).stdout
    # Timed events: evaluation for the 3 running ones and the KB, expiry for the 2 ending ones.
    system = {}
    for ref in proposed + running + ending + [kb]:
        system[ref] = [(h.event, h.actor) for h in history_rows(ctx, ref) if h.actor == "system"]
    for ref in running + [kb]:
        assert system[ref] == [("open_evaluation", "system")]
    for ref in ending:
        assert system[ref] == [("expire", "system")]  # its evaluation (day 365) was after the end (day 300)
    for ref in proposed:
        assert system[ref] == []
    fired = sum(len(v) for v in system.values())
    assert fired == 6 and f"dijalankan {fired}" in summary
    assert due_fire >= fired  # the ending agreements' evaluation rows were cancelled by their expiry

    # Folding: one reminder and one escalation per proposed agreement, the escalation standing
    # for its 54 occurrences (days 28, 35, ..., 399).
    for ref in proposed:
        reminders = outbox_rows(ctx, ref, "reminder")
        escalations = outbox_rows(ctx, ref, "escalation")
        assert len(reminders) == 1 and len(escalations) == 1
        assert "menggantikan 53 eskalasi" in escalations[0].text_body
        esc = deadline_rows(ctx, ref, rule="escalation")
        assert [r.status for r in esc] == ["fired", "pending"]
        assert "folded 53" in esc[0].result
        assert esc[1].occurrence == 54 and esc[1].due_at > ctx_at(ctx, day(400)).clock.now()
    # The three expiry warnings of an ending agreement warn about a date already past when the
    # daemon returns (issue 12.1): the expiry fires first, the warnings are folded (recorded
    # on their rows), not mailed.
    for ref in ending:
        assert len(outbox_rows(ctx, ref, "expiry_warning")) == 0
        rows = deadline_rows(ctx, ref, rule="expiry_warning")
        assert sorted(r.status for r in rows) == ["fired"] * 3
        assert all((r.result or "").startswith("folded") for r in rows)
        assert len(outbox_rows(ctx, ref, "expired")) == 1
    # The KB's follow-up went out before its evaluation opened; its deadline (day 365) had
    # passed by day 400, so it went to the chair as an escalation saying so (issue 12.1).
    assert len(outbox_rows(ctx, kb, "kb_followup")) == 0
    assert len(outbox_rows(ctx, kb, "kb_followup_overdue")) == 1

    before = len(outbox_rows(ctx))
    again = once(day(400)).stdout
    assert "dijalankan 0, pemberitahuan 0" in again
    assert len(outbox_rows(ctx)) == before
    # Nothing is missing or inconsistent; the three proposals, 386 days over their step's
    # deadline with nobody acting, are hanging by the one definition (issue 12.2).
    problems = cli("doctor", "--json", now=day(400), check=False).json()["problems"]
    assert sorted((p["kind"], p["agreement"]) for p in problems) == [("hanging_overdue", r) for r in sorted(proposed)]


def test_fold_horizon_is_configurable(cli, ctx, tmp_path):
    (tmp_path / "tkksd.toml").write_text("[daemon]\nfold_after_days = 1000\n")
    ref = add_service(ctx_at(ctx, day(0)), title="Usulan", document_kind="PKS")
    cli("daemon", "--once", now=day(100))
    # Nothing is stale within a 1000-day horizon: every missed repetition (days 28, 35, ..., 98)
    # is sent once, in order, none folded.
    escalations = outbox_rows(ctx, ref, "escalation")
    assert len(escalations) == 11
    assert not any("menggantikan" in r.text_body for r in escalations)
    cli("daemon", "--once", now=day(100))
    assert len(outbox_rows(ctx, ref, "escalation")) == 11


def test_import_kind_plans_deadlines_overdue_at_once(ctx, cli, once):
    """An agreement imported as integrated long ago is due for evaluation at once."""
    from engine.store import db
    from engine.lifecycle.services import insert_agreement, parse_values

    c = ctx_at(ctx, day(0))
    defn = c.registry.latest("kerja-sama")
    values = parse_values(defn, {"title": "Impor lama", "partner": "Kab. Paser", "lead_opd": "DKP", "document_kind": "PKS",
                                 "signed_on": "2020-01-10", "ends_on": "2030-01-10"})
    long_ago = ctx_at(ctx, "2021-01-04T09:00").clock.now()
    with db.write(c.engine) as conn:
        t = insert_agreement(conn, c, defn, values=values, state="integrated", actor="admin", note="import",
                             kind="import", event="import", at=long_ago)
    pending = deadline_rows(ctx, t.number, status="pending")
    assert {r.rule for r in pending} == {"periodic_evaluation", "expiry_warning", "expiry"}
    assert len([r for r in pending if r.rule == "expiry_warning"]) == 3
    once(day(0))
    assert cli("show", t.number, "--json", now=day(0)).json()["state"] == "under_evaluation"
