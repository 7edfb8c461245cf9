"""`tkksd evaluasi` on bad input: one sentence, the right exit code, nothing changed; filters."""

from __future__ import annotations

from tests.daemon.conftest import outbox_rows
from tests.helpers import add_service, walk_service


def test_bad_input_and_filters(cli, ctx):
    assert cli("evaluasi", "status", check=False).returncode == 3  # no round yet
    a = add_service(ctx, title="KB Pangan")
    walk_service(ctx, a, "integrated")
    b = add_service(ctx, title="KB Jalan", opd="DPU")
    walk_service(ctx, b, "integrated", identify={"field": "public_works"},
                 sign={"signed_on": "2025-06-01", "ends_on": "2030-06-01"})
    for args, code, words in (
        (("--due", "31-01-2027"), 2, "--due harus berupa tanggal yang sah TTTT-BB-HH"),
        (("--due", "2099-01-01", "--opd", "DISHUB"), 2, "Tidak ada kerja sama berjalan yang cocok"),
        (("--due", "2099-01-01", "--signed-before", "2020-01-01"), 2, "Tidak ada kerja sama berjalan yang cocok"),
    ):
        refused = cli("evaluasi", "buka", *args, check=False)
        assert refused.returncode == code and words in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    assert not outbox_rows(ctx, kind="evaluation_round")

    opened = cli("evaluasi", "buka", "--due", "2099-01-01", "--signed-before", "2026-01-01", "--json").json()
    assert (opened["agreements"], opened["letters"]) == (1, 1)
    assert cli("show", b, "--json").json()["state"] == "under_evaluation"
    assert cli("show", a, "--json").json()["state"] == "integrated"  # signed 2026-01-15: not in the round

    bad = cli("evaluasi", "tutup", "--output", "laporan.docx", check=False)
    assert bad.returncode == 2 and ".html, .pdf atau .xlsx" in bad.stderr
    assert cli("evaluasi", "status", "--json").json()["status"] == "open"  # still open
    assert cli("evaluasi", "status", "EV-1999-01", check=False).returncode == 3


def test_the_inventory_report_reads_the_rounds_due_date(cli, ctx):
    from engine.inventory.reports import build

    from .conftest import ctx_at

    c0 = ctx_at(ctx, "2026-03-02T09:00")
    a = add_service(c0, title="KB Pangan")
    walk_service(c0, a, "integrated")
    cli("evaluasi", "buka", "--due", "2026-05-29", now="2026-03-02T09:00")
    within = build(ctx_at(ctx, "2026-05-01T09:00"))  # 60 days under evaluation, the SLA is 30: the round's date rules
    assert a not in [h["id"] for h in within["hanging"]]
    after = build(ctx_at(ctx, "2026-06-01T09:00"))
    [entry] = [h for h in after["hanging"] if h["id"] == a]
    assert "Evaluasi EV-2026-01 belum disampaikan (batas 29 Mei 2026)" in entry["reasons"]
