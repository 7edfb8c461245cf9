"""The demo inventory's places (issue 15): locations as wilayah units, and the village
agreements through the `kerja-sama-desa` workflow. A random generator of its own, so that the
rest of the inventory stays what it was."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = 15
AS_OF = date(2024, 4, 30)  # the inventory's date: agreements in the delineation are recorded there on it


def _units() -> list[dict[str, str]]:
    with open(ROOT / "config" / "wilayah.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _kecamatan_codes(units) -> dict[str, str]:
    return {u["name"]: u["code"] for u in units if u["level"] == "kecamatan"}


def locate(rows: list[dict]) -> None:
    """``location`` from the free-text ``kecamatan``: the kecamatan's code, or for about a third of
    the agreements in one kecamatan a desa or kelurahan of it (some of them in the IKN delineation)."""
    rnd = random.Random(SEED)
    units = _units()
    codes = _kecamatan_codes(units)
    below = {}
    for u in units:
        if u["level"] != "kecamatan":
            below.setdefault(u["parent_code"], []).append(u["code"])
    for r in rows:
        if r.get("location") or not r.get("kecamatan"):
            continue
        names = [n.strip() for n in r["kecamatan"].split(",") if n.strip() in codes]
        if not names:
            continue
        if len(names) == 1 and rnd.random() < 0.35:
            r["location"] = rnd.choice(below[codes[names[0]]])
        else:
            r["location"] = "; ".join(codes[n] for n in names)
    status = _statuses(units)
    for r in rows:
        if r.get("location"):
            # What the engine derives on import (engine/lifecycle/locations.py), written out so that
            # a second `tkksd demo` finds every row unchanged.
            found = {status[c.strip()] for c in r["location"].split(";")}
            r["ikn_delineation"] = next(s for s in ("inside", "cut", "to_confirm", "outside") if s in found)
            r["ikn_located_on"] = AS_OF if r["ikn_delineation"] in ("inside", "cut") else ""


def _statuses(units) -> dict[str, str]:
    """Each unit's IKN status: config/ikn-delineation.csv, else the rule of engine/store/wilayah.py."""
    from engine.store.wilayah import DELINEATED_KECAMATAN

    with open(ROOT / "config" / "ikn-delineation.csv", encoding="utf-8") as fh:
        listed = {r["code"]: r["status"] for r in csv.DictReader(fh)}
    out = {}
    for u in units:
        kec = u["code"] if u["level"] == "kecamatan" else u["parent_code"]
        out[u["code"]] = listed.get(u["code"]) or ("to_confirm" if kec in DELINEATED_KECAMATAN else "outside")
    return out


VILLAGE_TOPICS = ["Pengembangan Badan Usaha Milik Desa Bersama", "Pengelolaan Air Bersih Antar-Desa",
                  "Pemeliharaan Jalan Usaha Tani Antar-Desa", "Pengelolaan Sampah Antar-Desa"]
STATES = {"integrated": "reported", "under_evaluation": "under_evaluation", "expired": "ended", "terminated": "ended",
          "signed": "signed"}


def villages_through_their_workflow(rows: list[dict]) -> None:
    """The KS_DESA agreements become village cooperation between desa of one kecamatan, set in a
    joint regulation of the village heads and reported to the Bupati through the camat."""
    rnd = random.Random(SEED + 1)
    units = _units()
    codes = _kecamatan_codes(units)
    for i, r in enumerate(rows):
        if r.get("category") != "KS_DESA":
            continue
        kec = r["kecamatan"]
        desa = [u for u in units if u["parent_code"] == codes[kec] and u["level"] == "desa"]
        parties = sorted(rnd.sample(desa, 3), key=lambda u: u["code"])
        signed: date = r["signed_on"]
        topic = VILLAGE_TOPICS[i % len(VILLAGE_TOPICS)]
        rows[i] = {
            "workflow": "kerja-sama-desa", "title": f"Peraturan Bersama Kepala Desa {', '.join(u['name'] for u in parties)} tentang {topic}",
            "partner": f"Desa {parties[1]['name']} dan Desa {parties[2]['name']}", "lead_opd": r["lead_opd"],
            "partner_type": "antar_desa", "desa_parties": "; ".join(u["code"] for u in parties),
            "location": "; ".join(u["code"] for u in parties), "field": "bumdes",
            "objective": f"{topic} di Kecamatan {kec}.",
            "musdes_ref": f"BA-MUSDES/{rnd.randint(1, 20):02d}/{signed.year}", "musdes_on": signed - timedelta(days=rnd.randint(20, 60)),
            "document_kind": "peraturan_bersama", "document_ref": f"PB-KADES/{rnd.randint(1, 9):02d}/{signed.year}",
            "signed_on": signed, "ends_on": r["ends_on"],
            "signatories": "; ".join(f"Kepala Desa {u['name']}" for u in parties),
            "bkad_formed": True, "bkad_ref": f"KEP-BKAD/{rnd.randint(1, 9):02d}/{signed.year}",
            "report_ref": f"LAP-KSD/{rnd.randint(1, 30):02d}/{signed.year}",
            "ikn_relevance": "none", "state": STATES.get(r["state"], "reported"), "state_since": r["state_since"], "parent": "",
        }
        if rows[i]["state"] == "ended" and r["state"] == "terminated":
            rows[i]["reason"] = r.get("reason") or "Diakhiri atas kesepakatan para kepala desa."
