"""Import and export: the round trip, the rule for repeated and changed rows, bad rows, the template."""

from __future__ import annotations

import csv

import openpyxl
import pytest
import sqlalchemy as sa

from engine.store import db
from engine.inventory.exporting import export_file, write_template
from engine.inventory.importing import ImportRefused, import_file
from engine.lifecycle.services import audit_verify, create_agreement, history_of, show
from engine.store.tables import agreements, deadlines, history

from tests.setups import demo_imported, shared_setup

from .conftest import NOW_2024, snapshot


def count(ctx, table) -> int:
    with db.read(ctx.engine) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


@shared_setup(demo_imported)
def test_demo_exported_to_xlsx_imports_into_an_empty_database_unchanged(demo_ctx, second_ctx, tmp_path):
    source = snapshot(demo_ctx)
    assert len(source) == 219
    xlsx = tmp_path / "inventaris.xlsx"
    assert export_file(demo_ctx, xlsx) == 219

    result = import_file(second_ctx, xlsx, "admin")
    assert result.added == 219 and not result.updated
    assert snapshot(second_ctx) == source

    # Importing the same file again changes nothing, not even the history.
    rows_before = count(second_ctx, history)
    again = import_file(second_ctx, xlsx, "admin")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 219)
    assert count(second_ctx, history) == rows_before
    assert audit_verify(second_ctx)[2] == []
    # and the CSV exports of both databases are identical
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    export_file(demo_ctx, a)
    export_file(second_ctx, b)
    assert a.read_bytes() == b.read_bytes()


def _rows(path):
    with open(path, encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _write(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


@shared_setup(demo_imported)
def test_a_changed_row_updates_its_agreement_with_its_own_history_entry(demo_ctx, tmp_path):
    sheet = tmp_path / "daftar.csv"
    export_file(demo_ctx, sheet)
    rows = _rows(sheet)
    target = next(r for r in rows if r["state"] == "integrated" and r["workflow"] == "kerja-sama")
    target["state"] = "under_evaluation"
    target["state_since"] = "2024-04-20"
    target["objective"] = "Tujuan yang diperbarui."
    target["signatories"] = ""  # an empty cell clears the value
    _write(sheet, rows)

    dry = import_file(demo_ctx, sheet, "admin", dry_run=True)
    assert dry.updated_ids == [target["id"]] and not dry.added

    result = import_file(demo_ctx, sheet, "admin")
    assert result.updated_ids == [target["id"]] and result.unchanged == len(rows) - 1
    shown = show(demo_ctx, target["id"])
    assert shown["state"] == "under_evaluation"
    assert shown["state_entered_at"].startswith("2024-04-19T16:00")  # midnight WITA, in UTC
    assert shown["data"]["objective"] == "Tujuan yang diperbarui."
    assert not shown["data"].get("signatories")
    last = history_of(demo_ctx, target["id"])[-1]
    assert (last["event"], last["kind"], last["from"], last["to"]) == ("import", "import", "integrated", "under_evaluation")
    # the note in the deployment's language (Indonesian), the changes named by their labels
    assert last["note"].startswith("diimpor dari daftar.csv baris ") and "oleh admin: " in last["note"]
    assert "status Terintegrasi (berjalan) (integrated) -> Dievaluasi (under_evaluation)" in last["note"]
    assert "status sejak" in last["note"] and "20 April 2024" in last["note"] and "(objective)" in last["note"]
    # the hooks re-planned its deadlines for the new state
    with db.read(demo_ctx.engine) as conn:
        aid = conn.execute(sa.select(agreements.c.id).where(agreements.c.number == target["id"])).scalar_one()
        pending = set(conn.execute(sa.select(deadlines.c.rule).where(deadlines.c.agreement_id == aid,
                                                                     deadlines.c.status == "pending")).scalars())
    assert "step_sla" in pending and "periodic_evaluation" not in pending
    # once more: nothing changes
    again = import_file(demo_ctx, sheet, "admin")
    assert not again.updated and not again.added
    assert audit_verify(demo_ctx)[2] == []


def test_imported_numbers_never_collide_with_new_ones(ctx, tmp_path):
    year = ctx.clock.today().year
    sheet = tmp_path / "satu.csv"
    _write(sheet, [{"id": f"KS-{year}-0050", "workflow": "kerja-sama", "state": "proposed", "title": "KB Uji",
                    "partner": "Universitas Mulawarman", "lead_opd": "DISDIKBUD", "document_kind": "KB"}])
    import_file(ctx, sheet, "admin")
    new = create_agreement(ctx, "admin", title="KB Baru", partner="Kota Samarinda", opd="DISHUB")
    assert new["id"] == f"KS-{year}-0051"


def test_rows_without_an_id_get_numbers_and_are_recognised_again(ctx, tmp_path):
    sheet = tmp_path / "tanpa-id.csv"
    _write(sheet, [{"id": "", "workflow": "kerja-sama", "state": "proposed", "title": "PKS Air Minum",
                    "partner": "Perumda Air Minum Tirta Mahakam", "lead_opd": "DPU", "document_kind": "PKS"}])
    first = import_file(ctx, sheet, "admin")
    assert first.added == 1
    second = import_file(ctx, sheet, "admin")
    assert not second.added and second.unchanged == 1


BAD = {
    # column -> (bad value, words the sentence must hold (in Indonesian, the default), the problem's code)
    "lead_opd": ("DINAS-ENTAH", "bukan kode maupun nama OPD dalam direktori", "unknown_opd"),
    "signed_on": ("2023-02-30", "'2023-02-30' bukan tanggal yang ada", "bad_date"),
    "ends_on": ("2019-01-01", "1 Januari 2019 harus sesudah", "end_before_start"),
    "state": ("disetujui", "status 'disetujui' tidak dikenal", "unknown_state"),
    "category": ("KSXX", "harus salah satu dari", "not_a_choice"),
}


def _bad_workbook(demo_ctx, path):
    """An XLSX with five different bad rows (and good ones around them), plus a duplicate id."""
    export_file(demo_ctx, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["kerja_sama"]
    header = [c.value for c in ws[1]]
    bad_rows = {}
    for n, (column, (value, _words, _code)) in enumerate(BAD.items()):
        row = 3 + n * 7
        ws.cell(row=row, column=header.index(column) + 1, value=value)
        bad_rows[row] = column
    first_id = ws.cell(row=2, column=1).value
    ws.cell(row=40, column=1, value=first_id)
    bad_rows[40] = "id"
    wb.save(path)
    return bad_rows


@shared_setup(demo_imported)
def test_a_dry_run_names_every_bad_row_and_column_and_nothing_is_written(demo_ctx, cli, tmp_path):
    path = tmp_path / "salah.xlsx"
    bad_rows = _bad_workbook(demo_ctx, path)
    before = (count(demo_ctx, agreements), count(demo_ctx, history))

    out = cli("import", str(path), "--dry-run", check=False, now=NOW_2024)
    assert out.returncode == 2
    lines = out.stderr.splitlines()
    for row, column in bad_rows.items():
        # the row as the sheet shows it, the column by its label with the key a header may be
        assert any(line.startswith(f"  baris {row}, kolom ") and f"({column}): " in line for line in lines), (row, column)
    for _value, words, _code in BAD.values():
        assert words in out.stderr
    assert "ganda: baris 2 memuat nomor" in out.stderr
    assert not any(word in out.stderr for word in ("row ", "column ", "must be", "unknown"))  # one language

    as_json = cli("import", str(path), "--dry-run", "--json", check=False, now=NOW_2024)
    named = {(p["row"], p["column"]) for p in as_json.json()["problems"]}
    assert set(bad_rows.items()) <= named
    codes = {p["column"]: p["code"] for p in as_json.json()["problems"]}
    assert {column: code for column, (_value, _words, code) in BAD.items()} | {"id": "duplicate"} == codes

    real = cli("import", str(path), check=False, now=NOW_2024)
    assert real.returncode == 2 and "tidak ada yang diimpor" in real.stderr
    assert (count(demo_ctx, agreements), count(demo_ctx, history)) == before
    with pytest.raises(ImportRefused) as refused:
        import_file(demo_ctx, path, "admin")
    assert {(p.row, p.column) for p in refused.value.problems} >= set(bad_rows.items())


def test_unknown_workflow_and_unknown_column_are_refused(ctx, tmp_path):
    sheet = tmp_path / "x.csv"
    _write(sheet, [{"id": "KS-2021-0001", "workflow": "hibah", "state": "proposed", "title": "T", "partner": "P",
                    "lead_opd": "DKP"}])
    result = import_file(ctx, sheet, "admin", dry_run=True)
    assert [(p.row, p.column, p.code) for p in result.problems] == [(2, "workflow", "unknown_workflow")]
    assert "alur kerja 'hibah' tidak dikenal" in result.problems[0].message
    _write(sheet, [{"id": "KS-2021-0001", "workflow": "kerja-sama", "state": "proposed", "title": "T", "partner": "P",
                    "lead_opd": "DKP", "warna": "merah"}])
    result = import_file(ctx, sheet, "admin", dry_run=True)
    assert [(p.row, p.column, p.code) for p in result.problems] == [(1, "warna", "unknown_column")]


def test_the_template_has_headers_notes_and_drop_down_lists(ctx, tmp_path, cli):
    path = tmp_path / "templat.xlsx"
    out = cli("import", "--template", str(path))
    assert out.stdout.startswith(f"Templat impor {path} telah ditulis (")
    wb = openpyxl.load_workbook(path)
    ws = wb["kerja_sama"]
    header = [c.value for c in ws[1]]
    assert header[:9] == ["id", "workflow", "workflow_version", "state", "state_since", "title", "partner", "lead_opd", "parent"]
    # columns come from the loaded definitions, BMD fields included
    assert {"document_kind", "ikn_relevance", "ends_on", "form", "kib_code"} <= set(header)
    assert all(c.comment is not None and c.comment.text for c in ws[1])
    assert "Judul" in ws.cell(row=1, column=header.index("title") + 1).comment.text
    validated = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            validated[header[rng.min_col - 1]] = dv.formula1
    assert {"state", "lead_opd", "workflow", "category", "field", "ikn_relevance", "form"} <= set(validated)
    lists = wb["daftar"]
    values = {lists.cell(row=1, column=c).value: [lists.cell(row=r, column=c).value for r in range(2, lists.max_row + 1)]
              for c in range(1, lists.max_column + 1)}
    assert "DKP" in values["lead_opd"] and "integrated" in values["state"]
    # an empty template imports as nothing
    assert import_file(ctx, path, "admin").rows == 0


def test_only_the_secretariat_may_import(ctx, tmp_path, cli):
    cli("user", "add", "budi", "--role", "opd", "--opd", "DKP")
    sheet = tmp_path / "x.csv"
    _write(sheet, [{"id": "KS-2021-0001", "workflow": "kerja-sama", "state": "proposed", "title": "T", "partner": "P",
                    "lead_opd": "DKP"}])
    out = cli("import", str(sheet), user="budi", check=False)
    assert out.returncode == 4 and "Hanya sekretariat (atau admin) yang boleh mengimpor" in out.stderr
    assert count(ctx, agreements) == 0
