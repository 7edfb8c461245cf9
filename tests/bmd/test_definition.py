"""The pemanfaatan-bmd definition as data, the term rules, the migration's landing rule, and
`tkksd workflow list|show|check` (no database needed for show and check)."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date
from pathlib import Path

import pytest

from config.settings import load
from tests.conftest import tkksd_executable
from workflows import load_registry
from workflows.guards import check_rule
from workflows.spec import Rule, WorkflowDefinitionError, parse

from .conftest import write_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bmd():
    return load_registry().latest("pemanfaatan-bmd")


class View:
    def __init__(self, values, limits, counts=None):
        self.values, self._limits, self._counts = values, limits, counts or {}
        self.today = date(2026, 3, 2)

    def count_events(self, event):
        return self._counts.get(event, 0)

    def open_overlaps(self, keys):
        return []

    def limit(self, name):
        return self._limits.get(name)


def test_the_definition_has_the_four_steps_the_forms_and_bilingual_labels(bmd):
    assert bmd.id_prefix == "BMD" and bmd.initial == "proposed"
    assert [bmd.event(e).dest for e in ("identify", "verify", "synchronize", "sign", "integrate")] == [
        "identified", "verified", "synchronized", "signed", "integrated"]
    assert bmd.field("form").choices == ("sewa", "pinjam_pakai", "ksp", "bgs_bsg", "kspi", "ketupi")
    for item in [*bmd.states, *bmd.events, *bmd.fields]:
        assert item.label.id and item.label.en, item
    assert set(bmd.final_states()) == {"closed", "rejected", "withdrawn"}
    # Only the hand-over closes it, and it needs the BAST.
    assert [e.name for e in bmd.events if e.dest == "closed"] == ["hand_over"]
    assert {r.key for r in bmd.event("hand_over").requires} == {"bast_ref", "bast_on"}
    rules = {d.name: d for d in bmd.deadlines}
    assert rules["contribution_due"].repeat_days == 365 and rules["contribution_due"].anchor == "field:signed_on"
    assert rules["contribution_due"].when == {"key": "form", "in": ["ksp", "bgs_bsg"]}
    assert rules["contract_due"].anchor == "field:pengelola_approval_on"


def test_the_limits_live_in_the_settings_with_their_sources():
    terms = load({}).section("limits")["bmd_terms"]
    assert {k: v.get("years") for k, v in terms.items()} == {
        "sewa": 5, "pinjam_pakai": 5, "bgs_bsg": 30, "ksp": 30, "kspi": 50, "ketupi": None}
    assert all(v.get("source") for v in terms.values())
    assert terms["pinjam_pakai"]["max_extensions"] == 1
    assert terms["sewa"]["exception_allowed"] and not terms["pinjam_pakai"]["exception_allowed"]
    assert [k for k, v in terms.items() if v.get("verified") is False] == ["ksp", "kspi", "ketupi"]


@pytest.mark.parametrize(
    "start, end, refused",
    [
        ("2031-04-01", "2036-04-01", False),  # five calendar years across two leap days
        ("2028-02-29", "2033-02-28", False),
        ("2031-04-01", "2036-04-02", True),
    ],
)
def test_whole_years_are_calendar_years(bmd, start, end, refused):
    rule = Rule("max_term", {"start": "starts_on", "end": "ends_on", "selector": "form", "limits": "bmd_terms"})
    values = {"form": "sewa", "starts_on": date.fromisoformat(start), "ends_on": date.fromisoformat(end)}
    view = View(values, {"bmd_terms": {"sewa": {"years": 5, "source": "S"}}})
    assert (check_rule(bmd, rule, view, values, values) is not None) == refused


def test_an_extension_is_measured_from_the_current_end_and_unverified_limits_say_so(bmd):
    rule = Rule("max_term", {"start": "ends_on", "start_from": "stored", "end": "ends_on", "selector": "form",
                             "limits": "bmd_terms"})
    stored = {"form": "kspi", "ends_on": date(2076, 1, 1)}
    values = {**stored, "ends_on": date(2127, 1, 1)}
    limits = {"bmd_terms": {"kspi": {"years": 50, "source": "PP X", "verified": False}}}
    problem = check_rule(bmd, rule, View(stored, limits), values, stored)
    assert "exceeds the maximum of 50 years for kspi (limit bmd_terms.kspi: PP X; not yet checked" in problem.message
    assert check_rule(bmd, rule, View(stored, limits), {**values, "ends_on": date(2126, 1, 1)}, stored) is None
    # A form without a configured maximum is not checked.
    assert check_rule(bmd, rule, View(stored, {"bmd_terms": {"kspi": {"source": "?"}}}), values, stored) is None


def test_the_checker_refuses_an_incomplete_max_term_or_max_times(bmd):
    data = {
        "name": "t", "version": 1, "initial": "a",
        "states": [{"name": "a", "label": "a"}, {"name": "b", "label": "b", "final": True}],
        "fields": [{"key": k, "type": "text", "label": k} for k in ("title", "partner", "lead_opd", "form")]
        + [{"key": "s", "type": "date", "label": "s"}, {"key": "e", "type": "date", "label": "e"}],
        "events": [{"name": "go", "from": ["a"], "to": "b", "roles": ["tkksd"],
                    "rules": [{"rule": "max_term", "start": "s", "end": "e", "selector": "form"}]}],
    }
    from workflows.checks import check

    with pytest.raises(WorkflowDefinitionError, match="rule 'max_term' needs 'limits'"):
        check(parse(data))
    data["events"][0]["rules"] = [{"rule": "max_times", "event": "go"}]
    with pytest.raises(WorkflowDefinitionError, match="rule 'max_times' needs a whole number 'limit'"):
        check(parse(data))


def test_what_a_state_demands_is_the_non_fresh_requirements_of_the_events_leading_into_it():
    from engine.lifecycle.version_migration import demanded_for_state

    ks = load_registry().latest("kerja-sama")
    assert [f.key for f in demanded_for_state(ks, "proposed", {})] == []  # only `return` leads there, with a reason
    assert [f.key for f in demanded_for_state(ks, "integrated", {})] == ["rkpd_ref"]  # not continue's fresh findings
    signed = {"signed_on": date(2026, 1, 1), "ends_on": date(2030, 1, 1), "signatories": "x", "signed_by_opd_head": True}
    assert [f.key for f in demanded_for_state(ks, "signed", signed)] == []  # the Surat Kuasa only for a PKS
    assert [f.key for f in demanded_for_state(ks, "signed", {**signed, "document_kind": "PKS"})] == ["surat_kuasa_ref"]


# ------------------------------------------------------------------ the CLI, without a database


def run(tmp_path, *args, config: Path | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TKKSD_")}
    env.update({"TKKSD_HOME": str(tmp_path / "var"), "TKKSD_USER": "admin"})
    if config:
        env["TKKSD_CONFIG"] = str(config)
    return subprocess.run([*tkksd_executable(), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)


def test_workflow_show_and_check_need_no_database(tmp_path):
    out = run(tmp_path, "workflow", "show", "pemanfaatan-bmd", "--json")
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown["limits"]["bmd_terms"]["from"] == "settings [limits.bmd_terms]"
    assert shown["limits"]["bmd_terms"]["values"]["sewa"]["years"] == 5
    text = run(tmp_path, "workflow", "show", "pemanfaatan-bmd").stdout
    assert "contribution_due" in text and "BELUM DIPERIKSA" in text
    check = run(tmp_path, "workflow", "check")
    assert check.returncode == 0 and "baik  pemanfaatan-bmd v1" in check.stdout
    assert "Berjalan" in run(tmp_path, "workflow", "list").stdout
    missing = run(tmp_path, "workflow", "show", "sewa-menyewa")
    assert missing.returncode == 3 and "Tidak ada alur kerja 'sewa-menyewa'" in missing.stderr


def test_workflow_check_names_every_problem_of_a_folder(tmp_path):
    folder = tmp_path / "defs"
    folder.mkdir()
    text = (ROOT / "workflows" / "definitions" / "pemanfaatan-bmd.v2.toml").read_text(encoding="utf-8")
    # v3 reads a limits table nobody configured and names a template that does not exist.
    (folder / "pemanfaatan-bmd.v3.toml").write_text(
        text.replace("version = 2", "version = 3", 1).replace('limits = "bmd_terms"', 'limits = "bmd_terms_2030"')
        .replace('template = "contribution_due"', 'template = "contribution_letter"'), encoding="utf-8")
    (folder / "broken.v1.toml").write_text('name = "broken"\nversion = 1\ninitial = "a"\nstates = [{ name = "a", label = "a" }]\nevents = []\n',
                                          encoding="utf-8")
    (folder / "kerja-sama.v1.toml").write_text((ROOT / "workflows" / "definitions" / "kerja-sama.v1.toml").read_text())
    config = write_settings(tmp_path / "tkksd.toml", [folder])
    out = run(tmp_path, "workflow", "check", "--json", config=config)
    assert out.returncode == 9
    results = {Path(r["file"]).name: r for r in json.loads(out.stdout) if r["file"].startswith(str(folder))}
    problems = results["pemanfaatan-bmd.v3.toml"]["problems"]
    assert any("membaca batasan 'bmd_terms_2030'" in p for p in problems)
    assert any("templat pemberitahuan 'contribution_letter' tidak memiliki id/contribution_letter.subject.j2" in p for p in problems)
    assert "isian inti 'title' tidak dideklarasikan" in results["broken.v1.toml"]["problems"][0]
    assert "versi 1 dari 'kerja-sama' sudah didefinisikan" in results["kerja-sama.v1.toml"]["problems"][0]
    shipped = len(list((ROOT / "workflows" / "definitions").glob("*.toml")))  # kerja-sama-desa and the v2s came with issue 15
    assert f"3 dari {3 + shipped} berkas definisi alur kerja gagal diperiksa" in out.stderr
    # A file given on the command line is checked alongside the installed ones.
    single = run(tmp_path, "workflow", "check", str(folder / "broken.v1.toml"))
    assert single.returncode == 9 and "GAGAL broken v1" in single.stdout
