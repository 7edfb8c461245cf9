"""Notices into the outbox: recorded in the transaction of the change that causes them.

Each outbox row holds the notice's kind, its recipients and a snapshot of the values the mail
will show (``engine.lifecycle.snapshot``); the drain renders it (``engine.mail.rendering``),
so a transition pays for no template. Each row has a dedupe key derived from
its cause (a history row, or a deadline and its repetition) and a Message-ID derived from that
key, so a retried cause never enqueues twice and a resent message is recognisable.
Recipients come from the OPD directory; an OPD without a usable address becomes an incident,
never a silent drop.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import lru_cache
from typing import Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from notifiers.addresses import one_line

from engine.lifecycle.labels import choice_label
from engine.lifecycle.locations import location_copies
from engine.lifecycle import snapshot
from engine.lifecycle.timing import ends_on as ends_of, step_days
from engine.store.tables import agreements, incidents, opds, outbox, users

SKIP_KINDS = frozenset({"import", "migrate"})  # bulk changes inform nobody by e-mail


@lru_cache(maxsize=8)
def _renderer(template_dirs: tuple[str, ...], language: str):
    from notifiers.rendering import Renderer

    return Renderer(template_dirs, language)


def renderer(ctx):
    return _renderer(ctx.settings.paths("template_dirs"), ctx.lang)


def renderer_for(ctx, language: str):
    """The renderer of ``language`` (a snapshot is rendered in the language it was recorded in)."""
    return _renderer(ctx.settings.paths("template_dirs"), language)


def message_id_for(dedupe_key: str, domain: str) -> str:
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:24]
    return f"<{digest}.tkksd@{domain}>"


def _valid(address: str | None) -> bool:
    if not address:
        return False
    return _valid_address(address)


@lru_cache(maxsize=1024)
def _valid_address(address: str) -> bool:
    # A pure function of the text, asked on every transition for the same few directory
    # addresses; parsing one with the email package costs more than the rest of the notice.
    from notifiers.base import valid_address

    return valid_address(address)


@lru_cache(maxsize=1)
def _statements() -> dict[str, Any]:
    """Statements of every transition notice, built once (see services._statements)."""
    return {
        "opd": sa.select(opds).where(opds.c.code == sa.bindparam("code")),
        "dedupe": sa.select(outbox.c.id).where(outbox.c.dedupe_key == sa.bindparam("dedupe_key")),
        "user_name": sa.select(users.c.name).where(users.c.login == sa.bindparam("login")),
    }


@lru_cache(maxsize=4)
def _insert_outbox(dialect: str):
    # The dedupe key is unique: a concurrent enqueue of the same cause inserts nothing.
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(outbox).on_conflict_do_nothing(index_elements=[outbox.c.dedupe_key]).returning(outbox.c.id)


def _opd_row(conn: Connection, code: str | None, seen: dict | None = None):
    """The directory row of ``code`` (None if absent); ``seen`` keeps rows already read in
    this enqueue, so the lead OPD is read once for the letter and its recipient."""
    if seen is not None and code in seen:
        return seen[code]
    row = conn.execute(_statements()["opd"], {"code": code}).first()
    if seen is not None:
        seen[code] = row
    return row


def common_context(ctx) -> dict[str, Any]:
    s = ctx.settings
    return {
        "lang": ctx.lang,
        "tz": s.timezone,
        "tz_abbr": s.get("general", "timezone_abbr", "WITA"),
        "now": ctx.clock.now(),
        "contact": dict(s.section("contact")),
        "signature": dict(s.section("signature")) or None,  # [signature]: who signs the letters
        "app": {"name": "tkksd", "region": s.get("general", "region", "Kabupaten Kutai Kartanegara")},
    }


def agreement_context(conn: Connection, ctx, agreement_id: int, *, _seen: dict | None = None) -> dict[str, Any]:
    a = conn.execute(sa.select(agreements).where(agreements.c.id == agreement_id)).one()
    o = _opd_row(conn, a.lead_opd, _seen)
    try:
        defn = ctx.registry.get(a.workflow, a.workflow_version)
    except LookupError:
        defn = None
    return _agreement_context(ctx, defn, a.number, a.title, a.partner, a.workflow, a.lifecycle_state, a.lead_opd,
                              a.data or {}, o)


def transition_context(conn: Connection, ctx, t, *, _seen: dict | None = None) -> dict[str, Any]:
    """``agreement_context`` of the agreement a transition just wrote, from the values the
    transition carries instead of reading the row back."""
    return _agreement_context(ctx, t.definition, t.number, t.values["title"], t.values["partner"], t.definition.name,
                              t.to_state, t.values["lead_opd"], t.values, _opd_row(conn, t.values["lead_opd"], _seen))


def _agreement_context(ctx, defn, number: str, title: str, partner: str, workflow: str, state: str, lead_opd: str,
                       data: Mapping[str, Any], o) -> dict[str, Any]:
    if defn is not None:
        workflow_label = defn.label.get(ctx.lang)
        state_label = defn.state(state).label.get(ctx.lang) if defn.has_state(state) else state
    else:
        workflow_label, state_label = workflow, state
    # The date that ends the agreement is the definition's ([timing] ends_field), not a name here.
    ends_on = ends_of(defn, data) if defn is not None else None
    return {
        "id": number,
        # Titles and names are one-line values: a line break typed into one must not make a
        # plain-text body look like it carries another field (headers are safe regardless).
        "title": one_line(title),
        "partner": one_line(partner),
        "partner_type": choice_label("partner_type", data.get("partner_type"), ctx.lang),  # a label, never the code
        "workflow": workflow,
        "workflow_label": workflow_label,
        "state": state,
        "state_label": state_label,
        "lead_opd": {
            "code": lead_opd,
            "name": o.name if o else lead_opd,
            "head_name": (o.head_title if o else "") or "",
            "head_email": (o.head_email if o else "") or "",
        },
        "ends_on": ends_on,
    }


def resolve(conn: Connection, ctx, who: str, lead_opd: str | None, *,
            _seen: dict | None = None) -> tuple[dict[str, str] | None, str | None, str | None]:
    """A recipient role -> ({name, email, role}, opd code, problem). ``problem`` says why there is no address."""
    s = ctx.settings
    if who == "chair":
        chair = s.section("chair")
        if _valid(chair.get("email")):
            return {"name": chair.get("name", "Ketua TKKSD"), "email": chair["email"], "role": ""}, None, None
        return None, None, "the TKKSD chair has no valid e-mail address in the settings ([chair] email)"
    if who == "secretariat":
        code = s.get("roles", "secretariat_opd", "BAG-KS")
        contact = s.section("contact")
        if _valid(contact.get("email")):
            return {"name": contact.get("name", "Sekretariat TKKSD"), "email": contact["email"], "role": ""}, code, None
        who = f"opd:{code}"
    if who.startswith("unit:"):
        return _unit_head(conn, who.split(":", 1)[1])
    code = lead_opd if who == "lead_opd_head" else who.split(":", 1)[1] if who.startswith("opd:") else None
    if code is None:
        return None, None, f"unknown recipient '{who}'"
    o = _opd_row(conn, code, _seen)
    if o is None:
        return None, code, f"OPD {code} is not in the directory"
    if not _valid(o.head_email):
        return None, code, f"OPD {code} ({o.name}) has no valid head e-mail address ('{o.head_email}')"
    return opd_person(o), code, None


def _unit_head(conn: Connection, code: str) -> tuple[dict[str, str] | None, str | None, str | None]:
    """The lurah or kepala desa of unit ``code``, as ``resolve`` answers (no OPD code)."""
    from engine.store.tables import wilayah
    from engine.store.wilayah import own_head_email

    unit = conn.execute(sa.select(wilayah).where(wilayah.c.code == code)).first()
    email = own_head_email(unit) if unit is not None else None
    if not _valid(email):
        return None, None, f"unit {code} has no valid head e-mail address in the wilayah file"
    return {"name": unit.head_title, "email": email, "role": ""}, None, None


def opd_person(o) -> dict[str, str]:
    """How a letter addresses an OPD head: the name when the directory has a real one, and the
    office ("Kepala Dinas Ketahanan Pangan") as the printable role."""
    name = (o.head_name or "").strip()
    title = (o.head_title or "").strip() or f"Kepala {o.name}"
    if not name or name.startswith("("):  # the shipped directory says "(nama kepala)"
        return {"name": title, "email": o.head_email, "role": ""}
    return {"name": name, "email": o.head_email, "role": title}


def record_incident(conn: Connection, ctx, *, kind: str, message: str, agreement_id: int | None = None,
                    outbox_id: int | None = None, opd_code: str | None = None) -> None:
    conn.execute(
        incidents.insert().values(
            kind=kind, agreement_id=agreement_id, outbox_id=outbox_id, opd_code=opd_code, message=message,
            created_at=ctx.clock.now(),
        )
    )


def enqueue(conn: Connection, ctx, *, kind: str, agreement_id: int | None, to: Sequence[str], cc: Sequence[str] = (),
            dedupe_key: str, context: Mapping[str, Any] | None = None, lead_opd: str | None = None,
            transition=None) -> int | None:
    """Record ``kind`` as one outbox row with the snapshot of its values (the drain renders
    it); returns its id, or None when ``dedupe_key`` was already enqueued or nobody could be
    addressed (an incident says why).

    ``to``/``cc`` are recipient roles: lead_opd_head, secretariat, chair, opd:<CODE>, or unit:<CODE>
    (the head of a kelurahan or desa, by its Kemendagri code).
    ``context`` adds the template's own values to the common ones (agreement, recipient, contact).
    ``transition`` (a ``services.Transitioned`` of ``agreement_id``, written in this transaction)
    supplies the agreement's values instead of reading them back; its dedupe key names the
    history row it just wrote, so there is no earlier row to look for either.
    """
    seen: dict[str, Any] = {}
    if transition is not None and transition.lead_opd_entry is not False:
        seen[transition.values["lead_opd"]] = transition.lead_opd_entry  # read with the agreement
    if transition is None and conn.execute(_statements()["dedupe"], {"dedupe_key": dedupe_key}).first():
        return None
    base = common_context(ctx)
    if transition is not None:
        base["agreement"] = transition_context(conn, ctx, transition, _seen=seen)
        lead_opd = lead_opd or base["agreement"]["lead_opd"]["code"]
    elif agreement_id is not None:
        base["agreement"] = agreement_context(conn, ctx, agreement_id, _seen=seen)
        lead_opd = lead_opd or base["agreement"]["lead_opd"]["code"]
    to_people, cc_people = [], []
    recipient_opd = None
    cc = [*cc, *location_copies(conn, agreement_id, transition)]  # the camat (and lurah/kepala desa) where it is located
    for group, people in ((to, to_people), (cc, cc_people)):
        for who in group:
            person, code, problem = resolve(conn, ctx, who, lead_opd, _seen=seen)
            if person is None:
                record_incident(
                    conn, ctx, kind="no_address", agreement_id=agreement_id, opd_code=code,
                    message=f"No e-mail for '{kind}' ({dedupe_key}): {problem}.",
                )
                continue
            if person["email"] not in [p["email"] for p in to_people + cc_people]:
                people.append(person)
            if group is to and recipient_opd is None:
                recipient_opd = code
    if not to_people:
        if not cc_people:
            return None
        to_people, cc_people = cc_people[:1], cc_people[1:]
    snap = snapshot.encode({**base, "recipient": to_people[0], **(context or {})})
    now = ctx.clock.now()
    values = dict(
        dedupe_key=dedupe_key, kind=kind, agreement_id=agreement_id, recipient_opd=recipient_opd,
        to_addrs=[p["email"] for p in to_people], cc_addrs=[p["email"] for p in cc_people],
        subject="", text_body="", html_body="", snapshot=snap,  # rendered by the drain
        message_id=message_id_for(dedupe_key, ctx.settings.get("mail", "domain", "tkksd.localdomain")),
        status="pending", attempts=0, next_attempt_at=now, created_at=now,
    )
    returned = conn.execute(_insert_outbox(conn.dialect.name), values).first()
    return returned[0] if returned else None


def _next_events(t, lang: str) -> list[dict[str, Any]]:
    """What may happen next, as the letter lists it: events of people whose guards could pass for
    this agreement (no IKN decision for an agreement outside the delineation), with what each needs."""
    from workflows.guards import could_pass, missing_requirements

    defn = t.definition
    out = []
    for e in defn.events_from(t.to_state):
        if e.roles == ("system",) or not could_pass(e, t.values):
            continue
        missing = missing_requirements(defn, e, t.values)
        out.append({"name": e.name, "label": e.label.get(lang), "missing": [f.label.get(lang) for f in missing]})
    return out


def actor_name(conn: Connection, login: str, lang: str, stored_name: Any = False) -> str:
    """Who recorded a change, as a letter names them: the user's name, never the login.
    ``stored_name``: the users table's name of ``login`` when the caller read it already
    (``fire`` reads it with the agreement); ``False`` reads it here."""
    if login == "system":
        return "sistem tkksd (tenggat otomatis)" if lang != "en" else "the tkksd system (automatic deadline)"
    name = conn.execute(_statements()["user_name"], {"login": login}).scalar() if stored_name is False else stored_name
    if name and name != login:
        return name
    return "Sekretariat TKKSD" if lang != "en" else "the TKKSD Secretariat"


def after_transition(conn: Connection, t, ctx) -> None:
    """The transition notice to the lead OPD head (secretariat in copy), in the same transaction."""
    if t.kind in SKIP_KINDS:
        return
    defn = t.definition
    if defn.has_event(t.event):
        e = defn.event(t.event)
        kind = e.notice
        event_label = e.label.get(ctx.lang)
    else:  # creation: not an event of the definition
        kind = "transition"
        event_label = "Registrasi" if ctx.lang == "id" else "Registration"
    if not kind:
        return

    def state_ref(name: str | None) -> dict[str, Any]:
        if name is None:
            return {"name": "", "label": "-"}
        return {"name": name, "label": defn.state(name).label.get(ctx.lang) if defn.has_state(name) else name}

    context = {
        "event": {"name": t.event, "label": event_label},
        "from_state": state_ref(t.from_state),
        "to_state": state_ref(t.to_state),
        "actor": t.actor,
        "actor_name": actor_name(conn, t.actor, ctx.lang, t.actor_user_name),
        "at": t.at,
        "note": t.note,
        "next_events": _next_events(t, ctx.lang),
        # When the new step should be done: its step deadline in the definition
        # ([timing] step_rule, days overridden by the settings); evaluation_opened shows it.
        "due_at": t.at + timedelta(days=step_days(defn, t.to_state, ctx.settings) or 30),
        "ends_on": ends_of(defn, t.values),
    }
    enqueue(
        conn, ctx, kind=kind, agreement_id=t.agreement_id, to=["lead_opd_head"], cc=["secretariat"],
        dedupe_key=f"history:{t.history_id}:{kind}", context=context, transition=t,
    )
