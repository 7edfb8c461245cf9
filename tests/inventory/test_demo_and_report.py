"""The demo inventory, the report (text, JSON, XLSX, HTML rendered in headless Chromium)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import openpyxl
import sqlalchemy as sa

from engine.store import db

from engine.inventory import reports
from engine.cli.inventory_cmds import DEMO_FILE
from engine.store.tables import history

from tests.setups import demo_imported, shared_setup

from . import pictures
from .conftest import NOW_2024

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = pictures.ARTIFACTS


def demo_rows():
    with open(DEMO_FILE, encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(lines))


def test_the_demo_inventory_is_realistic_and_says_it_is_sample_data():
    assert "SAMPLE DATA" in DEMO_FILE.read_text(encoding="utf-8").splitlines()[0]
    rows = demo_rows()
    signed = [r for r in rows if r["signed_on"]]
    assert len(signed) == 210
    years = sorted({r["signed_on"][:4] for r in signed})
    assert years == ["2020", "2021", "2022", "2023", "2024"]
    assert max(r["signed_on"] for r in signed) <= "2024-04-30"
    assert sum(1 for r in rows if r["workflow"] == "pemanfaatan-bmd") == 6
    kinds = Counter(r["document_kind"] for r in rows if r["workflow"] == "kerja-sama")
    assert kinds["KB"] + kinds["MoU"] + kinds["NK"] > 80 and kinds["PKS"] > 60
    partners = {r["partner"] for r in rows}
    for p in ("Otorita Ibu Kota Nusantara", "Pemerintah Kabupaten Penajam Paser Utara", "Pemerintah Kota Balikpapan",
              "Pemerintah Kota Samarinda", "Pemerintah Provinsi Kalimantan Timur", "Kejaksaan Negeri Kutai Kartanegara",
              "Universitas Mulawarman", "Perumda Air Minum Tirta Mahakam", "PT Mahakam Gerbang Raja Migas"):
        assert p in partners, p
    states = Counter(r["state"] for r in rows)
    assert states.most_common(1)[0][0] == "integrated"
    assert states["expired"] >= 10 and states["under_evaluation"] >= 3 and states["signed"] >= 3
    assert states["proposed"] + states["identified"] + states["verified"] + states["synchronized"] >= 5
    with open(ROOT / "config" / "opd.csv", encoding="utf-8") as fh:
        codes = {r["code"] for r in csv.DictReader(fh)}
    assert {r["lead_opd"] for r in rows} <= codes
    # KBs never followed up, and agreements overdue for evaluation (integrated > 12 months before April 2024)
    parents = {r["parent"] for r in rows if r["parent"]}
    kbs = [r for r in rows if r["document_kind"] in ("KB", "MoU", "NK") and r["signed_on"]]
    assert 0.3 < sum(1 for r in kbs if r["id"] in parents) / len(kbs) < 0.7
    overdue = [r for r in rows if r["state"] == "integrated" and date.fromisoformat(r["state_since"]) < date(2023, 4, 30)]
    assert len(overdue) >= 10


def test_the_generator_is_reproducible(tmp_path):
    out = tmp_path / "inventory.csv"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo_inventory.py"), "--output", str(out)],
                   check=True, capture_output=True)
    assert out.read_bytes() == DEMO_FILE.read_bytes()


def test_demo_loads_once_and_a_second_run_changes_nothing(cli, ctx):
    first = cli("demo")
    assert "DATA CONTOH" in first.stdout and "219 kerja sama ditambahkan" in first.stdout
    with db.read(ctx.engine) as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(history)).scalar_one()
    second = cli("demo", "--json").json()
    assert (second["added"], second["updated"], second["unchanged"], second["sample_data"]) == (0, 0, 219, True)
    with db.read(ctx.engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(history)).scalar_one() == rows
    assert "rantai utuh" in cli("audit", "verify").stdout


@shared_setup(demo_imported)
def test_report_figures_of_the_demo(demo_ctx):
    data = reports.build(demo_ctx)
    assert data["totals"]["agreements"] == 219 and data["sample_data"] is True
    by_state = {i["key"]: i["count"] for i in data["by_state"]}
    assert sum(by_state.values()) == 219 and by_state["integrated"] > 100
    assert sum(i["count"] for i in data["by_year"] if i["key"] != "belum") == 210
    assert {"SINERGI_IKN", "KSDD", "KSDPK"} <= {i["key"] for i in data["by_category"]}
    assert any(i["key"].startswith("BMD:") for i in data["by_category"])
    assert {"otorita_ikn", "region", "university", "bumn_bumd"} <= {i["key"] for i in data["by_partner_type"]}
    f = data["followup"]
    assert f["kb_total"] > 80 and 0.3 < f["rate"] < 0.7
    assert 0.2 < data["ikn"]["share"] < 0.8
    outcomes = {e["outcome"]: e["total"] for e in data["evaluation"]}
    assert outcomes["continue"] > 0 and outcomes["upgrade"] > 0 and outcomes["terminate"] > 0
    reasons = " ".join(r for h in data["hanging"] for r in h["reasons"])
    assert "KB/MoU belum ditindaklanjuti" in reasons or "Tindak lanjut KB" in reasons
    assert "Evaluasi berkala" in reasons
    assert all(h["responsible"]["opd"] and h["since"] for h in data["hanging"])
    assert data["due_soon"] and all("2024-05-01" < d["due_on"] <= "2024-07-30" for d in data["due_soon"])


@shared_setup(demo_imported)
def test_report_formats_through_the_cli(demo_ctx, cli, tmp_path):
    text = cli("report", now=NOW_2024).stdout
    assert "Laporan Inventaris Kerja Sama Daerah" in text and "Kerja sama menggantung" in text
    data = cli("report", "--format", "json", now=NOW_2024).json()
    assert data["totals"]["agreements"] == 219
    out = tmp_path / "laporan.xlsx"
    cli("report", "--output", str(out), now=NOW_2024)
    wb = openpyxl.load_workbook(out)
    assert {"ringkasan", "status", "menggantung", "jatuh_tempo", "evaluasi"} <= set(wb.sheetnames)
    assert wb["menggantung"].max_row == len(data["hanging"]) + 1


@shared_setup(demo_imported)
def test_html_report_is_self_contained_and_renders_in_headless_chromium(demo_ctx, chromium, tmp_path):
    html = reports.render_html(reports.build(demo_ctx))
    assert "<svg" in html and "Menurut status" in html and "Kerja sama menggantung" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    assert "@media print" in html and "Data contoh" in html
    page = tmp_path / "laporan.html"
    page.write_text(html, encoding="utf-8")
    # Taken in the test's own folder, then kept: tests in parallel (xdist) each check their own picture.
    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}",
         f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # a real page, not a blank one
    print(f"report screenshot: {pictures.keep(shot, 'report.png')}")
    (ARTIFACTS / "report.html").write_text(html, encoding="utf-8")
    json.dumps(reports.build(demo_ctx))  # the JSON form is serialisable
