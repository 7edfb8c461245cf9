"""The `tkksd` command line run as real subprocesses, on SQLite and PostgreSQL: the interface
contract of issue 2, every failure as one sentence on stderr, --help with an example."""

from __future__ import annotations

import getpass
import os
import re
import subprocess

import pytest

from tests.conftest import Cli, make_env, tkksd_executable
from tests.helpers import KS_STEPS, sets, walk_cli

from .conftest import add_users
from .dbstate import snapshot

SHOW_KEYS = {"id", "title", "workflow", "workflow_version", "state", "lead_opd", "partner", "data", "version"}
HISTORY_KEYS = {"seq", "event", "from", "to", "actor", "at", "note"}


def one_error_line(result) -> str:
    """A failure: non-zero exit, nothing on stdout, exactly one plain line on stderr."""
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Kesalahan: ") and "Traceback" not in result.stderr
    assert result.stdout == ""
    return lines[0]


def add(cli, *extra, **kw) -> dict:
    return cli("add", "--title", "KB Ketahanan Pangan IKN", "--partner", "Otorita IKN", "--opd", "DKP",
               "--set", "document_kind=KB", *extra, "--json", **kw).json()


def test_walk_through_the_contract(cli, ctx):
    a = add(cli, "--set", "location=Tenggarong", "--note", "usulan")
    assert SHOW_KEYS <= set(a)
    assert (a["state"], a["workflow"], a["workflow_version"], a["lead_opd"], a["partner"], a["version"]) == (
        "proposed", "kerja-sama", ctx.registry.latest("kerja-sama").version, "DKP", "Otorita IKN", 1)
    # The location is recorded as its unit's code, with the IKN status it implies (issue 15).
    assert a["data"] == {"document_kind": "KB", "location": "64.02.06", "ikn_delineation": "outside", "ikn_located_on": None}
    ref = a["id"]
    assert cli("show", ref, "--json").json() == a

    events = cli("events", ref, "--json").json()
    assert [e["event"] for e in events] == [e.name for e in ctx.registry.latest("kerja-sama").events]
    for e in events:
        assert {"event", "to", "allowed", "missing", "roles"} <= set(e)
        assert isinstance(e["allowed"], bool)
        for m in e["missing"]:
            assert {"key", "type", "label"} <= set(m) and (("choices" in m) == (m["type"] == "choice"))
    identify = next(e for e in events if e["event"] == "identify")
    assert identify["to"] == "identified" and identify["roles"] == ["secretariat"] and identify["allowed"] is False
    assert [m["key"] for m in identify["missing"]] == ["field", "objective", "partner_type", "ikn_relevance"]
    assert "otorita_ikn" in identify["missing"][2]["choices"]
    assert "Identifikasi (identify)" in cli("events", ref).stdout  # the human form, by label

    # Refused without what it needs: every missing item named, nothing changed.
    refused = cli("fire", ref, "identify", "--set", "objective=Pasokan pangan", check=False)
    assert refused.returncode == 5
    line = one_error_line(refused)
    for item in ("field (Urusan pemerintahan)", "partner_type (Jenis mitra)", "ikn_relevance (Keterkaitan dengan IKN)"):
        assert item in line
    assert cli("show", ref, "--json").json() == a

    # Walk it to integrated with typed --set values, each step as the role's user.
    add_users(ctx)
    users = {"secretariat": "sari", "tkksd": "rina"}
    for event in ("identify", "verify", "synchronize", "sign", "integrate"):
        role, values = KS_STEPS[event]
        out = cli("fire", ref, event, *sets(values), user=users[role])
        assert out.stdout.startswith(f"Kerja sama {ref} kini berstatus ") and out.stderr == ""
    shown = cli("show", ref, "--json").json()
    assert shown["state"] == "integrated" and shown["version"] == 6
    assert shown["data"]["signed_on"] == "2026-01-15" and shown["data"]["renstra_fit_ok"] is True
    assert shown["data"]["burdens_public"] is False

    history = cli("history", ref, "--json").json()
    assert all(HISTORY_KEYS <= set(h) for h in history)
    assert [h["seq"] for h in history] == [1, 2, 3, 4, 5, 6]
    assert [(h["event"], h["from"], h["to"], h["actor"]) for h in history] == [
        ("create", None, "proposed", "admin"), ("identify", "proposed", "identified", "sari"),
        ("verify", "identified", "verified", "rina"), ("synchronize", "verified", "synchronized", "rina"),
        ("sign", "synchronized", "signed", "sari"), ("integrate", "signed", "integrated", "rina"),
    ]
    assert history[0]["note"] == "usulan" and all(h["at"] for h in history)
    assert history == sorted(history, key=lambda h: (h["at"], h["seq"]))

    # A user without the role is refused.
    refused = cli("fire", ref, "terminate", "--note", "x", user="rina", check=False)
    assert refused.returncode == 4 and "Pengguna 'rina' tidak boleh melakukan 'terminate'" in one_error_line(refused)

    # upgrade creates the linked PKS in proposed.
    out = cli("fire", ref, "upgrade", "--json", user="rina").json()
    [child_id] = out["children"]
    assert out["created"] == child_id
    child = cli("show", child_id, "--json").json()
    assert (child["state"], child["parent"], child["data"]["document_kind"]) == ("proposed", ref, "PKS")
    human = cli("show", ref).stdout
    assert re.search(rf"^  Ditindaklanjuti oleh +{child_id}$", human, re.M), human
    assert re.search(r"^  Status +Terintegrasi \(berjalan\) sejak \d+ \w+ \d{4} \d\d\.\d\d WITA$", human, re.M), human

    listed = cli("list", "--json").json()
    assert [(r["id"], r["state"]) for r in listed] == [(ref, "integrated"), (child_id, "proposed")]
    assert [r["id"] for r in cli("list", "--state", "proposed", "--json").json()] == [child_id]
    assert cli("list", "--opd", "DISHUB", "--json").json() == []
    assert child_id in cli("list", "--workflow", "kerja-sama").stdout
    verified = cli("audit", "verify")
    assert verified.stdout.startswith("Riwayat terverifikasi: 8 baris dari 2 kerja sama")


def test_user_and_opd_commands(cli):
    out = cli("user", "add", "budi", "--name", "Budi (DKP)", "--role", "opd", "--opd", "dkp")
    assert out.stdout.strip() == "Pengguna budi ditambahkan dengan peran pengguna OPD di DKP."
    cli("user", "add", "rina", "--role", "tkksd,chair")
    users = cli("user", "list", "--json").json()
    assert [(u["login"], u["roles"], u["opd"]) for u in users] == [
        ("admin", ["admin"], None), ("budi", ["opd"], "DKP"), ("rina", ["tkksd", "chair"], None)]
    refused = cli("user", "add", "x", "--role", "tkksd", user="budi", check=False)
    assert refused.returncode == 4 and "Hanya admin yang boleh menambahkan pengguna" in one_error_line(refused)
    opds = cli("opd", "list", "--json").json()
    assert len(opds) >= 65 and {"code", "name", "kind", "head_email"} <= set(opds[0])
    kecamatan = cli("opd", "list", "--kind", "kecamatan", "--json").json()
    assert len(kecamatan) == 20 and all(o["code"].startswith("KEC-") for o in kecamatan)
    assert "DKP" in cli("opd", "list").stdout
    # an OPD user acts on its own OPD's agreements only
    mine = add(cli, user="budi")
    other = cli("add", "--title", "T", "--partner", "P", "--opd", "DISHUB", "--json", check=False, user="budi")
    assert other.returncode == 4 and "tidak boleh mendaftarkan kerja sama untuk DISHUB" in one_error_line(other)
    withdrawn = cli("fire", mine["id"], "withdraw", "--note", "batal", user="budi").stdout
    assert withdrawn == f"Kerja sama {mine['id']} kini berstatus Dibatalkan.\n"


def _failures(ref: str):
    """(arguments, extra environment, exit code, what the sentence says) for every kind of bad input."""
    return [
        (("show", "KS-1999-9999"), {}, 3, "Kerja sama 'KS-1999-9999' tidak ada"),
        (("fire", "KS-1999-9999", "identify"), {}, 3, "Kerja sama 'KS-1999-9999' tidak ada"),
        # A name that is no event of the workflow is a typo: bad input, with the closest names.
        (("fire", ref, "approve"), {}, 2, "'approve' bukan peristiwa dalam alur kerja kerja-sama"),
        (("fire", ref, "identfy"), {}, 2, "'identfy' bukan peristiwa dalam alur kerja kerja-sama (maksud Anda 'identify'?)"),
        (("fire", ref, "Identify"), {}, 2, "(maksud Anda 'identify'?)"),
        (("fire", ref, "verify", *sets(KS_STEPS["verify"][1])), {}, 5,
         f"Peristiwa 'verify' tidak dapat dilakukan pada {ref} yang berstatus Usulan; yang dapat dilakukan kini: "
         "Identifikasi (identify), Tolak (reject), Batalkan (withdraw)."),
        (("fire", ref, "identify"), {}, 5, "belum diisi: field (Urusan pemerintahan), objective (Tujuan), partner_type"),
        (("fire", ref, "identify", *sets({**KS_STEPS["identify"][1], "field": "astrology"})), {}, 2,
         "field (Urusan pemerintahan) harus salah satu dari"),
        (("fire", ref, "identify", *sets({**KS_STEPS["identify"][1], "colour": "red"})), {}, 2,
         "'colour' bukan isian alur kerja kerja-sama v2"),
        (("fire", ref, "identify", "--set", "field"), {}, 2, "--set memerlukan kunci=nilai, bukan 'field'."),
        (("fire", ref, "identify", "--set", "field=a", "--set", "field=b"), {}, 2, "--set menyebut 'field' dua kali."),
        (("fire", ref, "reject", "--set", "reason=x"), {"TKKSD_USER": "sari"}, 4,
         f"Pengguna 'sari' tidak boleh melakukan 'reject' pada {ref}; peristiwa ini memerlukan salah satu dari: anggota TKKSD, Ketua TKKSD."),
        (("fire", ref, "withdraw", "--note", "x"), {"TKKSD_USER": "ghost"}, 4, "Pengguna 'ghost' tidak terdaftar di tkksd"),
        (("add", "--title", "T", "--partner", "P", "--opd", "XYZ"), {}, 3, "Kode OPD 'XYZ' tidak dikenal"),
        (("add", "--title", "T", "--partner", "P", "--opd", "DKP", "--set", "signed_on=15/01/2026"), {}, 2,
         "signed_on (Tanggal penandatanganan) harus berupa tanggal dengan format YYYY-MM-DD, bukan '15/01/2026'."),
        (("add", "--title", "T", "--partner", "P", "--opd", "DKP", "--workflow", "nope"), {}, 3, "Alur kerja 'nope' tidak dikenal"),
        (("add", "--title", "T", "--opd", "DKP"), {}, 2, "Opsi belum diberikan '--partner'"),
        (("list", "--limit", "0"), {}, 2, "Nilai tidak sah untuk '--limit'"),
        (("list", "--state", "integrate"), {}, 2, "Status 'integrate' tidak dikenal (maksud Anda 'integrated'"),
        (("list", "--opd", "NOPE"), {}, 2, "Kode OPD 'NOPE' tidak dikenal; `tkksd opd list` menampilkan direktorinya."),
        (("frobnicate",), {}, 2, "Perintah 'frobnicate' tidak ada"),
        (("history", "KS-1999-9999", "--json"), {}, 3, "Kerja sama 'KS-1999-9999' tidak ada"),
        (("events", "nope", "--json"), {}, 3, "Kerja sama 'nope' tidak ada"),
        (("show", ref), {"TKKSD_NOW": "yesterday"}, 2, "'yesterday' bukan tanggal atau waktu ISO-8601"),
        (("user", "add", "x", "--role", "mayor"), {}, 2, "Peran 'mayor' tidak dikenal"),
    ]


def test_every_failure_is_one_sentence_and_changes_nothing(cli, ctx):
    from concurrent.futures import ThreadPoolExecutor

    add_users(ctx)
    ref = add(cli)["id"]
    shown = cli("show", ref, "--json").stdout
    before = snapshot(ctx.engine)
    failures = _failures(ref)
    # The refusals are independent and change nothing, so they may run side by side (two cores).
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda f: cli(*f[0], check=False, extra_env=f[1]), failures))
    for (args, _, code, sentence), result in zip(failures, results):
        line = one_error_line(result)
        assert result.returncode == code, (args, result.stderr)
        assert sentence in line, (args, line)
    assert snapshot(ctx.engine) == before  # no table changed, in any row
    assert cli("show", ref, "--json").stdout == shown


def test_failure_without_a_database(tmp_path, database_url):
    cli = Cli(make_env(tmp_path, database_url), tmp_path)
    result = cli("list", check=False)
    assert result.returncode == 7
    assert "belum memiliki skema tkksd; jalankan `tkksd init` terlebih dahulu." in one_error_line(result)


def test_init_twice_is_safe_and_makes_the_runner_admin(tmp_path, database_url):
    env = make_env(tmp_path, database_url)
    env.pop("TKKSD_USER")  # the OS login runs it
    cli = Cli(env, tmp_path)
    first = cli("init").stdout
    assert "Basis data tkksd dibuat" in first and "65 ditambahkan, 0 diperbarui" in first
    login = getpass.getuser()
    assert f"Pengguna '{login}' menjadi admin pertama." in first
    a = add(cli)
    second = cli("init").stdout
    assert "sudah mutakhir" in second and "0 ditambahkan, 0 diperbarui" in second and "admin pertama" not in second
    assert cli("show", a["id"], "--json").json() == a
    assert [u["login"] for u in cli("user", "list", "--json").json()] == [login]
    # TKKSD_USER overrides the login; an unregistered user is refused
    refused = cli("add", "--title", "T", "--partner", "P", "--opd", "DKP", user="nobody", check=False)
    assert "Pengguna 'nobody' tidak terdaftar" in one_error_line(refused)


def test_tkksd_now_sets_the_clock(cli):
    a = add(cli, now="2030-05-01T09:00")
    assert a["id"] == "KS-2030-0001" and a["created_at"] == "2030-05-01T01:00:00+00:00"
    ref = a["id"]
    cli("fire", ref, "reject", "--note", "x", now="2031-01-02")
    history = cli("history", ref, "--json").json()
    assert [h["at"] for h in history] == ["2030-05-01T01:00:00+00:00", "2031-01-01T16:00:00+00:00"]
    # the signing date is checked against TKKSD_NOW's day, in WITA
    b = add(cli, now="2026-01-10")["id"]
    walk_cli(cli, b, "synchronized")
    refused = cli("fire", b, "sign", *sets(KS_STEPS["sign"][1]), now="2026-01-14T23:00", check=False)
    assert ("signed_on (Tanggal penandatanganan) 15 Januari 2026 berada di masa depan (hari ini 14 Januari 2026)"
            in one_error_line(refused))
    assert cli("fire", b, "sign", *sets(KS_STEPS["sign"][1]), now="2026-01-15T00:30").returncode == 0


def _all_commands():
    import click

    from engine.cli import COMMANDS, cli as group

    ctx = click.Context(group)
    out = [()]
    for name in sorted(COMMANDS):
        cmd = group.get_command(ctx, name)
        out.append((name,))
        if isinstance(cmd, click.Group):
            out.extend((name, sub) for sub in sorted(cmd.list_commands(ctx)))
    return out


def _help(path, tmp_path, language: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TKKSD_")}
    if language:
        env["TKKSD_LANGUAGE"] = language
    result = subprocess.run([*tkksd_executable(), *path, "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                            env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p) or "tkksd")
def test_help_of_every_command_shows_an_example(path, tmp_path):
    out = _help(path, tmp_path, "en")
    assert "Example:" in out
    example = out.split("Example:", 1)[1]
    assert "tkksd" in example


CORE_COMMANDS = [(), ("init",), ("user",), ("user", "add"), ("user", "list"), ("opd",), ("opd", "list"), ("add",), ("list",),
                 ("show",), ("events",), ("fire",), ("history",), ("audit",), ("audit", "verify"), ("completion",)]


@pytest.mark.parametrize("path", CORE_COMMANDS, ids=lambda p: " ".join(p) or "tkksd")
def test_help_is_indonesian_by_default(path, tmp_path):
    out = _help(path, tmp_path, None)
    assert out.startswith("Penggunaan: tkksd") and "Contoh:" in out and "tkksd" in out.split("Contoh:", 1)[1]
    assert "Example:" not in out and "Options:" not in out and "Show this message" not in out
