"""The OPD directory: loaded from config/opd.csv (or a deployment's file) into the database."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.errors import ConfigurationError
from engine.i18n import _
from engine.store.tables import opds

COLUMNS = ("code", "name", "kind", "head_title", "head_name", "head_email", "kemendagri_code", "parent")
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,39}$")


def _valid_address(text: str) -> bool:
    try:
        from notifiers.base import valid_address
    except ImportError:  # notifiers ships with tkksd; this only guards a partial checkout
        return bool(re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", text))
    return valid_address(text)


def read_directory(path: Path) -> list[dict[str, str]]:
    """Every row, checked: a bad code or head e-mail is refused naming the OPD."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ConfigurationError(_("The OPD directory {path} lacks the column(s) {columns}.").format(
                    path=path, columns=", ".join(missing)))
            rows = [{c: (row.get(c) or "").strip() for c in COLUMNS} for row in reader]
    except FileNotFoundError:
        raise ConfigurationError(_("The OPD directory {path} does not exist.").format(path=path)) from None
    seen = set()
    for i, row in enumerate(rows, start=2):
        code = row["code"]
        if not _CODE.match(code):
            raise ConfigurationError(_("The OPD directory {path}, line {line}: '{code}' is not a valid OPD code (capitals, digits "
                                       "and '-').").format(path=path, line=i, code=code))
        if code in seen:
            raise ConfigurationError(_("The OPD directory {path}, line {line}: OPD {code} is listed twice.").format(
                path=path, line=i, code=code))
        seen.add(code)
        if not row["name"]:
            raise ConfigurationError(_("The OPD directory {path}: OPD {code} has no name.").format(path=path, code=code))
        if not _valid_address(row["head_email"]):
            raise ConfigurationError(_("The OPD directory {path}: OPD {code} ({name}) has an invalid head e-mail address '{address}'.")
                                     .format(path=path, code=code, name=row["name"], address=row["head_email"]))
    return rows


def sync_directory(conn: Connection, path: Path) -> tuple[int, int]:
    """Insert new OPDs and update changed ones; OPDs no longer listed are marked inactive
    (agreements still refer to them). Returns (added, updated)."""
    rows = read_directory(path)
    existing = {r.code: r for r in conn.execute(sa.select(opds))}
    added = updated = 0
    for row in rows:
        old = existing.pop(row["code"], None)
        values = {**row, "active": True}
        if old is None:
            conn.execute(opds.insert().values(**values))
            added += 1
        elif any(getattr(old, k) != v for k, v in values.items()):
            conn.execute(opds.update().where(opds.c.code == row["code"]).values(**values))
            updated += 1
    for code in existing:
        conn.execute(opds.update().where(opds.c.code == code).values(active=False))
    return added, updated
