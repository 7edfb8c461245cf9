"""What an import remembers of the rows it has passed, on disk rather than in memory.

An import streams its sheet a chunk at a time (engine/inventory/importing.py); a few facts
about earlier rows are still needed further down: which identities came already (a duplicate
names the first row), which parents were not found yet (a parent may be a row further down),
and which parent links to write once every row exists. A million rows of those would not fit
the import's memory goal, so they live in a scratch SQLite file that is deleted afterwards.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Iterator


class Ledger:
    """What an import remembers of the rows it has passed, in a scratch SQLite file rather than
    in memory (a million rows would not fit the goal): each row's identity and row number (a
    duplicate names the first), parents not found yet (they may come further down), and the
    parent links to write once every row exists."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="tkksd-import-")
        self._db = sqlite3.connect(Path(self._folder.name) / "ledger.sqlite3", isolation_level=None)
        # Scratch data: a crash loses nothing worth a journal.
        self._db.executescript("""
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE seen (ident TEXT PRIMARY KEY, row INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE pending (row INTEGER NOT NULL, parent TEXT NOT NULL);
            CREATE TABLE links (number TEXT PRIMARY KEY, parent TEXT) WITHOUT ROWID;
        """)

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self._db.close()
        self._folder.cleanup()

    def first_row(self, ident: str, row: int) -> int | None:
        """The row that had ``ident`` before this one; None (and ``row`` remembered) if none did."""
        if self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (ident, row)).rowcount:
            return None
        return self._db.execute("SELECT row FROM seen WHERE ident = ?", (ident,)).fetchone()[0]

    def has(self, number: str) -> bool:
        return self._db.execute("SELECT 1 FROM seen WHERE ident = ?", (number,)).fetchone() is not None

    def defer_parent(self, row: int, parent: str) -> None:
        self._db.execute("INSERT INTO pending VALUES (?, ?)", (row, parent))

    def parents_nowhere(self) -> Iterator[tuple[int, str]]:
        """(row, parent) of the deferred parents that no row of the sheet turned out to have."""
        yield from self._db.execute(
            "SELECT row, parent FROM pending WHERE NOT EXISTS (SELECT 1 FROM seen WHERE ident = parent) ORDER BY row")

    def link(self, number: str, parent: str | None) -> None:
        self._db.execute("INSERT OR REPLACE INTO links VALUES (?, ?)", (number, parent))

    def links(self, size: int) -> Iterator[list[tuple[str, str | None]]]:
        cursor = self._db.execute("SELECT number, parent FROM links ORDER BY number")
        while batch := cursor.fetchmany(size):
            yield batch
