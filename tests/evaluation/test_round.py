"""The Sekda's evaluation round over the demo inventory (issue 16, point 2): one letter per OPD
head, `evaluasi status` as the clock moves, reminders and the escalation of late OPDs by the
daemon, and the round's report (HTML, PDF, XLSX). Real CLI; the demo on SQLite."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.daemon.conftest import outbox_rows
from tests.setups import demo_loaded, shared_setup

from .conftest import REASSESSED, scorecard

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
    assert refused.returncode == 4 and "Hanya Ketua TKKSD" in refused.stderr
    refused = cli("evaluasi", "buka", "--due", "2024-04-30", check=False, now="2024-05-02T09:00")
    assert refused.returncode == 2 and "harus setelah hari ini" in refused.stderr

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
    assert again.returncode == 6 and "masih terbuka" in again.stderr

    assert "dinilai ulang pada setiap evaluasi" in by_opd["DKP"].text_body

    # DKP evaluates everything; one agreement departs from its score with a reason. Every
    # evaluation assesses the IKN relevance and alignment again (issue 15).
    dkp = expected["DKP"]
    good = {**scorecard(4), "evaluation_findings": "Efektif", "evaluation_recommendation": "continue"}
    refused = cli("fire", dkp[1], "continue", *sets(good), check=False, now="2024-05-10T09:00")
    assert refused.returncode == 5 and "ikn_relevance" in refused.stderr and "dinilai ulang pada setiap evaluasi" in refused.stderr
    for number in dkp[1:]:
        cli("fire", number, "continue", *sets({**good, **REASSESSED}), now="2024-05-10T09:00")
    # The re-assessment may also come first, recorded on its own during the evaluation.
    cli("fire", dkp[0], "ikn_reassess", *sets(REASSESSED), now="2024-05-09T09:00")
    low = {**scorecard(2), "evaluation_findings": "Kurang efektif", "evaluation_recommendation": "continue",
           "departure_reason": "Dilanjutkan atas arahan Bupati untuk pasokan pangan IKN"}
    cli("fire", dkp[0], "continue", *sets(low), now="2024-05-10T09:00")
    assert cli("history", dkp[0], "--json").json()[-2]["data"]["ikn_relevance"] == "direct"

    status = cli("evaluasi", "status", "--json", now="2024-05-10T09:00").json()
    assert status["totals"]["evaluated"] == len(dkp) and status["totals"]["late_opds"] == 0
    [row] = [o for o in status["opds"] if o["opd"] == "DKP"]
    assert (row["evaluated"], row["pending"], row["late"]) == (len(dkp), 0, False)
    assert status["totals"]["ikn_reassessed"] == row["ikn_reassessed"] == len(dkp)
    assert {(i["ikn_relevance"], i["ikn_assessed_on"]) for i in row["items"]} == {("direct", "2024-05-10"), ("direct", "2024-05-09")}
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
    assert "Langsung, dinilai 10 Mei 2024" in text and "belum dinilai ulang" in text
    from openpyxl import load_workbook

    wb = load_workbook(xlsx)
    assert {r[0].value for r in wb["per_opd"].iter_rows(min_row=2)} == set(expected)
    header = [c.value for c in wb["kerja_sama"][1]]
    assessed = {r[1].value: r[header.index("Penilaian IKN terakhir")].value for r in wb["kerja_sama"].iter_rows(min_row=2)}
    assert assessed[dkp[0]] == "2024-05-09"
    again = cli("evaluasi", "tutup", check=False, now="2024-06-05T09:00")
    assert again.returncode == 6 and "sudah ditutup" in again.stderr
    cli("daemon", "--once", now="2024-06-12T09:00")
    assert len(outbox_rows(ctx, kind="evaluation_round_escalation")) == 1  # a closed round reminds nobody
