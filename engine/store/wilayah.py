"""Kukar's administrative units (kecamatan, kelurahan, desa) and their IKN delineation status,
loaded from config/wilayah.csv and config/ikn-delineation.csv (or a deployment's copies) into
the ``wilayah`` table, as ``directory`` does for the OPDs."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.errors import ConfigurationError
from engine.i18n import N_, _
from engine.store.tables import wilayah

LEVELS = ("kecamatan", "kelurahan", "desa")
HEAD_TITLES = {"kecamatan": "Camat", "kelurahan": "Lurah", "desa": "Kepala Desa"}
STATUSES = ("inside", "cut", "outside", "to_confirm")
# The six kecamatan the delineation line touches (UU 21/2023, as Kukar reported it): an unlisted
# unit in them is "to_confirm"; an unlisted unit anywhere else is "outside" (docs/wilayah.md).
DELINEATED_KECAMATAN = ("64.02.02", "64.02.03", "64.02.13", "64.02.14", "64.02.15", "64.02.20")
_CODE = re.compile(r"^\d{2}\.\d{2}(\.\d{2}(\.\d{4})?)?$")
UNIT_COLUMNS = ("code", "name", "level", "parent_code")
DELINEATION_COLUMNS = ("code", "status", "source", "as_of")


def _rows(path: Path, columns: tuple[str, ...], what: str) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise ConfigurationError(_("The file {path} lacks the column(s) {columns}.").format(path=path, columns=", ".join(missing)))
            return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]
    except FileNotFoundError:
        raise ConfigurationError(_("The file {path} does not exist ({what}).").format(path=path, what=_(what))) from None


def read_units(path: Path) -> list[dict[str, str]]:
    """Every unit, checked: a bad code, level or parent is refused naming the line."""
    rows = _rows(path, UNIT_COLUMNS, N_("wilayah file"))
    codes = {r["code"] for r in rows}
    seen: set[str] = set()
    for i, row in enumerate(rows, start=2):
        code, level = row["code"], row["level"]
        if not _CODE.match(code) or code in seen:
            raise ConfigurationError(_("The wilayah file {path}, line {line}: '{code}' is not a valid Kemendagri code or is listed "
                                       "twice.").format(path=path, line=i, code=code))
        seen.add(code)
        if level not in LEVELS:
            raise ConfigurationError(_("The wilayah file {path}, line {line}: level '{level}' is not one of {levels}.").format(
                path=path, line=i, level=level, levels=", ".join(LEVELS)))
        if level != "kecamatan" and row["parent_code"] not in codes:
            raise ConfigurationError(_("The wilayah file {path}, line {line}: {name} has no kecamatan '{parent}' in the file.").format(
                path=path, line=i, name=row["name"], parent=row["parent_code"]))
        if not row["name"]:
            raise ConfigurationError(_("The wilayah file {path}, line {line}: unit {code} has no name.").format(
                path=path, line=i, code=code))
    return rows


def read_delineation(path: Path, codes: set[str]) -> dict[str, dict[str, str]]:
    """code -> {status, source}: the configured statuses, each with its source and date."""
    out = {}
    for i, row in enumerate(_rows(path, DELINEATION_COLUMNS, N_("IKN delineation file")), start=2):
        if row["code"] not in codes:
            raise ConfigurationError(_("The IKN delineation file {path}, line {line}: '{code}' is not a unit of the wilayah file.")
                                     .format(path=path, line=i, code=row["code"]))
        if row["status"] not in STATUSES:
            raise ConfigurationError(_("The IKN delineation file {path}, line {line}: status '{status}' is not one of {statuses}.")
                                     .format(path=path, line=i, status=row["status"], statuses=", ".join(STATUSES)))
        confirmed = "" if row.get("confirmed", "no") == "yes" else ", to be confirmed"
        note = f"; {row['note']}" if row.get("note") else ""
        out[row["code"]] = {"status": row["status"], "source": f"{row['source']} ({row['as_of']}{confirmed}){note}"}
    return out


def default_status(unit: dict[str, str]) -> dict[str, str]:
    kecamatan = unit["code"] if unit["level"] == "kecamatan" else unit["parent_code"]
    if kecamatan in DELINEATED_KECAMATAN:
        return {"status": "to_confirm", "source": "not named by the source; its kecamatan is touched by the IKN delineation"}
    return {"status": "outside", "source": "its kecamatan is not touched by the IKN delineation (UU 21/2023)"}


def placeholder_email(level: str, code: str) -> str:
    """The address a unit's head has until a deployment's wilayah file gives the real one."""
    return f"{level}-{code.replace('.', '-')}@wilayah.kukar.example"


def own_head_email(row) -> str | None:
    """The head's address when the wilayah file gave one (column ``head_email``), else None: a
    placeholder is shown in the list but never mailed, so a lurah or kepala desa is told only
    once a deployment has recorded where."""
    email = (row.head_email or "").strip()
    return email if email and email != placeholder_email(row.level, row.code) else None


def unit_values(unit: dict[str, str], status: dict[str, str]) -> dict:
    level = unit["level"]
    name = unit["name"]
    email = unit.get("head_email") or placeholder_email(level, unit["code"])
    return {
        "code": unit["code"], "name": name, "level": level, "parent_code": unit["parent_code"],
        "head_title": f"{HEAD_TITLES[level]} {name}", "head_email": email,
        "ikn_status": status["status"], "ikn_source": status["source"], "active": True,
    }


def sync_wilayah(conn: Connection, units_path: Path, delineation_path: Path) -> tuple[int, int]:
    """Insert new units and update changed ones (a newer list, a new delineation status); units
    no longer listed are marked inactive (agreements may still be located there). Returns (added, updated)."""
    units = read_units(units_path)
    statuses = read_delineation(delineation_path, {u["code"] for u in units})
    existing = {r.code: r for r in conn.execute(sa.select(wilayah))}
    added = updated = 0
    for unit in units:
        values = unit_values(unit, statuses.get(unit["code"]) or default_status(unit))
        old = existing.pop(unit["code"], None)
        if old is None:
            conn.execute(wilayah.insert().values(**values))
            added += 1
        elif any(getattr(old, k) != v for k, v in values.items()):
            conn.execute(wilayah.update().where(wilayah.c.code == unit["code"]).values(**values))
            updated += 1
    for code in existing:
        conn.execute(wilayah.update().where(wilayah.c.code == code).values(active=False))
    return added, updated
