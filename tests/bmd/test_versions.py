"""Versioned workflows: agreements keep the version they run under; `tkksd workflow migrate`
moves the running ones, checked, all or none, with a history entry each and their deadlines
recomputed under the new version. Real CLI subprocesses on both backends."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.core.dbstate import snapshot
from tests.helpers import KS_STEPS, sets, walk_cli

ROOT = Path(__file__).resolve().parents[2]
KS_V1 = ROOT / "workflows" / "definitions" / "kerja-sama.v1.toml"


def write_v2(folder: Path, *, rename: tuple[str, str] | None = ("synchronized", "harmonized"),
             identify_requires_kecamatan: bool = False) -> Path:
    """kerja-sama version 2: v1 with one state renamed (and, if asked, one more requirement)."""
    text = KS_V1.read_text(encoding="utf-8").replace("version = 1", "version = 2", 1)
    if rename:
        text = re.sub(rf"\b{rename[0]}\b", rename[1], text)
        text = text.replace('label = { id = "Tersinkronisasi", en = "Synchronized" }',
                            'label = { id = "Terharmonisasi", en = "Harmonized" }')
    if identify_requires_kecamatan:
        # (issue 16 made document_kind required at identify too)
        text = text.replace('requires = ["field", "objective", "partner", "partner_type", "lead_opd", "ikn_relevance", "document_kind"]',
                            'requires = ["field", "objective", "partner", "partner_type", "lead_opd", "ikn_relevance", "document_kind", "kecamatan"]')
    path = folder / "kerja-sama.v2.toml"
    path.write_text(text, encoding="utf-8")
    return path


def add(cli, title: str, **kw) -> str:
    return cli("add", "--title", title, "--partner", "Otorita IKN", "--opd", "DKP", "--set", "document_kind=PKS",
               "--json", **kw).json()["id"]


def pending(ctx, number: str) -> list[tuple[str, str, str, int]]:
    from .conftest import deadline_rows

    return sorted((r.rule, r.state, r.due_at.isoformat(), r.occurrence) for r in deadline_rows(ctx, number, status="pending"))


def test_version_2_with_a_renamed_state(cli, ctx, defs_dir, with_dirs):
    # Agreements created while only version 1 is installed.
    a = add(cli, "PKS A")
    walk_cli(cli, a, "verified")
    b = add(cli, "PKS B")
    walk_cli(cli, b, "synchronized")
    c = add(cli, "PKS C")
    walk_cli(cli, c, "integrated")
    d = add(cli, "PKS D")
    cli("fire", d, "withdraw", "--note", "Tidak dilanjutkan")

    # Version 2 is installed (a folder named in general.workflow_dirs).
    write_v2(defs_dir)
    v2 = dict(extra_env=with_dirs)
    assert cli("workflow", "check", **v2).returncode == 0
    listed = {(w["workflow"], w["version"]): w for w in cli("workflow", "list", "--json", **v2).json()}
    assert listed[("kerja-sama", 1)]["running"] == 3 and not listed[("kerja-sama", 1)]["latest"]
    assert listed[("kerja-sama", 2)]["latest"] and listed[("kerja-sama", 2)]["agreements"] == 0
    states_v2 = [s["name"] for s in cli("workflow", "show", "kerja-sama", "--json", **v2).json()["states"]]
    assert "harmonized" in states_v2 and "synchronized" not in states_v2

    # Agreements on version 1 keep working under it; a new one starts on version 2.
    cli("fire", a, "synchronize", *sets(KS_STEPS["synchronize"][1]), **v2)
    shown = cli("show", a, "--json", **v2).json()
    assert (shown["workflow_version"], shown["state"]) == (1, "synchronized")
    e = add(cli, "PKS E", **v2)
    assert cli("show", e, "--json", **v2).json()["workflow_version"] == 2

    # Without a mapping, A and B would land in a state v2 does not have: the dry run says so.
    dry = cli("workflow", "migrate", "kerja-sama", "--from", "1", "--to", "2", "--dry-run", "--json", check=False, **v2)
    assert dry.returncode == 5
    plan = dry.json()
    assert sorted(plan["blocked"]) == sorted([a, b])
    assert {x["id"]: x["ok"] for x in plan["agreements"]} == {a: False, b: False, c: True}
    assert plan["final_kept"] == 1
    assert f"{a}: berstatus 'synchronized', yang tidak ada di v2" in dry.stderr

    # The real migration is refused the same way and changes nothing.
    before = snapshot(ctx.engine)
    refused = cli("workflow", "migrate", "kerja-sama", "--from", "1", "--to", "2", check=False, **v2)
    assert refused.returncode == 5
    assert "ditolak, tidak ada yang diubah" in refused.stderr and a in refused.stderr and b in refused.stderr
    assert refused.stderr.strip().count("\n") == 0
    assert snapshot(ctx.engine) == before

    # With the mapping, the dry run lists what would move, and still changes nothing.
    mapping = ("--map", "synchronized=harmonized")
    dry = cli("workflow", "migrate", "kerja-sama", "--from", "1", "--to", "2", *mapping, "--dry-run", **v2)
    assert f"{a}  synchronized  harmonized" in dry.stdout
    assert "would move 3 of 3 running agreement(s); 1 in a final state stay on v1" in dry.stdout
    assert snapshot(ctx.engine) == before

    deadlines_before = {x: pending(ctx, x) for x in (a, b, c)}
    done = cli("workflow", "migrate", "kerja-sama", "--from", "1", "--to", "2", *mapping, "--json", **v2).json()
    assert done["migrated"] and done["ok"] and len(done["agreements"]) == 3

    for ref, state in ((a, "harmonized"), (b, "harmonized"), (c, "integrated")):
        shown = cli("show", ref, "--json", **v2).json()
        assert (shown["workflow_version"], shown["state"]) == (2, state)
        last = cli("history", ref, "--json", **v2).json()[-1]
        assert (last["event"], last["kind"], last["actor"]) == ("migrate", "migrate", "admin")
        assert last["note"].startswith("kerja-sama v1 -> v2")
        # Deadlines recomputed under v2: the same due dates, under the new state name, none doubled.
        expected = [(rule, "harmonized" if st == "synchronized" else st, due, occ) for rule, st, due, occ in deadlines_before[ref]]
        assert pending(ctx, ref) == sorted(expected)
        assert pending(ctx, ref), "a running agreement always has a pending deadline"
    assert cli("history", a, "--json", **v2).json()[-1]["note"] == "kerja-sama v1 -> v2 (synchronized -> harmonized)"
    assert cli("show", d, "--json", **v2).json()["workflow_version"] == 1  # final: stays on v1
    assert cli("audit", "verify", **v2).returncode == 0
    assert cli("doctor", **v2).returncode == 0

    # Under version 2 they go on from the renamed state.
    cli("fire", a, "sign", *sets(KS_STEPS["sign"][1]), **v2)
    assert cli("show", a, "--json", **v2).json()["state"] == "signed"
    again = cli("workflow", "migrate", "kerja-sama", "--from", "1", "--to", "2", **v2)
    assert "moved 0 of 0 running agreement(s)" in again.stdout


def test_a_migration_missing_a_new_requirement_is_refused_naming_it(cli, ctx, defs_dir, with_dirs):
    p = add(cli, "PKS P")
    walk_cli(cli, p, "identified")  # no kecamatan
    q = add(cli, "PKS Q")  # proposed: nothing is demanded there
    write_v2(defs_dir, rename=None, identify_requires_kecamatan=True)
    v2 = dict(extra_env=with_dirs)

    before = snapshot(ctx.engine)
    refused = cli("workflow", "migrate", "kerja-sama", "--from", "1", "--to", "2", check=False, **v2)
    assert refused.returncode == 5
    assert f"{p}: akan berstatus 'identified' tanpa kecamatan, yang diwajibkan v2 pada status itu" in refused.stderr
    assert q not in refused.stderr
    assert snapshot(ctx.engine) == before

    # Sending it back a step moves it; it does the step again under v2.
    cli("workflow", "migrate", "kerja-sama", "--from", "1", "--to", "2", "--map", "identified=proposed", **v2)
    assert cli("show", p, "--json", **v2).json()["state"] == "proposed"
    refused = cli("fire", p, "identify", *sets(KS_STEPS["identify"][1]), check=False, **v2)
    assert refused.returncode == 5 and "kecamatan" in refused.stderr


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (("--from", "1", "--to", "1"), 2, "sama-sama 1"),
        (("--from", "1", "--to", "3"), 3, "versi 3 tidak terpasang"),
        (("--from", "1", "--to", "2", "--map", "nowhere=proposed"), 2, "'nowhere' bukan status kerja-sama v1"),
        (("--from", "1", "--to", "2", "--map", "synchronized=rejected"), 2, "status final"),
        (("--from", "1", "--to", "2", "--map", "synchronized"), 2, "--map memerlukan lama=baru"),
    ],
)
def test_bad_migration_arguments_get_one_sentence(cli, defs_dir, with_dirs, args, code, fragment):
    write_v2(defs_dir)
    out = cli("workflow", "migrate", "kerja-sama", *args, check=False, extra_env=with_dirs)
    assert out.returncode == code, out.stderr
    assert fragment in out.stderr and out.stderr.strip().count("\n") == 0


def test_only_an_admin_migrates(cli, defs_dir, with_dirs):
    write_v2(defs_dir)
    cli("user", "add", "sari", "--role", "secretariat")
    denied = cli("workflow", "migrate", "kerja-sama", "--from", "1", "--to", "2", user="sari", check=False, extra_env=with_dirs)
    assert denied.returncode == 4 and "Hanya admin" in denied.stderr
    dry = cli("workflow", "migrate", "kerja-sama", "--from", "1", "--to", "2", "--dry-run", user="sari", extra_env=with_dirs)
    assert dry.returncode == 0
