"""Issue 15, finished: the IKN relevance and alignment asked in every workflow and assessed again
at every evaluation (workflow versions 2), the lurah or kepala desa told where the wilayah file
gives an address, letters that offer no IKN decision outside the delineation, and the free-text
kecamatan turned into units (import and migration). Real CLI subprocesses on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tests.helpers import sets, walk_cli

ROOT = Path(__file__).resolve().parents[2]
REASSESSED = {"ikn_relevance": "indirect", "ikn_reassessment": "Layanan tetap mendukung kawasan penyangga IKN"}
CONTINUED = {"evaluation_findings": "Berjalan baik", "evaluation_recommendation": "continue"}


def add(cli, title: str, location: str, **kw) -> str:
    return cli("add", "--title", title, "--partner", "Perumda Tirta Mahakam", "--opd", "DKP",
               *sets({"document_kind": "PKS", "location": location}), "--json", **kw).json()["id"]


def outbox_of(ctx, number: str) -> list:
    from engine.lifecycle.snapshot import decode
    from engine.store.tables import agreements, outbox

    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.kind, outbox.c.to_addrs, outbox.c.cc_addrs, outbox.c.snapshot)
                            .join(agreements, agreements.c.id == outbox.c.agreement_id)
                            .where(agreements.c.number == number).order_by(outbox.c.id)).all()
    return [(r.kind, r.to_addrs, r.cc_addrs, decode(r.snapshot)) for r in rows]


def test_every_evaluation_assesses_the_ikn_relevance_again(cli):
    ref = add(cli, "PKS Air Bersih Karya Jaya", "Karya Jaya")
    walk_cli(cli, ref, "integrated")
    assert cli("show", ref, "--json").json()["workflow_version"] == 2
    identified_on = cli("show", ref, "--json").json()["data"]["ikn_assessed_on"]  # asked at identify

    cli("fire", ref, "open_evaluation", now="2027-03-01T09:00")
    refused = cli("fire", ref, "continue", *sets(CONTINUED), check=False, now="2027-03-02T09:00")
    assert refused.returncode == 5 and refused.stderr.count("\n") == 1
    # One sentence in the reader's language: fields and the event by their labels, with the codes one types.
    assert ("belum diisi: ikn_relevance (Keterkaitan dengan IKN), ikn_reassessment (Penilaian ulang keterkaitan dan "
            "keselarasan dengan IKN), yang dinilai ulang pada setiap evaluasi, bersama peristiwa ini atau lebih dahulu "
            "dengan Nilai ulang keterkaitan IKN (ikn_reassess).") in refused.stderr
    in_english = cli("fire", ref, "continue", *sets(CONTINUED), check=False, now="2027-03-02T09:00",
                     extra_env={"TKKSD_LANGUAGE": "en"})
    assert in_english.returncode == 5 and ("missing ikn_relevance (IKN relevance), ikn_reassessment (IKN relevance and "
                                           "alignment re-assessed), assessed again at every evaluation, with this event or "
                                           "first with Re-assess IKN relevance (ikn_reassess).") in in_english.stderr
    assert cli("show", ref, "--json").json()["state"] == "under_evaluation"  # nothing changed
    by_hand = cli("fire", ref, "ikn_reassess", *sets({**REASSESSED, "ikn_assessed_on": "2027-01-01"}), check=False,
                  now="2027-03-02T09:00")
    assert by_hand.returncode == 2 and "tanggal keterkaitan dengan IKN terakhir dinilai" in by_hand.stderr

    # Recorded during the evaluation, it counts for the event that closes it.
    cli("fire", ref, "ikn_reassess", *sets(REASSESSED), now="2027-03-02T09:00")
    cli("fire", ref, "continue", *sets(CONTINUED), now="2027-03-03T09:00")
    shown = cli("show", ref, "--json").json()
    assert shown["state"] == "integrated" and identified_on != "2027-03-02"
    assert (shown["data"]["ikn_relevance"], shown["data"]["ikn_assessed_on"]) == ("indirect", "2027-03-02")
    history = cli("history", ref, "--json").json()
    assert [h["event"] for h in history[-2:]] == ["ikn_reassess", "continue"]
    assert history[-2]["data"] == REASSESSED  # the history records what was assessed
    where = cli("wilayah", "of", ref, "--json").json()
    assert (where["ikn_relevance"], where["ikn_assessed_on"]) == ("indirect", "2027-03-02")
    assert "dinilai terakhir 2 Maret 2027" in cli("wilayah", "of", ref).stdout

    # The next evaluation asks again: the earlier re-assessment does not count for it.
    cli("fire", ref, "open_evaluation", now="2028-03-01T09:00")
    again = cli("fire", ref, "continue", *sets(CONTINUED), check=False, now="2028-03-02T09:00")
    assert again.returncode == 5 and "ikn_relevance" in again.stderr
    cli("fire", ref, "continue", *sets({**CONTINUED, **REASSESSED}), now="2028-03-02T09:00")
    assert cli("show", ref, "--json").json()["data"]["ikn_assessed_on"] == "2028-03-02"
    report = cli("report", "--format", "json", now="2028-03-02T09:00").json()["wilayah"]["ikn_delineation"]
    [item] = [a for a in report["agreements"] if a["id"] == ref]
    assert item["ikn_assessed_on"] == "2028-03-02"
    assert "penilaian IKN terakhir 2 Maret 2028" in cli("report", now="2028-03-02T09:00").stdout


def test_bmd_asks_the_ikn_relevance_at_identify_and_village_cooperation_at_every_evaluation(cli):
    ref = cli("add", "--workflow", "pemanfaatan-bmd", "--title", "Sewa lahan Samboja", "--partner", "PT Mitra",
              "--opd", "DKP", "--set", "form=sewa", "--json").json()["id"]
    values = {"kib_code": "1.3.1.01.001/0009", "asset_location": "Jl. Poros Samboja", "asset_area_m2": "800",
              "objective": "Gudang logistik", "partner_type": "company", "location": "Karya Jaya"}
    refused = cli("fire", ref, "identify", *sets(values), check=False)
    assert refused.returncode == 5 and "belum diisi: ikn_relevance (Keterkaitan dengan IKN), ikn_reassessment" in refused.stderr
    cli("fire", ref, "identify", *sets({**values, **REASSESSED}))
    assert cli("show", ref, "--json").json()["data"]["ikn_assessed_on"]

    from .test_wilayah import DESA_STEPS

    desa = cli("add", "--workflow", "kerja-sama-desa", "--title", "BUMDes Bersama", "--partner", "Desa Karya Jaya",
               "--opd", "KEC-SAMBOJA", "--json").json()["id"]
    for event in ("deliberate", "sign", "report"):
        cli("fire", desa, event, *sets(DESA_STEPS[event]))
    cli("fire", desa, "open_evaluation")
    refused = cli("fire", desa, "continue", "--set", "evaluation_findings=Berjalan", check=False)
    assert refused.returncode == 5 and "ikn_relevance" in refused.stderr
    cli("fire", desa, "ikn_reassess", *sets(REASSESSED))
    cli("fire", desa, "continue", "--set", "evaluation_findings=Berjalan")
    assert cli("show", desa, "--json").json()["state"] == "reported"


def test_notices_offer_ikn_decisions_only_inside_the_delineation_and_end_them_only_there(cli, ctx):
    outside = add(cli, "PKS Jalan Tenggarong", "64.02.06")
    inside = add(cli, "PKS Pasar Handil Baru", "Handil Baru")
    for ref in (outside, inside):
        walk_cli(cli, ref, "signed")
    offered = {}
    for ref in (outside, inside):
        [(_, _, _, snap)] = [o for o in outbox_of(ctx, ref) if o[3]["event"]["name"] == "sign"]
        offered[ref] = {e["name"] for e in snap["next_events"]}
    assert "integrate" in offered[outside] and not {e for e in offered[outside] if e.startswith("ikn_")}
    assert "upgrade" not in offered[outside]  # a PKS is not upgraded: its guard cannot pass
    assert {"ikn_handover", "ikn_end"} <= offered[inside]
    refused = cli("fire", outside, "ikn_end", "--set", "ikn_decision_ref=BA/1", "--note", "x", check=False)
    assert refused.returncode == 5 and "di dalam atau terpotong garis delineasi IKN" in refused.stderr
    # In English, the letter names the next step in English.
    cli("fire", outside, "integrate", "--set", "rkpd_ref=RKPD 2026 DKP-01", extra_env={"TKKSD_LANGUAGE": "en"})
    [(_, _, _, snap)] = [o for o in outbox_of(ctx, outside) if o[3]["event"]["name"] == "integrate"]
    assert "Open evaluation" in {e["label"] for e in snap["next_events"]}


def test_a_lurah_or_kepala_desa_is_copied_where_the_wilayah_file_gives_the_address(cli, ctx, tmp_path):
    rows = (ROOT / "config" / "wilayah.csv").read_text(encoding="utf-8").splitlines()
    own = [rows[0] + ",head_email"]
    for line in rows[1:]:
        own.append(line + (",kades.karyajaya@desa.kukar.example" if line.startswith("64.02.13.2014,") else ","))
    units = tmp_path / "wilayah.csv"
    units.write_text("\n".join(own) + "\n", encoding="utf-8")
    conf = tmp_path / "tkksd.toml"
    conf.write_text(f'[general]\nwilayah_file = "{units}"\n', encoding="utf-8")
    assert "0 ditambahkan, 1 diperbarui" in cli("init", extra_env={"TKKSD_CONFIG": str(conf)}).stdout

    told = add(cli, "PKS Air Bersih Karya Jaya", "Karya Jaya")
    not_told = add(cli, "PKS Air Bersih Beringin Agung", "Beringin Agung")
    walk_cli(cli, told, "identified")
    walk_cli(cli, not_told, "identified")
    for kind, _, cc, _ in outbox_of(ctx, told):
        assert "kades.karyajaya@desa.kukar.example" in cc and "kec-samboja@opd.kukar.example" in cc, kind
    for _, to, cc, _ in outbox_of(ctx, not_told):
        assert "kec-samboja@opd.kukar.example" in cc
        assert not [a for a in to + cc if a.endswith("@wilayah.kukar.example")]  # placeholders are never mailed
    listed = {u["code"]: u["head_email"] for u in cli("wilayah", "list", "--kecamatan", "Samboja", "--json").json()}
    assert listed["64.02.13.2014"] == "kades.karyajaya@desa.kukar.example"


def test_the_free_text_kecamatan_becomes_units_on_import_and_migration(cli, tmp_path):
    v1 = tmp_path / "v1.csv"
    header = "id,workflow,workflow_version,state,state_since,title,partner,lead_opd,document_kind,signed_on,ends_on,kecamatan\n"
    v1.write_text(header +
                  "KS-2024-0101,kerja-sama,1,integrated,2024-02-01,PKS Pasar Samboja,Perumda A,DPU,PKS,2024-01-10,2029-01-10,Samboja\n"
                  'KS-2024-0102,kerja-sama,1,integrated,2024-02-01,PKS Jalan Hulu,Perumda B,DPU,PKS,2024-01-10,2029-01-10,"Kenohan, Muara Muntai"\n'
                  "KS-2024-0103,kerja-sama,1,proposed,2024-02-01,PKS Lama,Perumda C,DPU,PKS,,,Hulu sungai\n", encoding="utf-8")
    cli("import", str(v1))
    # A sheet without the version imports again unchanged: existing agreements keep theirs.
    v1.write_text(v1.read_text(encoding="utf-8").replace(",kerja-sama,1,", ",kerja-sama,,"), encoding="utf-8")
    assert "ditambahkan 0, diperbarui 0, 3 tidak berubah" in cli("import", str(v1)).stdout
    # A new row of version 2 gives its kecamatan as the location.
    v2 = tmp_path / "v2.csv"
    v2.write_text("workflow,state,title,partner,lead_opd,document_kind,kecamatan\n"
                  "kerja-sama,proposed,PKS Baru,Perumda D,DPU,PKS,Tenggarong\n", encoding="utf-8")
    cli("import", str(v2))
    [new] = [a for a in cli("list", "--json").json() if a["title"] == "PKS Baru"]
    assert new["workflow_version"] == 2
    assert "kecamatan" not in cli("show", new["id"], "--json").json()["data"]
    assert cli("wilayah", "of", new["id"], "--json").json()["units"][0]["code"] == "64.02.06"

    plan = cli("workflow", "migrate", "kerja-sama", "--from", "1", "--to", "2", "--dry-run", "--json").json()
    moves = {m["id"]: m for m in plan["agreements"]}
    assert moves["KS-2024-0101"]["supplied"] == {"location": "64.02.13"}
    assert moves["KS-2024-0102"]["supplied"] == {"location": "64.02.09; 64.02.01"}
    assert moves["KS-2024-0103"]["supplied"] == {} and moves["KS-2024-0103"]["unknown_fields"] == ["kecamatan"]
    cli("workflow", "migrate", "kerja-sama", "--from", "1", "--to", "2")
    samboja = cli("show", "KS-2024-0101", "--json").json()
    assert samboja["workflow_version"] == 2 and "kecamatan" not in samboja["data"]
    assert (samboja["data"]["location"], samboja["data"]["ikn_delineation"]) == ("64.02.13", "inside")
    last = cli("history", "KS-2024-0101", "--json").json()[-1]
    assert (last["event"], last["data"]) == ("migrate", {"location": "64.02.13"})
    assert cli("wilayah", "of", "KS-2024-0101", "--json").json()["ikn_decision_due"] is not None
    # Text that names no unit stays as it was, for a person to locate.
    assert cli("show", "KS-2024-0103", "--json").json()["data"]["kecamatan"] == "Hulu sungai"
    assert cli("audit", "verify").returncode == 0
