"""Nothing rewinds an agreement: `tkksd demo` after a daemon pass changes nothing, and an import
that would move an agreement backwards (or overwrite what changed in tkksd since it was
imported) is refused naming it, all or nothing; `--skip-conflicts` applies the other rows."""

from __future__ import annotations

import csv

import pytest
import sqlalchemy as sa

from engine.store.tables import agreements, history
from tests.setups import shared_setup

FIRST = "2026-11-30T08:00"
DAEMON = "2026-11-30T09:00"
AGAIN = "2026-11-30T10:00"


def demo_loaded_today(cli) -> None:
    """`tkksd demo` on the first of these tests' days (a shared setup, see tests/setups.py)."""
    cli("demo", now=FIRST)


def demo_and_a_daemon_pass(cli):
    """`tkksd demo`, then a daemon pass that catches up on two and a half years (the long part,
    made once per session and backend); returns the pass's result."""
    cli("demo", now=FIRST)
    return cli("daemon", "--once", now=DAEMON)


def _states_and_history(ctx) -> tuple[dict[str, tuple[str, int]], list[tuple]]:
    with ctx.engine.connect() as conn:
        states = {r.number: (r.lifecycle_state, r.version) for r in conn.execute(
            sa.select(agreements.c.number, agreements.c.lifecycle_state, agreements.c.version))}
        rows = conn.execute(sa.select(history.c.agreement_id, history.c.seq, history.c.event, history.c.hash)
                            .order_by(history.c.id)).all()
    return states, [tuple(r) for r in rows]


def _rows(path):
    with open(path, encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _write(path, rows):
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


@pytest.mark.slow
@shared_setup(demo_and_a_daemon_pass)
def test_demo_after_a_daemon_pass_changes_nothing(cli, ctx, shared_setup_result):
    done = shared_setup_result  # `tkksd daemon --once` after `tkksd demo`
    assert "dijalankan" in done.stdout + done.stderr
    before = _states_and_history(ctx)
    moved = [n for n, (state, version) in before[0].items() if version > 1]
    assert len(moved) > 50, "the daemon pass should have moved many demo agreements on"

    # The README quick start again in the same folder: init, then demo. Nothing moves back and
    # doctor says exactly what it said before (the demo keeps its hanging agreements on purpose).
    doctor_before = cli("doctor", check=False, now=AGAIN)
    assert "sudah mutakhir" in cli("init", now=AGAIN).stdout
    again = cli("demo", now=AGAIN)
    doctor_after = cli("doctor", check=False, now=AGAIN)
    assert (doctor_after.returncode, doctor_after.stdout, doctor_after.stderr) == \
        (doctor_before.returncode, doctor_before.stdout, doctor_before.stderr)
    assert " 0 kerja sama ditambahkan, 0 diperbarui, 219 sudah ada" in again.stdout, again.stdout
    assert f"({len(moved)} telah bergerak di tkksd sejak itu, dibiarkan apa adanya)" in again.stdout
    assert _states_and_history(ctx) == before
    as_json = cli("demo", "--json", now=AGAIN).json()
    assert (as_json["added"], as_json["updated"], len(as_json["conflicts"])) == (0, 0, len(moved))
    assert _states_and_history(ctx) == before
    assert cli("audit", "verify").returncode == 0


@pytest.mark.slow
@shared_setup(demo_and_a_daemon_pass)
def test_an_import_that_would_rewind_is_refused_naming_the_agreement(cli, ctx, tmp_path):
    sheet = tmp_path / "daftar.csv"
    cli("export", str(sheet), now=AGAIN)
    rows = _rows(sheet)
    expired = next(r for r in rows if r["state"] == "expired")
    expired["state"] = "integrated"  # backwards, out of a final state
    untouched = next(r for r in rows if r["state"] == "proposed")
    untouched["objective"] = "Tujuan yang diperbarui."
    _write(sheet, rows)
    before = _states_and_history(ctx)

    refused = cli("import", str(sheet), now=AGAIN, check=False)
    assert refused.returncode == 6, refused
    assert (f"kolom Status (state): {expired['id']} berstatus Berakhir (expired) di tkksd; status Terintegrasi (berjalan) "
            "(integrated) pada lembar akan memundurkannya") in refused.stderr
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Kesalahan: {sheet.name}: 1 baris bertentangan dengan data di tkksd ({expired['id']}); tidak ada yang diimpor")
    assert "Traceback" not in refused.stderr
    assert _states_and_history(ctx) == before

    dry = cli("import", str(sheet), "--dry-run", "--json", now=AGAIN).json()
    assert dry["updated_ids"] == [untouched["id"]] and [c["agreement"] for c in dry["conflicts"]] == [expired["id"]]
    assert [c["code"] for c in dry["conflicts"]] == ["rewind"]

    applied = cli("import", str(sheet), "--skip-conflicts", now=AGAIN)
    assert "diperbarui 1," in applied.stdout and "1 konflik dibiarkan apa adanya" in applied.stdout  # Indonesian by default
    assert expired["id"] in applied.stderr
    shown = cli("show", expired["id"], "--json").json()
    assert shown["state"] == "expired" and shown["version"] == dict(before[0])[expired["id"]][1]
    assert cli("show", untouched["id"], "--json").json()["data"]["objective"] == "Tujuan yang diperbarui."


@shared_setup(demo_loaded_today)
def test_a_sheet_does_not_overwrite_what_changed_since_it_was_imported(cli, ctx, tmp_path):
    sheet = tmp_path / "daftar.csv"
    cli("export", str(sheet), now=FIRST)
    rows = _rows(sheet)
    target = next(r for r in rows if r["state"] == "identified" and r["workflow"] == "kerja-sama")
    cli("fire", target["id"], "return", "--note", "data belum lengkap", now=DAEMON)  # a coordinator's step since
    target["objective"] = "Tujuan dari lembar lama."
    _write(sheet, rows)
    refused = cli("import", str(sheet), now=AGAIN, check=False)
    assert refused.returncode == 6
    assert f"{target['id']} telah diubah di tkksd sesudah diimpor (kini berstatus Usulan (proposed), versi " in refused.stderr
    # what the sheet would change, in words: states and fields by their labels, dates as people write them
    assert "lembar ini akan menimpanya (status Usulan (proposed) -> Teridentifikasi (identified); status sejak " in refused.stderr
    assert "diubah: Tujuan (objective)" in refused.stderr
    english = cli("import", str(sheet), now=AGAIN, check=False, extra_env={"TKKSD_LANGUAGE": "en"})
    assert f"{target['id']} was changed in tkksd after it was imported (it is now proposed, version " in english.stderr
    assert cli("show", target["id"], "--json").json()["state"] == "proposed"
