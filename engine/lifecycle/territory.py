"""Users of a kecamatan act on what is located in their kecamatan, as an OPD user acts on its OPD.

A user with the role ``opd`` whose OPD is a kecamatan (``config/opd.csv`` gives each kecamatan its
Kemendagri code) may fire the events open to the lead OPD on any agreement located in that
kecamatan or one of its kelurahan and desa (``agreement_locations.kecamatan_code``).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.store.tables import agreement_locations, opds


def kecamatan_code(conn: Connection, opd_code: str | None) -> str | None:
    """The Kemendagri code of ``opd_code`` when it is a kecamatan."""
    if not opd_code:
        return None
    return conn.execute(
        sa.select(opds.c.kemendagri_code).where(opds.c.code == opd_code, opds.c.kind == "kecamatan")
    ).scalar() or None


def located_in(conn: Connection, agreement_id: int, kecamatan: str) -> bool:
    return conn.execute(
        sa.select(agreement_locations.c.unit_code).where(
            agreement_locations.c.agreement_id == agreement_id, agreement_locations.c.kecamatan_code == kecamatan
        ).limit(1)
    ).first() is not None


def acts_as_lead(conn: Connection, actor, event_roles, agreement_id: int) -> bool:
    """Whether ``actor``, an OPD user of a kecamatan, may take the lead OPD's part on the agreement."""
    if "opd" not in event_roles or "opd" not in actor.roles:
        return False
    code = kecamatan_code(conn, actor.opd_code)
    return code is not None and located_in(conn, agreement_id, code)


def agreement_ids_in(conn: Connection, kecamatan: str) -> list[int]:
    """The agreements located in ``kecamatan`` (a Kemendagri code) or its units."""
    return conn.execute(
        sa.select(agreement_locations.c.agreement_id).distinct().where(agreement_locations.c.kecamatan_code == kecamatan)
    ).scalars().all()
