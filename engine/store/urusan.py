"""The urusan each OPD is responsible for: loaded from config/opd-urusan.csv (or the file named
by ``general.opd_urusan``) by `tkksd init`, read by the rule ``field_in_urusan``."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.errors import ConfigurationError
from engine.i18n import _
from engine.store.evaluation_tables import opd_urusan
from engine.store.tables import opds

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "opd-urusan.csv"


def urusan_file(settings) -> Path:
    path = settings.get("general", "opd_urusan") or ""
    if not path:
        return SHIPPED
    p = Path(path)
    return p if p.is_absolute() else Path.cwd() / p


def read_urusan(path: Path) -> list[dict[str, object]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            lines = [line for line in fh if not line.startswith("#")]
    except FileNotFoundError:
        raise ConfigurationError(_("The OPD urusan list {path} does not exist.").format(path=path)) from None
    reader = csv.DictReader(lines)
    if not {"code", "urusan"} <= set(reader.fieldnames or []):
        raise ConfigurationError(_("The OPD urusan list {path} needs the columns code and urusan.").format(path=path))
    out = []
    for row in reader:
        code, urusan = (row.get("code") or "").strip().upper(), (row.get("urusan") or "").strip()
        if code and urusan:
            out.append({"opd_code": code, "urusan": urusan, "verified": (row.get("verified") or "").strip() == "yes"})
    return out


def sync_urusan(conn: Connection, path: Path, known_fields: set[str] | None = None) -> tuple[int, list[str]]:
    """Replace the stored list with the file's; returns (rows stored, OPD codes skipped because
    the directory lacks them: a deployment's own directory may leave some out). An urusan no
    workflow knows is a typo and is refused by name."""
    rows = read_urusan(path)
    codes = set(conn.execute(sa.select(opds.c.code)).scalars())
    for r in rows:
        if known_fields is not None and r["urusan"] not in known_fields:
            raise ConfigurationError(_("The OPD urusan list {path} names urusan '{urusan}', which no workflow knows.").format(
                path=path, urusan=r["urusan"]))
    skipped = sorted({r["opd_code"] for r in rows if r["opd_code"] not in codes})
    conn.execute(opd_urusan.delete())
    unique = {(r["opd_code"], r["urusan"]): r for r in rows if r["opd_code"] in codes}
    if unique:
        conn.execute(opd_urusan.insert(), list(unique.values()))
    return len(unique), skipped


@lru_cache(maxsize=1)
def _urusan_of_opd():
    # Built once: asked in transitions whose rules compare the field with the lead OPD's urusan,
    # and a prebuilt statement goes straight to SQLAlchemy's compiled cache.
    return sa.select(opd_urusan.c.urusan).where(opd_urusan.c.opd_code == sa.bindparam("code"))


def urusan_of(conn: Connection, code: str) -> list[str]:
    return list(conn.execute(_urusan_of_opd(), {"code": code}).scalars())


def load_urusan(conn: Connection, ctx) -> tuple[int, list[str]]:
    """`tkksd init`: the configured list, checked against the workflows' field choices."""
    known: set[str] = set()
    for d in ctx.registry.all():
        if d.has_field("field"):
            known.update(d.field("field").choices)
    return sync_urusan(conn, urusan_file(ctx.settings), known or None)
