"""Helpers for the pemanfaatan-bmd and workflow-version tests: values that walk a BMD agreement
through its steps, a clock in fixed steps, and a settings file that installs extra definitions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.helpers import sets

T0 = date(2026, 3, 2)  # a Monday

# event -> values it needs (as the CLI takes them); the form's own values come from FORMS.
BMD_STEPS: dict[str, dict[str, str]] = {
    "identify": {"kib_code": "1.3.1.01.001/0007", "asset_location": "Jl. Wolter Monginsidi, Tenggarong",
                 "asset_area_m2": "1200", "objective": "Pemanfaatan lahan milik daerah",
                 # issue 15 (version 2): the IKN relevance and alignment of every BMD contract
                 "ikn_relevance": "none", "ikn_reassessment": "Lahan di Tenggarong, di luar delineasi IKN"},
    "verify": {"valuation_amount": "250000000", "valuation_ref": "LPA/KJPP/2026/01", "asset_status_ok": "yes",
               "idle_asset_ok": "yes", "partner_standing_ok": "yes"},
    "synchronize": {"tkksd_recommendation_ref": "REK-TKKSD/07/2026", "pengelola_approval_on": "2026-03-01",
                    "pengelola_approval_ref": "030/112/BPKAD-Setda/2026", "starts_on": "2026-04-01",
                    "ends_on": "2031-04-01", "asset_overlap_acknowledged": "yes"},
    "sign": {"signed_on": "2026-03-02", "contract_ref": "PKS-BMD/01/2026", "signatories": "Sekda Kukar; Direktur mitra"},
    "integrate": {"integration_ref": "KIB-A/2026/0007; target PAD 2026"},
}
FORMS: dict[str, dict[str, dict[str, str]]] = {
    "sewa": {"identify": {"partner_type": "company"}, "synchronize": {"rent_amount": "50000000"}},
    "pinjam_pakai": {"identify": {"partner_type": "ministry_agency"},
                     "synchronize": {"bupati_approval_on": "2026-02-20", "bupati_approval_ref": "028/45/BUP/2026"}},
    # issue 16: the Bupati approves KSP and BGS/BSG too; a BGS/BSG leaves >= 10 % for government use
    "ksp": {"identify": {"partner_type": "bumn_bumd"}, "synchronize": {"annual_contribution": "120000000",
            "bupati_approval_on": "2026-02-20", "bupati_approval_ref": "028/46/BUP/2026"}},
    "bgs_bsg": {"identify": {"partner_type": "company"}, "synchronize": {"annual_contribution": "90000000",
                "bupati_approval_on": "2026-02-20", "bupati_approval_ref": "028/47/BUP/2026", "government_use_pct": "10"}},
}
PATH = ["identify", "verify", "synchronize", "sign", "integrate"]


def now_at(day: date, hour: int = 9) -> str:
    return f"{day.isoformat()}T{hour:02d}:00"


def step_values(form: str, event: str, **overrides: str) -> dict[str, str]:
    return {**BMD_STEPS[event], **FORMS[form].get(event, {}), **overrides}


def add_bmd(cli, form: str, now: str = now_at(T0), title: str | None = None, opd: str = "DKP") -> str:
    title = title or f"Pemanfaatan BMD ({form})"
    out = cli("add", "--workflow", "pemanfaatan-bmd", "--title", title, "--partner", "Mitra Pemanfaatan",
              "--opd", opd, "--set", f"form={form}", "--json", now=now).json()
    assert out["workflow"] == "pemanfaatan-bmd" and out["id"].startswith("BMD-")
    return out["id"]


def walk_bmd(cli, ref: str, form: str, until: str, now: str = now_at(T0), after: str | None = None,
             **overrides: dict[str, str]) -> None:
    """Fire the steps up to and including ``until`` (an event name), starting after ``after``."""
    start = PATH.index(after) + 1 if after else 0
    for event in PATH[start: PATH.index(until) + 1]:
        cli("fire", ref, event, *sets(step_values(form, event, **overrides.get(event, {}))), now=now)


def outbox_kinds(ctx, number: str, kind: str) -> list:
    from engine.store.tables import agreements, outbox

    q = (sa.select(outbox).join(agreements, agreements.c.id == outbox.c.agreement_id)
         .where(agreements.c.number == number, outbox.c.kind == kind).order_by(outbox.c.id))
    from tests.helpers import with_text

    with ctx.engine.connect() as conn:
        return with_text(ctx, conn.execute(q).all())


def deadline_rows(ctx, number: str, **where) -> list:
    from engine.store.tables import agreements, deadlines

    q = sa.select(deadlines).join(agreements, agreements.c.id == deadlines.c.agreement_id).where(agreements.c.number == number)
    for k, v in where.items():
        q = q.where(getattr(deadlines.c, k) == v)
    with ctx.engine.connect() as conn:
        return conn.execute(q.order_by(deadlines.c.id)).all()


def write_settings(path: Path, workflow_dirs: list[Path]) -> Path:
    dirs = ", ".join(f'"{d.as_posix()}"' for d in workflow_dirs)
    path.write_text(f"[general]\nworkflow_dirs = [{dirs}]\n", encoding="utf-8")
    return path


@pytest.fixture
def defs_dir(tmp_path) -> Path:
    d = tmp_path / "definitions"
    d.mkdir()
    return d


@pytest.fixture
def with_dirs(tmp_path, defs_dir):
    """Extra environment for a CLI call that installs the definitions in ``defs_dir``."""
    cfg = write_settings(tmp_path / "tkksd-v2.toml", [defs_dir])
    return {"TKKSD_CONFIG": str(cfg)}
