"""Issue 15: units down to the desa, the IKN delineation on every agreement, kecamatan users,
village cooperation, the register of potential cooperation with IKN. Real CLI subprocesses on
SQLite and PostgreSQL; LibreOffice opens the OIKN export."""

from __future__ import annotations

import csv
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import KS_STEPS, sets, walk_cli

ROOT = Path(__file__).resolve().parents[2]


def add(cli, title: str, opd: str = "DKP", **values: str) -> str:
    return cli("add", "--title", title, "--partner", "Perumda Tirta Mahakam", "--opd", opd,
               *sets({"document_kind": "PKS", **values}), "--json").json()["id"]


def test_wilayah_list_counts_and_filter(cli):
    units = cli("wilayah", "list", "--json").json()
    assert Counter(u["level"] for u in units) == {"kecamatan": 20, "kelurahan": 44, "desa": 193}
    samboja = cli("wilayah", "list", "--kecamatan", "64.02.13", "--json").json()
    assert len(samboja) == 14 and all(u["ikn_status"] == "inside" for u in samboja)
    assert {u["head_title"].split(" ")[0] for u in samboja} == {"Camat", "Lurah", "Kepala"}
    by_name = cli("wilayah", "list", "--kecamatan", "Loa Kulu", "--json").json()
    assert {u["kecamatan"] for u in by_name} == {"64.02.02"}
    # An unlisted unit of the six kecamatan is to be confirmed; one elsewhere is outside.
    status = {u["code"]: u["ikn_status"] for u in units}
    assert status["64.02.02.2003"] == "to_confirm" and status["64.02.06"] == "outside"
    assert status["64.02.03.2006"] == "cut"  # Batuah


def test_samboja_desa_agreement_has_status_decision_deadline_and_camat_in_copy(cli, ctx):
    ref = add(cli, "PKS Air Bersih Karya Jaya", location="Karya Jaya")
    walk_cli(cli, ref, "integrated")
    where = cli("wilayah", "of", ref, "--json").json()
    assert where["ikn_delineation"] == "inside"
    assert [(u["code"], u["level"], u["ikn_status"]) for u in where["units"]] == [("64.02.13.2014", "desa", "inside")]
    assert "to be confirmed" in where["units"][0]["ikn_source"]
    located = cli("show", ref, "--json").json()["data"]["ikn_located_on"]
    from datetime import date, timedelta

    assert where["ikn_decision_due"] == (date.fromisoformat(located) + timedelta(days=90)).isoformat()
    text = cli("wilayah", "of", ref).stdout
    assert "Keputusan terkait IKN" in text and "paling lambat" in text
    # Every notice about it copies the camat of Samboja.
    import sqlalchemy as sa

    from engine.store.tables import agreements, outbox

    with ctx.engine.connect() as conn:
        aid = conn.execute(sa.select(agreements.c.id).where(agreements.c.number == ref)).scalar_one()
        ccs = [r.cc_addrs for r in conn.execute(sa.select(outbox.c.cc_addrs).where(outbox.c.agreement_id == aid))]
    assert ccs and all("kec-samboja@opd.kukar.example" in cc for cc in ccs)
    # The decision: re-scoped to a unit outside the delineation, the deadline goes.
    cli("fire", ref, "open_evaluation")  # the decision is taken in an evaluation
    events = {e["event"]: e for e in cli("events", ref, "--json").json()}
    assert {"ikn_handover", "ikn_rescope", "ikn_end"} <= set(events) and events["ikn_rescope"]["possible_now"]
    cli("fire", ref, "ikn_rescope", "--set", "location=Jembayan", "--set", "ikn_decision_ref=BA-OIKN/01/2026",
        "--note", "Layanan dipindah ke wilayah Kukar")
    after = cli("wilayah", "of", ref, "--json").json()
    assert after["ikn_delineation"] == "to_confirm" and after["ikn_decision_due"] is None


def test_handover_is_only_for_agreements_in_the_delineation(cli):
    ref = add(cli, "PKS Jalan Tenggarong", location="64.02.06")
    walk_cli(cli, ref, "signed")
    r = cli("fire", ref, "ikn_handover", "--set", "ikn_decision_ref=X", "--note", "n", check=False)
    assert r.returncode == 5 and "di dalam atau terpotong garis delineasi IKN" in r.stderr
    inside = add(cli, "PKS Pasar Handil Baru", location="Handil Baru")
    walk_cli(cli, inside, "signed")
    shown = cli("fire", inside, "ikn_handover", "--set", "ikn_decision_ref=BA/02/2026", "--note", "Diserahkan", "--json",
                check=False)
    assert shown.returncode == 0, shown.stderr
    assert cli("show", inside, "--json").json()["state"] == "terminated"
    assert cli("history", inside, "--json").json()[-1]["event"] == "ikn_handover"


@pytest.mark.parametrize("bad, says", [
    ("Sumber Sari", "ada di 3 kecamatan"),
    ("Atlantis", "bukan kecamatan, kelurahan, atau desa"),
])
def test_ambiguous_or_unknown_location_is_refused_and_changes_nothing(cli, bad, says):
    before = cli("list", "--json").json()
    r = cli("add", "--title", "T", "--partner", "P", "--opd", "DPU", "--set", f"location={bad}", check=False)
    assert r.returncode == 2 and says in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1
    assert cli("list", "--json").json() == before
    ok = add(cli, "PKS Sumber Sari", location="Sumber Sari (Loa Kulu)")
    assert cli("wilayah", "of", ok, "--json").json()["units"][0]["code"] == "64.02.02.2014"


def test_kecamatan_user_acts_in_its_kecamatan_only(cli):
    cli("user", "add", "camat-samboja", "--role", "opd", "--opd", "KEC-SAMBOJA")
    ours = add(cli, "Kerja sama Desa Beringin Agung", location="Beringin Agung")
    theirs = add(cli, "Kerja sama Desa Jembayan", location="Jembayan")
    ok = cli("fire", ours, "withdraw", "--note", "Dibatalkan oleh kecamatan", user="camat-samboja", check=False)
    assert ok.returncode == 0, ok.stderr
    refused = cli("fire", theirs, "withdraw", "--note", "x", user="camat-samboja", check=False)
    assert refused.returncode == 4 and "tidak boleh melakukan 'withdraw'" in refused.stderr
    allowed = {e["event"]: e["allowed"] for e in cli("events", theirs, "--json", user="camat-samboja").json()}
    assert allowed["withdraw"] is False
    seen = [a["id"] for a in cli("wilayah", "agreements", "--json", user="camat-samboja").json()]
    assert seen == [ours]


DESA_STEPS = {
    "deliberate": {"partner_type": "antar_desa", "desa_parties": "Beringin Agung; Karya Jaya", "location": "Beringin Agung; Karya Jaya",
                   "field": "bumdes", "objective": "BUMDes bersama", "musdes_ref": "BA-MUSDES/03/2026", "musdes_on": "2026-03-02"},
    "sign": {"document_kind": "peraturan_bersama", "document_ref": "PB-KADES/01/2026", "signed_on": "2026-03-10",
             "ends_on": "2029-03-10", "signatories": "Kepala Desa Beringin Agung; Kepala Desa Karya Jaya", "bkad_formed": "yes",
             "bkad_ref": "KEP-BKAD/01/2026"},
    "report": {"report_ref": "LAP-KSD/01/2026"},
}


def test_kerja_sama_desa_walks_its_workflow(cli):
    cli("user", "add", "camat-samboja", "--role", "opd", "--opd", "KEC-SAMBOJA")
    cli("user", "add", "rina", "--role", "tkksd")
    ref = cli("add", "--workflow", "kerja-sama-desa", "--title", "BUMDes Bersama Beringin Agung - Karya Jaya",
              "--partner", "Desa Karya Jaya", "--opd", "KEC-SAMBOJA", "--json", user="camat-samboja").json()["id"]
    assert ref.startswith("DESA-")
    for event in ("deliberate", "sign", "report"):
        cli("fire", ref, event, *sets(DESA_STEPS[event]), user="camat-samboja")
    cli("fire", ref, "record_ikn", "--set", "ikn_relevance=indirect", "--set", "ikn_reassessment=Pasok pangan ke IKN",
        user="rina")
    cli("fire", ref, "comment", "--set", "tkksd_comment=Perlu dilaporkan tiap tahun", user="rina")
    cli("fire", ref, "open_evaluation", user="rina")
    r = cli("fire", ref, "continue", "--set", "evaluation_findings=Berjalan", user="rina", check=False)
    assert r.returncode == 5 and "ikn_relevance" in r.stderr  # re-assessed at every evaluation
    cli("fire", ref, "continue", "--set", "evaluation_findings=Berjalan", "--set", "ikn_relevance=indirect",
        "--set", "ikn_reassessment=Tetap", user="rina")
    shown = cli("show", ref, "--json").json()
    assert shown["state"] == "reported" and shown["data"]["desa_parties"] == "64.02.13.2019; 64.02.13.2014"
    assert cli("wilayah", "of", ref, "--json").json()["ikn_decision_due"] is not None


def test_a_kelurahan_is_refused_as_a_party_with_the_reason(cli):
    ref = cli("add", "--workflow", "kerja-sama-desa", "--title", "Kerja sama desa", "--partner", "Kelurahan Sanipah",
              "--opd", "KEC-SAMBOJA", "--json").json()["id"]
    values = {**DESA_STEPS["deliberate"], "desa_parties": "Karya Jaya; Sanipah"}
    before = cli("show", ref, "--json").json()
    r = cli("fire", ref, "deliberate", *sets(values), check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "Kelurahan Sanipah" in r.stderr and "perangkat kecamatan" in r.stderr and "tidak pernah menjadi penanda tangan" in r.stderr
    assert cli("show", ref, "--json").json() == before
    single = cli("fire", ref, "deliberate", *sets({**values, "desa_parties": "Karya Jaya"}), check=False)
    assert single.returncode == 2 and "sekurang-kurangnya dua desa" in single.stderr


def test_potensi_from_entry_to_promoted_agreement_and_oikn_export(cli, tmp_path, libreoffice):
    p = cli("potensi", "add", "--field", "transport", "--description", "Angkutan umum Samboja - IKN",
            "--proposer", "DISHUB", "--counterpart", "Deputi Transformasi Hijau dan Digital OIKN", "--form", "PKS",
            "--json").json()
    cli("potensi", "add", "--field", "food_security", "--description", "Pasokan sayur dari Jonggon",
        "--proposer", "Jonggon Desa", "--counterpart", "Direktorat Ketahanan Pangan OIKN", "--form", "KB")
    assert p["status"] == "gagasan"
    early = cli("potensi", "promote", p["id"], check=False)
    assert early.returncode == 2 and "siap_diusulkan" in early.stderr
    cli("potensi", "status", p["id"], "dikaji")
    bad = cli("potensi", "status", p["id"], "diusulkan", check=False)
    assert bad.returncode == 2 and "tidak dapat menjadi 'diusulkan'" in bad.stderr
    cli("potensi", "status", p["id"], "siap_diusulkan")
    promoted = cli("potensi", "promote", p["id"], "--json").json()
    assert promoted["status"] == "diusulkan" and promoted["agreement"]
    agreement = cli("show", promoted["agreement"], "--json").json()
    assert (agreement["state"], agreement["lead_opd"], agreement["data"]["field"]) == ("proposed", "DISHUB", "transport")
    assert cli("potensi", "promote", p["id"], check=False).returncode == 2
    out = tmp_path / "potensi-ikn.xlsx"
    cli("potensi", "export", str(out))
    # LibreOffice opens it and converts it to CSV: the rows are there, transport first.
    conv = tmp_path / "conv"
    subprocess.run([libreoffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--convert-to", "csv",
                    "--outdir", str(conv), str(out)], check=True, capture_output=True, timeout=180)
    rows = list(csv.reader((conv / "potensi-ikn.csv").open(encoding="utf-8", errors="replace")))
    text = "\n".join(",".join(r) for r in rows)
    assert "Inventarisasi Potensi Kerja Sama dengan Otorita Ibu Kota Nusantara" in text
    assert text.index("Angkutan umum Samboja") < text.index("Pasokan sayur dari Jonggon")
    assert promoted["agreement"] in text and "Desa Jonggon Desa" not in text and "Jonggon Desa" in text


def test_report_shows_kecamatan_table_and_ikn_section(cli, tmp_path):
    ref = add(cli, "PKS Air Bersih Karya Jaya", location="Karya Jaya")
    walk_cli(cli, ref, "signed")
    text = cli("report").stdout
    assert "Kerja sama per kecamatan" in text and "Delineasi IKN" in text
    line = next(l for l in text.splitlines() if "64.02.13 " in l and "Samboja" in l)
    assert " 1 #" in line and "Masuk IKN" in line
    assert ref in text.split("Delineasi IKN", 1)[1]
    data = cli("report", "--format", "json").json()["wilayah"]
    assert data["ikn_delineation"]["pending_decisions"] == 1
    html = tmp_path / "r.html"
    cli("report", "--format", "html", "--output", str(html))
    assert "Kerja sama per kecamatan" in html.read_text(encoding="utf-8")


def test_a_deployment_overrides_the_delineation(cli, tmp_path, env):
    own = tmp_path / "delineasi.csv"
    rows = (ROOT / "config" / "ikn-delineation.csv").read_text(encoding="utf-8").splitlines()
    rows.append("64.02.02.2003,Jembayan,cut,yes,2027-01-10,Keppres (test),decided")
    own.write_text("\n".join(rows) + "\n", encoding="utf-8")
    conf = tmp_path / "tkksd.toml"
    conf.write_text(f'[general]\nikn_delineation = "{own}"\n', encoding="utf-8")
    out = cli("init", extra_env={"TKKSD_CONFIG": str(conf)}).stdout
    assert "Wilayah (kecamatan, kelurahan, desa): 0 ditambahkan, 1 diperbarui." in out
    unit = next(u for u in cli("wilayah", "list", "--kecamatan", "Loa Kulu", "--json").json() if u["code"] == "64.02.02.2003")
    assert unit["ikn_status"] == "cut" and "Keppres (test) (2027-01-10)" in unit["ikn_source"]
    bad = tmp_path / "bad.csv"
    bad.write_text("code,status,source,as_of\n64.02.99,inside,x,2025-01-01\n", encoding="utf-8")
    conf.write_text(f'[general]\nikn_delineation = "{bad}"\n', encoding="utf-8")
    r = cli("init", extra_env={"TKKSD_CONFIG": str(conf)}, check=False)
    assert r.returncode == 9 and "'64.02.99' bukan wilayah dalam berkas wilayah" in r.stderr


def test_import_checks_locations_before_writing(cli, tmp_path):
    sheet = tmp_path / "in.csv"
    sheet.write_text(
        "workflow,state,title,partner,lead_opd,document_kind,location\n"
        "kerja-sama,proposed,PKS A,Mitra A,DPU,PKS,Sumber Sari\n"
        "kerja-sama,proposed,PKS B,Mitra B,DPU,PKS,Karya Jaya; 64.02.06\n", encoding="utf-8")
    r = cli("import", str(sheet), check=False)
    assert r.returncode == 2 and "baris 2, kolom Lokasi (kecamatan/kelurahan/desa) (location): " in r.stderr
    assert "ada di 3 kecamatan" in r.stderr
    assert cli("list", "--json").json() == []
    sheet.write_text(sheet.read_text(encoding="utf-8").replace(",Sumber Sari\n", ",Sumber Sari (Sebulu)\n"), encoding="utf-8")
    cli("import", str(sheet))
    located = {a["title"]: cli("wilayah", "of", a["id"], "--json").json() for a in cli("list", "--json").json()}
    assert [u["code"] for u in located["PKS A"]["units"]] == ["64.02.07.2007"]
    assert located["PKS B"]["ikn_delineation"] == "inside"


def test_derived_ikn_values_cannot_be_set_by_hand(cli):
    r = cli("add", "--title", "T", "--partner", "P", "--opd", "DPU", "--set", "ikn_delineation=inside", check=False)
    assert r.returncode == 2 and "ditentukan dari lokasi kerja sama" in r.stderr
    assert cli("list", "--json").json() == []
