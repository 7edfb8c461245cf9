"""`tkksd audit verify` against a history edited by hand with sqlite3 (the module and the CLI):
an edited, deleted or reordered row, or a deleted last row, makes it exit non-zero naming it."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from engine.store.history import row_hash
from tests.conftest import IN_CI
from tests.helpers import add_service, walk_service

from .conftest import sqlite_connect, sqlite_path

AUDIT_FAILURE = 8


@pytest.fixture
def two(sqlite_env):
    """Two agreements: the first walked to verified (3 history rows, ids 1-3), the second to
    identified (ids 4-5). Returns their numbers."""
    from engine.bootstrap import bootstrap

    ctx = bootstrap(sqlite_env)
    try:
        first = add_service(ctx)
        walk_service(ctx, first, "verified")
        second = add_service(ctx, title="KB kedua", partner="Universitas Mulawarman")
        walk_service(ctx, second, "identified")
    finally:
        ctx.engine.dispose()
    return first, second


def sql(env, *statements):
    conn = sqlite_connect(env)
    try:
        conn.execute("BEGIN")
        for s in statements:
            conn.execute(s)
        conn.execute("COMMIT")
    finally:
        conn.close()


def failed(sqlite_cli) -> str:
    result = sqlite_cli("audit", "verify", check=False)
    assert result.returncode == AUDIT_FAILURE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr and result.stdout == ""
    assert lines[0].startswith("Kesalahan: Rantai riwayat rusak: ")
    return lines[0]


def test_intact_history_verifies(sqlite_cli, two):
    out = sqlite_cli("audit", "verify")
    assert out.stdout.strip() == "Riwayat terverifikasi: 5 baris dari 2 kerja sama, rantai utuh."
    as_json = sqlite_cli("audit", "verify", "--json").json()
    assert as_json == {"agreements": 2, "rows": 5, "ok": True, "problems": []}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE history SET note = 'disetujui' WHERE id = 2",
        "UPDATE history SET actor = 'mallory' WHERE id = 2",
        "UPDATE history SET to_state = 'verified' WHERE id = 2",
        "UPDATE history SET at = '2020-01-01 00:00:00.000000' WHERE id = 2",
        "UPDATE history SET data = json_set(data, '$.field', 'health') WHERE id = 2",
        "UPDATE history SET event = 'verify' WHERE id = 2",
    ],
    ids=["note", "actor", "to_state", "at", "data", "event"],
)
def test_edited_row_is_named(sqlite_cli, sqlite_env, two, statement):
    sql(sqlite_env, statement)
    line = failed(sqlite_cli)
    assert f"{two[0]}: baris riwayat id 2 (urutan 2) tidak cocok dengan hash-nya (telah diubah)" in line
    assert two[1] not in line


def forge_actor(env, row_id: int, actor: str) -> None:
    """Edit a row's actor and recompute its hash, as a careful forger would."""
    import json
    import sqlite3
    from datetime import datetime, timezone

    conn = sqlite3.connect(sqlite_path(env))
    r = conn.execute(
        "SELECT prev_hash, agreement_id, seq, event, from_state, to_state, at, note, data, kind FROM history WHERE id = ?",
        (row_id,),
    ).fetchone()
    conn.close()
    at = datetime.fromisoformat(r[6]).replace(tzinfo=timezone.utc)  # stored as naive UTC
    forged = row_hash(r[0], r[1], r[2], r[3], r[4], r[5], actor, at, r[7], json.loads(r[8]), r[9])
    sql(env, f"UPDATE history SET actor = '{actor}', hash = '{forged}' WHERE id = {row_id}")


def test_edited_row_with_recomputed_hash_breaks_the_next_link(sqlite_cli, sqlite_env, two):
    forge_actor(sqlite_env, 2, "mallory")
    line = failed(sqlite_cli)
    assert f"{two[0]}: baris riwayat id 3 (urutan 3) tidak tersambung dengan baris sebelumnya" in line


def test_rewritten_last_row_is_detected(sqlite_cli, sqlite_env, two):
    forge_actor(sqlite_env, 3, "mallory")
    line = failed(sqlite_cli)
    assert f"{two[0]}: riwayatnya berakhir dengan baris (urutan 3) yang hash-nya berbeda dari yang dicatat kerja sama" in line


def test_deleted_row_is_named(sqlite_cli, sqlite_env, two):
    sql(sqlite_env, "DELETE FROM history WHERE id = 2")
    line = failed(sqlite_cli)
    assert f"{two[0]}: baris riwayat id 3 (urutan 3) memiliki urutan 3, padahal seharusnya 2 (ada baris yang dihapus atau diubah urutannya)" in line


def test_reordered_rows_are_named(sqlite_cli, sqlite_env, two):
    sql(
        sqlite_env,
        "UPDATE history SET seq = -1 WHERE id = 2",
        "UPDATE history SET seq = 2 WHERE id = 3",
        "UPDATE history SET seq = 3 WHERE id = 2",
    )
    line = failed(sqlite_cli)
    assert f"{two[0]}: baris riwayat id 3 (urutan 2) tidak tersambung dengan baris sebelumnya (diubah atau diubah urutannya)" in line


def test_deleted_last_row_is_detected(sqlite_cli, sqlite_env, two):
    sql(sqlite_env, "DELETE FROM history WHERE id = 5")
    line = failed(sqlite_cli)
    assert f"{two[1]}: riwayatnya berakhir pada urutan 1, padahal kerja sama mencatat urutan 2 (ada baris yang dihapus)" in line
    assert two[0] not in line


def test_state_changed_behind_the_history(sqlite_cli, sqlite_env, two):
    sql(sqlite_env, "UPDATE agreements SET lifecycle_state = 'integrated' WHERE id = 1")
    assert f"{two[0]}: riwayatnya berakhir pada status 'verified', padahal kerja sama berstatus 'integrated'" in failed(sqlite_cli)


def test_every_broken_agreement_is_counted_and_json_lists_them(sqlite_cli, sqlite_env, two):
    sql(sqlite_env, "DELETE FROM history WHERE agreement_id = 2", "UPDATE history SET note = 'x' WHERE id = 1")
    line = failed(sqlite_cli)
    assert f"{two[0]}: baris riwayat id 1 (urutan 1)" in line and "(1 kerja sama lain juga terdampak)" in line
    result = sqlite_cli("audit", "verify", "--json", check=False)
    assert result.returncode == AUDIT_FAILURE
    report = result.json()
    assert report["ok"] is False and report["rows"] == 3
    assert report["problems"][1] == f"{two[1]}: tidak memiliki baris riwayat (telah dihapus)"


def test_edit_with_the_sqlite3_command_line(sqlite_cli, sqlite_env, two):
    exe = shutil.which("sqlite3")
    if exe is None:
        if IN_CI:
            pytest.fail("the sqlite3 command line is not installed; .ci/run installs it")
        pytest.skip("the sqlite3 command line is not installed (apt-get install sqlite3)")
    subprocess.run([exe, str(sqlite_path(sqlite_env)), "UPDATE history SET note = 'diubah' WHERE id = 4;"], check=True,
                   env={**os.environ}, timeout=30)
    line = failed(sqlite_cli)
    assert f"{two[1]}: baris riwayat id 4 (urutan 1) tidak cocok dengan hash-nya (telah diubah)" in line
