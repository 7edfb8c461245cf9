"""The Sekda's evaluation round over the demo inventory (issue 16, point 2): one letter per OPD
head, `evaluasi status` as the clock moves, reminders and the escalation of late OPDs by the
daemon, and the round's report (HTML, PDF, XLSX). Real CLI; the demo on SQLite."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.daemon.conftest import outbox_rows
from tests.setups import demo_loaded, shared_setup

from .conftest import scorecard

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def sets(values: dict[str, str]) -> list[str]:
    out: list[str] = []
    for k, v in values.items():
        out += ["--set", f"{k}={v}"]
    return out


def running_by_opd(ctx) -> dict[str, list[str]]:
    from engine.store.tables import agreements

    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.select(agreements.c.number, agreements.c.lead_opd)
                            .where(agreements.c.lifecycle_state.in_(("integrated", "under_evaluation")))).all()
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r.lead_opd, []).append(r.number)
    return out


@pytest.mark.slow
@shared_setup(demo_loaded)  # `tkksd demo` on 1 May 2024
def test_a_round_over_the_demo_inventory(cli, ctx, tmp_path, chromium):
    expected = running_by_opd(ctx)

    # Only the chair opens a round; a due date in the past is refused.
    cli("user", "add", "rina", "--role", "tkksd")
    refused = cli("evaluasi", "buka", "--due", "2024-06-30", user="rina", check=False, now="2024-05-02T09:00")
    assert refused.returncode == 4 and "Only the TKKSD chair" in refused.stderr
    refused = cli("evaluasi", "buka", "--due", "2024-04-30", check=False, now="2024-05-02T09:00")
    assert refused.returncode == 2 and "must be after today" in refused.stderr

    opened = cli("evaluasi", "buka", "--due", "2024-05-31", "--json", now="2024-05-02T09:00").json()
    assert opened["agreements"] == sum(len(v) for v in expected.values())
    assert opened["letters"] == len(expected)
    letters = outbox_rows(ctx, kind="evaluation_round")
    assert len(letters) == len(expected)  # one per OPD head
    by_opd = {r.recipient_opd: r for r in letters}
    assert set(by_opd) == set(expected)
    for code, numbers in expected.items():
        assert all(n in by_opd[code].text_body for n in numbers)
    again = cli("evaluasi", "buka", "--due", "2024-06-30", check=False, now="2024-05-02T09:00")
    assert again.returncode == 6 and "is still open" in again.stderr

    # DKP evaluates everything; one agreement departs from its score with a reason.
    dkp = expected["DKP"]
    good = {**scorecard(4), "evaluation_findings": "Efektif", "evaluation_recommendation": "continue"}
    for number in dkp[1:]:
        cli("fire", number, "continue", *sets(good), now="2024-05-10T09:00")
    low = {**scorecard(2), "evaluation_findings": "Kurang efektif", "evaluation_recommendation": "continue",
           "departure_reason": "Dilanjutkan atas arahan Bupati untuk pasokan pangan IKN"}
    cli("fire", dkp[0], "continue", *sets(low), now="2024-05-10T09:00")

    status = cli("evaluasi", "status", "--json", now="2024-05-10T09:00").json()
    assert status["totals"]["evaluated"] == len(dkp) and status["totals"]["late_opds"] == 0
    [row] = [o for o in status["opds"] if o["opd"] == "DKP"]
    assert (row["evaluated"], row["pending"], row["late"]) == (len(dkp), 0, False)
    human = cli("evaluasi", "status", now="2024-05-10T09:00").stdout
    assert "batas 31 Mei 2024" in human and f"{len(dkp)} dari {opened['agreements']} kerja sama dievaluasi" in human

    # A week before the due date the daemon reminds every OPD with agreements left; after it the
    # chair hears which OPDs are late.
    cli("daemon", "--once", now="2024-05-25T09:00")
    reminders = [r for r in outbox_rows(ctx, kind="evaluation_round") if "Pengingat" in r.subject]
    assert {r.recipient_opd for r in reminders} == set(expected) - {"DKP"}
    cli("daemon", "--once", now="2024-06-02T09:00")
    [escalation] = outbox_rows(ctx, kind="evaluation_round_escalation")
    assert escalation.to_addrs == ["sekda@opd.kukar.example"]
    assert "DKP" not in escalation.text_body.split("Mohon arahan")[0].replace("DKP-", "")
    late = cli("evaluasi", "status", "--json", now="2024-06-02T09:00").json()
    assert late["totals"]["late_opds"] == len(expected) - 1 and late["days_late"] == 2
    cli("daemon", "--once", now="2024-06-03T09:00")
    assert len(outbox_rows(ctx, kind="evaluation_round_escalation")) == 1  # once per week

    # Closing: the report per OPD, with what stays hanging and why.
    html, pdf, xlsx = tmp_path / "round.html", tmp_path / "round.pdf", tmp_path / "round.xlsx"
    closed = cli("evaluasi", "tutup", "--output", str(html), "--output", str(xlsx), "--output", str(pdf),
                 now="2024-06-05T09:00")
    assert "ditutup" in closed.stdout and html.exists() and xlsx.exists() and pdf.read_bytes()[:4] == b"%PDF"
    text = html.read_text(encoding="utf-8")
    assert "Dilanjutkan atas arahan Bupati" in text and "OPD belum menyampaikan evaluasi (terlambat 5 hari)" in text
    from openpyxl import load_workbook

    wb = load_workbook(xlsx)
    assert {r[0].value for r in wb["per_opd"].iter_rows(min_row=2)} == set(expected)
    again = cli("evaluasi", "tutup", check=False, now="2024-06-05T09:00")
    assert again.returncode == 6 and "already closed" in again.stderr
    cli("daemon", "--once", now="2024-06-12T09:00")
    assert len(outbox_rows(ctx, kind="evaluation_round_escalation")) == 1  # a closed round reminds nobody
