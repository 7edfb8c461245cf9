"""Versioned workflows: agreements keep the version they run under; `tkksd workflow migrate`
moves the running ones, checked, all or none, with a history entry each and their deadlines
recomputed under the new version. Real CLI subprocesses on both backends.

kerja-sama ships versions 1 and 2 (issue 15); the tests of the mechanism install a version 3 of
their own beside them, as a deployment would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.core.dbstate import snapshot
from tests.helpers import KS_STEPS, sets, walk_cli

ROOT = Path(__file__).resolve().parents[2]
KS_V2 = ROOT / "workflows" / "definitions" / "kerja-sama.v2.toml"


def write_v3(folder: Path, *, rename: tuple[str, str] | None = ("synchronized", "harmonized"),
             identify_requires_category: bool = False) -> Path:
    """kerja-sama version 3: v2 with one state renamed (and, if asked, one more requirement)."""
    text = KS_V2.read_text(encoding="utf-8").replace("version = 2", "version = 3", 1)
    if rename:
        text = re.sub(rf"\b{rename[0]}\b", rename[1], text)
        text = text.replace('label = { id = "Tersinkronisasi", en = "Synchronized" }',
                            'label = { id = "Terharmonisasi", en = "Harmonized" }')
    if identify_requires_category:
        # (issue 16 made document_kind required at identify too)
        text = text.replace('requires = ["field", "objective", "partner", "partner_type", "lead_opd", "ikn_relevance", "document_kind"]',
                            'requires = ["field", "objective", "partner", "partner_type", "lead_opd", "ikn_relevance", "document_kind", "category"]')
    path = folder / "kerja-sama.v3.toml"
    path.write_text(text, encoding="utf-8")
    return path


def add(cli, title: str, **kw) -> str:
    return cli("add", "--title", title, "--partner", "Otorita IKN", "--opd", "DKP", "--set", "document_kind=PKS",
               "--json", **kw).json()["id"]


def pending(ctx, number: str) -> list[tuple[str, str, str, int]]:
    from .conftest import deadline_rows

    return sorted((r.rule, r.state, r.due_at.isoformat(), r.occurrence) for r in deadline_rows(ctx, number, status="pending"))


def test_a_new_version_with_a_renamed_state(cli, ctx, defs_dir, with_dirs):
    # Agreements created while version 2 is the latest installed.
    a = add(cli, "PKS A")
    walk_cli(cli, a, "verified")
    b = add(cli, "PKS B")
    walk_cli(cli, b, "synchronized")
    c = add(cli, "PKS C")
    walk_cli(cli, c, "integrated")
    d = add(cli, "PKS D")
    cli("fire", d, "withdraw", "--note", "Tidak dilanjutkan")

    # Version 3 is installed (a folder named in general.workflow_dirs).
    write_v3(defs_dir)
    v3 = dict(extra_env=with_dirs)
    assert cli("workflow", "check", **v3).returncode == 0
    listed = {(w["workflow"], w["version"]): w for w in cli("workflow", "list", "--json", **v3).json()}
    assert listed[("kerja-sama", 2)]["running"] == 3 and not listed[("kerja-sama", 2)]["latest"]
    assert listed[("kerja-sama", 3)]["latest"] and listed[("kerja-sama", 3)]["agreements"] == 0
    states_v3 = [s["name"] for s in cli("workflow", "show", "kerja-sama", "--json", **v3).json()["states"]]
    assert "harmonized" in states_v3 and "synchronized" not in states_v3

    # Agreements on version 2 keep working under it; a new one starts on version 3.
    cli("fire", a, "synchronize", *sets(KS_STEPS["synchronize"][1]), **v3)
    shown = cli("show", a, "--json", **v3).json()
    assert (shown["workflow_version"], shown["state"]) == (2, "synchronized")
    e = add(cli, "PKS E", **v3)
    assert cli("show", e, "--json", **v3).json()["workflow_version"] == 3

    # Without a mapping, A and B would land in a state v3 does not have: the dry run says so.
    dry = cli("workflow", "migrate", "kerja-sama", "--from", "2", "--to", "3", "--dry-run", "--json", check=False, **v3)
    assert dry.returncode == 5
    plan = dry.json()
    assert sorted(plan["blocked"]) == sorted([a, b])
    assert {x["id"]: x["ok"] for x in plan["agreements"]} == {a: False, b: False, c: True}
    assert plan["final_kept"] == 1
    assert f"{a}: kerja sama ini berada pada 'synchronized', yang tidak dimiliki v3" in dry.stderr

    # The real migration is refused the same way and changes nothing.
    before = snapshot(ctx.engine)
    refused = cli("workflow", "migrate", "kerja-sama", "--from", "2", "--to", "3", check=False, **v3)
    assert refused.returncode == 5
    assert "ditolak, tidak ada yang diubah" in refused.stderr and a in refused.stderr and b in refused.stderr
    assert refused.stderr.strip().count("\n") == 0
    assert snapshot(ctx.engine) == before

    # With the mapping, the dry run lists what would move, and still changes nothing.
    mapping = ("--map", "synchronized=harmonized")
    dry = cli("workflow", "migrate", "kerja-sama", "--from", "2", "--to", "3", *mapping, "--dry-run", **v3)
    assert re.search(rf"{a} +Tersinkronisasi +Terharmonisasi", dry.stdout), dry.stdout
    assert "akan memindahkan 3 dari 3 kerja sama yang berjalan; 1 pada tahap akhir tetap pada v2" in dry.stdout
    assert snapshot(ctx.engine) == before

    deadlines_before = {x: pending(ctx, x) for x in (a, b, c)}
    done = cli("workflow", "migrate", "kerja-sama", "--from", "2", "--to", "3", *mapping, "--json", **v3).json()
    assert done["migrated"] and done["ok"] and len(done["agreements"]) == 3

    for ref, state in ((a, "harmonized"), (b, "harmonized"), (c, "integrated")):
        shown = cli("show", ref, "--json", **v3).json()
        assert (shown["workflow_version"], shown["state"]) == (3, state)
        last = cli("history", ref, "--json", **v3).json()[-1]
        assert (last["event"], last["kind"], last["actor"]) == ("migrate", "migrate", "admin")
        assert last["note"].startswith("kerja-sama v2 -> v3")
        # Deadlines recomputed under v3: the same due dates, under the new state name, none doubled.
        expected = [(rule, "harmonized" if st == "synchronized" else st, due, occ) for rule, st, due, occ in deadlines_before[ref]]
        assert pending(ctx, ref) == sorted(expected)
        assert pending(ctx, ref), "a running agreement always has a pending deadline"
    assert cli("history", a, "--json", **v3).json()[-1]["note"] == "kerja-sama v2 -> v3 (synchronized -> harmonized)"
    assert cli("show", d, "--json", **v3).json()["workflow_version"] == 2  # final: stays on v2
    assert cli("audit", "verify", **v3).returncode == 0
    assert cli("doctor", **v3).returncode == 0

    # Under version 3 they go on from the renamed state.
    cli("fire", a, "sign", *sets(KS_STEPS["sign"][1]), **v3)
    assert cli("show", a, "--json", **v3).json()["state"] == "signed"
    again = cli("workflow", "migrate", "kerja-sama", "--from", "2", "--to", "3", **v3)
    assert "0 dari 0 kerja sama yang berjalan telah dipindahkan" in again.stdout


def test_a_migration_missing_a_new_requirement_is_refused_naming_it(cli, ctx, defs_dir, with_dirs):
    p = add(cli, "PKS P")
    walk_cli(cli, p, "identified")  # no category
    q = add(cli, "PKS Q")  # proposed: nothing is demanded there
    write_v3(defs_dir, rename=None, identify_requires_category=True)
    v3 = dict(extra_env=with_dirs)

    before = snapshot(ctx.engine)
    refused = cli("workflow", "migrate", "kerja-sama", "--from", "2", "--to", "3", check=False, **v3)
    assert refused.returncode == 5
    assert f"{p}: kerja sama ini akan berada pada 'identified' tanpa category, yang disyaratkan v3 di sana" in refused.stderr
    assert q not in refused.stderr
    assert snapshot(ctx.engine) == before

    # Sending it back a step moves it; it does the step again under v3.
    cli("workflow", "migrate", "kerja-sama", "--from", "2", "--to", "3", "--map", "identified=proposed", **v3)
    assert cli("show", p, "--json", **v3).json()["state"] == "proposed"
    refused = cli("fire", p, "identify", *sets(KS_STEPS["identify"][1]), check=False, **v3)
    assert refused.returncode == 5 and "category" in refused.stderr


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (("--from", "1", "--to", "1"), 2, "sama-sama 1"),
        (("--from", "1", "--to", "4"), 3, "tidak memiliki versi 4"),
        (("--from", "1", "--to", "2", "--map", "nowhere=proposed"), 2, "'nowhere' bukan tahap kerja-sama v1"),
        (("--from", "1", "--to", "2", "--map", "synchronized=rejected"), 2, "tahap akhir"),
        (("--from", "1", "--to", "2", "--map", "synchronized"), 2, "--map memerlukan lama=baru"),
    ],
)
def test_bad_migration_arguments_get_one_sentence(cli, defs_dir, with_dirs, args, code, fragment):
    write_v3(defs_dir)
    out = cli("workflow", "migrate", "kerja-sama", *args, check=False, extra_env=with_dirs)
    assert out.returncode == code, out.stderr
    assert fragment in out.stderr and out.stderr.strip().count("\n") == 0


def test_only_an_admin_migrates(cli, defs_dir, with_dirs):
    write_v3(defs_dir)
    cli("user", "add", "sari", "--role", "secretariat")
    denied = cli("workflow", "migrate", "kerja-sama", "--from", "1", "--to", "2", user="sari", check=False, extra_env=with_dirs)
    assert denied.returncode == 4 and "Hanya admin" in denied.stderr
    dry = cli("workflow", "migrate", "kerja-sama", "--from", "1", "--to", "2", "--dry-run", user="sari", extra_env=with_dirs)
    assert dry.returncode == 0
