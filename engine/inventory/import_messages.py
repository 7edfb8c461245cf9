"""The import's problems in the reader's language.

The checks word their problems in English (the workflow guards are shared with the API and
know no language); a secretariat working in Indonesian reads them through this table, the
row and column as the sheet shows them. A message without an entry stays as it is.
"""

from __future__ import annotations

import re

# (English pattern, Indonesian wording): the groups carry the values over.
_ID: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), t) for p, t in (
    (r"^(\w+) \(([^)]*)\) must be a date as YYYY-MM-DD, not '(.*)'$",
     r"\1 (\2) harus berupa tanggal (mis. 20/11/2023 atau 20 November 2023), bukan '\3'"),
    (r"^(\w+) \(([^)]*)\) is not a real date: '(.*)'$", r"\1 (\2): '\3' bukan tanggal yang ada"),
    (r"^state_since must be a date as YYYY-MM-DD, not '(.*)'$",
     r"state_since harus berupa tanggal (mis. 20/11/2023), bukan '\1'"),
    (r"^(\w+) \(([^)]*)\) must be one of (.*), not '(.*)'$", r"\1 (\2) harus salah satu dari \3, bukan '\4'"),
    (r"^(\w+) \(([^)]*)\) must be yes or no \(true/false\), not '(.*)'$", r"\1 (\2) harus ya atau tidak, bukan '\3'"),
    (r"^(\w+) \(([^)]*)\) must be a number, not '(.*)'$", r"\1 (\2) harus berupa angka, bukan '\3'"),
    (r"^(\w+) is required$", r"\1 wajib diisi"),
    (r"^unknown OPD code '(.*)'; .*$", r"OPD '\1' tidak ada di direktori (tulis kode atau nama OPD)"),
    (r"^unknown column '(.*)'; .*$", r"kolom '\1' tidak dikenal; judul kolom adalah kode atau label kolom pada templat"),
    (r"^column '(.*)' appears twice$", r"kolom '\1' muncul dua kali"),
    (r"^the sheet has no '(.*)' column$", r"lembar ini tidak memiliki kolom '\1'"),
    (r"^unknown state '(.*)' for workflow (\S+) \(states: (.*)\)$",
     r"status '\1' tidak dikenal untuk alur \2 (status: \3)"),
    (r"^needs a state \((.*)\)$", r"status wajib diisi (\1)"),
    (r"^'(.*)' is not a field of workflow (.*); leave this cell empty$",
     r"'\1' bukan isian alur \2; kosongkan sel ini"),
    (r"^(\w+) (\S+) is in the future \(today is (\S+)\)$", r"\1 \2 ada di masa depan (hari ini \3)"),
    (r"^(\w+) (\S+) must be after (\w+) (\S+) .*$", r"\1 \2 harus sesudah \3 \4"),
    (r"^duplicate: row (\d+) already has (.*)$", r"ganda: baris \1 sudah memuat data yang sama"),
    (r"^id '(.*)' is not an agreement number like (.*)$", r"nomor '\1' bukan nomor kerja sama seperti \2"),
    (r"^parent (.*) is neither in this sheet nor in the database$", r"induk \1 tidak ada di lembar ini maupun di basis data"),
    (r"^parent '(.*)' is not an agreement number$", r"induk '\1' bukan nomor kerja sama"),
    (r"^an agreement cannot be its own parent$", r"sebuah kerja sama tidak dapat menjadi induknya sendiri"),
    (r"^unknown workflow '(.*)' \(loaded: (.*)\)$", r"alur kerja '\1' tidak dikenal (yang dimuat: \2)"),
    (r"^needs a workflow \((.*)\)$", r"alur kerja wajib diisi (\1)"),
    (r"^(\w+) contains control characters$", r"\1 memuat karakter kendali"),
    (r"^unknown OPD code '(.*)' in (\w+)$", r"OPD '\1' pada \2 tidak ada di direktori"),
    (r"^(\S+) runs workflow (\S+), not (\S+); an import cannot change it$",
     r"\1 memakai alur kerja \2, bukan \3; impor tidak dapat mengubahnya"),
))


def translate(message: str, lang: str) -> str:
    if lang == "en":
        return message
    for pattern, wording in _ID:
        if pattern.match(message):
            return pattern.sub(wording, message)
    return message


def sentence(row: int, column: str | None, message: str, lang: str) -> str:
    """``baris 7, kolom ends_on: ...`` in Indonesian, followed by the English original in brackets
    (scripts and the existing tests read the English one); ``row 7, column ends_on: ...`` in English."""
    english = f"row {row}" + (f", column {column}" if column else "") + f": {message}"
    if lang == "en":
        return english
    indonesian = f"baris {row}" + (f", kolom {column}" if column else "") + f": {translate(message, lang)}"
    return english if indonesian.endswith(message) else f"{indonesian} [{english}]"
