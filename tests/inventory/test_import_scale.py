"""Imports that scale (issue 17.6): limits refused before the file is read through, chunks
written in one transaction (a bad row further down rolls back the chunks above it), rows
remembered across chunks (duplicates, parents further down), a progress bar only on a terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
import zipfile

import openpyxl
import pytest
import sqlalchemy as sa

from engine.errors import ImportRefused
from engine.inventory import importing
from engine.inventory.importing import import_file
from engine.store import db
from tests.conftest import tkksd_executable

HEADER = "id,workflow,state,title,partner,lead_opd,parent\n"
# Valid rows past the refused one, then bytes that are not UTF-8: a reader that went on to the
# end of the file would fail on those instead of refusing the limit.
PADDING_ROWS = 3000
NOT_UTF8 = b"\xff\xfe\xfa not text\n"


def _row(i: int, title: str | None = None, number: str = "", parent: str = "") -> str:
    return f"{number},kerja-sama,proposed,{title or f'KB Uji {i}'},Kota Balikpapan,DKP,{parent}\n"


def _write_sheet(path, rows: list[str], *, tail_garbage: bool = False) -> None:
    with open(path, "wb") as fh:
        fh.write((HEADER + "".join(rows)).encode("utf-8"))
        if tail_garbage:
            fh.write("".join(_row(10_000 + i) for i in range(PADDING_ROWS)).encode("utf-8"))
            fh.write(NOT_UTF8)


def _counts(ctx) -> tuple[int, int, int]:
    with db.read(ctx.engine) as conn:
        return tuple(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in ("agreements", "history", "deadlines"))


def _one_sentence(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_too_many_rows_are_refused_before_the_file_is_read_through(ctx, cli, tmp_path):
    (tmp_path / "tkksd.toml").write_text("[import]\nmax_rows = 10\n")
    sheet = tmp_path / "banyak.csv"
    _write_sheet(sheet, [_row(i) for i in range(11)], tail_garbage=True)
    before = _counts(ctx)
    for args in (("import", str(sheet)), ("import", str(sheet), "--dry-run")):
        out = cli(*args, check=False)
        assert out.returncode == 2, out
        line = _one_sentence(out.stderr)
        assert "lebih dari 10 baris" in line and "more than 10 rows" in line and "not UTF-8" not in line
    english = cli("import", str(sheet), check=False, extra_env={"TKKSD_LANGUAGE": "en"})
    assert english.returncode == 2 and "baris" not in english.stderr
    assert _one_sentence(english.stderr) == ("Error: 'banyak.csv' has more than 10 rows, the most one import takes "
                                             "([import] max_rows); split it into several files; nothing was imported.")
    assert _counts(ctx) == before


def test_a_cell_past_the_spreadsheet_limit_is_refused_at_its_row(ctx, cli, tmp_path):
    sheet = tmp_path / "panjang.csv"
    _write_sheet(sheet, [_row(1), _row(2, title="x" * 32_768), _row(3)], tail_garbage=True)
    before = _counts(ctx)
    out = cli("import", str(sheet), check=False, extra_env={"TKKSD_LANGUAGE": "en"})
    assert out.returncode == 2, out
    assert "'panjang.csv' row 3: a cell is longer than 32,767 characters" in _one_sentence(out.stderr)
    just_fits = tmp_path / "pas.csv"
    _write_sheet(just_fits, [_row(1, title="x" * 32_767)])
    assert cli("import", str(just_fits), "--dry-run").returncode == 0
    assert _counts(ctx) == before


def test_xlsx_limits_are_refused_at_their_row(ctx, tmp_path):
    from engine.errors import InvalidInput

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.strip().split(","))
    ws.append(["", "kerja-sama", "proposed", "KB Uji 1", "Kota Balikpapan", "DKP"])
    ws.append(["", "kerja-sama", "proposed", "PANJANG", "Kota Balikpapan", "DKP"])
    written = tmp_path / "pendek.xlsx"
    wb.save(written)
    # openpyxl cuts a longer string to the limit when it writes: the workbook is edited afterwards,
    # as a program other than a spreadsheet could write it.
    path = tmp_path / "panjang.xlsx"
    with zipfile.ZipFile(written) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, data.replace(b">PANJANG<", b">" + b"y" * 40_000 + b"<"))
    before = _counts(ctx)
    with pytest.raises(InvalidInput, match="row 3: a cell is longer than 32,767 characters"):
        import_file(ctx, path, "admin")
    assert _counts(ctx) == before


def test_a_bad_row_after_written_chunks_rolls_them_back(ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "CHUNK_ROWS", 4)
    rows = [_row(i) for i in range(13)] + ["KS-XX,kerja-sama,proposed,KB Salah,Kota Balikpapan,DKP,\n"]
    sheet = tmp_path / "akhir-salah.csv"
    _write_sheet(sheet, rows)
    before = _counts(ctx)
    with pytest.raises(ImportRefused) as refused:
        import_file(ctx, sheet, "admin")
    assert [(p.row, p.column) for p in refused.value.problems] == [(15, "id")]
    assert _counts(ctx) == before


def test_rows_are_remembered_across_chunks(ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "CHUNK_ROWS", 3)
    # A PKS whose KB comes further down, in a later chunk; a duplicate of row 2 in a later chunk.
    rows = [_row(1, "PKS Uji", "KS-2024-0900", parent="KS-2024-0901")] + [_row(i) for i in range(2, 7)]
    rows.append(_row(7, "KB Induk", "KS-2024-0901"))
    sheet = tmp_path / "induk.csv"
    _write_sheet(sheet, rows)
    result = import_file(ctx, sheet, "admin")
    assert (result.rows, result.added, result.problem_count) == (7, 7, 0)
    with db.read(ctx.engine) as conn:
        parent = conn.execute(sa.text("SELECT p.number FROM agreements c JOIN agreements p ON p.id = c.parent_id "
                                      "WHERE c.number = 'KS-2024-0900'")).scalar()
    assert parent == "KS-2024-0901"

    again = tmp_path / "ganda.csv"
    _write_sheet(again, [_row(i) for i in range(20, 26)] + [_row(21), _row(99, "PKS Yatim", "KS-2024-0950", "KS-2024-0999")])
    before = _counts(ctx)
    dry = import_file(ctx, again, "admin", dry_run=True)
    assert [(p.row, p.column) for p in dry.problems] == [(8, "id"), (9, "parent")]
    assert "duplicate: row 3 already has" in dry.problems[0].message and dry.added == 0
    with pytest.raises(ImportRefused):
        import_file(ctx, again, "admin")
    assert _counts(ctx) == before


def test_the_summary_counts_everything_but_lists_only_the_first(ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "KEPT_PROBLEMS", 5)
    monkeypatch.setattr(importing, "KEPT_IDS", 3)
    sheet = tmp_path / "banyak-salah.csv"
    _write_sheet(sheet, [_row(i).replace(",DKP,", ",NOPE,") for i in range(12)])
    dry = import_file(ctx, sheet, "admin", dry_run=True)
    assert (dry.problem_count, dry.problem_rows, len(dry.problems)) == (12, 12, 5)
    good = tmp_path / "baik.csv"
    _write_sheet(good, [_row(i) for i in range(8)])
    result = import_file(ctx, good, "admin")
    assert (result.added, len(result.added_ids)) == (8, 3)


def _run_on_terminal(env: dict[str, str], args: list[str], cwd) -> tuple[int, str]:
    """`tkksd ARGS` with stderr on a pseudo-terminal (stdout a pipe): (exit code, what the terminal showed)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([*tkksd_executable(), *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    shown = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process has ended
                break
            if not chunk:
                break
            shown += chunk
        elif proc.poll() is not None:
            break
    proc.stdout.read()
    os.close(leader)
    return proc.wait(timeout=60), shown.decode("utf-8", "replace")


def test_the_progress_bar_is_drawn_only_on_a_terminal(env, cli, tmp_path):
    sheet = tmp_path / "bar.csv"
    _write_sheet(sheet, [_row(i) for i in range(2500)])
    on_tty = dict(env, TERM="xterm", COLUMNS="100")
    code, shown = _run_on_terminal(on_tty, ["import", str(sheet), "--dry-run"], tmp_path)
    assert code == 0, shown
    assert "Memeriksa baris" in shown and "2500/2500" in shown, shown
    assert "\x1b[" in shown  # drawn in place with the terminal's control sequences

    piped = cli("import", str(sheet), "--dry-run", extra_env={"TERM": "xterm"})
    assert "Memeriksa baris" not in piped.stderr and "\x1b" not in piped.stderr and piped.stderr == ""
    assert "2500 baris diperiksa" in piped.stdout
