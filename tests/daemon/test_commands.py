"""doctor, due, simulate, status: read commands over states the scheduler produces."""

from __future__ import annotations

import json

import sqlalchemy as sa

from tests.helpers import add_service, walk_service

from .conftest import ctx_at, day, deadline_rows, outbox_rows, signing


def test_doctor_fails_naming_the_agreement_when_a_pending_deadline_is_deleted(cli, ctx):
    from engine.store.tables import agreements, deadlines

    c = ctx_at(ctx, day(0))
    keep = add_service(c, title="Tetap", document_kind="PKS")
    ref = add_service(c, title="Dihapus", document_kind="PKS")
    walk_service(c, ref, "integrated", **signing(5 * 365))
    ok = cli("doctor", now=day(1))
    assert ok.returncode == 0 and "tidak ada yang menggantung" in ok.stdout
    with ctx.engine.begin() as conn:
        aid = conn.execute(sa.select(agreements.c.id).where(agreements.c.number == ref)).scalar_one()
        conn.execute(sa.text("DELETE FROM deadlines WHERE agreement_id = :a AND status = 'pending'"), {"a": aid})
    bad = cli("doctor", now=day(1), check=False)
    assert bad.returncode != 0
    assert ref in bad.stderr and "menggantung" in bad.stderr
    assert keep not in bad.stdout
    report = cli("doctor", "--json", now=day(1), check=False)
    assert report.returncode != 0
    assert [p["agreement"] for p in report.json()["problems"]] == [ref]
    fixed = cli("doctor", "--fix", now=day(1))
    assert ref in fixed.stdout
    assert {r.rule for r in deadline_rows(ctx, ref, status="pending")} >= {"periodic_evaluation", "expiry"}


def test_doctor_reports_pending_deadlines_on_a_final_agreement_and_unknown_state(cli, ctx):
    from engine.store.tables import agreements

    c = ctx_at(ctx, day(0))
    ref = add_service(c, title="Final", document_kind="PKS")
    other = add_service(c, title="Aneh", document_kind="PKS")
    with ctx.engine.begin() as conn:
        conn.execute(agreements.update().where(agreements.c.number == ref).values(lifecycle_state="rejected"))
        conn.execute(agreements.update().where(agreements.c.number == other).values(lifecycle_state="limbo"))
    out = cli("doctor", "--json", now=day(1), check=False)
    assert out.returncode != 0
    kinds = {(p["kind"], p["agreement"]) for p in out.json()["problems"]}
    assert ("final_pending", ref) in kinds
    assert ("state", other) in kinds


def test_due_lists_what_falls_due_and_what_is_overdue(cli, ctx, once):
    c = ctx_at(ctx, day(0))
    a = add_service(c, title="Usulan DKP", opd="DKP", document_kind="PKS")
    b = add_service(c, title="Usulan lain", opd="BAPPEDA" if _has_opd(ctx, "BAPPEDA") else "DKP", document_kind="PKS")
    rows = cli("due", "--json", "--within", "20d", now=day(1)).json()
    assert {(r["agreement"], r["rule"]) for r in rows} == {(a, "step_sla"), (b, "step_sla")}
    assert all(not r["overdue"] and r["responsible"]["opd"] for r in rows)
    assert cli("due", "--json", "--within", "5d", now=day(1)).json() == []
    # Day 20, daemon ran: the reminder went out, the step is overdue since day 14.
    once(day(20))
    late = cli("due", "--overdue", "--json", "--opd", "DKP", now=day(20)).json()
    assert [(r["agreement"], r["status"], r["overdue_days"]) for r in late] == [(a, "reminded", 6)]
    # Without a daemon pass, the pending escalation (day 28) is overdue on day 30.
    late = cli("due", "--overdue", "--json", "--opd", "DKP", now=day(30)).json()
    assert {(r["rule"], r["status"]) for r in late} == {("step_sla", "reminded"), ("escalation", "pending")}
    text = cli("due", "--within", "2w", now=day(20)).stdout
    assert a in text and "JATUH TEMPO" in text
    bad = cli("due", "--within", "soon", check=False)
    assert bad.returncode == 2 and "--within" in bad.stderr


def _has_opd(ctx, code: str) -> bool:
    from engine.store.tables import opds

    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(opds.c.code).where(opds.c.code == code)).first() is not None


def test_simulate_writes_nothing_and_shows_follow_on_effects(cli, ctx):
    from engine.store.tables import deadlines, history, outbox

    c = ctx_at(ctx, day(0))
    ref = add_service(c, title="PKS berjalan", document_kind="PKS")
    walk_service(c, ref, "integrated", **signing(400))

    def snapshot():
        with ctx.engine.connect() as conn:
            return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in (deadlines, history, outbox))

    before = snapshot()
    report = cli("simulate", "--until", day(450)[:10], "--json", now=day(1)).json()
    assert snapshot() == before
    steps = [(a["rule"], a["does"].split(" (")[0]) for a in report["actions"]]
    # Evaluation at 12 months, then the follow-on SLA reminder of under_evaluation (30 days
    # later), its escalation, the expiry warnings before the end date and the expiry itself.
    assert ("periodic_evaluation", "fire open_evaluation -> under_evaluation") in steps
    assert ("step_sla", "notify reminder") in steps
    assert ("expiry", "fire expire -> expired") in steps
    assert [s for s in steps if s[0] == "expiry_warning"] == [("expiry_warning", "notify expiry_warning")] * 3
    order = [a["at"] for a in report["actions"]]
    assert order == sorted(order)
    fired = [a for a in report["actions"] if a["rule"] == "periodic_evaluation"][0]
    assert any(n["kind"] == "evaluation_opened" for n in fired["notices"])
    reminder = [a for a in report["actions"] if a["rule"] == "step_sla"][0]
    assert reminder["to"] == ["dkp@opd.kukar.example"]
    text = cli("simulate", "--until", day(450)[:10], now=day(1)).stdout
    assert "tidak ada yang ditulis" in text and ref in text
    past = cli("simulate", "--until", "2020-01-01", now=day(1), check=False)
    assert past.returncode == 2


def test_status_shows_the_heartbeat(cli, ctx, once):
    empty = cli("status", now=day(0)).stdout
    assert "Belum ada daemon yang pernah berjalan" in empty
    add_service(ctx_at(ctx, day(0)), title="Usulan", document_kind="PKS")
    once(day(15))
    s = cli("status", "--json", now=day(15)).json()
    beat = s["daemons"][0]
    assert beat["counts"]["notified"] == 1 and beat["errors"] == 0 and beat["last_pass_at"]
    assert s["deadlines"]["pending"] == 1 and s["deadlines"]["due_now"] == 0
    assert "putaran terakhir" in cli("status", now=day(15)).stdout


def test_once_json_and_digests_sent_once_per_period(cli, ctx):
    add_service(ctx_at(ctx, day(0)), title="Usulan", document_kind="PKS")
    first = cli("daemon", "--once", "--json", now=day(7)).json()  # a Monday 09:00
    assert first["digests"] == {"digest_opd": 1, "digest_chair": 1}
    again = cli("daemon", "--once", "--json", now=day(8)).json()
    assert again["digests"] == {"digest_opd": 0, "digest_chair": 0}
    nxt = cli("daemon", "--once", "--json", now=day(14)).json()
    assert nxt["digests"]["digest_opd"] == 1
    assert len(outbox_rows(ctx, kind="digest_opd")) == 2
    body = outbox_rows(ctx, kind="digest_opd")[-1].text_body
    assert "Usulan" in body
