"""What the workflow rules say, as people read it through the CLI (issue 13): a refusal, the
problems `tkksd events` lists and `tkksd workflow check` in Indonesian by default and in English
with TKKSD_LANGUAGE=en; fields and events by their labels with the codes one types, dates as people
write them, never an ISO or UTC time. Real subprocess runs."""

from __future__ import annotations

import json
import re

from tests.helpers import KS_STEPS, sets, walk_cli

EN = {"TKKSD_LANGUAGE": "en"}
MACHINE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}|UTC|\+00:00")


def add(cli, document_kind: str = "KB") -> str:
    return cli("add", "--title", "KB Ketahanan Pangan IKN", "--partner", "Otorita IKN", "--opd", "DKP",
               "--set", f"document_kind={document_kind}", "--json").json()["id"]


def test_a_refused_signing_names_fields_and_dates_as_people_read_them(cli):
    ref = add(cli)
    walk_cli(cli, ref, "synchronized")
    values = {**KS_STEPS["sign"][1], "signed_on": "2099-01-01", "ends_on": "2098-01-01"}

    refused = cli("fire", ref, "sign", *sets(values), check=False, now="2026-11-30T09:00")
    assert refused.returncode == 5 and refused.stderr.count("\n") == 1
    assert refused.stderr == (
        f"Kesalahan: Peristiwa 'sign' tidak dapat dilakukan pada {ref}: signed_on (Tanggal penandatanganan) 1 Januari 2099 "
        "berada di masa depan (hari ini 30 November 2026); ends_on (Tanggal berakhir) 1 Januari 2098 harus sesudah "
        "signed_on (Tanggal penandatanganan) 1 Januari 2099.\n")

    english = cli("fire", ref, "sign", *sets(values), check=False, now="2026-11-30T09:00", extra_env=EN)
    assert english.returncode == 5 and english.stderr == (
        f"Error: Cannot fire 'sign' on {ref}: signed_on (Signing date) 1 January 2099 is in the future (today is "
        "30 November 2026); ends_on (End date) 1 January 2098 must be after signed_on (Signing date) 1 January 2099.\n")
    for out in (refused, english):
        assert not MACHINE_TIME.search(out.stderr), out.stderr
    assert cli("show", ref, "--json").json()["state"] == "synchronized"  # nothing changed


def test_events_lists_the_problems_of_an_evaluation_in_the_readers_language(cli):
    ref = add(cli, "PKS")
    walk_cli(cli, ref, "integrated")
    cli("fire", ref, "open_evaluation")

    listed = cli("events", ref).stdout
    assert "        hanya KB/MoU yang dapat ditingkatkan menjadi PKS\n" in listed  # the definition's sentence, translated
    assert ("        belum diisi: ikn_relevance (Keterkaitan dengan IKN), ikn_reassessment (Penilaian ulang keterkaitan dan "
            "keselarasan dengan IKN), yang dinilai ulang pada setiap evaluasi, bersama peristiwa ini atau lebih dahulu dengan "
            "Nilai ulang keterkaitan IKN (ikn_reassess)\n") in listed
    assert not re.search(r"\b(missing|only a|assessed again|with this event)\b", listed)

    english = cli("events", ref, extra_env=EN).stdout
    assert "only a KB/MoU can be upgraded to a PKS" in english
    assert ("missing ikn_relevance (IKN relevance), ikn_reassessment (IKN relevance and alignment re-assessed), assessed "
            "again at every evaluation, with this event or first with Re-assess IKN relevance (ikn_reassess)") in english
    assert not re.search(r"\b(belum diisi|hanya|dinilai ulang|bersama)\b", english)
    for out in (listed, english):
        assert not MACHINE_TIME.search(out), out
    # --json keeps what programs read: the codes, and the sentence in the language asked for.
    upgrade = {e["event"]: e for e in cli("events", ref, "--json").json()}["upgrade"]
    assert upgrade["possible_now"] and not upgrade["allowed"] and upgrade["problems"][0].startswith("hanya KB/MoU")


def test_workflow_check_names_a_broken_definition_in_the_readers_language(cli, tmp_path):
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "rusak.v1.toml").write_text(
        'name = "rusak"\nversion = 1\ninitial = "a"\n'
        'states = [{ name = "a", label = { id = "A", en = "A" } }, { name = "z", label = { id = "Z", en = "Z" }, final = true }]\n'
        'fields = [{ key = "title", type = "text", label = "T" }, { key = "partner", type = "text", label = "P" },\n'
        '          { key = "lead_opd", type = "opd", label = "O" }]\n'
        'events = [{ name = "go", from = ["a"], to = "z", roles = ["wizard"] }]\n', encoding="utf-8")
    config = tmp_path / "tkksd.toml"
    config.write_text(f'[general]\nworkflow_dirs = ["{folder.as_posix()}"]\n', encoding="utf-8")
    env = {"TKKSD_CONFIG": str(config)}

    def problems(**kw) -> list[str]:
        out = cli("workflow", "check", "--json", check=False, extra_env={**env, **kw.get("extra", {})})
        assert out.returncode == 9, out.stderr
        return [p for r in json.loads(out.stdout) if r["file"].endswith("rusak.v1.toml") for p in r["problems"]]

    assert problems() == ["definisi alur kerja rusak v1 (rusak.v1.toml): peristiwa 'go' menyebut peran 'wizard' yang "
                          "tidak dikenal (yang dikenal: admin, chair, opd, secretariat, system, tkksd)"]
    assert problems(extra=EN) == ["workflow definition rusak v1 (rusak.v1.toml): event 'go' names unknown role 'wizard' "
                                  "(known: admin, chair, opd, secretariat, system, tkksd)"]
