"""Where an agreement is located: units of the wilayah table, not free text.

A workflow field ``location`` takes unit codes or names, several separated by ";" (a name that
exists in several kecamatan needs its kecamatan: ``Sumber Sari (Loa Kulu)``). The hook
``after_transition`` runs in the transition's transaction, before the deadlines are planned:
it records the units in ``agreement_locations``, stores the codes as the field's value, and
derives ``ikn_delineation`` (the gravest status of the units) and ``ikn_located_on`` (when the
agreement was first found inside or cut by IKN: the decision deadline counts from it).

A field ``desa_parties`` (workflow kerja-sama-desa) takes units the same way and admits desa only:
a kelurahan is part of the kecamatan's apparatus, so it can be a location but never a party.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.errors import InvalidInput
from engine.i18n import _
from engine.store.tables import agreement_locations, agreements, wilayah

# Gravest first: the agreement's delineation status is the first of these any of its units has.
SEVERITY = ("inside", "cut", "to_confirm", "outside")
DECISION_STATUSES = ("inside", "cut")
_WITH_KECAMATAN = re.compile(r"^(?P<name>[^()]+?)\s*\((?P<kecamatan>[^()]+)\)$")


def _norm(text: str) -> str:
    return re.sub(r"[\s-]+", " ", text).strip().casefold()


def units_by_code(conn: Connection, codes: Iterable[str]) -> list:
    codes = list(codes)
    if not codes:
        return []
    rows = {r.code: r for r in conn.execute(sa.select(wilayah).where(wilayah.c.code.in_(codes)))}
    return [rows[c] for c in codes if c in rows]


def _kecamatan_names(units: list) -> dict[str, str]:
    return {u.code: u.name for u in units if u.level == "kecamatan"}


def resolve_one(text: str, units: list, kecamatan: Mapping[str, str]):
    """The unit ``text`` names (a code, a unique name, or ``Name (Kecamatan)``)."""
    text = text.strip()
    by_code = [u for u in units if u.code == text]
    if by_code:
        return by_code[0]
    m = _WITH_KECAMATAN.match(text)
    name, within = (m.group("name"), m.group("kecamatan")) if m else (text, None)
    found = [u for u in units if _norm(u.name) == _norm(name)]
    if within is not None:
        found = [u for u in found if u.level != "kecamatan" and _norm(kecamatan.get(u.parent_code, "")) == _norm(within)]
    elif any(u.level == "kecamatan" for u in found):
        # A village named like its kecamatan (Muara Jawa): the bare name means the kecamatan.
        found = [u for u in found if u.level == "kecamatan"]
    if len(found) == 1:
        return found[0]
    if not found:
        raise InvalidInput(
            _("'{text}' is not a kecamatan, kelurahan or desa of Kukar; `tkksd wilayah list` shows them with their codes.")
            .format(text=text)
        )
    where = ", ".join(_("{code} in {kecamatan}").format(code=u.code, kecamatan=kecamatan.get(u.parent_code, "?")) for u in found)
    raise InvalidInput(
        _("'{name}' exists in {count} kecamatan ({where}); write it as '{name} ({kecamatan})' or give its code.").format(
            name=name, count=len(found), where=where, kecamatan=kecamatan.get(found[0].parent_code, "?"))
    )


def resolve(conn: Connection, text: Any, units: list | None = None) -> list:
    """The units a ``location``-like value names, in the order given, without repeats
    (``units``: the active units when the caller already loaded them)."""
    parts = [p for p in re.split(r"[;\n]", str(text or "")) if p.strip()]
    if not parts:
        return []
    units = units if units is not None else load_units(conn)
    if not units:
        raise InvalidInput(_("The wilayah table is empty; run `tkksd init` to load the kecamatan, kelurahan and desa."))
    kecamatan = _kecamatan_names(units)
    out = []
    for part in parts:
        unit = resolve_one(part, units, kecamatan)
        if unit.code not in [u.code for u in out]:
            out.append(unit)
    return out


def load_units(conn: Connection) -> list:
    """Every active unit, for checking many rows without a query each (imports)."""
    return conn.execute(sa.select(wilayah).where(wilayah.c.active.is_(True))).all()


def row_problems(defn, values: Mapping[str, Any], units: list) -> list[tuple[str, str]]:
    """(column, sentence) for each ``location``/``desa_parties`` value of an import row that names
    no unit, an ambiguous one, or (for parties) a kelurahan: found before anything is written."""
    kecamatan = _kecamatan_names(units)
    out = []
    for key in ("location", "desa_parties"):
        if not defn.has_field(key) or not values.get(key):
            continue
        found = []
        for part in (p for p in re.split(r"[;\n]", str(values[key])) if p.strip()):
            try:
                found.append(resolve_one(part, units, kecamatan))
            except InvalidInput as exc:
                out.append((key, str(exc).rstrip(".")))
        if key == "desa_parties":
            try:
                check_parties(found)
            except InvalidInput as exc:
                out.append((key, str(exc).rstrip(".")))
    return out


def kecamatan_of(unit) -> str:
    return unit.code if unit.level == "kecamatan" else unit.parent_code


def check_parties(units: list) -> None:
    """Only desa can be parties to a village cooperation (UU 6/2014 Ps. 91-92)."""
    for unit in units:
        if unit.level == "kelurahan":
            raise InvalidInput(
                _("Kelurahan {name} ({code}) cannot be a party to a village cooperation: a kelurahan is part of "
                  "the kecamatan's apparatus, not a self-governing desa (UU 6/2014 Pasal 91-92), so it can be the "
                  "agreement's location but never a signatory.").format(name=unit.name, code=unit.code)
            )
        if unit.level == "kecamatan":
            raise InvalidInput(
                _("Kecamatan {name} ({code}) cannot be a party to a village cooperation; the parties are desa "
                  "(the camat receives the report on the Bupati's behalf).").format(name=unit.name, code=unit.code)
            )


def delineation(units: list) -> str | None:
    statuses = {u.ikn_status for u in units}
    return next((s for s in SEVERITY if s in statuses), None)


def _record(conn: Connection, agreement_id: int, units: list) -> None:
    conn.execute(agreement_locations.delete().where(agreement_locations.c.agreement_id == agreement_id))
    if units:
        conn.execute(agreement_locations.insert(), [
            {"agreement_id": agreement_id, "unit_code": u.code, "kecamatan_code": kecamatan_of(u)} for u in units
        ])


def derived_values(units: list, values: Mapping[str, Any], today) -> dict[str, Any]:
    status = delineation(units)
    located_on = values.get("ikn_located_on") if values.get("ikn_delineation") in DECISION_STATUSES else None
    if status in DECISION_STATUSES and not located_on:
        located_on = today
    return {
        "location": "; ".join(u.code for u in units) or None,
        "ikn_delineation": status,
        "ikn_located_on": located_on if status in DECISION_STATUSES else None,
    }


# The free-text field of the version-1 workflows that named the kecamatan concerned; later
# versions record units. Import reads it as the location, a migration turns it into one.
LOCATION_ALIAS = "kecamatan"


def location_from_alias(text: Any) -> str:
    """The old free text (names separated by commas) written as a ``location`` value."""
    return str(text).replace(",", ";")


def migrated_location(conn: Connection, old, new, values: Mapping[str, Any], units: list) -> str | None:
    """The ``location`` an agreement moving from definition ``old`` to ``new`` gets from its
    free-text kecamatan, when ``new`` records units instead and the text names them; else None
    (the text then stays in the data, as every value a new version does not declare)."""
    text = values.get(LOCATION_ALIAS)
    if (not text or values.get("location") or not old.has_field(LOCATION_ALIAS) or new.has_field(LOCATION_ALIAS)
            or not new.has_field("location")):
        return None
    try:
        found = resolve(conn, location_from_alias(text), units)
    except InvalidInput:
        return None
    return "; ".join(u.code for u in found) or None


DERIVED = ("ikn_delineation", "ikn_located_on")
MANUAL_KINDS = ("human", "create")  # a person's values; imports and migrations carry stored ones


def applies_to(defn) -> bool:
    """Whether the hook has anything to do for a workflow: one with a location, village
    parties, or a value derived from the location (which a person may not set)."""
    return any(defn.has_field(key) for key in ("location", "desa_parties", *DERIVED))


def after_transitions(conn: Connection, ts: list, ctx) -> None:
    """The hook for many agreements inserted at once (imports, the demo): the units are read once."""
    units = load_units(conn) if any(_wants_location(t) or t.values.get("desa_parties") for t in ts) else []
    for t in ts:
        after_transition(conn, t, ctx, units=units)


def after_transition(conn: Connection, t, ctx, *, units: list | None = None) -> None:
    """Hook run inside every transition's transaction, before the deadlines are planned."""
    if t.kind in MANUAL_KINDS:
        derived = [k for k in DERIVED if k in t.supplied]
        if derived:
            raise InvalidInput(_("'{field}' follows from the agreement's location and the IKN delineation; set `location` instead.")
                               .format(field=derived[0]))
    changed = _normalise_parties(conn, t, units)
    if _wants_location(t):
        units = resolve(conn, t.values.get("location"), units)
        _record(conn, t.agreement_id, units)
        t.values.update(derived_values(units, t.values, ctx.clock.today()))
        if not t.definition.has_field(LOCATION_ALIAS):
            t.values.pop(LOCATION_ALIAS, None)  # the units supersede an older version's free text
        changed = True
    if changed:
        _store(conn, t)


def _wants_location(t) -> bool:
    """Whether this transition sets the location (or, on import, a value derived from it)."""
    if not t.definition.has_field("location"):
        return False
    if t.from_state is None:
        return bool(t.values.get("location"))
    return "location" in t.supplied or (t.kind not in MANUAL_KINDS and any(k in t.supplied for k in DERIVED))


def _normalise_parties(conn: Connection, t, units: list | None) -> bool:
    """Check ``desa_parties`` (desa only, two at least between desa) and store their codes."""
    if not t.definition.has_field("desa_parties") or not t.values.get("desa_parties"):
        return False
    if "desa_parties" not in t.supplied and t.from_state is not None:
        return False
    parties = resolve(conn, t.values["desa_parties"], units)
    check_parties(parties)
    if t.values.get("partner_type") == "antar_desa" and len(parties) < 2:
        raise InvalidInput(_("A cooperation between desa needs at least two desa as parties (desa_parties: codes or names "
                             "separated by ';')."))
    t.values["desa_parties"] = "; ".join(u.code for u in parties)
    return True


def _store(conn: Connection, t) -> None:
    """The agreement's data column with the normalised and derived values."""
    from engine.lifecycle import kernel  # the one writer of agreements

    kernel.rewrite_data(conn, t)


def location_copies(conn: Connection, agreement_id: int | None, transition=None) -> list[str]:
    """Recipient roles copied on every notice about an agreement located in a desa or kelurahan:
    the camat of its kecamatan (``opd:CODE``) and, where the wilayah file gives the unit head's
    address, the lurah or kepala desa (``unit:CODE``). A transition without a location needs no
    query (most of them)."""
    if agreement_id is None or (transition is not None and not transition.values.get("location")):
        return []
    from engine.store.tables import opds
    from engine.store.wilayah import own_head_email

    rows = conn.execute(
        sa.select(wilayah.c.code, wilayah.c.level, wilayah.c.head_email, opds.c.code.label("camat"))
        .select_from(agreement_locations.join(wilayah, wilayah.c.code == agreement_locations.c.unit_code)
                     .outerjoin(opds, sa.and_(opds.c.kemendagri_code == agreement_locations.c.kecamatan_code,
                                              opds.c.active.is_(True))))
        .where(agreement_locations.c.agreement_id == agreement_id, wilayah.c.level != "kecamatan")
        .order_by(wilayah.c.code)
    ).all()
    camat = sorted({f"opd:{r.camat}" for r in rows if r.camat})
    heads = [f"unit:{r.code}" for r in rows if own_head_email(r)]
    return camat + heads


def locations_of(conn: Connection, agreement_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(wilayah).join(agreement_locations, agreement_locations.c.unit_code == wilayah.c.code)
        .where(agreement_locations.c.agreement_id == agreement_id).order_by(wilayah.c.code)
    ).all()
    return [unit_dict(r) for r in rows]


def unit_dict(r) -> dict[str, Any]:
    return {"code": r.code, "name": r.name, "level": r.level, "kecamatan": r.code if r.level == "kecamatan" else r.parent_code,
            "head_title": r.head_title, "head_email": r.head_email, "ikn_status": r.ikn_status, "ikn_source": r.ikn_source}
