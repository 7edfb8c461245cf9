"""Values that walk a kerja-sama agreement through its workflow, for tests in every area."""

from __future__ import annotations

from typing import Callable

# event -> (role that fires it, values it needs)
KS_STEPS: dict[str, tuple[str, dict[str, str]]] = {
    "identify": ("secretariat", {"field": "food_security", "objective": "Pasokan pangan untuk IKN",
                                 "partner_type": "otorita_ikn", "ikn_relevance": "direct"}),
    "verify": ("tkksd", {"legal_basis_ok": "yes", "partner_standing_ok": "yes", "mutual_benefit_ok": "yes",
                         "ikn_alignment_ok": "yes", "renstra_fit_ok": "yes"}),
    "synchronize": ("tkksd", {"plan_ref": "RPJMD 2021-2026 Misi 2", "tkksd_recommendation_ref": "REK-TKKSD/01/2026",
                              "burdens_public": "no", "budgeted_in_apbd": "yes", "overlap_acknowledged": "yes"}),
    "sign": ("secretariat", {"signed_on": "2026-01-15", "ends_on": "2031-01-15", "signatories": "Bupati Kukar; Kepala OIKN",
                             "signed_by_opd_head": "no"}),
    "integrate": ("tkksd", {"rkpd_ref": "RKPD 2026 DKP-01"}),
}
PATH_TO = {
    "proposed": [],
    "identified": ["identify"],
    "verified": ["identify", "verify"],
    "synchronized": ["identify", "verify", "synchronize"],
    "signed": ["identify", "verify", "synchronize", "sign"],
    "integrated": ["identify", "verify", "synchronize", "sign", "integrate"],
}


def sets(values: dict[str, str]) -> list[str]:
    out = []
    for k, v in values.items():
        out += ["--set", f"{k}={v}"]
    return out


def walk_cli(cli, ref: str, to_state: str, **overrides: dict[str, str]) -> None:
    """Fire the events that bring a fresh agreement to ``to_state`` with the CLI (as admin)."""
    for event in PATH_TO[to_state]:
        values = {**KS_STEPS[event][1], **overrides.get(event, {})}
        cli("fire", ref, event, *sets(values))


def walk_service(ctx, ref: str, to_state: str, actor: str = "admin", fire: Callable | None = None, **overrides) -> None:
    """The same through the service layer, in-process."""
    from engine.lifecycle.services import fire as fire_

    fire = fire or fire_
    for event in PATH_TO[to_state]:
        values = {**KS_STEPS[event][1], **overrides.get(event, {})}
        fire(ctx, actor, ref, event, values=values)


def add_service(ctx, title: str = "KB Ketahanan Pangan IKN", partner: str = "Otorita IKN", opd: str = "DKP",
                actor: str = "admin", **values: str) -> str:
    from engine.lifecycle.services import create_agreement

    values.setdefault("document_kind", "KB")
    return create_agreement(ctx, actor, title=title, partner=partner, opd=opd, values=values)["id"]


def with_text(ctx, rows) -> list:
    """Outbox rows with ``subject``/``text_body``/``html_body`` as the mail will read: rows the
    drain has not rendered yet hold only their snapshot, rendered here the way the drain does."""
    from types import SimpleNamespace

    from engine.mail.rendering import text_of

    out = []
    for r in rows:
        values = dict(r._mapping)
        t = text_of(ctx, r)
        values.update(subject=t.subject, text_body=t.text, html_body=t.html)
        out.append(SimpleNamespace(**values))
    return out
